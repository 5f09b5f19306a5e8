import DROperations
import DROrchestrator
import DRSpec
import DRStatus
import Foundation
import Logging

/// `replication.mode: bounded`, enforced each round: measures the WAL the DR
/// replica has not received, asks `LagBound` whether to hold or release
/// commits, and does it on the primary (synchronous_standby_names through
/// ALTER SYSTEM, so a hold outlives the agent: fail closed). Every switch goes
/// to the bound log and the agent's journal; the alarm `commits-held`
/// notifies. Nothing is changed while an operation holds the lock.
actor BoundEnforcer {
    /// What the last round found, for metrics, status and the web page.
    struct Snapshot: Sendable {
        var bound: DataLossLimit
        var reading: UnreceivedLag.Reading
        var held: Bool
        var waiting: Int
        var heldSince: Date?
        /// Seconds commits were held, finished holds and the current one.
        var heldTotal: Double
        var riskAccepted: Bool
    }

    let spec: Spec
    let env: OperationEnvironment
    let journal: Journal
    let log: BoundLog
    let logger: Logger
    let bound: DataLossLimit
    var lag: UnreceivedLag
    var primary: String?
    private(set) var snapshot: Snapshot?

    init(spec: Spec, env: OperationEnvironment, journal: Journal, logger: Logger) {
        self.spec = spec
        self.env = env
        self.journal = journal
        self.logger = logger
        log = BoundLog(directory: env.store.directory)
        bound = spec.replication.bound(rpo: spec.objectives.rpo)
        lag = UnreceivedLag(keep: 2 * max(bound.time?.seconds ?? 0, 300))
    }

    /// One round's report: measure, decide, act.
    func enforce(_ report: StatusReport, at now: Date) async {
        let primaries = report.nodes.filter { $0.reachable && $0.role == .primary }
        guard primaries.count == 1, let primary = primaries.first, let flush = primary.flushLSN ?? primary.currentLSN else { return }
        guard let standby = report.nodes.first(where: { $0.name != primary.name }) else { return }
        if self.primary != primary.name {
            lag.reset()
            self.primary = primary.name
        }
        let connection = primary.replicas.first { $0.applicationName == standby.name }
        lag.record(primary: flush, standby: BoundStatus.received(primary: primary, standby: standby), at: now)
        let reading = lag.reading(now: now, flushLag: connection?.flushLagSeconds, fallbackSeconds: report.replication?.lagSeconds)
        let held = !(primary.synchronousStandbyNames ?? "").isEmpty
        let entries = log.entries()
        let accepted = BoundLog.riskAccepted(entries)
        let since = BoundLog.heldSince(entries)
        snapshot = Snapshot(bound: bound, reading: reading, held: held, waiting: primary.syncWaiters ?? 0,
                            heldSince: held ? since : nil,
                            heldTotal: BoundLog.heldTotal(entries) + (held ? since.map { now.timeIntervalSince($0) } ?? 0 : 0),
                            riskAccepted: accepted)
        if let lock = env.store.currentLock(), lock.holderAlive { return }  // an operation is changing the pair
        let decision = LagBound.decide(reading, bound: bound, holding: held, riskAccepted: accepted)
        do {
            switch decision {
            case .keep:
                return
            case .hold(let why):
                try await env.sql(primary.name).holdCommits(for: standby.name)
                try await record(.hold, why, primary.name, standby.name, reading, held: nil, at: now)
            case .release(let why):
                try await env.sql(primary.name).holdCommits(for: nil)
                try await record(.release, why, primary.name, standby.name, reading, held: since.map { now.timeIntervalSince($0) }, at: now)
            case .rearm(let why):
                try await record(.rearm, why, primary.name, standby.name, reading, held: nil, at: now)
            }
        } catch {
            logger.error("bounded mode: could not act on the primary", metadata: ["decision": "\(decision)", "error": "\(error)"])
        }
    }

    func record(_ event: BoundLog.Entry.Event, _ why: String, _ primary: String, _ standby: String,
                _ reading: UnreceivedLag.Reading, held: Double?, at: Date) async throws {
        try log.append(.init(at: at, event: event, reason: why, primary: primary, standby: standby,
                             unreceivedBytes: reading.bytes, unreceivedSeconds: reading.seconds, heldSeconds: held, by: "agent"))
        let text = switch event {
        case .hold: "commits held on \(primary) until \(standby) catches up: \(why)"
        case .release: "commits released on \(primary)" + (held.map { String(format: " after %.1f s", $0) } ?? "") + ": \(why)"
        case .rearm: "bounded mode armed again: \(why)"
        case .acceptRisk: why
        }
        logger.notice("bounded mode", metadata: ["event": "\(event.rawValue)", "detail": "\(text)"])
        _ = try? await journal.append(.init(at: at, kind: .operation, reason: event.rawValue, message: text))
    }
}
