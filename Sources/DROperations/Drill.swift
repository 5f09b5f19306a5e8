import DRLocal
import DROrchestrator
import DRPostgres
import DRSpec
import DRStatus
import Foundation

/// `pgdr drill`: inject a failure under write load on the lab and measure
/// what clients saw. The drill plays the automatic-mode agent (it detects
/// with `failover.detection`, then approves its own plan), then rejoins the
/// old primary and switches back, so every run starts from the same topology.
public struct Drill: Sendable {
    public enum Scenario: String, Sendable, Codable, CaseIterable {
        /// SIGKILL of the primary's postmaster and all its children at once.
        case nodeLoss = "node-loss"
        /// SIGKILL of the postmaster only (backends linger for a moment).
        case postgresCrash = "postgres-crash"
        /// Planned switchover, no fault.
        case switchover
    }

    public struct Run: Sendable, Codable {
        public var scenario: Scenario
        public var from: String
        public var to: String
        /// Fault (or switchover start) to the first write acknowledged by the new primary.
        public var rtoSeconds: Double?
        /// Longest pause between two acknowledged writes.
        public var writeGapSeconds: Double?
        public var acknowledged: Int
        /// Acknowledged writes missing on the new primary.
        public var lost: Int
        /// How long before the fault the oldest lost write was acknowledged (0: none lost, or all after it).
        public var rpoSeconds: Double
        public var rejoinSeconds: Double?
        public var rejoinMethod: String?
    }

    let ctx: OperationContext

    public init(context: OperationContext) { ctx = context }

    public func run(_ scenario: Scenario) async throws -> Run {
        guard let lab = ctx.lab else { throw OperationError.badInput("drills run on a lab: use the lab's pgdr.yaml (`pgdr lab up`)") }
        let report = await ctx.observe()
        guard report.healthy, let primary = report.replication?.primary, let standby = report.replication?.standby else {
            throw OperationError.failed("the lab is not healthy before the drill: \(report.problems.map(\.description).joined(separator: "; "))")
        }
        if let flush = report.nodes.first(where: { $0.name == primary })?.flushLSN {
            try? PrimaryPosition(node: primary, flushLSN: flush.description, at: Date()).save(directory: ctx.baseDirectory)
        }
        let writer = DrillWriter(targets: try [primary, standby].map { ($0, try ctx.admin($0)) })
        try await writer.prepare()
        let writerStart = Date()
        let writing = Task { await writer.run() }
        try await Task.sleep(for: .seconds(1))
        // Keep the agent's record of the primary as fresh as the agent would.
        if let flush = await ctx.observe().nodes.first(where: { $0.name == primary })?.flushLSN {
            try? PrimaryPosition(node: primary, flushLSN: flush.description, at: Date()).save(directory: ctx.baseDirectory)
        }

        let fault = Date()
        let clock = ContinuousClock()
        switch scenario {
        case .switchover:
            let plan = try SwitchoverPlanner.plan(report: await ctx.observe(), spec: ctx.spec,
                                                  id: OperationStore.newID(.switchover), now: Date()).get()
            try ctx.store.append(.init(operation: plan.id, kind: .switchover, phase: .planned, detail: "drill"))
            _ = try await OperationRunner(context: ctx).execute(plan)
        case .nodeLoss, .postgresCrash:
            _ = try lab.kill(node: primary, withChildren: scenario == .nodeLoss)
            try await detectAndFailOver(primary: primary)
        }
        // Wait for the first write on the new primary, then a little more.
        let deadline = clock.now + .seconds(30)
        var rto: Double?
        while clock.now < deadline {
            if let ack = await writer.acks.first(where: { $0.node == standby && $0.at >= fault }) {
                rto = ack.at.timeIntervalSince(fault)
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(500))
        await writer.stop()
        await writing.value
        let acks = await writer.acks
        let lost = try await writer.lost(on: try ctx.admin(standby))
        // From the writer's start, so a run whose first commit was slow shows that too.
        let times = [writerStart] + acks.map(\.at)
        let gap = zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }.max()
        let rpo = lost.map { fault.timeIntervalSince($0.at) }.max().map { max(0, $0) } ?? 0

        // Back to the original topology: rejoin (after a fault), then switch back.
        var rejoinSeconds: Double?, rejoinMethod: String?
        if scenario != .switchover {
            let rejoin = try RejoinPlanner.plan(node: primary, report: await ctx.observe(), spec: ctx.spec,
                                                id: OperationStore.newID(.rejoin), now: Date()).get()
            try ctx.store.append(.init(operation: rejoin.id, kind: .rejoin, phase: .planned, detail: "drill"))
            let outcome = try await OperationRunner(context: ctx).execute(rejoin)
            rejoinSeconds = outcome.totalSeconds
            rejoinMethod = outcome.steps.first { $0.step == .resync }?.detail.hasPrefix("pg_rewind:") == true ? "pg_rewind" : "pg_basebackup"
        }
        let back = try SwitchoverPlanner.plan(report: await waitHealthy(), spec: ctx.spec,
                                              id: OperationStore.newID(.switchover), now: Date()).get()
        try ctx.store.append(.init(operation: back.id, kind: .switchover, phase: .planned, detail: "drill: restore roles"))
        _ = try await OperationRunner(context: ctx).execute(back)

        return Run(scenario: scenario, from: primary, to: standby, rtoSeconds: rto, writeGapSeconds: gap,
                   acknowledged: acks.count, lost: lost.count, rpoSeconds: rpo,
                   rejoinSeconds: rejoinSeconds, rejoinMethod: rejoinMethod)
    }

    /// The automatic-mode decision, made by the drill: probe the primary
    /// until `failover.detection` says it is gone, then fail over.
    func detectAndFailOver(primary: String) async throws {
        var spec = ctx.spec
        spec.failover.mode = .automatic
        let detection = spec.failover.detection
        let probe = try PrimaryProbe(node: try ctx.node(primary), baseDirectory: ctx.baseDirectory, detection: detection)
        var failed = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            failed = await probe.isWritable() ? 0 : failed + 1
            if failed >= detection.probes {
                let decision = AutomaticFailover.decide(spec: spec, evidence: .init(consecutiveFailedProbes: failed),
                                                        report: await ctx.observe(),
                                                        lastKnownPrimary: PrimaryPosition.load(directory: ctx.baseDirectory),
                                                        id: OperationStore.newID(.failover), now: Date())
                switch decision {
                case .failover(let plan):
                    try ctx.store.append(.init(operation: plan.id, kind: .failover, phase: .planned, detail: "drill (automatic)"))
                    _ = try await OperationRunner(context: ctx).execute(plan)
                    return
                case .refuse(let refusal):
                    throw OperationError.refused(refusal)
                case .keepWatching:
                    break
                }
            }
            try await Task.sleep(for: detection.interval.duration)
        }
        throw OperationError.failed("the primary never looked lost within 60 s")
    }

    func waitHealthy() async throws -> StatusReport {
        let deadline = ContinuousClock.now + .seconds(30)
        var report = await ctx.observe()
        while !report.healthy && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            report = await ctx.observe()
        }
        return report
    }
}
