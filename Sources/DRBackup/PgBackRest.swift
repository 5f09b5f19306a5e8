import DRProcess
import Foundation

/// Runs pgBackRest for one node's configuration, as the server's user (the
/// owner of the data directory). The passphrase is in the 0600 config file,
/// never on a command line.
public struct PgBackRest: Sendable {
    public var config: PgBackRestConfig
    public var runAs: ChildProcess.RunAs?
    public var executable: String

    public init(config: PgBackRestConfig, runAs: ChildProcess.RunAs?, executable: String? = nil,
                searching candidates: [String] = Self.installedPaths) throws {
        self.config = config
        self.runAs = runAs
        guard let found = executable ?? Self.find(in: candidates) else {
            throw BackupError.badInput("pgbackrest is not installed: apt-get install pgbackrest (Debian, Ubuntu) or see pgbackrest.org")
        }
        self.executable = found
    }

    /// Where the Debian package and a source install put it.
    public static let installedPaths = ["/usr/bin/pgbackrest", "/usr/local/bin/pgbackrest"]

    static func find(in candidates: [String]) -> String? {
        candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `pgbackrest --config=… --stanza=… ARGS`; a non-zero exit throws with its last words.
    @discardableResult
    public func run(_ arguments: [String], timeout: Duration = .seconds(3600), configFile: String? = nil) async throws -> String {
        let request = ChildProcess.Request(executable, ["--config=\(configFile ?? config.file)", "--stanza=\(config.settings.stanza)"] + arguments,
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

    /// `stanza-create` (idempotent), under a lock folder of its own: the
    /// server's asynchronous archive-push holds the stanza's archive lock for
    /// as long as a repository refuses WAL, and a repository just added has
    /// no stanza yet, so it refuses until this has run.
    ///
    /// `configFile`: a configuration not yet in place, so that a repository
    /// being added gets its stanza before PostgreSQL's archive-push sees it
    /// (it would otherwise write archive.info there alone, which pgBackRest
    /// then calls corruption). `online: false` for a server not yet started.
    public func stanzaCreate(configFile: String? = nil, online: Bool = true) async throws {
        let lock = "\(config.nodeDirectory)/lock-stanza-create"
        if !FileManager.default.fileExists(atPath: lock) {
            try? FileManager.default.createDirectory(atPath: lock, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            if let runAs { chown(lock, runAs.uid, runAs.gid) }
        }
        try await run(["--lock-path=\(lock)"] + (online ? [] : ["--no-online"]) + ["stanza-create"], timeout: .seconds(300),
                      configFile: configFile)
    }

    /// The repositories' info, refusing (bad input) when none holds the stanza.
    public func infoOfExistingStanza() async throws -> BackupInfo {
        let info = try await info()
        if info.stanzaMissing { throw BackupInfo.missingStanza(config.settings.stanza) }
        return info
    }

    public func info() async throws -> BackupInfo {
        let output = try await run(["--output=json", "info"], timeout: .seconds(120))
        return try BackupInfo.decode(Data(output.utf8), stanza: config.settings.stanza)
    }
}
