import DRSpec
import Foundation
import PGDRTestSupport
import Testing
@testable import DRCloud

/// checkov, the infrastructure-as-code scanner, on the generated templates
/// with the repository's checkov.yaml: no failed check. Every check skipped
/// is listed in that one file, each under a comment that says why.
@Suite struct CheckovTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var config: String { root.appendingPathComponent("checkov.yaml").path }

    static func checkov() -> String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/checkov" }
        return paths.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test(arguments: [("full", fullSpecText), ("minimal", minimalSpecText)])
    func generatedTemplatesPassCheckov(name: String, text: String) async throws {
        let checkov = try #require(Self.checkov(), "checkov is not installed: pip install checkov (.ci/run does)")
        let spec = try parse(text)
        let dir = try CLI.tempDirectory()
        var arguments = ["--config-file", Self.config]
        for role in [RegionStack.Role.primary, .dr] {
            let file = "\(dir)/\(name).\(role.rawValue).template.json"
            try RegionStack.build(spec, role: role).json().write(toFile: file, atomically: true, encoding: .utf8)
            arguments += ["-f", file]
        }
        let result = try await CLI.program(checkov, arguments)
        #expect(result.status == 0, "checkov failed checks:\n\(result.stdout)\(result.stderr)")
        let passed = result.stdout.firstMatch(of: /Passed checks: (\d+), Failed checks: (\d+)/)
        #expect(passed.map { Int($0.2) } == 0, "\(result.stdout)")
        #expect((passed.flatMap { Int($0.1) } ?? 0) > 100, "checkov really ran its checks: \(result.stdout)")
    }

    @Test func everySkippedCheckIsJustified() throws {
        let lines = try String(contentsOfFile: Self.config, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let skips = lines.indices.filter { lines[$0].trimmingCharacters(in: .whitespaces).hasPrefix("- CKV") }
        #expect(!skips.isEmpty)
        for index in skips {
            #expect(index > 0 && lines[index - 1].trimmingCharacters(in: .whitespaces).hasPrefix("#"),
                    "\(lines[index]) has no comment saying why it is skipped")
        }
    }
}
