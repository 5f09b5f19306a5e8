import DRLocal
import DROrchestrator
import DRPostgres
import DRSpec
import DRStatus
import Foundation
import PostgresNIO

/// The SQL and process work behind each step. Every action is safe to run
/// again after a crash (the step machine may repeat a step whose end was
/// never journaled).
enum StepActions {
    static func fence(_ node: String, ctx: OperationContext, operation: String) async throws -> String {
        if let lab = ctx.lab, lab.hasNode(node) {
            return try await lab.fence(node: node, operation: operation)
        }
        // Not ours to stop: make it refuse writes and end its sessions. Weaker
        // than a stop (a session can lift read-only), and said so.
        let target = try ctx.admin(node)
        do {
            try await PostgresSession.with(target) { session in
                try await session.execute("ALTER SYSTEM SET default_transaction_read_only = on")
                _ = try await session.rows("SELECT pg_reload_conf()")
                _ = try await session.rows("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
            }
            return "set read-only and sessions ended (remote node: weak fence)"
        } catch {
            return "unreachable, NOT fenced: \(error)"
        }
    }

    static func promote(_ node: String, ctx: OperationContext) async throws -> String {
        let promoted = try await PostgresSession.with(try ctx.admin(node)) { session -> Bool in
            let inRecovery = try await session.rows("SELECT pg_is_in_recovery()").first!.decode(Bool.self)
            guard inRecovery else { return true }
            return try await session.rows("SELECT pg_promote(true, 60)").first!.decode(Bool.self)
        }
        guard promoted else { throw OperationError.failed("pg_promote on \(node) did not finish within 60 s") }
        return "\(node) promoted"
    }

    /// Synchronous mode and no standby yet: a new primary would block every
    /// commit until one connects. Like Patroni's (non-strict) synchronous
    /// mode, relax it until a standby streams again, and say so.
    static func relaxSynchronous(on node: String, ctx: OperationContext) async throws -> String? {
        guard ctx.spec.replication.mode == .sync else { return nil }
        try await PostgresSession.with(try ctx.admin(node)) { session in
            try await session.execute("ALTER SYSTEM SET synchronous_standby_names = ''")
            _ = try await session.rows("SELECT pg_reload_conf()")
        }
        return "synchronous replication relaxed on \(node) until a standby streams"
    }

    /// Puts synchronous replication back (the setting from the server's config files).
    static func restoreSynchronous(on node: String, ctx: OperationContext) async throws -> String? {
        guard ctx.spec.replication.mode == .sync else { return nil }
        try await PostgresSession.with(try ctx.admin(node)) { session in
            try await session.execute("ALTER SYSTEM RESET synchronous_standby_names")
            _ = try await session.rows("SELECT pg_reload_conf()")
        }
        return "synchronous replication restored on \(node)"
    }

    /// Waits until the node takes a write, up to 30 s.
    static func verifyWrite(_ node: String, ctx: OperationContext) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(30)
        var lastError = "no answer"
        while ContinuousClock.now < deadline {
            do {
                let lsn = try await PostgresSession.with(try ctx.admin(node)) { session -> String in
                    try await session.execute("""
                        INSERT INTO pgdr.heartbeat (writer, beat_at, primary_lsn) VALUES ('pgdr-operation', now(), pg_current_wal_lsn())
                        ON CONFLICT (writer) DO UPDATE SET beat_at = excluded.beat_at, primary_lsn = excluded.primary_lsn
                        """)
                    return try await session.rows("SELECT pg_current_wal_lsn()::text").first!.decode(String.self)
                }
                return "\(node) took a write at \(lsn)"
            } catch {
                lastError = "\(error)"
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        throw OperationError.failed("\(node) did not take a write within 30 s: \(lastError)")
    }

    /// Runs failover.hook with the new primary in its environment.
    static func repoint(to node: String, ctx: OperationContext, operation: String) async throws -> String {
        guard let hook = ctx.spec.failover.hook, let program = hook.first else {
            return "no failover.hook configured; the agent's /primary?node=\(node) answers 200 now, and libpq multi-host strings with target_session_attrs=read-write find \(node)"
        }
        let spec = try ctx.node(node)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = Array(hook.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging([
            "PGDR_NEW_PRIMARY_NAME": node, "PGDR_NEW_PRIMARY_HOST": spec.host, "PGDR_NEW_PRIMARY_PORT": "\(spec.port)",
            "PGDR_OPERATION": operation,
        ]) { $1 }
        try process.run()
        let status: Int32 = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume(returning: process.terminationStatus)
            }
        }
        guard status == 0 else { throw OperationError.failed("failover.hook \(program) exited with status \(status)") }
        return "ran \(program)"
    }

    /// Makes sure the node has its physical slot on the primary.
    static func ensureSlot(for node: String, on primary: String, ctx: OperationContext) async throws -> String {
        let slot = SlotName.forNode(node)
        return try await PostgresSession.with(try ctx.admin(primary)) { session in
            let exists = try await session.rows("SELECT 1 FROM pg_replication_slots WHERE slot_name = '\(slot)'").count > 0
            if exists { return "slot \(slot) already on \(primary)" }
            _ = try await session.rows("SELECT pg_create_physical_replication_slot('\(slot)', true)")
            return "created slot \(slot) on \(primary)"
        }
    }

    /// Waits until the node streams, then drops replication slots it kept
    /// from its time as a primary (on a standby they only hold WAL back).
    static func waitStreaming(_ node: String, ctx: OperationContext) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let streaming = try? await PostgresSession.with(try ctx.admin(node)) { session -> Bool in
                try await session.rows("SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'").count > 0
            }
            if streaming == true {
                let dropped = (try? await PostgresSession.with(try ctx.admin(node)) { session -> [String] in
                    let stale = try await session.rows("SELECT slot_name::text FROM pg_replication_slots WHERE NOT active")
                        .map { try $0.decode(String.self) }
                    for slot in stale { _ = try await session.rows("SELECT pg_drop_replication_slot('\(slot)')") }
                    return stale
                }) ?? []
                return "\(node) streams" + (dropped.isEmpty ? "" : "; dropped its stale slots \(dropped.joined(separator: ", "))")
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        throw OperationError.failed("\(node) did not start streaming within 60 s; see its postgres.log")
    }

    /// Replay position of a node, from its admin session.
    static func replayLSN(_ node: String, ctx: OperationContext) async throws -> LSN? {
        try await PostgresSession.with(try ctx.admin(node)) { session in
            try await session.rows("SELECT pg_last_wal_replay_lsn()::text").first?.decode(String?.self).flatMap(LSN.init)
        }
    }
}
