import DRDCS
import DROperations
import DROrchestrator
import DRSpec
import DRStatus
import Foundation

/// Quorum mode (a `dcs:` section): the operation verbs write plans and
/// approvals into etcd and wait while the agents beside the nodes carry
/// them out. The CLI stops, fences, promotes nothing itself.
struct QuorumVerbs {
    let requests: QuorumRequests
    let json: Bool
    let timeout: Duration

    init?(env: OperationEnvironment, json: Bool, timeout: Int) throws {
        guard let dcs = env.spec.dcs else { return nil }
        requests = QuorumRequests(quorum: try Quorum.etcd(dcs, baseDirectory: env.baseDirectory), env: env)
        self.json = json
        self.timeout = .seconds(timeout)
    }

    var env: OperationEnvironment { requests.env }

    func failover(acceptDataLoss: Bool, dryRun: Bool) async throws {
        let id = OperationStore.newID(.failover)
        let now = Date()
        switch FailoverPlanner.plan(report: await env.observer.observe(), spec: env.spec, id: id, now: now,
                                    acceptDataLoss: acceptDataLoss, lastKnownPrimary: await requests.lastKnownPrimary(now: now)) {
        case .failure(let refusal):
            throw refuse(refusal, id: id, kind: .failover, env: env)
        case .success(let planned):
            let plan = await quorumWarnings(planned)
            if json { print(try JSON.encode(plan)) } else { printQuorumPlan(plan) }
            if dryRun { return }
            _ = try await requests.request(plan, approved: false)
            if !json {
                print("\nplan saved in etcd; approve with: pgdr approve \(id)   (expires \(plan.expiresAt!.formatted(.iso8601)))")
            }
        }
    }

    /// True when etcd held the operation (else the caller tries the local journal).
    func approve(id: String) async throws -> Bool {
        guard OperationStore.isValidID(id) else {
            throw OperationError.badInput("`\(id)` is not an operation id (they look like failover-1a2b3c4d); see `pgdr operations`")
        }
        guard let record = try await requests.approve(id: id) else { return false }
        if !json { print("\(id) approved in etcd: \(record.plan.from) -> \(record.plan.to); the agents carry it out") }
        try await follow(id)
        return true
    }

    func switchover() async throws {
        let id = OperationStore.newID(.switchover)
        switch SwitchoverPlanner.plan(report: await env.observer.observe(), spec: env.spec, id: id, now: Date()) {
        case .failure(let refusal):
            throw refuse(refusal, id: id, kind: .switchover, env: env)
        case .success(let plan):
            if !json { printQuorumPlan(plan) }
            _ = try await requests.request(plan, approved: true)
            try await follow(id)
        }
    }

    func rejoin(node: String) async throws {
        let id = OperationStore.newID(.rejoin)
        let leader = try await requests.quorum.leader()?.record
        // In quorum mode a node the leader key does not name was demoted by the key.
        let demoted = leader.flatMap { $0.node == node ? nil : Promotion(operation: "the leader key", from: node, to: $0.node, at: $0.since) }
        switch RejoinPlanner.plan(node: node, report: await env.observer.observe(), spec: env.spec, id: id, now: Date(),
                                  demotedBy: demoted) {
        case .failure(let refusal):
            throw refuse(refusal, id: id, kind: .rejoin, env: env)
        case .success(let plan):
            guard let leader, leader.node == plan.to else {
                throw refuse(Refusal("the leader key is \(leader.map { "held by \($0.node)" } ?? "free"), not by \(plan.to)",
                                     hint: "a node rejoins the holder of the leader key; see `pgdr status`"),
                             id: id, kind: .rejoin, env: env)
            }
            if !json { printQuorumPlan(plan) }
            _ = try await requests.request(plan, approved: true)
            try await follow(id)
        }
    }

    /// Waits for the agents, printing each change; exits 4 when degraded, 1 when failed.
    func follow(_ id: String) async throws {
        let started = ContinuousClock.now
        let record = try await requests.wait(id: id, timeout: timeout) { record in
            guard !json else { return }
            let elapsed = ContinuousClock.now - started
            print(String(format: "  %6.2fs  ", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                  + "\(record.state.rawValue)" + (record.detail.map { ": \($0)" } ?? ""))
        }
        if json { print(try JSON.encode(QuorumOutcome(record))) }
        switch record.state {
        case .failed:
            throw fail("\(id) failed: \(record.detail ?? "see the agents' logs")", code: Exit.failed)
        default:
            if !json { print("\(record.plan.kind.rawValue) \(id) \(record.outcome == .degraded ? "done, DEGRADED" : "done")") }
            if record.outcome == .degraded { throw ExitCodeError.degraded }
        }
    }

    func printQuorumPlan(_ plan: OperationPlan) {
        printPlan(plan)
        switch plan.kind {
        case .rejoin:
            print("  quorum mode: \(plan.from)'s agent carries this out (it fences its server first if it still takes writes)")
        case .failover, .switchover:
            print("  quorum mode: the agents carry this out: \(plan.from)'s agent stops its writes (if it is cut off, its lease "
                  + "ends first), then \(plan.to)'s agent takes the leader key and promotes")
        }
    }

    /// In quorum mode an unreachable old primary takes no writes once its
    /// lease has ended: the local-mode warning about two primaries does not apply.
    func quorumWarnings(_ plan: OperationPlan) async -> OperationPlan {
        var plan = plan
        guard !plan.oldPrimaryReachable else { return plan }
        plan.warnings.removeAll { $0.hasPrefix("the primary \(plan.from) is unreachable") }
        switch try? await requests.quorum.leader()?.record.node {
        case plan.from?:
            plan.warnings.append("\(plan.from) still holds the leader key: on approval its agent fences it; if it is cut off, "
                                 + "it demotes itself before its lease ends, and \(plan.to) waits for the key")
        case nil:
            plan.warnings.append("the leader key is free: \(plan.from) holds no lease, so it takes no writes (its agent "
                                 + "demotes it before its lease can end)")
        default:
            break
        }
        return plan
    }
}

/// What `--json` prints when the agents finish an operation.
struct QuorumOutcome: Encodable {
    var operation: String
    var kind: OperationKind
    var state: OperationRecord.State
    var outcome: OperationOutcome?
    var detail: String?
    var from: String
    var to: String
    init(_ r: OperationRecord) {
        operation = r.plan.id
        kind = r.plan.kind
        state = r.state
        outcome = r.outcome
        detail = r.detail
        from = r.plan.from
        to = r.plan.to
    }
}

enum ExitCodeError {
    static var degraded: Error { fail("done, but degraded (see the detail above)", code: Exit.degraded) }
}
