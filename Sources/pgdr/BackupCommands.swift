import ArgumentParser
import DRBackup
import DRLocal
import DROperations
import DRPostgres
import DRSpec
import Foundation

/// What the backup verbs share: the spec's pgBackRest configuration per node,
/// the node that is the primary now, and how errors map to exit codes.
struct BackupContext {
    let parsed: ParsedSpec
    let configs: [String: PgBackRestConfig]

    init(_ option: ConfigOption) throws {
        parsed = try option.load()
        do {
            configs = try BackupNodes.configs(parsed.spec, baseDirectory: parsed.baseDirectory)
        } catch {
            throw backupFailure(error)
        }
    }

    var spec: Spec { parsed.spec }

    func pgbackrest(_ node: String) throws -> PgBackRest {
        guard let config = configs[node] else { throw BackupError.badInput("\(node) has no dataDirectory in pgdr.yaml") }
        return try PgBackRest(config: config, runAs: try DataDirectory(path: config.dataDirectory).runAs())
    }

    /// The running primary pgdr runs beside: a postmaster, and no standby.signal.
    func primary() throws -> String {
        for (name, config) in configs.sorted(by: { $0.key < $1.key }) {
            let data = DataDirectory(path: config.dataDirectory)
            if data.postmasterPID != nil, !FileManager.default.fileExists(atPath: "\(config.dataDirectory)/standby.signal") {
                return name
            }
        }
        throw BackupError.refused("no running primary among the nodes pgdr runs beside (\(configs.keys.sorted().joined(separator: ", "))): "
                                  + "a backup is taken from the primary")
    }

    /// The node in the DR region, else any: where restores read from.
    func restoreNode() -> String {
        let dr = spec.nodes.first { $0.region == spec.dr.region && configs[$0.name] != nil }?.name
        return dr ?? configs.keys.sorted().first ?? ""
    }

    /// The node's admin session (`adminUser`), as operations use it.
    func adminTarget(_ node: String) throws -> ConnectionTarget {
        guard let spec = spec.nodes.first(where: { $0.name == node }) else { throw BackupError.badInput("no node \(node)") }
        return try AdminTarget.make(spec, baseDirectory: parsed.baseDirectory)
    }
}

func backupFailure(_ error: any Error) -> ExitCode {
    switch error {
    case let error as BackupError:
        switch error {
        case .badInput(let text): return fail(text, code: Exit.badInput)
        case .refused(let text): return fail(text, code: Exit.refused)
        case .failed(let text): return fail(text, code: Exit.failed)
        }
    default: return operationFailure(error)
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Take a backup of the primary with pgBackRest, into every repository (or one).",
        discussion: """
            Needs backup.repositories in pgdr.yaml (docs/backups.md) and runs on the machine of the \
            primary, as its data directory's owner. Schedule it with cron or a systemd timer. \
            pgBackRest's retention (backup.retentionDays) expires old backups and their WAL afterwards.
            """)

    @OptionGroup var config: ConfigOption

    enum Kind: String, ExpressibleByArgument, CaseIterable { case full, diff, incr }
    @Option(help: "full, diff (since the last full) or incr (since the last backup).")
    var type: Kind = .full

    @Option(help: "Only this repository (1 is the primary's region, 2 the DR region's, in pgdr.yaml's order).")
    var repo: Int?

    @Flag(help: """
        Set up instead of backing up: write the pgBackRest configuration of every node whose data \
        directory is on this machine (mode 0600, owned by the server's user), create the repositories \
        and, with the primary running here, the stanza; print the archive_command and restore_command \
        each server needs. Run it again after changing backup: in pgdr.yaml.
        """)
    var setup = false

    func run() async throws {
        let context = try BackupContext(config)
        if setup { return try await runSetup(context) }
        do {
            let node = try context.primary()
            let pgbackrest = try context.pgbackrest(node)
            _ = try await pgbackrest.infoOfExistingStanza()
            // Just after a promotion pg_control still names the old timeline
            // until a checkpoint, and pgBackRest refuses to start: checkpoint first.
            do {
                let target = try context.adminTarget(node)
                let behind = try await PostgresSession.with(target) { session in
                    let rows = try await session.rows("""
                        SELECT (SELECT timeline_id FROM pg_control_checkpoint())
                               <> ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
                        """)
                    let behind = try rows.first?.decode(Bool.self) ?? false
                    if behind { _ = try await session.rows("CHECKPOINT") }
                    return behind
                }
                if behind { print("\(node) was promoted since its last checkpoint: CHECKPOINT first, so pg_control names the new timeline") }
            }
            let count = pgbackrest.config.repositoryPaths.count
            let repos = try repo.map { r -> [Int] in
                guard (1...count).contains(r) else { throw BackupError.badInput("there is no repository \(r): pgdr.yaml lists \(count)") }
                return [r]
            } ?? Array(1...count)
            for r in repos {
                let started = ContinuousClock.now
                try await pgbackrest.run(["--type=\(type.rawValue)", "--repo=\(r)", "backup"])
                print("repo\(r): \(type.rawValue) backup of \(node) taken in \((ContinuousClock.now - started).formatted(.units(allowed: [.seconds], width: .narrow)))")
            }
            if let newest = try await pgbackrest.info().backups.last {
                print("newest: \(newest.label), \(newest.databaseBytes / 1_048_576) MB, WAL \(newest.walStart ?? "?")..\(newest.walStop ?? "?")")
            }
        } catch {
            throw backupFailure(error)
        }
    }
}

