import DRProcess
import Foundation

/// Runs pgBackRest for one node's configuration, as the server's user (the
/// owner of the data directory). The passphrase is in the 0600 config file,
/// never on a command line.
public struct PgBackRest: Sendable {
    public var config: PgBackRestConfig
    public var runAs: ChildProcess.RunAs?
    public var executable: String

    public init(config: PgBackRestConfig, runAs: ChildProcess.RunAs?, executable: String? = nil) throws {
        self.config = config
        self.runAs = runAs
        guard let found = executable ?? Self.find() else {
            throw BackupError.badInput("pgbackrest is not installed: apt-get install pgbackrest (Debian, Ubuntu) or see pgbackrest.org")
        }
        self.executable = found
    }

    static func find() -> String? {
        ["/usr/bin/pgbackrest", "/usr/local/bin/pgbackrest"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `pgbackrest --config=… --stanza=… ARGS`; a non-zero exit throws with its last words.
    @discardableResult
    public func run(_ arguments: [String], timeout: Duration = .seconds(3600)) async throws -> String {
        let request = ChildProcess.Request(executable, ["--config=\(config.file)", "--stanza=\(config.settings.stanza)"] + arguments,
                                           timeout: timeout, outputLimit: 8 << 20, runAs: runAs)
        let result: ChildProcess.Result
        do {
            result = try await ChildProcess.run(request)
        } catch {
            throw BackupError.failed("pgbackrest \(arguments.first ?? ""): \(error)")
        }
        guard result.succeeded else {
            throw BackupError.failed("pgbackrest \(arguments.first ?? "") failed (\(result.termination)): \(result.lastWords())")
        }
        return result.output
    }

    public func info() async throws -> BackupInfo {
        let output = try await run(["--output=json", "info"], timeout: .seconds(120))
        return try BackupInfo.decode(Data(output.utf8), stanza: config.settings.stanza)
    }
}
