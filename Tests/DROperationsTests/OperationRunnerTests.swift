import DRControl
import DROperations
import DROrchestrator
import DRSpec
import DRStatus
import Foundation
import Testing

/// The runner's decisions against fakes: rollback, degraded fences, rewind
/// falling back to a base backup, hook timeouts, and a crash between any two
/// steps of every kind followed by `pgdr approve` resuming it.
struct RunnerHarness {
    let cluster = FakeCluster()
    let directory: String
    let env: OperationEnvironment

    init(hook: [String]? = nil, hookTimeout: TimeSpan = .seconds(60), controls: Set<String> = ["pg1", "pg2"]) throws {
        directory = NSTemporaryDirectory() + "pgdr-runner-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var spec = try SpecParser.parse(yaml: """
            name: orders
            environment: prod
            objectives: {rpo: 1m, rto: 5m}
            engine: {version: "15"}
            nodes:
              - {name: pg1, region: us-east-1, host: 127.0.0.1, port: 1, adminUser: admin}
              - {name: pg2, region: us-east-2, host: 127.0.0.1, port: 2, adminUser: admin}
            """).spec
        spec.failover.hook = hook
        spec.failover.hookTimeout = hookTimeout
        let cluster = self.cluster
        var fakes: [String: any NodeControl] = [:]
        for name in controls { fakes[name] = FakeControl(node: name, cluster: cluster) }
        env = OperationEnvironment(spec: spec, baseDirectory: directory, store: OperationStore(directory: directory),
                                   observer: FakeObserver(cluster: cluster), controls: fakes,
                                   sql: { FakeSQL(node: $0, cluster: cluster) }, clock: FakeClock())
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }

    func failoverPlan(oldPrimaryDown: Bool = true) throws -> OperationPlan {
        if oldPrimaryDown { cluster.state.withLock { $0.nodes["pg1"]?.running = false } }
        return OperationPlan(id: OperationStore.newID(.failover), kind: .failover, createdAt: Date(), from: "pg1", to: "pg2",
                             oldPrimaryReachable: !oldPrimaryDown, steps: [.fence, .promote, .verify, .repoint, .notify])
    }

    func switchoverPlan() -> OperationPlan {
        OperationPlan(id: OperationStore.newID(.switchover), kind: .switchover, createdAt: Date(), from: "pg1", to: "pg2",
                      oldPrimaryReachable: true,
                      steps: [.stopWrites, .waitCatchUp, .promote, .verify, .restartOldAsStandby, .repoint, .notify])
    }

    /// The state after a failover: pg2 primary, pg1 stopped and fenced.
    func rejoinPlan() -> OperationPlan {
        cluster.state.withLock { state in
            state.nodes["pg1"] = FakeCluster.Node(running: false, primary: true, fenced: true)
            state.nodes["pg2"] = FakeCluster.Node(running: true, primary: true)
        }
        return OperationPlan(id: OperationStore.newID(.rejoin), kind: .rejoin, createdAt: Date(), from: "pg1", to: "pg2",
                             oldPrimaryReachable: false,
                             steps: [.stopNode, .resync, .configureStandby, .createSlot, .startStandby, .waitStreaming])
    }

    func run(_ plan: OperationPlan) async throws -> OperationRunner.Outcome {
        try env.store.savePlan(plan)
        try env.store.append(.init(operation: plan.id, kind: plan.kind, phase: .planned))
        return try await OperationRunner(environment: env).execute(plan)
    }

    /// Starts the plan and "kills" its process at `key`: the runner stops
    /// there forever, and its lock now names a process that is gone.
    func crash(_ plan: OperationPlan, at key: String, _ timing: FakeCluster.Timing) async throws {
        cluster.crash(at: key, timing)
        try env.store.savePlan(plan)
        try env.store.append(.init(operation: plan.id, kind: plan.kind, phase: .planned))
        let env = self.env
        _ = Task { try await OperationRunner(environment: env).execute(plan) }
        // A guard against a run that never gets there, not a measure: the first seconds of a
        // full suite on two cores once kept this in-memory run from its step for over 10 s.
        let deadline = ContinuousClock.now + .seconds(60)
        while !cluster.reached(key) {
            guard ContinuousClock.now < deadline else { throw FakeCluster.Failure(description: "the run never reached \(key)") }
            try await Task.sleep(for: .milliseconds(2))
        }
        try await Task.sleep(for: .milliseconds(20))
        cluster.heal()
        // The process is gone: its lock names a dead holder (another boot).
        let lock = "{\"operation\":\"\(plan.id)\",\"pid\":\(getpid()),\"bootID\":\"a-boot-long-gone\",\"since\":0}"
        try lock.write(toFile: "\(directory)/pgdr-operation.lock", atomically: true, encoding: .utf8)
    }

    func journal(_ id: String) -> [OperationStore.Entry] { env.store.entries(of: id) }
}

@Suite struct OperationRunnerTests {
    @Test func aFailoverPromotesAndFencesTheOldPrimary() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        let outcome = try await h.run(h.failoverPlan())
        #expect(outcome.outcome == .done)
        #expect(h.cluster.primaries == ["pg2"])
        #expect(h.cluster.node("pg1").fenced)
        #expect(h.journal(outcome.operation).last?.phase == .done)
        #expect(h.env.store.currentLock() == nil, "the lock is released")
    }

    @Test func aFenceThatCouldOnlyUseSQLIsDegradedAndSaysWhy() async throws {
        let h = try RunnerHarness(controls: ["pg2"])
        defer { h.cleanUp() }
        // The old primary runs but pgdr cannot stop it: read-only through SQL.
        let outcome = try await h.run(h.failoverPlan(oldPrimaryDown: false))
        #expect(outcome.outcome == .degraded)
        let fence = try #require(outcome.steps.first { $0.step == .fence })
        #expect(fence.outcome.degradedReason?.contains("weak fence") == true)
        let entry = try #require(h.journal(outcome.operation).first { $0.phase == .end && $0.step == .fence })
        #expect(entry.outcome == .degraded, "the journal carries the outcome, not a detail string")
        #expect(entry.reason?.contains("pg1 was not stopped") == true)
        #expect(h.journal(outcome.operation).last?.outcome == .degraded)
    }

    @Test func aFenceThatDidNotHappenIsNeverJournaledAsDone() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        h.cluster.fail("pg1.fence", "data directory not on this machine")
        let outcome = try await h.run(h.failoverPlan())
        let fence = try #require(outcome.steps.first { $0.step == .fence })
        #expect(fence.outcome.detail == "NOT fenced")
        #expect(fence.outcome.degradedReason?.contains("data directory not on this machine") == true)
        #expect(outcome.outcome == .degraded)
        #expect(h.cluster.primaries == ["pg2"], "the failover itself went on")
    }

    @Test func aFenceThatOnlyStoppedTheServerIsDegradedNotDone() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        // A control that can stop the server but has no way to keep it from restarting as a primary.
        h.cluster.state.withLock { $0.fenceWeakness = "no control.commands.fence: nothing stops a restart as a primary" }
        let outcome = try await h.run(h.failoverPlan())
        let fence = try #require(outcome.steps.first { $0.step == .fence })
        #expect(fence.outcome.degradedReason?.contains("no control.commands.fence") == true, "\(fence.outcome)")
        let entry = try #require(h.journal(outcome.operation).first { $0.phase == .end && $0.step == .fence })
        #expect(entry.outcome == .degraded)
        #expect(outcome.outcome == .degraded)
    }

    @Test func aSwitchoverThatFailsBeforePromotionRollsBack() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        h.cluster.fail("pg1.controldata", "pg_controldata: cannot read the control file")
        let plan = h.switchoverPlan()
        await #expect(throws: OperationError.self) { try await h.run(plan) }
        #expect(h.cluster.primaries == ["pg1"], "the old primary is back")
        #expect(!h.cluster.node("pg1").fenced)
        #expect(h.cluster.calls("pg2.promote") == 0)
        #expect(h.journal(plan.id).last?.phase == .aborted)
        #expect(h.env.store.standing(of: plan.id) == .finished(.aborted))
    }

    @Test func aRewindThatIsImpossibleFallsBackToABaseBackup() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        h.cluster.fail("pg1.rewind", "pg_rewind: source and target cluster are on the same timeline")
        let outcome = try await h.run(h.rejoinPlan())
        #expect(outcome.outcome == .degraded)
        let resync = try #require(outcome.steps.first { $0.step == .resync })
        #expect(resync.outcome.detail.contains("fresh base backup"))
        #expect(resync.outcome.degradedReason?.contains("same timeline") == true)
        #expect(h.cluster.calls("pg1.rebuild") == 1)
        #expect(h.cluster.node("pg1").streaming && !h.cluster.node("pg1").fenced)
    }

    @Test func aHungHookIsKilledAtItsTimeout() async throws {
        let h = try RunnerHarness(hook: ["/bin/sleep", "300"], hookTimeout: .seconds(1))
        defer { h.cleanUp() }
        let plan = try h.failoverPlan()
        let started = ContinuousClock.now
        let error = await #expect(throws: OperationError.self) { try await h.run(plan) }
        // A 300 s hook, a 1 s timeout: the run ends in seconds (a loaded CI machine included).
        #expect(ContinuousClock.now - started < .seconds(30), "the hook's timeout bounds the step")
        #expect("\(error.map { "\($0)" } ?? "")".contains("did not finish within"))
        #expect(h.env.store.currentLock() == nil, "a hung hook does not hold the lock")
        let failed = try #require(h.journal(plan.id).last)
        #expect(failed.phase == .failed && failed.step == .repoint)
        #expect(h.cluster.primaries == ["pg2"], "the promotion stands; `approve` retries the hook")
    }

    @Test func aDeadHoldersLockRefusesOtherOperationsAndTellsTheOneCommand() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        let first = try h.failoverPlan()
        try await h.crash(first, at: "pg2.promote", .before)
        let other = h.switchoverPlan()
        let error = await #expect(throws: OperationError.self) { try await h.run(other) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("pgdr approve \(first.id)"))
        let resumed = try await Approval.approve(id: first.id, env: h.env)
        #expect(resumed.outcome == .done)
        #expect(h.cluster.primaries == ["pg2"])
    }
}

/// For every kind, a crash before and after each step's effect, then
/// `pgdr approve ID`: the operation ends as if nothing happened, with one
/// writable primary, and no finished step is repeated.
@Suite struct CrashAndResumeTests {
    static let failoverPoints = ["pg1.fence", "pg2.promote", "pg2.write"]
    static let switchoverPoints = ["pg1.fence", "pg1.controldata", "pg2.promote", "pg2.write", "pg1.follow", "pg1.start", "pg1.unfence"]
    static let rejoinPoints = ["pg1.fence", "pg1.rewind", "pg1.follow", "pg1.start", "pg1.unfence"]

    @Test(arguments: failoverPoints, [FakeCluster.Timing.before, .after])
    func failover(at point: String, timing: FakeCluster.Timing) async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        let plan = try h.failoverPlan()
        try await h.crash(plan, at: point, timing)
        #expect(h.env.store.standing(of: plan.id) == .started)
        let outcome = try await Approval.approve(id: plan.id, env: h.env)
        #expect(outcome.outcome == .done)
        #expect(h.cluster.primaries == ["pg2"])
        #expect(h.cluster.calls("pg2.promote") == 1, "promotion is never repeated")
    }

    @Test(arguments: switchoverPoints, [FakeCluster.Timing.before, .after])
    func switchover(at point: String, timing: FakeCluster.Timing) async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        let plan = h.switchoverPlan()
        try await h.crash(plan, at: point, timing)
        let outcome = try await Approval.approve(id: plan.id, env: h.env)
        #expect(outcome.outcome == .done)
        #expect(h.cluster.primaries == ["pg2"], "exactly one writable primary, the new one")
        #expect(h.cluster.node("pg1").running && h.cluster.node("pg1").streaming, "the old primary streams from the new one")
        #expect(!h.cluster.node("pg1").fenced)
        #expect(h.cluster.calls("pg2.promote") == 1)
    }

    @Test(arguments: rejoinPoints, [FakeCluster.Timing.before, .after])
    func rejoin(at point: String, timing: FakeCluster.Timing) async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        let plan = h.rejoinPlan()
        try await h.crash(plan, at: point, timing)
        let outcome = try await Approval.approve(id: plan.id, env: h.env)
        #expect(outcome.outcome == .done)
        #expect(h.cluster.primaries == ["pg2"])
        #expect(h.cluster.node("pg1").streaming && !h.cluster.node("pg1").fenced)
    }
}