extension BackupCommand {
    /// Each S3 repository's access key and secret, from their files or variables
    /// (none: pgBackRest takes the instance's role).
    static func s3Credentials(_ settings: PgBackRestSpec, baseDirectory: String) throws -> [Int: PgBackRestConfig.S3Credentials] {
        var out: [Int: PgBackRestConfig.S3Credentials] = [:]
        for (index, repository) in settings.repositories.enumerated() {
            guard let s3 = repository.s3, let keySource = s3.key, let secretSource = s3.secret else { continue }
            do {
                guard let key = try PasswordResolver.resolve(keySource, baseDirectory: baseDirectory),
                      let secret = try PasswordResolver.resolve(secretSource, baseDirectory: baseDirectory) else {
                    throw BackupError.badInput("repository \(index + 1)'s S3 key or secret is empty or missing")
                }
                out[index + 1] = .init(key: key.reveal(), secret: secret.reveal())
            } catch let error as BackupError {
                throw error
            } catch {
                throw BackupError.badInput("repository \(index + 1)'s S3 credentials: \(error)")
            }
        }
        return out
    }

    func runSetup(_ context: BackupContext) async throws {
        do {
            guard let settings = context.spec.backup.pgbackrest else { throw BackupError.badInput("no backup.repositories in pgdr.yaml") }
            let resolved: Secret?
            do {
                resolved = try PasswordResolver.resolve(settings.passphrase, baseDirectory: context.parsed.baseDirectory)
            } catch {
                throw BackupError.badInput("the backup passphrase: \(error)")
            }
            guard let passphrase = resolved else {
                throw BackupError.badInput("the backup passphrase (\(settings.passphrase)) is empty or missing")
            }
            let s3 = try Self.s3Credentials(settings, baseDirectory: context.parsed.baseDirectory)
            var written: [String] = []
            // The primary's stanza first, from a configuration not yet in place:
            // a repository being added gets its stanza before archive-push sees it.
            let primary = try? context.primary()
            if let primary, let config = context.configs[primary] {
                let owner = try DataDirectory(path: config.dataDirectory).runAs()
                let staged = config.file + ".pgdr-new"
                try PgBackRestSetup.write(config, passphrase: passphrase, s3: s3, owner: owner, to: staged)
                defer { unlink(staged) }
                try await context.pgbackrest(primary).stanzaCreate(configFile: staged)
                print("stanza \(settings.stanza) created (or already there) in every repository, from \(primary)")
            }
            for (name, config) in context.configs.sorted(by: { $0.key < $1.key }) {
                guard FileManager.default.fileExists(atPath: "\(config.dataDirectory)/PG_VERSION") else {
                    print("\(name): its data directory \(config.dataDirectory) is not on this machine; run this beside it")
                    continue
                }
                let owner = try DataDirectory(path: config.dataDirectory).runAs()
                try PgBackRestSetup.write(config, passphrase: passphrase, s3: s3, owner: owner)
                written.append(name)
                print("\(name): wrote \(config.file) (mode 0600)")
                print("  in its postgresql.conf (then reload):")
                print("    archive_mode = on")
                print("    archive_command = '\(config.archiveCommand)'")
                print("    restore_command = '\(config.restoreCommand)'   # as a standby")
                print("    unix_socket_directories = '\(config.socketDirectory)'   # pgBackRest connects through it (restart)")
                print("  in pg_hba.conf: local all \(config.user) peer   (the server's own user, through the socket)")
            }
            guard !written.isEmpty else { throw BackupError.badInput("no node's data directory is on this machine: nothing was written") }
            guard let primary, written.contains(primary) else {
                print("the primary is not running here: create the stanza beside it with `pgdr backup --setup`")
                return
            }
            let pgbackrest = try context.pgbackrest(primary)
            do {
                try await pgbackrest.run(["check"], timeout: .seconds(120))
                print("check: WAL archiving into every repository works; take the first backup with `pgdr backup`")
            } catch {
                print("check failed: \(error)")
                print("set archive_command as above on \(primary), reload it, then run `pgdr backup --setup` again")
                throw ExitCode(Exit.degraded)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw backupFailure(error)
        }
    }
}

struct BackupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backups",
        abstract: "List the backups in every repository and the window a restore can reach.")

    @OptionGroup var config: ConfigOption
    @Flag(help: "Machine-readable output.")
    var json = false

    func run() async throws {
        let context = try BackupContext(config)
        do {
            let node = (try? context.primary()) ?? context.restoreNode()
            let info = try await context.pgbackrest(node).infoOfExistingStanza()
            if json {
                print(try JSON.encode(info))
                return
            }
            print("stanza \(info.stanza): \(info.status)")
            for repo in info.repositories {
                let window = repo.recoverableFrom.map { "recoverable from \(RestoreTarget.postgresTime($0))" } ?? "no backup yet: nothing to restore"
                print("repo\(repo.number): \(repo.status), \(repo.backups) backup(s), \(window)"
                      + (repo.newestWAL.map { ", WAL archived through \($0)" } ?? ""))
                for b in info.backups where b.repository == repo.number {
                    print("  \(b.label)  \(b.type)  \(RestoreTarget.postgresTime(b.stopped))  "
                          + String(format: "%.1fs", b.durationSeconds)
                          + "  db \(b.databaseBytes / 1_048_576) MB, repo \(b.repositoryBytes / 1_048_576) MB  WAL \(b.walStart ?? "?")..\(b.walStop ?? "?")")
                }
            }
        } catch {
            throw backupFailure(error)
        }
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup into a new data directory, recovered to a moment, and start it on 127.0.0.1.",
        discussion: """
            Never restores over anything: --target-dir must be new or empty. The server starts on a \
            free port of 127.0.0.1, archives nowhere and is nobody's standby; inspect it, copy what \
            you need, then stop it (pg_ctl -D DIR stop). A time outside the repository's recoverable \
            window is refused with the window that exists (exit 3).
            """)

    @OptionGroup var config: ConfigOption

    @Option(help: "latest, an LSN (0/3000060), or a time with its zone (2026-11-30T15:40:00Z).")
    var to: String

    @Option(help: "The repository to read (2: the DR region's, as when the primary region is gone).")
    var repo: Int = 1

    @Option(name: .customLong("target-dir"), help: "A new or empty folder for the restored data directory.")
    var targetDir: String

    @Flag(help: "Machine-readable output (port, dataDirectory, recoveredTo, ...).")
    var json = false

    func run() async throws {
        let context = try BackupContext(config)
        do {
            let target = try RestoreTarget.parse(to)
            let node = context.restoreNode()
            // The restored copy answers on loopback, to the restoring node's admin role.
            var admin = try context.adminTarget(node)
            admin.host = "127.0.0.1"
            let restore = BackupRestore(pgbackrest: try context.pgbackrest(node)) { [admin] port in
                var target = admin
                target.port = port
                return target
            }
            let report = try await restore.restore(to: target, repository: repo, into: targetDir)
            if json {
                print(try JSON.encode(report))
            } else {
                print("restored repo\(report.repository) (\(report.backup)) into \(report.dataDirectory) in " + String(format: "%.1fs", report.seconds))
                print("recovered to: \(report.recoveredTo) (asked: \(report.target)), timeline \(report.timeline), LSN \(report.lsn)")
                print("running on 127.0.0.1:\(report.port); stop it with: pg_ctl -D \(report.dataDirectory) stop")
            }
        } catch {
            throw backupFailure(error)
        }
    }
}
