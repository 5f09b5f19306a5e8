import ArgumentParser
import DRSpec
import Foundation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check pgdr.yaml and report every problem at once.",
        discussion: """
            Each problem names its key path (primary.instanceClass), line and column, and a hint. \
            Exit 0 when valid (warnings may be printed), 2 when invalid.
            """)

    @Argument(help: "The spec to check (default: as for --config elsewhere).")
    var file: String?

    @Flag(help: "Print the problems (or the parsed spec) as JSON.")
    var json = false

    func run() throws {
        let path = try file ?? ConfigOption().resolve()
        let parsed: ParsedSpec
        do {
            parsed = try SpecParser.load(path: path)
        } catch {
            if json {
                print(try JSON.encode(ValidationResult(valid: false, problems: error.diagnostics, spec: nil)))
            } else {
                FileHandle.standardError.write(Data((error.description + "\n").utf8))
                let count = error.errors.count
                FileHandle.standardError.write(Data("\(path): \(count) problem\(count == 1 ? "" : "s")\n".utf8))
            }
            throw ExitCode(Exit.badInput)
        }
        if json {
            print(try JSON.encode(ValidationResult(valid: true, problems: parsed.warnings, spec: parsed.spec)))
        } else {
            for warning in parsed.warnings { print(warning.formatted(file: path)) }
            print("\(path): valid (\(parsed.spec.nodes.count) nodes, \(parsed.spec.primary.region) -> \(parsed.spec.dr.region))")
        }
    }

    struct ValidationResult: Encodable {
        var valid: Bool
        var problems: [Diagnostic]
        var spec: Spec?
    }
}
