import DRLocal
import DRPostgres
import DRSpec
import Foundation
import PostgresNIO
import Testing

/// Least privilege, tried on a real lab: the monitoring role reads what
/// `status` needs and writes the heartbeat, and every other attempt is
/// refused by PostgreSQL itself; the replication role can replicate and can
/// open no ordinary session.
@Suite struct LabPrivilegeTests {
    @Test func theMonitorReadsAndBeatsAndIsRefusedEverythingElse() async throws {
        try await LabFixture.with { fx in
            try await fx.admin("pg1") { session in
                try await session.execute("CREATE TABLE public.orders (id int)")
                try await session.execute("INSERT INTO public.orders VALUES (1)")
            }
            let monitor = try fx.monitorTarget("pg1")
            try await PostgresSession.with(monitor) { session in
                // What status and the agent need.
                let sent = try await session.rows("SELECT sent_lsn::text FROM pg_stat_replication").first?.decode(String?.self)
                #expect(sent != nil, "pg_monitor sees the walsenders' positions")
                _ = try await session.rows("SELECT pg_current_wal_lsn(), pg_is_in_recovery(), pg_database_size('postgres')")
                _ = try await session.rows("SELECT * FROM pg_replication_slots")
                try await session.execute("""
                    INSERT INTO pgdr.heartbeat (writer, beat_at, primary_lsn) VALUES ('privilege-test', now(), pg_current_wal_lsn())
                    ON CONFLICT (writer) DO UPDATE SET beat_at = excluded.beat_at
                    """)
            }
            // Everything else: one fresh session per attempt, each refused with insufficient_privilege (42501).
            let refused = [
                "CREATE TABLE public.mine (id int)",
                "CREATE SCHEMA mine",
                "SELECT * FROM public.orders",
                "DELETE FROM pgdr.heartbeat",
                "TRUNCATE pgdr.heartbeat",
                "DROP TABLE pgdr.heartbeat",
                "SELECT pg_promote()",
                "SELECT pg_reload_conf()",
                "ALTER SYSTEM SET work_mem = '1MB'",
                "CREATE ROLE intruder LOGIN",
                "SELECT pg_read_file('postgresql.conf')",
                "COPY (SELECT 1) TO PROGRAM 'true'",
                "SELECT pg_create_physical_replication_slot('intruder')",
                "SELECT pg_drop_replication_slot('pgdr_pg2')",
            ]
            for statement in refused {
                do {
                    try await PostgresSession.with(monitor) { try await $0.execute(PostgresQuery(unsafeSQL: statement)) }
                    Issue.record("the monitoring role was allowed: \(statement)")
                } catch let failure as PostgresFailure {
                    #expect(failure.sqlState == "42501", "\(statement): \(failure)")
                }
            }
        }
    }

    @Test func theReplicationRoleReplicatesAndOpensNoOrdinarySession() async throws {
        try await LabFixture.with { fx in
            let port = fx.spec.nodes[0].port
            let passfile = fx.lab.layout.serverPassfile("us-east-1")
            // A copy the test's own user can read (the server's user owns the original).
            let copy = NSTemporaryDirectory() + "pgdr-replicator-pass-\(UUID().uuidString.prefix(8))"
            try FileManager.default.copyItem(atPath: passfile, toPath: copy)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            chmod(copy, 0o600)
            let base = "host=127.0.0.1 port=\(port) user=pgdr_replicator sslmode=verify-full sslrootcert=\(fx.lab.layout.certificateAuthority)"
            let replication = try await psql(["\(base) dbname=replication replication=true", "-c", "IDENTIFY_SYSTEM"], passfile: copy)
            #expect(replication.status == 0, "\(replication.output)")
            let ordinary = try await psql(["\(base) dbname=postgres", "-c", "SELECT 1"], passfile: copy)
            #expect(ordinary.status != 0)
            #expect(ordinary.output.contains("pg_hba.conf rejects connection"), "\(ordinary.output)")
        }
    }

    func psql(_ arguments: [String], passfile: String) async throws -> (status: Int32, output: String) {
        try await LabFixture.run("/usr/bin/psql", ["-XAt"] + arguments, environment: ["PGPASSFILE": passfile])
    }
}
