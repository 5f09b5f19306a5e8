import DRBackup
import DRLocal
import DRSpec
import DRStatus
import Foundation
import Logging

/// Looks at the backups every few rounds (`pgbackrest info`, as the data
/// directory's owner) and keeps the last answer for the alarms: the newest
/// backup per repository, and which repositories fail their check.
actor BackupWatch {
    let pgbackrest: PgBackRest?
    let problem: String?
    let configured: Int
    let interval: Duration
    let logger: Logger
    private(set) var latest: BackupStatus?

    /// The node whose configuration to use: the agent's own (quorum mode), else
    /// the first with a data directory on this machine. Nil without backups.
    init?(spec: Spec, baseDirectory: String, node: String?, logger: Logger) {
        guard let settings = spec.backup.pgbackrest else { return nil }
        configured = settings.repositories.count
        // Often enough to see a stale backup or a broken repository within a
        // minute or so; pgBackRest's info is cheap, but not free.
        interval = max(.seconds(10), spec.monitoring.interval.duration * 5)
        self.logger = logger
        do {
            let configs = try BackupNodes.configs(spec, baseDirectory: baseDirectory)
            let local = configs.filter { node == nil || $0.key == node }
                .filter { FileManager.default.fileExists(atPath: $0.value.file) }
                .sorted { $0.key < $1.key }.first
            guard let (_, config) = local else {
                throw BackupError.badInput("no pgBackRest configuration written on this machine (pgdr lab up --backups, or see docs/backups.md)")
            }
            pgbackrest = try PgBackRest(config: config, runAs: try DataDirectory(path: config.dataDirectory).runAs())
            problem = nil
        } catch {
            pgbackrest = nil
            problem = "\(error)"
        }
    }

    func run() async {
        while !Task.isCancelled {
            await check()
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// pgBackRest's repository status: `ok`, or code 2 `no valid backups`
    /// (reachable, valid, empty); anything else is a failing repository.
    static func healthy(_ status: String) -> Bool { status == "ok" || status == "no valid backups" }

    func check() async {
        let now = Date()
        guard let pgbackrest else {
            latest = BackupStatus(checkedAt: now, configured: configured, repositories: [], error: problem)
            return
        }
        do {
            let info = try await pgbackrest.info()
            latest = BackupStatus(checkedAt: now, configured: configured, repositories: info.repositories.map { repo in
                // A reachable repository without a backup yet is not failing: backup-too-old says so.
                BackupStatus.Repository(number: repo.number, ok: Self.healthy(repo.status), status: repo.status,
                                        newestBackupAt: info.backups.filter { $0.repository == repo.number }.map(\.stopped).max(),
                                        recoverableFrom: repo.recoverableFrom)
            })
        } catch {
            logger.warning("backup check failed", metadata: ["error": "\(error)"])
            latest = BackupStatus(checkedAt: now, configured: configured, repositories: [], error: "\(error)")
        }
    }
}
