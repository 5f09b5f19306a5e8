import DRPostgres
import DRSpec
import DRStatus
import Foundation
import PostgresNIO

/// What SQL adds to the RDS API's samples (`aws.database`): positions in
/// bytes, the heartbeat, connections, slots, as on self-managed servers.
/// The API's view of each instance (its role, status, details) stands; SQL
/// only adds. Like the lag monitor, it stamps the heartbeat on the primary
/// first (`pgdr.heartbeat`, one row per writer) and gives the replica up to
/// `wait` to show it, so the lag in seconds is measured now, not inferred
/// from a stamp a minute old.
extension RDSSessions {
    public func overlay(_ samples: [NodeSample], writer: String, wait: Duration = .seconds(2)) async -> [NodeSample] {
        var out = samples
        guard let p = out.firstIndex(where: { $0.reachable && $0.role == .primary }) else {
            return await readEach(out, indices: Array(out.indices))
        }
        var stampedAt: Date?
        out[p] = await read(out[p]) { session, sample in
            // A fenced (read-only) primary refuses the stamp: its sample is still read.
            if (try? await stamp(session, writer: writer)) != nil { stampedAt = Date() }
        }
        let replicas = out.indices.filter { $0 != p && out[$0].reachable && out[$0].role == .standby }
        for r in replicas {
            out[r] = await read(out[r]) { session, _ in
                guard let stampedAt else { return }
                let deadline = ContinuousClock.now + wait
                // The stamp's own time is the primary's clock; allow a little skew.
                while ContinuousClock.now < deadline {
                    if let newest = try await Heartbeat.newest(session), newest >= stampedAt.addingTimeInterval(-1) { return }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        return out
    }

    func readEach(_ samples: [NodeSample], indices: [Int]) async -> [NodeSample] {
        var out = samples
        for i in indices where out[i].reachable { out[i] = await read(out[i]) { _, _ in } }
        return out
    }

    func stamp(_ session: PostgresSession, writer: String) async throws {
        for statement in Heartbeat.schemaStatements { try await session.execute(PostgresQuery(unsafeSQL: statement)) }
        try await Heartbeat.beat(session, writer: writer)
    }

    /// One instance over SQL: `before` runs first on the session, then the
    /// probe reads; the API's role and details are kept.
    func read(_ sample: NodeSample, before: (PostgresSession, NodeSample) async throws -> Void) async -> NodeSample {
        let started = sample
        do {
            let credentials = try await credentials(region: sample.region)
            var target = try target(id: sample.name, endpoint: sample.host.isEmpty ? nil : HostAndPort(host: sample.host, port: sample.port),
                                    status: sample.rds?.status ?? "unknown", credentials: credentials)
            target.statementTimeout = timeout
            var read = try await PostgresSession.with(target, logger: logger) { session in
                try await before(session, started)
                return try await NodeProbe.read(session, into: started)
            }
            read.role = started.role
            read.reachable = started.reachable
            read.error = started.error
            read.probeLatencyMs = started.probeLatencyMs
            return read
        } catch {
            forgetIfRefused(error, region: sample.region)
            var failed = started
            failed.sqlProblem = "\(error)"
            return failed
        }
    }
}
