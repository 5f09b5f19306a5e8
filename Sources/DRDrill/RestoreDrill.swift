import DRBackup
import DRLocal
import DROperations
import DRPostgres
import DRSpec
import Foundation
import Logging

/// `pgdr drill --scenario restore`: proves point-in-time recovery from the
/// DR region's repository alone, as if the primary region were gone. Under
/// the drill's writer (one session, sequential ids, so commit order is id
/// order) it takes a backup into the DR repository, marks a moment on the
/// primary's clock, restores to it, and checks the restored rows are exactly
/// the primary's own rows up to some id k, with every id acknowledged before
/// the moment present and none sent after it (`exact(...)`).
public struct RestoreDrill: Sendable {
    public struct Run: Sendable, Codable {
        public var repository: Int
        public var backupSeconds: Double
        /// From `restore` to the copy answering queries.
        public var restoreSeconds: Double
        public var moment: String
        /// Ids acknowledged before the moment was taken: must all be there.
        public var acknowledgedBefore: Int
        /// The highest id that may have committed before the moment.
        public var possiblyBefore: Int
        /// Rows the restored copy holds.
        public var restored: Int
        /// True when the copy holds exactly the primary's rows up to an id within those bounds.
        public var exact: Bool
        /// How old the newest archived WAL was when the writer stopped: what
        /// restoring "latest" from the repository would miss at that moment.
        public var archiveLagSeconds: Double?
    }

    let env: OperationEnvironment
    let logger: Logger

    public init(environment: OperationEnvironment, logger: Logger = Logger(label: "pgdr.drill")) {
        env = environment
        self.logger = logger
    }

    public func run() async throws -> Run {
        let spec = env.spec
        guard let settings = spec.backup.pgbackrest else {
            throw OperationError.badInput("the restore drill needs backups: backup.repositories in pgdr.yaml (docs/backups.md)")
        }
        let report = await env.observer.observe()
        guard report.healthy, let primary = report.replication?.primary else {
            throw OperationError.failed("the deployment is not healthy before the drill: \(report.problems.map(\.description).joined(separator: "; "))")
        }
        let configs = try BackupNodes.configs(spec, baseDirectory: env.baseDirectory)
        guard let primaryConfig = configs[primary] else { throw OperationError.badInput("\(primary) has no dataDirectory: the drill backs it up beside it") }
        let repository = (settings.repositories.firstIndex { $0.region == spec.dr.region } ?? settings.repositories.count - 1) + 1
        let restoreNode = spec.nodes.first { $0.region == spec.dr.region && configs[$0.name] != nil }?.name ?? primary
        let runAs = try DataDirectory(path: primaryConfig.dataDirectory).runAs()
        let backup = try PgBackRest(config: primaryConfig, runAs: runAs)
        let reader = try PgBackRest(config: configs[restoreNode] ?? primaryConfig, runAs: runAs)
        let admin = try AdminTarget.make(try env.node(primary), baseDirectory: env.baseDirectory)

        let writer = DrillWriter(targets: [(primary, admin)])
        try await writer.prepare()
        var run = Run(repository: repository, backupSeconds: 0, restoreSeconds: 0, moment: "", acknowledgedBefore: 0,
                      possiblyBefore: 0, restored: 0, exact: false)
        let directory = "\(env.baseDirectory)/pgdr-drill-restore-\(UUID().uuidString.prefix(8))"
        defer { Self.stopAndRemove(directory) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writer.run() }
            let started = ContinuousClock.now
            try await backup.run(["--type=full", "--repo=\(repository)", "backup"])
            run.backupSeconds = Self.seconds(ContinuousClock.now - started)
            try await Task.sleep(for: .seconds(1))
            // The moment, on the primary's clock, between two of the writer's commits.
            let before = await writer.acks.last?.id ?? 0
            let moment = try await PostgresSession.with(admin) { try await $0.value(String.self, "SELECT now()::text") }
            let after = await writer.acks.last?.id ?? 0
            run.moment = moment
            run.acknowledgedBefore = before
            run.possiblyBefore = after + 1
            try await Task.sleep(for: .seconds(1))
            await writer.stop()
            group.cancelAll()
        }
        let acknowledged = await writer.acks.map(\.id).filter { $0 <= run.acknowledgedBefore }
        let primaryIDs = try await PostgresSession.with(admin) { session in
            try await session.rows("SELECT id FROM pgdr_drill ORDER BY id").map { Int(try $0.decode(Int32.self)) }
        }
        // Everything up to now into the repository: switch the WAL file, wait for it to be archived.
        let lag = try await PostgresSession.with(admin) { session -> Double? in
            let segment = try await session.value(String.self, "SELECT pg_walfile_name(pg_switch_wal())")
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                let archived = try await session.rows("SELECT last_archived_wal FROM pg_stat_archiver").first.flatMap { try? $0.decode(String?.self) }
                if let archived, archived >= segment { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            return try await session.rows("SELECT extract(epoch FROM now() - last_archived_time)::float8 FROM pg_stat_archiver")
                .first.flatMap { try? $0.decode(Double?.self) }
        }
        run.archiveLagSeconds = lag

        let restore = BackupRestore(pgbackrest: reader) { port in
            var target = admin
            target.host = "127.0.0.1"
            target.port = port
            return target
        }
        let restored = try await restore.restore(to: try RestoreTarget.parse(run.moment), repository: repository, into: directory)
        run.restoreSeconds = restored.seconds
        var target = admin
        target.host = "127.0.0.1"
        target.port = restored.port
        let ids = try await PostgresSession.with(target) { session in
            try await session.rows("SELECT id FROM pgdr_drill ORDER BY id").map { Int(try $0.decode(Int32.self)) }
        }
        run.restored = ids.count
        run.exact = Self.exact(restored: ids, primary: primaryIDs, acknowledged: acknowledged, possiblyBefore: run.possiblyBefore)
        return run
    }

    /// The restored ids (ascending) are exactly the primary's up to the highest restored
    /// one: an insert the writer's statement timeout cancelled leaves the same gap in both,
    /// so the ids need not run 1, 2, 3… They hold every id acknowledged before the
    /// moment, and none beyond the last that may have committed before it.
    static func exact(restored: [Int], primary: [Int], acknowledged: [Int], possiblyBefore: Int) -> Bool {
        let cut = restored.last ?? 0
        return restored == primary.filter { $0 <= cut } && Set(acknowledged).isSubset(of: Set(restored)) && cut <= possiblyBefore
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// The restored copy stopped by its PID, its folder removed.
    static func stopAndRemove(_ directory: String) {
        if let pid = DataDirectory(path: directory).postmasterPID {
            kill(pid, SIGINT)
            for _ in 0..<100 where DataDirectory(path: directory).postmasterPID != nil { usleep(100_000) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
