import DRBackup
import DRLocal
import DRPostgres
import DRSpec
import Foundation
import PGDRTestSupport
import PostgresNIO
import Testing

/// Backups and point-in-time recovery through the `pgdr` binary, with real
/// pgBackRest and real servers: a lab with a repository in each region.
@Suite(.serialized) struct BackupCommandTests {
    static func withLab(_ body: @Sendable (String, Lab) async throws -> Void) async throws {
        let dir = NSTemporaryDirectory() + "pgdr-backup-\(UUID().uuidString.prefix(8))"
        let up = try await CLI.run(["lab", "up", "--loopback", "--backups", "--dir", dir])
        if up.status != 0 { _ = try? await CLI.run(["lab", "destroy", "--dir", dir, "--yes"]) }
        try #require(up.status == 0, "lab up --backups: \(up.stderr)")
        let lab = Lab(directory: dir)
        do {
            #expect(await lab.waitForStreaming())
            try await body("\(dir)/pgdr.yaml", lab)
        } catch {
            stopRestored(in: dir)
            _ = try? await CLI.run(["lab", "destroy", "--dir", dir, "--yes"])
            throw error
        }
        stopRestored(in: dir)
        _ = try await CLI.run(["lab", "destroy", "--dir", dir, "--yes"])
    }

    /// A restored copy a failed expectation left running is stopped by its PID.
    static func stopRestored(in dir: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix("restore-") {
            if let pid = DataDirectory(path: "\(dir)/\(name)").postmasterPID { kill(pid, SIGINT) }
        }
    }

    static func sql(_ lab: Lab, _ node: String, _ statements: [String]) async throws -> String? {
        try await PostgresSession.with(try lab.adminTarget(node: node)) { session in
            var last: String?
            for statement in statements {
                last = try await session.rows(PostgresQuery(unsafeSQL: statement)).first.flatMap { try? $0.decode(String.self) }
            }
            return last
        }
    }

