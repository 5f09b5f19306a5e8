import DRLocal
import DRPostgres
import DRSpec
import DRStatus
import Foundation
import PostgresNIO
import Testing

@Suite(.serialized) struct LabStreamingTests {
    @Test func standbyStreamsWithZeroLagAfterACheckpoint() async throws {
        try await LabFixture.with { fx in
            try await fx.admin("pg1") { try await $0.execute("CHECKPOINT") }
            let report = try await fx.status(within: .seconds(15)) { $0.replication?.lagBytes == 0 }
            #expect(report.healthy, "problems: \(report.problems)")
            let pg1 = try #require(report.nodes.first { $0.name == "pg1" })
            let pg2 = try #require(report.nodes.first { $0.name == "pg2" })
            #expect(pg1.role == .primary)
            #expect(pg2.role == .standby)
            #expect(pg2.walReceiver?.status == .streaming)
            #expect(pg2.walReceiver?.slotName == "pgdr_pg2")
            #expect(pg1.slots.contains { $0.name == "pgdr_pg2" && $0.active })
            #expect(pg1.replicas.contains { $0.applicationName == "pg2" && $0.state == "streaming" })
            #expect(pg1.timeline == 1 && pg2.timeline == 1)
            #expect(report.replication?.lagBytes == 0)
            #expect(report.replication?.lagSeconds == 0)
            #expect(pg1.connections.map { $0.max } == 50)
            #expect((pg1.databaseSizeBytes ?? 0) > 1_000_000)
            #expect(pg1.probeLatencyMs != nil)
        }
    }

    @Test func primaryIsBuiltAsSpecified() async throws {
        try await LabFixture.with { fx in
            let settings = try await fx.admin("pg1") { session in
                try await session.rows("""
                    SELECT current_setting('data_checksums'), current_setting('wal_level'), current_setting('wal_log_hints'),
                           current_setting('archive_mode'), current_setting('listen_addresses'),
                           current_setting('wal_retrieve_retry_interval')
                    """).first!.decode((String, String, String, String, String, String).self)
            }
            #expect(settings.0 == "on")
            #expect(settings.1 == "replica")
            #expect(settings.2 == "on")
            #expect(settings.3 == "on")
            #expect(settings.4 == "127.0.0.1")
            #expect(settings.5 == "200ms")
            // The standby falls back to the primary region's archive.
            let restore = try await fx.admin("pg2") {
                try await $0.rows("SELECT current_setting('restore_command')").first!.decode(String.self)
            }
            #expect(restore.contains(fx.lab.layout.archive("us-east-1")))
            // Archiving works: a forced segment switch lands in the archive.
            try await fx.admin("pg1") { _ = try await $0.rows("SELECT pg_switch_wal()") }
            let report = try await fx.status(within: .seconds(15)) {
                ($0.nodes.first { $0.name == "pg1" }?.archiver?.archivedCount ?? 0) >= 2
            }
            let archived = report.nodes.first { $0.name == "pg1" }?.archiver
            #expect((archived?.archivedCount ?? 0) >= 2)
            let files = try FileManager.default.contentsOfDirectory(atPath: fx.lab.layout.archive("us-east-1"))
            #expect(files.contains(try #require(archived?.lastArchivedWAL)))
        }
    }

    @Test func fiftyThousandRowsAreReplayedAndLagReturnsToZero() async throws {
        try await LabFixture.with { fx in
            try await fx.admin("pg1") { session in
                try await session.execute("CREATE TABLE load (id int PRIMARY KEY, payload text)")
                try await session.execute("INSERT INTO load SELECT g, md5(g::text) FROM generate_series(1, 50000) g")
            }
            let report = try await fx.status(within: .seconds(30)) { $0.replication?.lagBytes == 0 }
            #expect(report.replication?.lagBytes == 0)
            #expect(report.replication?.lagSeconds == 0)
            let count = try await fx.admin("pg2") {
                try await $0.rows("SELECT count(*) FROM load").first!.decode(Int64.self)
            }
            #expect(count == 50_000)
        }
    }

    /// The heartbeat: with the primary idle, lag in seconds stays small instead of
    /// growing like now() - pg_last_xact_replay_timestamp() does.
    @Test func idlePrimaryShowsNoFalseLag() async throws {
        try await LabFixture.with { fx in
            let interval = fx.spec.monitoring.interval
            let monitor = try fx.monitorTarget("pg1")
            // A heartbeat writer as the monitoring role: it may write the heartbeat.
            let writer = Task {
                while !Task.isCancelled {
                    try? await PostgresSession.with(monitor) { try await Heartbeat.beat($0, writer: "test") }
                    try? await Task.sleep(for: interval.duration)
                }
            }
            defer { writer.cancel() }
            // Seconds are unknown until the first heartbeat has reached the standby.
            let warm = try await fx.status(within: .seconds(10)) { $0.nodes.last?.heartbeatAt != nil }
            #expect(warm.nodes.last?.heartbeatAt != nil)
            let clock = ContinuousClock()
            let end = clock.now + .seconds(10)
            var worst = 0.0
            var sawHeartbeat = false
            while clock.now < end {
                let report = await fx.status()
                let seconds = try #require(report.replication?.lagSeconds, "lag in seconds must be known")
                worst = max(worst, seconds)
                sawHeartbeat = sawHeartbeat || report.nodes.first { $0.name == "pg2" }?.heartbeatAt != nil
                try await Task.sleep(for: .seconds(1))
            }
            #expect(worst < 2 * interval.seconds, "lag reached \(worst)s on an idle primary")
            #expect(sawHeartbeat, "the standby should replay the heartbeat row")
        }
    }

    @Test func pausedReplayShowsLagInBytesAndSeconds() async throws {
        try await LabFixture.with { fx in
            let monitor = try fx.monitorTarget("pg1")
            try await PostgresSession.with(monitor) { try await Heartbeat.beat($0, writer: "test") }
            _ = try await fx.status(within: .seconds(10)) { $0.nodes.last?.heartbeatAt != nil && $0.replication?.lagBytes == 0 }
            try await fx.admin("pg2") { _ = try await $0.rows("SELECT pg_wal_replay_pause()") }
            try await Task.sleep(for: .seconds(2))
            try await fx.admin("pg1") { try await $0.execute("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g") }
            try await PostgresSession.with(monitor) { try await Heartbeat.beat($0, writer: "test") }
            let report = try await fx.status(within: .seconds(10)) { ($0.replication?.lagBytes ?? 0) > 0 }
            #expect((report.replication?.lagBytes ?? 0) > 0)
            #expect(report.replication?.lagSource == .heartbeat)
            #expect((report.replication?.lagSeconds ?? 0) >= 2)
            #expect(report.problems.contains { $0.node == "pg2" && $0.message.contains("paused") })
            try await fx.admin("pg2") { _ = try await $0.rows("SELECT pg_wal_replay_resume()") }
            let after = try await fx.status(within: .seconds(15)) { $0.replication?.lagBytes == 0 }
            #expect(after.healthy, "problems: \(after.problems)")
        }
    }
}
