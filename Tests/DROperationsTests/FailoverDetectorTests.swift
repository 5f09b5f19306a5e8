import DRAgent
import DROperations
import DROrchestrator
import DRSpec
import DRStatus
import Foundation
import Synchronization
import Testing

/// A prober that reports what the script says, and can run something
/// (another operation) while it probes.
final class ScriptedProber: PrimaryProber {
    let failures: Int
    let during: Mutex<(@Sendable () async -> Void)?>
    init(failures: Int, during: (@Sendable () async -> Void)? = nil) {
        self.failures = failures
        self.during = Mutex(during)
    }
    func consecutiveFailures(of node: String, detection: Failover.Detection) async -> Int {
        if let work = during.withLock({ $0 }) { await work() }
        return failures
    }
}

/// Defect: the automatic agent fenced a healthy standby after a planned
/// switchover, acting on a view from the switchover's write pause. The rule
/// now: decide only on observations made while holding the operation lock,
/// and never when another operation ran since the evidence was gathered.
@Suite struct FailoverDetectorTests {
    static func automatic(_ h: RunnerHarness) -> OperationEnvironment {
        var spec = h.env.spec
        spec.failover.mode = .automatic
        return h.env.with(spec: spec)
    }

    @Test func aTriggerDuringASwitchoverNeverFencesItsNewStandby() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        let env = Self.automatic(h)
        // The switchover runs; its write pause made a round see no primary.
        let switchover = h.switchoverPlan()
        try env.store.savePlan(switchover)
        try env.store.acquire(switchover.id)
        let detector = FailoverDetector(env: env, prober: ScriptedProber(failures: 5), journal: nil, logger: .init(label: "test"))
        let during = await detector.handle(.primaryLost(node: "pg1", why: "a round in the write pause"))
        guard case .ignored = during else {
            Issue.record("while another operation holds the lock the detector must not act: \(during)")
            return
        }
        env.store.release(switchover.id)
        _ = try await OperationRunner(environment: env).execute(switchover)
        #expect(h.cluster.primaries == ["pg2"])
        // The stale trigger comes in afterwards (pg1 now a standby: every write probe fails).
        let after = await detector.handle(.primaryLost(node: "pg1", why: "the round's old view"))
        guard case .keptWatching(let reason) = after else {
            Issue.record("a fresh look after the lock shows pg2 primary: no failover, got \(after)")
            return
        }
        #expect(reason.contains("pg2"))
        #expect(!h.cluster.node("pg1").fenced, "the new standby was fenced")
        #expect(h.cluster.node("pg1").streaming)
        #expect(h.cluster.calls("pg1.fence") == 1, "only the switchover's own fence of pg1")
    }

    @Test func evidenceFromBeforeAnotherOperationIsThrownAway() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        let env = Self.automatic(h)
        h.cluster.state.withLock { $0.nodes["pg1"]?.running = false }
        // While the detector probes, an operation is journaled (as one that
        // slipped in before the lock would be).
        let prober = ScriptedProber(failures: 5) {
            try? env.store.append(.init(operation: "switchover-00000001", kind: .switchover, phase: .approved))
        }
        let detector = FailoverDetector(env: env, prober: prober, journal: nil, logger: .init(label: "test"))
        let result = await detector.handle(.primaryLost(node: "pg1", why: "killed"))
        guard case .keptWatching(let reason) = result else {
            Issue.record("an operation ran since the evidence was gathered: look again, got \(result)")
            return
        }
        #expect(reason.contains("operation"))
        #expect(h.cluster.calls("pg2.promote") == 0)
    }

    @Test func aLostPrimaryIsFailedOverUnderTheLock() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        let env = Self.automatic(h)
        h.cluster.state.withLock { $0.nodes["pg1"]?.running = false }
        try PrimaryPositionFile.save(PrimaryPosition(node: "pg1", flushLSN: LSN(0x3000000), at: Date()), directory: h.directory)
        let detector = FailoverDetector(env: env, prober: ScriptedProber(failures: 5), journal: nil, logger: .init(label: "test"))
        let result = await detector.handle(.primaryLost(node: "pg1", why: "session closed"))
        guard case .failedOver(_, let outcome) = result else {
            Issue.record("5 failed probes of a dead primary, a healthy standby: fail over, got \(result)")
            return
        }
        #expect(outcome == .done)
        #expect(h.cluster.primaries == ["pg2"])
        #expect(h.env.store.currentLock() == nil)
        #expect(h.env.store.entries().contains { $0.phase == .planned && $0.detail?.contains("automatic") == true })
    }

    /// What automatic mode did instead of a failover reaches the notification sinks.
    @Test func aRefusedOrFailedAutomaticFailoverIsNotified() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        var spec = Self.automatic(h).spec
        spec.notifications = [.log(path: "notices.jsonl", .init())]
        let env = h.env.with(spec: spec)
        h.cluster.state.withLock { $0.nodes["pg1"]?.running = false }
        func notices() throws -> [[String: Any]] {
            let text = (try? String(contentsOfFile: "\(h.directory)/notices.jsonl", encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
        // No record of the primary's last position: the loss is unknown, the failover refused.
        let detector = FailoverDetector(env: env, prober: ScriptedProber(failures: 5), journal: nil, logger: .init(label: "test"))
        let refused = await detector.handle(.primaryLost(node: "pg1", why: "session closed"))
        guard case .refused = refused else {
            Issue.record("no evidence of the loss: refuse, got \(refused)")
            return
        }
        let first = try notices()
        #expect(first.count == 1 && first.first?["outcome"] as? String == "refused", "\(first)")
        #expect((first.first?["message"] as? String)?.contains("pg1 does not answer") == true, "\(first)")
        #expect(first.first?["kind"] as? String == "operation" && first.first?["type"] as? String == "failover")
        // The same refusal again is not announced again.
        _ = await detector.handle(.primaryLost(node: "pg1", why: "next round"))
        #expect(try notices().count == 1)

        // With the evidence, a failover that fails at its promotion.
        try PrimaryPositionFile.save(PrimaryPosition(node: "pg1", flushLSN: LSN(0x3000000), at: Date()), directory: h.directory)
        h.cluster.fail("pg2.promote", "pg_promote timed out")
        let failed = await detector.handle(.primaryLost(node: "pg1", why: "session closed"))
        guard case .failed = failed else {
            Issue.record("a promotion that fails: failed, got \(failed)")
            return
        }
        let last = try #require(try notices().last)
        #expect(last["outcome"] as? String == "failed" && last["to"] as? String == "pg2", "\(last)")
        #expect((last["message"] as? String)?.contains("pg_promote timed out") == true, "\(last)")
    }

    /// A demoted primary that takes writes again (a cut link healed) is fenced
    /// and rejoined, but only on a look taken under the operation lock: while
    /// another operation holds it, the repair waits for the next trigger.
    @Test func aSplitBrainIsRepairedUnderTheLockOnly() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        let env = Self.automatic(h)
        _ = try await OperationRunner(environment: env).execute(h.failoverPlan())
        #expect(h.cluster.primaries == ["pg2"])
        // pg1 comes back writable behind pgdr's back.
        h.cluster.state.withLock { state in
            state.nodes["pg1"]?.running = true
            state.nodes["pg1"]?.primary = true
            state.nodes["pg1"]?.fenced = false
            state.nodes["pg1"]?.following = nil
        }
        #expect(h.cluster.primaries == ["pg1", "pg2"])
        let detector = FailoverDetector(env: env, prober: ScriptedProber(failures: 0), journal: nil, logger: .init(label: "test"))
        let other = h.switchoverPlan()
        try env.store.acquire(other.id)
        let held = await detector.handle(.splitBrain(stale: "pg1"))
        guard case .ignored = held else {
            Issue.record("another operation holds the lock: no repair on a look taken outside it, got \(held)")
            return
        }
        #expect(h.cluster.calls("pg1.fence") == 1, "only the failover's own fence so far")
        env.store.release(other.id)
        let repaired = await detector.handle(.splitBrain(stale: "pg1"))
        guard case .resumed = repaired else {
            Issue.record("the stale primary is fenced and rejoined, got \(repaired)")
            return
        }
        #expect(h.cluster.primaries == ["pg2"])
        #expect(h.cluster.node("pg1").following == "pg2")
        #expect(env.store.currentLock() == nil)
    }

    @Test func aPrimaryThatAnswersOneProbeIsLeftAlone() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        let detector = FailoverDetector(env: Self.automatic(h), prober: ScriptedProber(failures: 0), journal: nil,
                                        logger: .init(label: "test"))
        let result = await detector.handle(.primaryLost(node: "pg1", why: "a blip"))
        guard case .keptWatching = result else {
            Issue.record("a primary that answers is not lost: \(result)")
            return
        }
        #expect(h.env.store.currentLock() == nil, "the lock taken to look is given back")
        #expect(h.cluster.primaries == ["pg1"])
    }

    @Test func anInterruptedOperationIsResumedInAutomaticModeOnly() async throws {
        let h = try RunnerHarness()
        defer { h.cleanUp() }
        let plan = try h.failoverPlan()
        try await h.crash(plan, at: "pg2.promote", .before)
        let manual = FailoverDetector(env: h.env, prober: ScriptedProber(failures: 0), journal: nil, logger: .init(label: "test"))
        guard case .ignored = await manual.handle(.interrupted(operation: plan.id)) else {
            Issue.record("manual mode leaves an interrupted operation to the operator")
            return
        }
        let automatic = FailoverDetector(env: Self.automatic(h), prober: ScriptedProber(failures: 0), journal: nil,
                                         logger: .init(label: "test"))
        guard case .resumed(let outcome) = await automatic.handle(.interrupted(operation: plan.id)) else {
            Issue.record("automatic mode resumes an interrupted operation")
            return
        }
        #expect(outcome == "done")
        #expect(h.cluster.primaries == ["pg2"])
    }
}