    /// Rows in `t` on a restored server, then the server stopped by its PID.
    static func countAndStop(_ report: [String: Any], lab: Lab) async throws -> Int {
        let port = try #require(report["port"] as? Int)
        var target = try lab.adminTarget(node: "pg1")
        target.port = port
        let count = try await PostgresSession.with(target) { try await $0.value(Int.self, "SELECT count(*)::int FROM t") }
        let directory = try #require(report["dataDirectory"] as? String)
        if let pid = DataDirectory(path: directory).postmasterPID {
            kill(pid, SIGINT)
            for _ in 0..<100 where DataDirectory(path: directory).postmasterPID != nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        return count
    }

    @Test func backupToBothRegionsAndRestoreToAMomentFromEach() async throws {
        try await Self.withLab { config, lab in
            let dir = (config as NSString).deletingLastPathComponent
            // The lab's own pgBackRest configuration is the one pgdr.yaml describes.
            let parsed = try SpecParser.load(path: config)
            let fromSpec = try BackupNodes.configs(parsed.spec, baseDirectory: parsed.baseDirectory)
            for name in ["pg1", "pg2"] {
                let node = try #require(try LabState.load("\(dir)/lab.json").nodes.first { $0.name == name })
                #expect(fromSpec[name]?.text(passphrase: "x") == lab.backupConfig(node).text(passphrase: "x"), "\(name)")
            }

            let backup = try await CLI.run(["backup", "--config", config])
            #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
            #expect(backup.stdout.contains("repo1: full backup of pg1") && backup.stdout.contains("repo2: full backup of pg1"))

            // 100 rows, a moment, 100 more; the WAL switched so the archive holds it all.
            let moment = try await Self.sql(lab, "pg1", ["CREATE TABLE t (id int)", "INSERT INTO t SELECT generate_series(1, 100)",
                                                         "SELECT now()::text"])
            try await Task.sleep(for: .milliseconds(300))
            _ = try await Self.sql(lab, "pg1", ["INSERT INTO t SELECT generate_series(101, 200)", "SELECT pg_switch_wal()::text"])
            let archived = try await Self.sql(lab, "pg1", ["SELECT pg_walfile_name(pg_current_wal_lsn())"])
            let deadline = ContinuousClock.now + .seconds(30)
            var listed = try await CLI.run(["backups", "--json", "--config", config])
            while ContinuousClock.now < deadline, !(listed.stdout.contains("\"newestWAL\"") && Self.newestWAL(listed.stdout).allSatisfy { $0 >= (archived ?? "") }) {
                try await Task.sleep(for: .milliseconds(300))
                listed = try await CLI.run(["backups", "--json", "--config", config])
            }
            let info = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])
            let repositories = info["repositories"] as? [[String: Any]] ?? []
            #expect(repositories.count == 2 && repositories.allSatisfy { $0["backups"] as? Int == 1 }, "\(listed.stdout)")
            #expect((info["backups"] as? [[String: Any]])?.allSatisfy { ($0["databaseBytes"] as? Int ?? 0) > 1_000_000 } == true)

            // From the DR region's repository, to the moment: exactly the first 100 rows.
            let at = try await CLI.run(["restore", "--config", config, "--to", try #require(moment), "--repo", "2",
                                        "--target-dir", "\(dir)/restore-moment", "--json"])
            #expect(at.status == 0, "\(at.stdout)\(at.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(at.stdout.utf8)) as? [String: Any])
            #expect(report["repository"] as? Int == 2)
            #expect((report["recoveredTo"] as? String)?.hasPrefix("20") == true)
            #expect(try await Self.countAndStop(report, lab: lab) == 100, "PITR keeps exactly the rows committed before the moment")

            // From the primary region's repository, everything archived.
            let latest = try await CLI.run(["restore", "--config", config, "--to", "latest", "--repo", "1",
                                            "--target-dir", "\(dir)/restore-latest", "--json"])
            #expect(latest.status == 0, "\(latest.stdout)\(latest.stderr)")
            let all = try #require(try JSONSerialization.jsonObject(with: Data(latest.stdout.utf8)) as? [String: Any])
            #expect(try await Self.countAndStop(all, lab: lab) == 200)

            // Bad input and guards: nothing written over, the window named.
            let notEmpty = try await CLI.run(["restore", "--config", config, "--to", "latest", "--target-dir", "\(dir)/restore-latest"])
            #expect(notEmpty.status == 3 && notEmpty.stderr.contains("is not empty"), "\(notEmpty.stderr)")
            #expect(FileManager.default.fileExists(atPath: "\(dir)/restore-latest/PG_VERSION"), "the folder is untouched")
            let early = try await CLI.run(["restore", "--config", config, "--to", "2020-01-01T00:00:00Z", "--target-dir", "\(dir)/restore-early"])
            #expect(early.status == 3 && early.stderr.contains("recoverable window, which starts at"), "\(early.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/restore-early"))
            let garbled = try await CLI.run(["restore", "--config", config, "--to", "yesterday", "--target-dir", "\(dir)/restore-bad"])
            #expect(garbled.status == 2 && garbled.stderr.contains("is not a restore target"))

            // Encrypted: the repository cannot be read without the passphrase.
            let withoutPassphrase = "\(dir)/no-passphrase.conf"
            let text = try String(contentsOfFile: "\(dir)/pgbackrest/pg1/pgbackrest.conf", encoding: .utf8)
            try text.split(separator: "\n").filter { !$0.contains("cipher-pass") }.joined(separator: "\n")
                .write(toFile: withoutPassphrase, atomically: true, encoding: .utf8)
            let peek = try await CLI.program("/usr/bin/pgbackrest", ["--config=\(withoutPassphrase)", "--stanza=lab-lab", "--output=json", "info"])
            #expect(!peek.stdout.contains("\"label\""), "backups listed without the passphrase: \(peek.stdout)")
            #expect(peek.stdout.contains("cipher") || peek.stderr.contains("cipher") || peek.status != 0, "\(peek.stdout)\(peek.stderr)")
            let specText = try String(contentsOfFile: config, encoding: .utf8)
            #expect(!text.isEmpty && !specText.contains("cipher-pass"), "the passphrase is in the 0600 config, never in pgdr.yaml")
        }
    }

    /// The restore drill, from the DR repository alone: a prefix of the
    /// writer's ids, bounded by the moment; nothing left running or on disk.
    /// Retention by count (`retentionFullBackups: 2`): after a third full backup each
    /// repository holds the newest two, the first is gone, and so is the WAL only it needed.
    @Test func retentionExpiresTheOldestFullBackupAndItsWAL() async throws {
        try await Self.withLab { config, lab in
            let text = try String(contentsOfFile: config, encoding: .utf8)
            try #require(text.contains("  retentionDays: 7\n"))
            try text.replacingOccurrences(of: "  retentionDays: 7\n", with: "  retentionDays: 7\n  retentionFullBackups: 2\n")
                .write(toFile: config, atomically: true, encoding: .utf8)
            let setup = try await CLI.run(["backup", "--setup", "--config", config])
            try #require(setup.status == 0, "\(setup.stdout)\(setup.stderr)")
            let conf = try String(contentsOfFile: (config as NSString).deletingLastPathComponent + "/pgbackrest/pg1/pgbackrest.conf", encoding: .utf8)
            #expect(conf.contains("repo2-retention-full-type=count") && conf.contains("repo2-retention-full=2"))

            func listed() async throws -> (backups: [[String: Any]], repositories: [[String: Any]]) {
                let run = try await CLI.run(["backups", "--json", "--config", config])
                let info = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stderr)")
                return (info["backups"] as? [[String: Any]] ?? [], info["repositories"] as? [[String: Any]] ?? [])
            }
            var first: Set<String> = []
            for round in 1...3 {
                _ = try await Self.sql(lab, "pg1", ["CREATE TABLE IF NOT EXISTS t (id int)", "INSERT INTO t SELECT generate_series(1, 1000)",
                                                    "SELECT pg_switch_wal()::text"])
                let backup = try await CLI.run(["backup", "--type", "full", "--config", config])
                try #require(backup.status == 0, "round \(round): \(backup.stdout)\(backup.stderr)")
                if round == 1 { first = Set(try await listed().backups.compactMap { $0["label"] as? String }) }
            }
            try #require(!first.isEmpty)
            let (backups, repositories) = try await listed()
            for number in [1, 2] {
                let kept = backups.filter { $0["repository"] as? Int == number && $0["type"] as? String == "full" }
                #expect(kept.count == 2, "repo\(number): \(kept.compactMap { $0["label"] })")
                #expect(kept.allSatisfy { !first.contains($0["label"] as? String ?? "") }, "repo\(number) still holds the first backup")
                // The archive starts no earlier than the oldest kept backup: the WAL only the first needed is gone.
                let oldestKept = kept.compactMap { $0["walStart"] as? String }.min() ?? ""
                let repository = repositories.first { $0["number"] as? Int == number }
                let oldestWAL = repository?["oldestWAL"] as? String ?? ""
                #expect(!oldestKept.isEmpty && oldestWAL >= oldestKept, "repo\(number): archive from \(oldestWAL), oldest kept backup needs \(oldestKept)")
            }
        }
    }

    /// pgdr.yaml naming a stanza the repositories do not hold: a clear error, exit 2, nothing made.
    @Test func aStanzaTheRepositoriesDoNotHoldIsNamed() async throws {
        try await Self.withLab { config, lab in
            let dir = (config as NSString).deletingLastPathComponent
            let text = try String(contentsOfFile: config, encoding: .utf8)
            try text.replacingOccurrences(of: "  stanza: lab-lab\n", with: "  stanza: other-stanza\n").write(toFile: config, atomically: true, encoding: .utf8)
            for arguments in [["backups"], ["backup"], ["restore", "--to", "latest", "--target-dir", "\(dir)/restore-other"]] {
                let run = try await CLI.run(arguments + ["--config", config])
                #expect(run.status == 2 && run.stderr.contains("stanza `other-stanza`") && run.stderr.contains("pgdr backup --setup"),
                        "\(arguments): \(run.status) \(run.stdout)\(run.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/restore-other"))
            for region in [Lab.primaryRegion, Lab.drRegion] {
                #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(region)/pgbackrest-repo/backup/other-stanza"), "nothing made in \(region)")
            }
        }
    }

    @Test func theRestoreDrillRecoversExactlyWhatWasCommittedBeforeItsMoment() async throws {
        try await Self.withLab { config, _ in
            let dir = (config as NSString).deletingLastPathComponent
            let drill = try await CLI.run(["drill", "--scenario", "restore", "--json", "--config", config])
            #expect(drill.status == 0, "\(drill.stdout)\(drill.stderr)")
            let runs = try #require(try JSONSerialization.jsonObject(with: Data(drill.stdout.utf8)) as? [[String: Any]])
            let run = try #require(runs.first)
            #expect(run["exact"] as? Bool == true, "\(run)")
            #expect(run["repository"] as? Int == 2, "the DR region's repository")
            let before = run["acknowledgedBefore"] as? Int ?? 0, restored = run["restored"] as? Int ?? -1
            #expect(before > 10 && restored >= before && restored <= (run["possiblyBefore"] as? Int ?? 0), "\(run)")
            let leftovers = (try FileManager.default.contentsOfDirectory(atPath: dir)).filter { $0.hasPrefix("pgdr-drill-restore-") }
            #expect(leftovers.isEmpty, "the drill's copy is stopped and removed: \(leftovers)")
        }
    }

    static func newestWAL(_ json: String) -> [String] {
        json.matches(of: /"newestWAL" : "([0-9A-F]{24})"/).map { String($0.1) }
    }

    /// After a failover the new primary archives and backs up under the same
    /// stanza, on its new timeline; a restore follows it.
    @Test func afterAFailoverTheNewPrimaryBacksUpOnItsTimeline() async throws {
        try await Self.withLab { config, lab in
            let dir = (config as NSString).deletingLastPathComponent
            #expect(try await CLI.run(["backup", "--repo", "2", "--config", config]).status == 0)
            _ = try await Self.sql(lab, "pg1", ["CREATE TABLE t (id int)", "INSERT INTO t SELECT generate_series(1, 50)", "SELECT pg_switch_wal()::text"])
            // The primary lost; the DR node promoted by the ordinary failover.
            #expect(try await lab.kill(node: "pg1", withChildren: true) != nil)
            let plan = try await CLI.run(["failover", "--accept-data-loss", "--config", config])
            let id = try #require(plan.stdout.firstMatch(of: /approve with: pgdr approve (failover-[0-9a-f]+)/)?.1, "\(plan.stderr)")
            let approved = try await CLI.run(["approve", String(id), "--config", config])
            #expect(approved.status == 0 || approved.status == 4, "\(approved.stdout)\(approved.stderr)")
            _ = try await Self.sql(lab, "pg2", ["INSERT INTO t SELECT generate_series(51, 80)"])
            let backup = try await CLI.run(["backup", "--repo", "2", "--type", "incr", "--config", config])
            #expect(backup.status == 0 && backup.stdout.contains("backup of pg2"), "\(backup.stdout)\(backup.stderr)")
            _ = try await Self.sql(lab, "pg2", ["SELECT pg_switch_wal()::text"])
            try await Task.sleep(for: .seconds(2))
            let restored = try await CLI.run(["restore", "--config", config, "--to", "latest", "--repo", "2",
                                              "--target-dir", "\(dir)/restore-after", "--json"])
            #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(restored.stdout.utf8)) as? [String: Any])
            #expect((report["timeline"] as? Int ?? 0) >= 3, "restored past the promotion's timeline: \(report)")
            #expect(try await Self.countAndStop(report, lab: lab) == 80)
        }
    }
}

