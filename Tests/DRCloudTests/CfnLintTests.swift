import DRSpec
import Foundation
import PGDRTestSupport
import Testing
@testable import DRCloud

/// cfn-lint, the CloudFormation linter, on the generated templates: any error
/// fails. The one warning left (W1030 on DrKeyArn's empty default) is explained
/// in the README.
@Suite struct CfnLintTests {
    static func cfnLint() -> String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/cfn-lint" }
        return paths.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test(arguments: [("full", fullSpecText), ("minimal", minimalSpecText)])
    func generatedTemplatesPassCfnLint(name: String, text: String) async throws {
        let lint = try #require(Self.cfnLint(), "cfn-lint is not installed: pip install cfn-lint (.ci/run does)")
        let spec = try parse(text)
        let dir = NSTemporaryDirectory() + "pgdr-lint-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var files: [String] = []
        for role in [RegionStack.Role.primary, .dr] {
            let file = "\(dir)/\(name).\(role.rawValue).template.json"
            try RegionStack.build(spec, role: role).json().write(toFile: file, atomically: true, encoding: .utf8)
            files.append(file)
        }
        // At the lowest CPU priority: the suite's timing tests run beside it.
        let result = try await CLI.program("/usr/bin/nice", ["-n", "19", lint, "--regions", spec.primary.region, spec.dr.region, "--format", "parseable", "--"] + files)
        let report = result.stdout + result.stderr
        // cfn-lint's exit code is a bit set: 2 errors, 4 warnings, 8 informational.
        #expect(result.status & 2 == 0, "cfn-lint errors:\n\(report)")
        let rules = Set(report.matches(of: /:([EWI]\d{4}):/).map { String($0.1) })
        #expect(rules.isSubset(of: ["W1030"]), "unexplained cfn-lint findings: \(rules)\n\(report)")
    }
}
