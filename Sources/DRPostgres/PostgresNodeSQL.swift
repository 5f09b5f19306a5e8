import DRControl
import DRStatus
import Foundation
import Logging
import PostgresNIO

/// `NodeSQL` over postgres-nio: each action opens a session as the node's
/// admin role, does its work within the session's deadlines, and closes it.
public struct PostgresNodeSQL: NodeSQL {
    public let node: String
    let target: ConnectionTarget
    let logger: Logger

    public init(node: String, target: ConnectionTarget, logger: Logger = Logger(label: "pgdr.sql")) {
        self.node = node
        self.target = target
        self.logger = logger
    }

    func with<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        try await PostgresSession.with(target, logger: logger, body)
    }

    public func isInRecovery() async throws -> Bool {
        try await with { try await $0.value(Bool.self, "SELECT pg_is_in_recovery()") }
    }

    /// `pg_promote(wait => false)`, then a tight poll on the same session:
    /// `wait => true` checks only every 100 ms, which a failover pays in full.
    public func promote(timeout: Duration) async throws {
        try await with { session in
            guard try await session.value(Bool.self, "SELECT pg_is_in_recovery()") else { return }
            _ = try await session.rows("SELECT pg_promote(false)")
            let deadline = ContinuousClock.now + timeout
            while try await session.value(Bool.self, "SELECT pg_is_in_recovery()") {
                guard ContinuousClock.now < deadline else {
                    throw PromotionTimeout(node: node, timeout: timeout)
                }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    public func checkpoint() async throws {
        try await with { _ = try await $0.rows("CHECKPOINT") }
    }

    public func replayLSN() async throws -> LSN? {
        try await with { try await $0.value(String?.self, "SELECT pg_last_wal_replay_lsn()::text").flatMap(LSN.init) }
    }

    public func writeProbe() async throws -> LSN {
        try await with { session in
            try await session.execute("""
                INSERT INTO pgdr.heartbeat (writer, beat_at, primary_lsn) VALUES ('pgdr-operation', now(), pg_current_wal_lsn())
                ON CONFLICT (writer) DO UPDATE SET beat_at = excluded.beat_at, primary_lsn = excluded.primary_lsn
                """)
            let text = try await session.value(String.self, "SELECT pg_current_wal_lsn()::text")
            guard let lsn = LSN(text) else { throw PostgresFailure(NoRow(sql: "pg_current_wal_lsn"), target: target, during: "query") }
            return lsn
        }
    }

    public func ensureSlot(_ name: String) async throws -> Bool {
        try await with { session in
            let lookup: PostgresQuery = "SELECT 1 FROM pg_replication_slots WHERE slot_name = \(name)"
            guard try await session.rows(lookup).isEmpty else { return false }
            let create: PostgresQuery = "SELECT pg_create_physical_replication_slot(\(name), true)"
            try await session.execute(create)
            return true
        }
    }

    public func dropInactiveSlots() async throws -> [String] {
        try await with { session in
            let stale = try await session.rows("SELECT slot_name::text FROM pg_replication_slots WHERE NOT active")
                .map { try $0.decode(String.self) }
            for slot in stale {
                let drop: PostgresQuery = "SELECT pg_drop_replication_slot(\(slot))"
                try await session.execute(drop)
            }
            return stale
        }
    }

    public func isStreaming() async throws -> Bool {
        try await with { try await $0.rows("SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'").count > 0 }
    }

    public func refuseWrites() async throws {
        try await with { session in
            try await session.execute("ALTER SYSTEM SET default_transaction_read_only = on")
            _ = try await session.rows("SELECT pg_reload_conf()")
            _ = try await session.rows("""
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                """)
        }
    }

    public func allowWrites() async throws {
        try await with { session in
            try await session.execute("ALTER SYSTEM RESET default_transaction_read_only")
            _ = try await session.rows("SELECT pg_reload_conf()")
        }
    }

    public func holdCommits(for standby: String?) async throws {
        // A quoted standby name inside a SQL string literal: both quotes doubled.
        let names = standby.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" } ?? ""
        let literal = "'" + names.replacingOccurrences(of: "'", with: "''") + "'"
        try await with { session in
            try await session.execute(PostgresQuery(unsafeSQL: "ALTER SYSTEM SET synchronous_standby_names = \(literal)"))
            _ = try await session.rows("SELECT pg_reload_conf()")
        }
    }

    public func setSynchronousStandbys(relaxed: Bool) async throws {
        try await with { session in
            try await session.execute(PostgresQuery(unsafeSQL: relaxed ? "ALTER SYSTEM SET synchronous_standby_names = ''"
                                                               : "ALTER SYSTEM RESET synchronous_standby_names"))
            _ = try await session.rows("SELECT pg_reload_conf()")
        }
    }
}

public struct PromotionTimeout: Error, CustomStringConvertible, Sendable {
    public let node: String
    public let timeout: Duration
    public var description: String { "\(node) was still in recovery \(timeout) after pg_promote" }
}
