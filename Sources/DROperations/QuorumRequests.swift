import DRDCS
import DROrchestrator
import DRSpec
import DRStatus
import Foundation

/// Operations asked for through the DCS (quorum mode). The CLI does no
/// process control here: it writes the plan into etcd, approves it there,
/// and waits while the agents beside the nodes carry it out under the
/// leader-key discipline. The CLI journals its own part on disk.
public struct QuorumRequests: Sendable {
    public let quorum: Quorum
    public let env: OperationEnvironment

    public init(quorum: Quorum, env: OperationEnvironment) {
        self.quorum = quorum
        self.env = env
    }

    /// The RPO guard's evidence about the old primary: the position its
    /// agent saved in etcd before each lease renewal, else the position file
    /// beside pgdr.yaml.
    public func lastKnownPrimary(now: Date) async -> PrimaryPosition? {
        if let position = try? await quorum.position() { return position }
        return PrimaryPositionFile.load(directory: env.baseDirectory)
    }

    /// Saves a plan in etcd: `planned` (a failover, which waits for
    /// `pgdr approve`) or `approved` (a switchover or rejoin the operator
    /// asked for). Refused while another operation is under way.
    public func request(_ plan: OperationPlan, approved: Bool) async throws -> OperationRecord {
        let now = env.clock.now()
        if let active = try await quorum.active(now: now) {
            throw OperationError.refused(Refusal("operation \(active.plan.id) is under way (\(active.state.rawValue))",
                                                 hint: "wait for it to end; see `pgdr operations`"))
        }
        let record = OperationRecord(plan: plan, state: approved ? .approved : .planned, approvedAt: approved ? now : nil,
                                     updatedAt: now)
        guard try await quorum.create(record) else {
            throw OperationError.failed("etcd already holds an operation \(plan.id)")
        }
        try env.store.append(.init(at: now, operation: plan.id, kind: plan.kind, phase: .planned,
                                   detail: "\(plan.from) -> \(plan.to), requested through etcd"))
        if approved {
            try env.store.append(.init(at: now, operation: plan.id, kind: plan.kind, phase: .approved, detail: "by the operator's request"))
        }
        return record
    }

    /// Approves a planned operation in etcd, after deciding again on what
    /// is true now. Nil when etcd holds no such operation.
    public func approve(id: String) async throws -> OperationRecord? {
        guard let record = try await quorum.operation(id) else { return nil }
        let now = env.clock.now()
        func refuse(_ refusal: Refusal) -> OperationError {
            try? env.store.append(.init(at: now, operation: id, kind: record.plan.kind, phase: .refused, detail: refusal.description))
            return .refused(refusal)
        }
        guard record.state == .planned else {
            throw refuse(Refusal("operation \(id) is \(record.state.rawValue), not waiting for approval",
                                 hint: "an approval is used once; see `pgdr operations`"))
        }
        if let expires = record.plan.expiresAt, expires <= now {
            throw refuse(Refusal("approval \(id) expired at \(expires.formatted(.iso8601))",
                                 hint: "plan again with `pgdr failover`: the servers may have changed"))
        }
        if let active = try await quorum.active(now: now), active.plan.id != id {
            throw refuse(Refusal("operation \(active.plan.id) is under way (\(active.state.rawValue))", hint: "wait for it to end"))
        }
        if record.plan.kind == .failover {
            // The plan was made minutes ago: decide again on what is true now.
            let report = await env.observer.observe()
            switch FailoverPlanner.plan(report: report, spec: env.spec, id: id, now: now, acceptDataLoss: record.plan.acceptedDataLoss,
                                        lastKnownPrimary: await lastKnownPrimary(now: now)) {
            case .failure(let refusal):
                throw refuse(refusal)
            case .success(let fresh) where fresh.to != record.plan.to:
                throw refuse(Refusal("the servers changed since the plan (now \(fresh.from) -> \(fresh.to))", hint: "plan again"))
            case .success:
                break
            }
        }
        let approved = try await quorum.update(id) { r in
            guard r.state == .planned else {
                throw refuse(Refusal("operation \(id) changed to \(r.state.rawValue) meanwhile", hint: "see `pgdr operations`"))
            }
            r.state = .approved
            r.approvedAt = now
            r.updatedAt = now
        }
        try env.store.append(.init(at: now, operation: id, kind: record.plan.kind, phase: .approved, detail: "approved in etcd"))
        return approved
    }

    /// Waits until the agents finish the operation (done or failed), telling
    /// `progress` each change. An approved operation that expires before an
    /// agent could act on it is marked failed. Throws when `timeout` passes
    /// first (the agents carry on; `pgdr operations` follows it).
    public func wait(id: String, timeout: Duration,
                     progress: (OperationRecord) -> Void = { _ in }) async throws -> OperationRecord {
        let deadline = ContinuousClock.now + timeout
        var last: OperationRecord.State?
        while true {
            guard var record = try? await quorum.operation(id) else {
                if ContinuousClock.now >= deadline { break }
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            if record.state != last {
                last = record.state
                progress(record)
            }
            if record.state == .approved, let expires = record.plan.expiresAt, expires <= env.clock.now() {
                record = try await quorum.update(id) { r in
                    guard r.state == .approved else { return }
                    r.state = .failed
                    r.detail = "expired at \(expires.formatted(.iso8601)) before an agent could act on it (nothing changed)"
                } ?? record
                if record.state == .failed { progress(record) }
            }
            if record.state == .done || record.state == .failed {
                try? env.store.append(.init(at: env.clock.now(), operation: id, kind: record.plan.kind,
                                            phase: record.state == .done ? .done : .failed, detail: record.detail,
                                            outcome: record.outcome))
                return record
            }
            if ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw OperationError.failed("operation \(id) has not ended within \(timeout) (now \(last?.rawValue ?? "unknown")); "
                                    + "the agents carry on: follow it with `pgdr operations`")
    }
}