/// The agent watches the backups: a repository without a recent backup and a
/// repository that fails its check raise alarms, and writes go on meanwhile.
/// (In the same serialized suite: one backup lab at a time on a loaded machine.)
extension BackupCommandTests {
    static func alarmEntries(_ dir: String) -> [(String, String)] {
        guard let data = FileManager.default.contents(atPath: "\(dir)/pgdr-journal.jsonl") else { return [] }
        return data.split(separator: 0x0A).compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
            .compactMap { entry in
                guard entry["kind"] as? String == "alarm", let alarm = entry["alarm"] as? String, let to = entry["to"] as? String else { return nil }
                return (alarm, to)
            }
    }

    static func state(_ dir: String, _ alarm: String) -> String? {
        alarmEntries(dir).last { $0.0 == alarm }?.1
    }

    static func eventually(_ seconds: Int, _ condition: () -> Bool) async -> Bool {
        for _ in 0..<(seconds * 5) {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return condition()
    }

    @Test func aStaleOrFailingRepositoryRaisesItsAlarm() async throws {
        try await Self.withLab { config, lab in
            let dir = (config as NSString).deletingLastPathComponent
            let agent = Process()
            agent.executableURL = URL(fileURLWithPath: CLI.binary)
            agent.arguments = ["agent", "--config", config, "--listen", "127.0.0.1:0"]
            agent.standardOutput = FileHandle.nullDevice
            agent.standardError = FileHandle.nullDevice
            try agent.run()
            defer { kill(agent.processIdentifier, SIGTERM) }

            // No backup yet: nothing to restore from, the alarm says so.
            #expect(await Self.eventually(30) { Self.state(dir, "backup-too-old") == "ALARM" }, "\(Self.alarmEntries(dir))")
            #expect(Self.state(dir, "backup-repository-failing") != "ALARM", "an empty repository is readable: not failing")
            // One repository backed up is not enough: the other is still empty.
            #expect(try await CLI.run(["backup", "--repo", "1", "--config", config]).status == 0)
            try await Task.sleep(for: .seconds(12))
            #expect(Self.state(dir, "backup-too-old") == "ALARM", "repo2 has no backup yet")
            #expect(try await CLI.run(["backup", "--repo", "2", "--config", config]).status == 0)
            #expect(await Self.eventually(30) { Self.state(dir, "backup-too-old") == "OK" }, "\(Self.alarmEntries(dir))")
            #expect(Self.state(dir, "backup-repository-failing") != "ALARM")

            // The DR repository becomes unreadable (a lost mount): its alarm fires,
            // and the primary keeps taking writes.
            let repo2 = "\(dir)/us-east-2/pgbackrest-repo"
            chmod(repo2, 0o000)
            defer { chmod(repo2, 0o700) }
            #expect(await Self.eventually(45) { Self.state(dir, "backup-repository-failing") == "ALARM" }, "\(Self.alarmEntries(dir))")
            let written = try await BackupCommandTests.sql(lab, "pg1", ["CREATE TABLE IF NOT EXISTS w (id int)",
                                                                        "INSERT INTO w SELECT generate_series(1, 1000)",
                                                                        "SELECT count(*)::text FROM w"])
            #expect(written == "1000")
            chmod(repo2, 0o700)
            #expect(await Self.eventually(45) { Self.state(dir, "backup-repository-failing") == "OK" }, "\(Self.alarmEntries(dir))")
            kill(agent.processIdentifier, SIGTERM)
        }
    }
}

/// A repository that stops taking WAL must not fill the primary's disk: with
/// archive-push asynchronous and a bounded queue, pgBackRest drops WAL past
/// the bound (and says so) instead of letting pg_wal grow.
extension BackupCommandTests {
    @Test func aFailingRepositoryNeverFillsThePrimarysDisk() async throws {
        try await Self.withLab { config, lab in
            let dir = (config as NSString).deletingLastPathComponent
            // The smallest queue pgdr.yaml allows (16MB), set in the lab's spec and in
            // the node's pgBackRest configuration as pgdr writes it.
            let spec = try String(contentsOfFile: config, encoding: .utf8)
            try spec.replacingOccurrences(of: "  stanza: lab-lab\n", with: "  stanza: lab-lab\n  archiveQueueMax: 16MB\n")
                .write(toFile: config, atomically: true, encoding: .utf8)
            let parsed = try SpecParser.load(path: config)
            let pg1 = try #require(try BackupNodes.configs(parsed.spec, baseDirectory: parsed.baseDirectory)["pg1"])
            #expect(pg1.text(passphrase: "x").contains("archive-push-queue-max=\(16 << 20)"))
            let file = "\(dir)/pgbackrest/pg1/pgbackrest.conf"
            let written = try String(contentsOfFile: file, encoding: .utf8)
            try written.replacingOccurrences(of: "archive-push-queue-max=\(1 << 30)", with: "archive-push-queue-max=\(16 << 20)")
                .write(toFile: file, atomically: false, encoding: .utf8)

            // Both repositories unwritable (a lost mount), then 128MB of WAL.
            let repos = ["us-east-1", "us-east-2"].map { "\(dir)/\($0)/pgbackrest-repo" }
            for repo in repos { chmod(repo, 0o000) }
            defer { for repo in repos { chmod(repo, 0o700) } }
            for _ in 0..<8 {
                _ = try await BackupCommandTests.sql(lab, "pg1", ["CREATE TABLE IF NOT EXISTS filler (v text)",
                                                                   "INSERT INTO filler SELECT repeat(md5(i::text), 500) FROM generate_series(1, 1000) i",
                                                                   "SELECT pg_switch_wal()::text"])
            }
            try await Task.sleep(for: .seconds(3))
            let (ready, failed) = try await PostgresSession.with(try lab.adminTarget(node: "pg1")) { session in
                let ready = try await session.value(Int.self, "SELECT count(*)::int FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'")
                let failed = try await session.value(Int.self, "SELECT failed_count::int FROM pg_stat_archiver")
                return (ready, failed)
            }
            // 8 switched segments and more written: without the bound every one would wait in pg_wal.
            #expect(ready <= 3, "\(ready) WAL files wait in pg_wal: the queue bound did not hold")
            let log = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/pgbackrest/pg1/log")
                .compactMap { try? String(contentsOfFile: "\(dir)/pgbackrest/pg1/log/\($0)", encoding: .utf8) }.joined()
            #expect(log.contains("dropped WAL file"), "pgBackRest says which WAL it dropped (failed attempts: \(failed))")
            // The server kept taking writes throughout.
            let rows = try await BackupCommandTests.sql(lab, "pg1", ["SELECT count(*)::text FROM filler"])
            #expect(rows == "8000")
        }
    }
}

/// `pgdr backup --setup` writes what a self-managed server needs: each local
/// node's configuration (0600, the server's user), the repositories, the
/// stanza, and the settings to put in postgresql.conf.
extension BackupCommandTests {
    @Test func setupWritesEveryLocalNodesConfigurationAndTheStanzaChecks() async throws {
        try await Self.withLab { config, _ in
            let dir = (config as NSString).deletingLastPathComponent
            // The standby's configuration gone (the primary's archiver keeps using its own).
            let standbyConf = "\(dir)/pgbackrest/pg2/pgbackrest.conf"
            let before = try String(contentsOfFile: standbyConf, encoding: .utf8)
            try FileManager.default.removeItem(atPath: standbyConf)
            let setup = try await CLI.run(["backup", "--setup", "--config", config])
            #expect(setup.status == 0, "\(setup.stdout)\(setup.stderr)")
            #expect(setup.stdout.contains("archive_command = 'pgbackrest --config=\(dir)/pgbackrest/pg1/pgbackrest.conf --stanza=lab-lab archive-push %p'"),
                    "\(setup.stdout)")
            #expect(setup.stdout.contains("check: WAL archiving into every repository works"))
            for node in ["pg1", "pg2"] {
                let file = "\(dir)/pgbackrest/\(node)/pgbackrest.conf"
                let attributes = try FileManager.default.attributesOfItem(atPath: file)
                #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(node): \(attributes[.posixPermissions] ?? "")")
                let data = try FileManager.default.attributesOfItem(atPath: "\(dir)/\(node == "pg1" ? "us-east-1" : "us-east-2")/data")
                #expect(attributes[.ownerAccountID] as? Int == data[.ownerAccountID] as? Int, "owned by the server's user")
            }
            #expect(try String(contentsOfFile: standbyConf, encoding: .utf8) == before, "the same configuration the lab wrote")
            #expect(!setup.stdout.contains("cipher-pass") && !setup.stderr.contains("cipher"), "the passphrase is never printed")
            #expect(try await CLI.run(["backup", "--repo", "1", "--config", config]).status == 0)
            // No passphrase: a clear error, nothing written.
            try FileManager.default.removeItem(atPath: "\(dir)/secrets/backup.password")
            try FileManager.default.removeItem(atPath: standbyConf)
            let missing = try await CLI.run(["backup", "--setup", "--config", config])
            #expect(missing.status == 2, "\(missing.stdout)\(missing.stderr)")
            #expect(missing.stderr.contains("backup passphrase") && missing.stderr.contains("backup.password"))
            #expect(!FileManager.default.fileExists(atPath: standbyConf), "nothing written without the passphrase")
        }
    }
}
