import DRBackup
import DRPostgres
import DRProcess
import DRSpec
import Foundation
import Logging

/// `pgdr restore`: a repository's backup restored into a new data directory
/// (never over anything), recovered to the target, started on a free port of
/// 127.0.0.1 as a standalone server that archives nowhere.
public struct BackupRestore: Sendable {
    public struct Report: Sendable, Codable {
        public var port: Int
        public var dataDirectory: String
        /// What was asked for.
        public var target: String
        /// What the server says it recovered to: the last transaction it
        /// replayed ("last completed transaction was at log time …"), else the target.
        public var recoveredTo: String
        public var repository: Int
        public var backup: String
        public var timeline: Int
        public var lsn: String
        public var seconds: Double
        public var log: String
    }

    public var pgbackrest: PgBackRest
    /// Who connects to the restored server to see it has finished (the node's admin role).
    public var connect: @Sendable (Int) -> ConnectionTarget
    public var logger = Logger(label: "pgdr.restore")

    public init(pgbackrest: PgBackRest, connect: @escaping @Sendable (Int) -> ConnectionTarget) {
        self.pgbackrest = pgbackrest
        self.connect = connect
    }

    public func restore(to target: RestoreTarget, repository: Int, into directory: String, timeout: Duration = .seconds(900)) async throws -> Report {
        let started = ContinuousClock.now
        let path = URL(fileURLWithPath: directory).standardizedFileURL.path
        try Self.checkEmpty(path)
        let info = try await pgbackrest.infoOfExistingStanza()
        guard let repo = info.repositories.first(where: { $0.number == repository }) else {
            throw BackupError.badInput("there is no repository \(repository): the stanza has \(info.repositories.map { "repo\($0.number)" }.joined(separator: ", "))")
        }
        try target.check(against: repo)
        let usable = info.backups.filter { $0.repository == repository }
        let backup: BackupInfo.Backup? = switch target {
        case .time(let date): usable.last { $0.stopped <= date }
        default: usable.last
        }
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch CocoaError.fileWriteFileExists {
            // Checked empty above.
        }
        if let owner = pgbackrest.runAs { chown(path, owner.uid, owner.gid) }
        var options = ["--repo=\(repository)", "--pg1-path=\(path)", "--archive-mode=off"] + target.restoreOptions
        if let backup { options.append("--set=\(backup.label)") }
        try await pgbackrest.run(options + ["restore"], timeout: timeout)

        // A server of its own: a free port on loopback, no socket, no standby
        // settings, nobody's synchronous standby, archiving nowhere.
        var port = try FreePort.pick()
        let overrides = """

            # pgdr restore: a standalone copy on 127.0.0.1
            port = \(port)
            listen_addresses = '127.0.0.1'
            unix_socket_directories = ''
            cluster_name = 'pgdr-restore'
            primary_conninfo = ''
            primary_slot_name = ''
            synchronous_standby_names = ''
            archive_mode = off

            """
        let auto = "\(path)/postgresql.auto.conf"
        let existing = (try? String(contentsOfFile: auto, encoding: .utf8)) ?? ""
        try (existing + overrides).write(toFile: auto, atomically: false, encoding: .utf8)
        let restoredSettings = existing
        if let owner = pgbackrest.runAs { chown(auto, owner.uid, owner.gid) }
        try? fm.removeItem(atPath: "\(path)/standby.signal")

        let binaries = try await PostgresBinaries.discover()
        let log = "\(path)/restore.log"
        let start = ChildProcess.Request(binaries.path("pg_ctl"), ["-D", path, "-l", log, "-w", "-t", "\(Int(timeout.components.seconds))", "start"],
                                         environment: ["LC_ALL": "C"], timeout: timeout + .seconds(10), runAs: pgbackrest.runAs)
        // A port taken between the pick and the bind (another program picked it
        // meanwhile): another one, as the copy has told nobody its port yet.
        for attempt in 1...3 {
            do {
                try await ChildProcess.checked(start)
                break
            } catch {
                let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                guard attempt < 3, said.contains("Address already in use") else {
                    throw BackupError.failed("the restored server did not start: \(error); its log is \(log)")
                }
                let taken = port
                port = try FreePort.pick()
                try (restoredSettings + overrides.replacingOccurrences(of: "port = \(taken)\n", with: "port = \(port)\n"))
                    .write(toFile: auto, atomically: false, encoding: .utf8)
                if let owner = pgbackrest.runAs { chown(auto, owner.uid, owner.gid) }
            }
        }
        // Recovery ends with a promotion (target-action promote, or the end of the archive).
        let deadline = ContinuousClock.now + timeout
        var row: (Int, String)?
        while ContinuousClock.now < deadline {
            row = try? await PostgresSession.with(connect(port), logger: logger) { session in
                let rows = try await session.rows("""
                    SELECT (SELECT timeline_id FROM pg_control_checkpoint()), pg_current_wal_lsn()::text WHERE NOT pg_is_in_recovery()
                    """)
                return try rows.first.map { try $0.decode((Int, String).self) }
            }
            if row != nil { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        guard let (timeline, lsn) = row else {
            throw BackupError.failed("the restored server on port \(port) did not finish recovery within \(timeout); its log is \(log)")
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let last = text.matches(of: /last completed transaction was at log time ([0-9: .+-]+)/).last.map { String($0.1) }
        let took = ContinuousClock.now - started
        return Report(port: port, dataDirectory: path, target: target.description, recoveredTo: last ?? target.description,
                      repository: repository, backup: backup?.label ?? "latest", timeline: timeline, lsn: lsn,
                      seconds: Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18, log: log)
    }

    /// The target is a new folder, or an empty one: a restore never writes over anything.
    static func checkEmpty(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            let parent = (path as NSString).deletingLastPathComponent
            guard FileManager.default.fileExists(atPath: parent) else {
                throw BackupError.badInput("\(parent) does not exist: the target directory's parent must")
            }
            return
        }
        guard isDirectory.boolValue else { throw BackupError.refused("\(path) is a file: restore into a new or empty folder") }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        guard contents.isEmpty else {
            throw BackupError.refused("\(path) is not empty (it holds \(contents.sorted().prefix(3).joined(separator: ", "))): "
                                      + "a restore never writes over anything; choose a new or empty folder")
        }
    }
}
