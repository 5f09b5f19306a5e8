import DRSpec
import DRStatus
import Foundation
import Logging
import PostgresNIO

/// Reads one server's replication state into a `NodeSample`. Read-only: it
/// needs no more than membership of `pg_monitor`.
public enum NodeProbe {
    /// `timeout`: the connect deadline (and the statement one), when a caller
    /// cannot wait the default 3 s for a node that went silent.
    public static func sample(node: NodeSpec, baseDirectory: String, timeout: Duration? = nil,
                              logger: Logger = Logger(label: "pgdr.probe")) async -> NodeSample {
        var sample = NodeSample(name: node.name, region: node.region, host: node.host, port: node.port, reachable: false)
        do {
            var target = try ConnectionTarget(node: node, baseDirectory: baseDirectory)
            if let timeout {
                target.connectTimeout = timeout
                target.statementTimeout = timeout
                target.clientGrace = min(target.clientGrace, timeout / 2)
            }
            try await PostgresSession.with(target, logger: logger) { session in
                sample = try await read(session, into: sample)
            }
        } catch {
            sample.reachable = false
            sample.error = String(describing: error)
        }
        return sample
    }

    /// Probes every node at once, so one slow node does not delay the others.
    public static func sampleAll(_ nodes: [NodeSpec], baseDirectory: String, timeout: Duration? = nil,
                                 logger: Logger = Logger(label: "pgdr.probe")) async -> [NodeSample] {
        await withTaskGroup(of: (Int, NodeSample).self) { group in
            for (index, node) in nodes.enumerated() {
                group.addTask { (index, await sample(node: node, baseDirectory: baseDirectory, timeout: timeout, logger: logger)) }
            }
            var results: [(Int, NodeSample)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// Reads a sample over an open session (the agent keeps sessions open).
    public static func read(_ session: PostgresSession, into start: NodeSample) async throws -> NodeSample {
        var sample = start
        let clock = ContinuousClock()
        let began = clock.now
        _ = try await session.rows("SELECT 1")
        let elapsed = clock.now - began
        sample.probeLatencyMs = Double(elapsed.milliseconds) + Double(elapsed.components.attoseconds % 1_000_000_000_000_000) / 1e15
        sample.reachable = true

        let basics = try await session.rows("""
            SELECT pg_is_in_recovery(), current_setting('server_version'), now(),
                   (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int8,
                   current_setting('max_connections')::int8,
                   pg_database_size(current_database())::int8
            """)
        if let row = basics.first {
            let (inRecovery, version, now, used, max, size) =
                try row.decode((Bool, String, Date, Int64, Int64, Int64).self)
            sample.role = inRecovery ? .standby : .primary
            sample.serverVersion = version
            sample.serverTime = now
            sample.connections = .init(used: Int(used), max: Int(max))
            sample.databaseSizeBytes = size
        }

        if sample.role == .primary {
            try await readPrimary(session, into: &sample)
        } else {
            try await readStandby(session, into: &sample)
        }
        try await readSlots(session, standby: sample.role == .standby, into: &sample)
        try await readArchiver(session, into: &sample)
        sample.heartbeatAt = try await Heartbeat.newest(session)
        return sample
    }

    static func readPrimary(_ session: PostgresSession, into sample: inout NodeSample) async throws {
        // The timeline is the first 8 hex digits of the current WAL file name.
        let rows = try await session.rows("""
            SELECT pg_current_wal_lsn()::text, pg_current_wal_flush_lsn()::text,
                   ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int8
            """)
        if let row = rows.first {
            let (current, flush, timeline) = try row.decode((String, String, Int64).self)
            sample.currentLSN = LSN(current)
            sample.flushLSN = LSN(flush)
            sample.timeline = Int(timeline)
        }
        let replicas = try await session.rows("""
            SELECT coalesce(application_name, ''), host(client_addr), coalesce(state, ''), sync_state,
                   sent_lsn::text, replay_lsn::text, flush_lsn::text, extract(epoch FROM flush_lag)::float8
            FROM pg_stat_replication
            """)
        sample.replicas = try replicas.map { row in
            let (app, address, state, sync, sent, replay, flush, flushLag) =
                try row.decode((String, String?, String, String?, String?, String?, String?, Double?).self)
            return .init(applicationName: app, clientAddress: address, state: state, syncState: sync,
                         sentLSN: sent.flatMap(LSN.init), replayLSN: replay.flatMap(LSN.init), flushLSN: flush.flatMap(LSN.init),
                         flushLagSeconds: flushLag)
        }
        let sync = try await session.rows("""
            SELECT current_setting('synchronous_standby_names'),
                   (SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep')::int8
            """)
        if let row = sync.first {
            let (names, waiters) = try row.decode((String, Int64).self)
            sample.synchronousStandbyNames = names
            sample.syncWaiters = Int(waiters)
        }
    }

    static func readStandby(_ session: PostgresSession, into sample: inout NodeSample) async throws {
        let rows = try await session.rows("""
            SELECT pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text,
                   pg_is_wal_replay_paused(), pg_last_xact_replay_timestamp(),
                   (SELECT timeline_id FROM pg_control_checkpoint())::int8
            """)
        if let row = rows.first {
            let (receive, replay, paused, replayedAt, checkpointTimeline) =
                try row.decode((String?, String?, Bool, Date?, Int64?).self)
            sample.receiveLSN = receive.flatMap(LSN.init)
            sample.replayLSN = replay.flatMap(LSN.init)
            sample.replayPaused = paused
            sample.lastReplayedCommitAt = replayedAt
            sample.timeline = checkpointTimeline.map(Int.init)
        }
        let receiver = try await session.rows("""
            SELECT status, sender_host, sender_port, slot_name, last_msg_receipt_time, received_tli::int8
            FROM pg_stat_wal_receiver
            """)
        if let row = receiver.first {
            let (status, host, port, slot, last, timeline) =
                try row.decode((String, String?, Int32?, String?, Date?, Int64?).self)
            sample.walReceiver = .init(status: WalReceiverState(status), senderHost: host, senderPort: port.map(Int.init),
                                       slotName: slot, lastMessageAt: last)
            if let timeline, timeline > 0 { sample.timeline = Int(timeline) }
        }
    }

    static func readSlots(_ session: PostgresSession, standby: Bool, into sample: inout NodeSample) async throws {
        let position = standby ? "pg_last_wal_replay_lsn()" : "pg_current_wal_lsn()"
        let rows = try await session.rows("""
            SELECT slot_name::text, slot_type, active,
                   pg_wal_lsn_diff(\(position), restart_lsn)::int8, wal_status, safe_wal_size::int8
            FROM pg_replication_slots ORDER BY slot_name
            """)
        sample.slots = try rows.map { row in
            let (name, type, active, retained, walStatus, safe) = try row.decode((String, String, Bool, Int64?, String?, Int64?).self)
            return .init(name: name, type: type, active: active, retainedBytes: retained, walStatus: walStatus, safeWALBytes: safe)
        }
    }

    static func readArchiver(_ session: PostgresSession, into sample: inout NodeSample) async throws {
        let rows = try await session.rows("""
            SELECT archived_count, last_archived_wal, last_archived_time,
                   failed_count, last_failed_wal, last_failed_time FROM pg_stat_archiver
            """)
        if let row = rows.first {
            let (archived, lastWAL, lastAt, failed, failedWAL, failedAt) =
                try row.decode((Int64, String?, Date?, Int64, String?, Date?).self)
            sample.archiver = .init(archivedCount: archived, lastArchivedWAL: lastWAL, lastArchivedAt: lastAt,
                                    failedCount: failed, lastFailedWAL: failedWAL, lastFailedAt: failedAt)
        }
    }
}
