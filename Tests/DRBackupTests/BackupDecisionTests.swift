import DRSpec
import DRStatus
import Foundation
import Testing
@testable import DRBackup

/// The pure parts of backups: restore targets, the window, pgBackRest's
/// configuration text, and the spec's backup: section.
@Suite struct BackupDecisionTests {
    @Test func restoreTargetsParseToTheMicrosecond() throws {
        #expect(try RestoreTarget.parse("latest") == .latest)
        #expect(try RestoreTarget.parse("0/3000060") == .lsn(LSN("0/3000060")!))
        // PostgreSQL's own now()::text, microseconds and a +00 zone.
        guard case .time(let date) = try RestoreTarget.parse("2026-11-30 15:37:46.352491+00") else {
            Issue.record("not a time")
            return
        }
        #expect(RestoreTarget.postgresTime(date) == "2026-11-30 15:37:46.352491+00", "microseconds survive the round trip")
        guard case .time(let zoned) = try RestoreTarget.parse("2026-11-30T17:37:46+02:00") else { Issue.record("not a time"); return }
        #expect(RestoreTarget.postgresTime(zoned) == "2026-11-30 15:37:46.000000+00")
        #expect(try RestoreTarget.parse("2026-11-30T15:37:46Z") == .time(zoned))
        for bad in ["yesterday", "2026-11-30 15:37:46", "0/XYZ", ""] {
            #expect(throws: BackupError.self, "\(bad)") { try RestoreTarget.parse(bad) }
        }
        #expect(try RestoreTarget.parse("2026-11-30T15:00:00Z").restoreOptions
                == ["--type=time", "--target=2026-11-30 15:00:00.000000+00", "--target-action=promote"])
    }

    @Test func aMomentOutsideTheWindowIsRefusedWithTheWindow() throws {
        let from = Date(timeIntervalSince1970: 1_800_000_000)
        let repo = BackupInfo.Repository(number: 2, status: "ok", backups: 1, recoverableFrom: from,
                                         newestWAL: "000000010000000000000007", oldestWAL: "000000010000000000000004")
        let now = from.addingTimeInterval(3600)
        do {
            try RestoreTarget.time(from.addingTimeInterval(-1)).check(against: repo, now: now)
            Issue.record("a moment before the oldest backup was accepted")
        } catch let error as BackupError {
            #expect(error.description.contains("starts at \(RestoreTarget.postgresTime(from))"))
            #expect(error.description.contains("000000010000000000000007"))
        }
        #expect(throws: BackupError.self) { try RestoreTarget.time(now.addingTimeInterval(60)).check(against: repo, now: now) }
        try RestoreTarget.time(from.addingTimeInterval(10)).check(against: repo, now: now)
        try RestoreTarget.latest.check(against: repo, now: now)
        let empty = BackupInfo.Repository(number: 1, status: "ok", backups: 0, recoverableFrom: nil, newestWAL: nil, oldestWAL: nil)
        #expect(throws: BackupError.self) { try RestoreTarget.latest.check(against: empty, now: now) }
    }

    /// Without pgBackRest installed: bad input that says what to install.
    @Test func aMissingPgBackRestSaysWhatToInstall() {
        let settings = PgBackRestSpec(stanza: "orders-prod", repositories: [.init(region: "us-east-1", path: "r1")], passphrase: .file("p"))
        let config = PgBackRestConfig(settings: settings, repositoryPaths: ["/b/r1"], retentionDays: 7, nodeDirectory: "/b/pg1",
                                      dataDirectory: "/d", port: 5432, socketDirectory: "/run/postgresql", user: "postgres")
        do {
            _ = try PgBackRest(config: config, runAs: nil, searching: ["/nonexistent/pgbackrest"])
            Issue.record("a missing pgbackrest must be refused")
        } catch BackupError.badInput(let text) {
            #expect(text.contains("apt-get install pgbackrest"))
        } catch {
            Issue.record("wrong error: \(error)")
        }
        #expect((try? PgBackRest(config: config, runAs: nil, searching: PgBackRest.installedPaths)) != nil, "installed here")
    }

    /// Retention by count, and a stanza no repository holds.
    @Test func retentionByCountAndAMissingStanza() {
        var settings = PgBackRestSpec(stanza: "orders-prod", repositories: [.init(region: "us-east-1", path: "r1")], passphrase: .file("p"))
        settings.retentionFullBackups = 4
        let config = PgBackRestConfig(settings: settings, repositoryPaths: ["/b/r1"], retentionDays: 7, nodeDirectory: "/b/pg1",
                                      dataDirectory: "/d", port: 5432, socketDirectory: "/run/postgresql", user: "postgres")
        let text = config.text(passphrase: "x")
        #expect(text.contains("repo1-retention-full-type=count") && text.contains("repo1-retention-full=4"))
        func info(_ statuses: [String]) -> BackupInfo {
            BackupInfo(stanza: "orders-prod", status: "x", backups: [], repositories: statuses.enumerated().map {
                .init(number: $0.offset + 1, status: $0.element, backups: 0, recoverableFrom: nil, newestWAL: nil, oldestWAL: nil)
            })
        }
        #expect(info(["missing stanza path", "missing stanza path"]).stanzaMissing)
        #expect(!info(["missing stanza path", "ok"]).stanzaMissing)
        #expect(!info(["no valid backups"]).stanzaMissing && !info([]).stanzaMissing)
    }

    @Test func theConfigEncryptsEveryRepositoryAndBoundsTheQueue() {
        var settings = PgBackRestSpec(stanza: "orders-prod", repositories: [.init(region: "us-east-1", path: "r1"), .init(region: "us-east-2", path: "r2")],
                                      passphrase: .file("p"))
        settings.archiveQueueMax = .gigabytes(2)
        let config = PgBackRestConfig(settings: settings, repositoryPaths: ["/b/r1", "/b/r2"], retentionDays: 7, nodeDirectory: "/b/pgbackrest/pg1",
                                      dataDirectory: "/var/lib/postgresql/16/main", port: 5433, socketDirectory: "/run/postgresql", user: "postgres")
        let text = config.text(passphrase: "s3cret")
        for repo in ["repo1", "repo2"] {
            #expect(text.contains("\(repo)-cipher-type=aes-256-cbc") && text.contains("\(repo)-cipher-pass=s3cret"))
            #expect(text.contains("\(repo)-retention-full-type=time") && text.contains("\(repo)-retention-full=7"))
        }
        #expect(text.contains("archive-async=y") && text.contains("archive-push-queue-max=\(2 << 30)"))
        #expect(text.contains("[orders-prod]") && text.contains("pg1-path=/var/lib/postgresql/16/main") && text.contains("pg1-port=5433"))
        #expect(!config.archiveCommand.contains("s3cret") && !config.restoreCommand.contains("s3cret"),
                "the commands PostgreSQL runs name the config file, never the passphrase")
        #expect(config.archiveCommand == "pgbackrest --config=/b/pgbackrest/pg1/pgbackrest.conf --stanza=orders-prod archive-push %p")
    }

    static let base = """
        name: orders
        environment: prod
        objectives: {rpo: 1m, rto: 5m}
        engine: {version: "16"}
        """

    @Test func theBackupSectionIsCheckedAndTheDefaultsAreSafe() throws {
        let spec = try SpecParser.parse(yaml: Self.base + """

            backup:
              passphraseFile: secrets/backup.passphrase
              repositories:
                - {region: us-east-1, path: /var/lib/pgbackrest}
                - {region: us-east-2, path: /mnt/dr/pgbackrest}
            """).spec
        let settings = try #require(spec.backup.pgbackrest)
        #expect(settings.stanza == "orders-prod" && settings.repositories.count == 2)
        #expect(settings.archiveQueueMax == .gigabytes(1) && settings.compression == .lz4)
        #expect(settings.passphrase == .file("secrets/backup.passphrase"))

        func problems(_ backup: String) -> [String] {
            do {
                let parsed = try SpecParser.parse(yaml: Self.base + "\n" + backup)
                return parsed.warnings.map(\.message)
            } catch {
                return error.diagnostics.map(\.message)
            }
        }
        #expect(problems("backup: {repositories: [{region: us-east-1, path: /r}, {region: us-east-2, path: /s}]}")
            .contains { $0.contains("passphrase is missing") })
        #expect(problems("backup: {passphrase: hunter2, passphraseFile: p, repositories: [{region: us-east-2, path: /s}]}")
            .contains { $0.contains("unknown key `passphrase`") })
        #expect(problems("backup: {passphraseFile: p, repositories: [{region: eu-west-1, path: /s}]}")
            .contains { $0.contains("neither the primary's region nor the DR one") })
        #expect(problems("backup: {passphraseFile: p, repositories: [{region: us-east-1, path: /s}]}")
            .contains { $0.contains("no backup repository in the DR region") })
        #expect(problems("backup: {passphraseFile: p}").contains { $0.contains("needs backup.repositories") })
        #expect(problems("backup: {passphraseFile: p, stanza: 'a b', repositories: [{region: us-east-2, path: /s}]}")
            .contains { $0.contains("not a pgBackRest stanza name") })
    }
}
