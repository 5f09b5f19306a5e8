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

    /// One checkov run for both specs' templates, at the lowest CPU priority:
    /// it is seconds of Python, and the suite's timing tests run beside it.
    @Test func generatedTemplatesPassCheckov() async throws {
        let checkov = try #require(Self.checkov(), "checkov is not installed: pip install checkov (.ci/run does)")
        let dir = try CLI.tempDirectory()
        var arguments = ["-n", "19", checkov, "--config-file", Self.config]
        for (name, text) in [("full", fullSpecText), ("minimal", minimalSpecText)] {
            let spec = try parse(text)
            for role in [RegionStack.Role.primary, .dr] {
                let file = "\(dir)/\(name).\(role.rawValue).template.json"
                try RegionStack.build(spec, role: role).json().write(toFile: file, atomically: true, encoding: .utf8)
                arguments += ["-f", file]
            }
        }
        let result = try await CLI.program("/usr/bin/nice", arguments)
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
