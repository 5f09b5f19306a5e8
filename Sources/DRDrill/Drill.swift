import DRAgent
import DRControl
import DROperations
import DROrchestrator
import DRPostgres
import DRSpec
import DRStatus
import Foundation
import Logging

/// `pgdr drill`: inject a failure under write load and measure what clients
/// saw. The failover is the real agent's: the drill runs the agent's loop
/// (the same code as `pgdr agent`, in automatic mode) beside its writer, so
/// detection, the decision and the failover take the path they take in
/// production. Afterwards it rejoins the old primary and switches back, so
/// every run starts from the same topology.
public struct Drill: Sendable {
    public enum Scenario: String, Sendable, Codable, CaseIterable {
        /// SIGKILL of the primary's postmaster and all its children at once.
        case nodeLoss = "node-loss"
        /// SIGKILL of the postmaster only (backends linger for a moment).
        case postgresCrash = "postgres-crash"
        /// Planned switchover, no fault (the agent keeps watching throughout).
        case switchover
        /// Point-in-time recovery from the DR region's repository (`RestoreDrill`).
        case restore
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
        /// The failover's (or switchover's) outcome as the journal has it.
        public var outcome: OperationOutcome?
        /// Operations besides the one the scenario expects (the drill's
        /// switchover, or the agent's failover): should be 0.
        public var unexpectedOperations: Int
        public var rejoinSeconds: Double?
        public var rejoinMethod: String?
    }

    let env: OperationEnvironment
    let logger: Logger

    public init(environment: OperationEnvironment, logger: Logger = Logger(label: "pgdr.drill")) {
        env = environment
        self.logger = logger
    }

    public func run(_ scenario: Scenario) async throws -> Run {
        guard scenario != .restore else { throw OperationError.badInput("the restore scenario is RestoreDrill's") }
        let report = await env.observer.observe()
        guard report.healthy, let primary = report.replication?.primary, let standby = report.replication?.standby else {
            throw OperationError.failed("the deployment is not healthy before the drill: \(report.problems.map(\.description).joined(separator: "; "))")
        }
        guard let control = env.control(primary) else {
            throw OperationError.badInput("a drill stops \(primary) itself: give it a `control:` section in pgdr.yaml and run the drill beside it")
        }
        let writer = DrillWriter(targets: try [primary, standby].map { ($0, try AdminTarget.make(try env.node($0), baseDirectory: env.baseDirectory)) })
        try await writer.prepare()
        let journalPath = "\(env.baseDirectory)/pgdr-drill-journal.jsonl"
        var agentSpec = env.spec
        agentSpec.failover.mode = .automatic
        agentSpec.agent.journal = journalPath
        let operationsBefore = env.store.generation()

        let writerStart = Date()
        var measured = Measured()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writer.run() }
            let agent = try await Self.agent(spec: agentSpec, env: env, journal: journalPath, logger: logger)
            group.addTask { try await agent.run() }
            // Two rounds: the agent knows the primary, records its position and watches it.
            try await Task.sleep(for: env.spec.monitoring.interval.duration * 2 + .milliseconds(300))
            measured.fault = Date()
            switch scenario {
            case .switchover:
                let plan = try SwitchoverPlanner.plan(report: await env.observer.observe(), spec: env.spec,
                                                      id: OperationStore.newID(.switchover), now: Date()).get()
                try env.store.append(.init(operation: plan.id, kind: .switchover, phase: .planned, detail: "drill"))
                measured.outcome = try await OperationRunner(environment: env).execute(plan).outcome
            case .nodeLoss, .postgresCrash:
                _ = try await control.kill(withChildren: scenario == .nodeLoss)
            case .restore:
                break
            }
            measured.rto = await waitForFirstWrite(writer, on: standby, after: measured.fault, within: .seconds(30))
            try await Task.sleep(for: .milliseconds(500))
            await writer.stop()
            group.cancelAll()
        }
        if scenario != .switchover {
            measured.outcome = env.store.entries().last { $0.kind == .failover && $0.phase == .done }?.outcome
        }
        let acks = await writer.acks
        let lost = try await writer.lost(on: try AdminTarget.make(try env.node(standby), baseDirectory: env.baseDirectory))
        let times = [writerStart] + acks.map(\.at)
        let gap = zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }.max()
        let rpo = lost.map { measured.fault.timeIntervalSince($0.at) }.max().map { max(0, $0) } ?? 0
        // One operation is expected: the drill's switchover, or the agent's failover.
        let unexpected = env.store.generation() - operationsBefore - 1

        var rejoinSeconds: Double?, rejoinMethod: String?
        if scenario != .switchover {
            let rejoin = try RejoinPlanner.plan(node: primary, report: await env.observer.observe(), spec: env.spec,
                                                id: OperationStore.newID(.rejoin), now: Date()).get()
            try env.store.append(.init(operation: rejoin.id, kind: .rejoin, phase: .planned, detail: "drill"))
            let outcome = try await OperationRunner(environment: env).execute(rejoin)
            rejoinSeconds = outcome.totalSeconds
            rejoinMethod = outcome.steps.first { $0.step == .resync }?.outcome.detail.hasPrefix("pg_rewind:") == true
                ? "pg_rewind" : "pg_basebackup"
        }
        let back = try SwitchoverPlanner.plan(report: await waitHealthy(), spec: env.spec,
                                              id: OperationStore.newID(.switchover), now: Date()).get()
        try env.store.append(.init(operation: back.id, kind: .switchover, phase: .planned, detail: "drill: restore roles"))
        _ = try await OperationRunner(environment: env).execute(back)

        return Run(scenario: scenario, from: primary, to: standby, rtoSeconds: measured.rto, writeGapSeconds: gap,
                   acknowledged: acks.count, lost: lost.count, rpoSeconds: rpo, outcome: measured.outcome,
                   unexpectedOperations: max(0, unexpected), rejoinSeconds: rejoinSeconds, rejoinMethod: rejoinMethod)
    }

    struct Measured: Sendable {
        var fault = Date()
        var rto: Double?
        var outcome: OperationOutcome?
    }

    static func agent(spec: Spec, env: OperationEnvironment, journal: String, logger: Logger) async throws -> AgentLoop {
        let agentEnv = env.with(spec: spec)
        return await AgentLoop(spec: spec, baseDirectory: env.baseDirectory,
                               state: AgentState(interval: spec.monitoring.interval.seconds), exporter: MetricsExporter(),
                               journal: try Journal(path: journal), logger: logger, environment: agentEnv)
    }

    func waitForFirstWrite(_ writer: DrillWriter, on node: String, after fault: Date, within limit: Duration) async -> Double? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let ack = await writer.acks.first(where: { $0.node == node && $0.at >= fault }) {
                return ack.at.timeIntervalSince(fault)
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    func waitHealthy() async throws -> StatusReport {
        let deadline = ContinuousClock.now + .seconds(30)
        var report = await env.observer.observe()
        while !report.healthy && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            report = await env.observer.observe()
        }
        return report
    }
}
