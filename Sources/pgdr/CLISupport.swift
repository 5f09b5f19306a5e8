import ArgumentParser
import DRSpec
import DRStatus
import Foundation
import Logging

/// Exit codes shared by every verb (docs/operations.md, "Exit codes and outcomes").
enum Exit {
    static let failed: Int32 = 1
    static let badInput: Int32 = 2
    static let refused: Int32 = 3
    /// The operation finished, but a step could only do part of its job
    /// (an old primary not fenced, a notification not delivered): read why.
    static let degraded: Int32 = 4
}

/// Prints a one-line error to standard error and exits with `code`.
func fail(_ message: String, code: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("pgdr: \(message)\n".utf8))
    return ExitCode(code)
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default: $PGDR_LOG_LEVEL, else warning).")
    var logLevel: Logger.Level?

    func validate() throws {
        if logLevel == nil, let text = ProcessInfo.processInfo.environment["PGDR_LOG_LEVEL"], Logger.Level(rawValue: text) == nil {
            throw ValidationError("PGDR_LOG_LEVEL `\(text)` is not a log level (trace, debug, info, notice, warning, error, critical)")
        }
    }

    func makeLogger(_ label: String) -> Logger {
        let level = logLevel ?? ProcessInfo.processInfo.environment["PGDR_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        Logging.bootstrapOnce(level: level)
        return Logger(label: label)
    }
}

enum Logging {
    nonisolated(unsafe) static var level: Logger.Level = .warning
    static let bootstrap: Void = LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = Logging.level
        return handler
    }
    static func bootstrapOnce(level: Logger.Level) {
        Logging.level = level
        _ = bootstrap
    }
}

/// Finds pgdr.yaml: `--config`, then `$PGDR_CONFIG`, then ./pgdr.yaml, then
/// the lab's (./pgdr-lab/pgdr.yaml), which makes the lab the default target.
struct ConfigOption: ParsableArguments {
    @Option(name: [.short, .long], help: "pgdr.yaml to use (default: $PGDR_CONFIG, ./pgdr.yaml, then ./pgdr-lab/pgdr.yaml).")
    var config: String?

    func resolve() throws -> String {
        if let config { return config }
        if let env = ProcessInfo.processInfo.environment["PGDR_CONFIG"], !env.isEmpty { return env }
        for candidate in ["pgdr.yaml", "\(LabOptions.defaultDirectory)/pgdr.yaml"]
        where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        throw fail("no pgdr.yaml here: pass --config FILE, run `pgdr init`, or start a lab with `pgdr lab up`",
                   code: Exit.badInput)
    }

    /// Loads and validates the spec; an invalid spec exits 2 with every problem listed.
    func load() throws -> ParsedSpec {
        let path = try resolve()
        do {
            let parsed = try SpecParser.load(path: path)
            for warning in parsed.warnings {
                FileHandle.standardError.write(Data((warning.formatted(file: path) + "\n").utf8))
            }
            return parsed
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(Exit.badInput)
        }
    }
}

enum JSON {
    static func encode<T: Encodable>(_ value: T) throws -> String { try ReportJSON.encode(value) }
}
