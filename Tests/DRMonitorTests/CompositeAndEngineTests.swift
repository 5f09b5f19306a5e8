import DRSpec
import DRStatus
import Foundation
import Testing
@testable import DRMonitor

@Suite struct CompositeRuleTests {
    @Test(arguments: [
        ("ALARM(a)", "ALARM(a)"),
        ("ALARM(a) AND NOT OK(b)", "ALARM(a) AND NOT OK(b)"),
        ("alarm(a) or ok(b) and insufficient_data(c)", "ALARM(a) OR (OK(b) AND INSUFFICIENT_DATA(c))"),
        ("(ALARM(a) OR ALARM(b)) AND ALARM(c)", "(ALARM(a) OR ALARM(b)) AND ALARM(c)"),
        ("NOT NOT TRUE", "NOT NOT TRUE"),
        ("ALARM(\"my alarm\") OR FALSE", "ALARM(my alarm) OR FALSE"),
    ])
    func parsesWithCloudWatchPrecedence(text: String, canonical: String) throws {
        #expect(try AlarmRule.parse(text).description == canonical)
    }

    @Test(arguments: ["", "ALARM(a", "ALARM()", "ALARM(a) AND", "BOGUS(a)", "ALARM(a) ALARM(b)", "ALARM(a) & OK(b)", "(ALARM(a)"])
    func rejects(text: String) {
        #expect(throws: AlarmRule.ParseError.self) { try AlarmRule.parse(text) }
    }

    @Test func evaluatesOverStates() throws {
        let rule = try AlarmRule.parse("ALARM(a) AND NOT (OK(b) OR INSUFFICIENT_DATA(c))")
        #expect(CompositeEvaluator.holds(rule, states: ["a": .alarm, "b": .alarm, "c": .ok]))
        #expect(!CompositeEvaluator.holds(rule, states: ["a": .alarm, "b": .ok, "c": .ok]))
        #expect(!CompositeEvaluator.holds(rule, states: ["a": .alarm, "b": .alarm]), "unknown c counts as INSUFFICIENT_DATA")
        #expect(!CompositeEvaluator.holds(rule, states: ["a": .ok, "b": .alarm, "c": .alarm]))
    }
}

@Suite struct AlarmEngineTests {
    let period = TimeSpan.seconds(1)

    func engine() -> AlarmEngine {
        let monitoring = Monitoring(interval: period, thresholds: Thresholds(
            replicationLag: .seconds(300), cpuPercent: 80, freeStorage: .gigabytes(10), connectionsPercent: 80,
            latency: TimeSpan(milliseconds: 200)))
        return AlarmEngine(alarms: DefaultAlarms.make(monitoring), now: Date(timeIntervalSince1970: 0))
    }

    func healthy() -> [String: Double] {
        ["StandbyUp": 1, "StandbyStreaming": 1, "PrimaryUp": 1, "ReplicationLagSeconds": 0, "ReplicationLagBytes": 0]
    }

    @Test func standbyLossFiresDRAtRiskAfterTwoPeriodsAndClearsOnRecovery() {
        var e = engine()
        var t = Date(timeIntervalSince1970: 1_000)
        for _ in 0..<3 {
            e.record(healthy(), at: t)
            _ = e.evaluate(now: t)
            t += 1
        }
        #expect(e.state("dr-at-risk") == .ok)
        // Standby gone: its series stop (missing is breaching for these two).
        e.record(["PrimaryUp": 1, "StandbyUp": 0, "StandbyStreaming": 0], at: t)
        #expect(e.evaluate(now: t).isEmpty, "one bad period of two is not enough")
        t += 1
        e.record(["PrimaryUp": 1, "StandbyUp": 0, "StandbyStreaming": 0], at: t)
        let fired = e.evaluate(now: t)
        #expect(Set(fired.map(\.alarm)).isSuperset(of: ["standby-unreachable", "standby-not-streaming", "dr-at-risk"]))
        #expect(fired.first { $0.alarm == "dr-at-risk" }?.to == .alarm)
        #expect(e.state("primary-down") == .ok, "a lost standby is not a lost primary")
        t += 1
        e.record(healthy(), at: t)
        let cleared = e.evaluate(now: t)
        #expect(cleared.contains { $0.alarm == "dr-at-risk" && $0.from == .alarm && $0.to == .ok })
    }

    @Test func primaryDownOnlyWhileTheStandbyAnswers() {
        var e = engine()
        var t = Date(timeIntervalSince1970: 2_000)
        for _ in 0..<2 {
            e.record(["PrimaryUp": 0, "StandbyUp": 1, "StandbyStreaming": 0], at: t)
            _ = e.evaluate(now: t)
            t += 1
        }
        #expect(e.state("primary-down") == .alarm)
        // Both gone looks the same as the agent's own network failing: not "primary down".
        for _ in 0..<2 {
            e.record(["PrimaryUp": 0, "StandbyUp": 0, "StandbyStreaming": 0], at: t)
            _ = e.evaluate(now: t)
            t += 1
        }
        #expect(e.state("primary-down") == .ok)
    }

    @Test func restoredStatesAreNotAnnouncedAgain() {
        let monitoring = Monitoring(interval: period, thresholds: SpecParserDefaults.thresholds)
        var e = AlarmEngine(alarms: DefaultAlarms.make(monitoring), restored: ["standby-unreachable": .alarm, "dr-at-risk": .alarm])
        let t = Date(timeIntervalSince1970: 3_000)
        e.record(["PrimaryUp": 1, "StandbyUp": 0, "StandbyStreaming": 0], at: t)
        let transitions = e.evaluate(now: t)
        #expect(!transitions.contains { $0.alarm == "standby-unreachable" || $0.alarm == "dr-at-risk" })
    }

    @Test func compositeOfCompositeSeesTheSameRound() throws {
        let base = AlarmSpec(name: "a", summary: "a", kind: .metric(MetricAlarm(metric: "X", comparison: .greaterThan,
                                                                            threshold: 5, period: .seconds(1), evaluationPeriods: 1)))
        let c1 = AlarmSpec(name: "c1", summary: "", kind: .composite(try AlarmRule.parse("ALARM(a)")))
        let c2 = AlarmSpec(name: "c2", summary: "", kind: .composite(try AlarmRule.parse("ALARM(c1)")))
        var e = AlarmEngine(alarms: [c2, c1, base])
        let t = Date(timeIntervalSince1970: 4_000)
        e.record(["X": 9], at: t)
        let names = e.evaluate(now: t).filter { $0.to == .alarm }.map(\.alarm)
        #expect(names == ["a", "c1", "c2"])
    }
}

/// The defaults the parser applies, for tests that build `Monitoring` by hand.
enum SpecParserDefaults {
    static let thresholds = Thresholds(replicationLag: .seconds(300), cpuPercent: 80, freeStorage: .gigabytes(10),
                                       connectionsPercent: 80, latency: TimeSpan(milliseconds: 200))
}

@Suite struct NotificationPolicyTests {
    func transition(_ alarm: String, _ from: AlarmState, _ to: AlarmState, at: Date) -> AlarmTransition {
        AlarmTransition(alarm: alarm, summary: alarm, from: from, to: to, reason: "r", at: at)
    }

    @Test func startupSettlingIsQuietChangesAreToldOnce() {
        var policy = NotificationPolicy(reminder: 60)
        let t = Date(timeIntervalSince1970: 0)
        #expect(policy.notices(for: [transition("a", .insufficientData, .ok, at: t)], states: [:], now: t).isEmpty)
        let fire = policy.notices(for: [transition("a", .ok, .alarm, at: t)], states: [:], now: t)
        #expect(fire.count == 1)
        #expect(fire.first?.kind == .transition)
        let clear = policy.notices(for: [transition("a", .alarm, .ok, at: t)], states: [:], now: t)
        #expect(clear.count == 1)
        #expect(fire.first?.id != clear.first?.id)
    }

    @Test func remindsWhileInAlarmAtTheInterval() {
        var policy = NotificationPolicy(reminder: 60)
        let start = Date(timeIntervalSince1970: 0)
        _ = policy.notices(for: [transition("a", .ok, .alarm, at: start)], states: [:], now: start)
        let entry = AlarmEngine.Entry(name: "a", summary: "a", state: .alarm, reason: "still", since: start)
        #expect(policy.notices(for: [], states: ["a": entry], now: start + 30).isEmpty)
        let reminder = policy.notices(for: [], states: ["a": entry], now: start + 61)
        #expect(reminder.map(\.kind) == [.reminder])
        #expect(policy.notices(for: [], states: ["a": entry], now: start + 62).isEmpty, "not again before another interval")
        var silent = NotificationPolicy(reminder: 0)
        #expect(silent.notices(for: [], states: ["a": entry], now: start + 10_000).isEmpty)
    }
}

@Suite struct ClusterMetricsTests {
    @Test func perNodeSeriesUnderNameAndRole() {
        var p = NodeSample(name: "pg1", region: "us-east-1", host: "h", port: 1, reachable: true)
        p.role = .primary
        p.connections = .init(used: 10, max: 50)
        p.probeLatencyMs = 2
        let down = NodeSample(name: "pg2", region: "us-east-2", host: "h", port: 2, reachable: false, error: "x")
        let report = StatusEvaluator.evaluate([p, down], thresholds: SpecParserDefaults.thresholds)
        let points = ClusterMetrics.datapoints(report, hosts: ["pg1": HostReading(cpuPercent: 12, freeStorageBytes: 1e9)])
        #expect(points["ConnectionsPercent@pg1"] == 20)
        #expect(points["ConnectionsPercent@primary"] == 20)
        #expect(points["CPUPercent@primary"] == 12)
        #expect(points["ProbeLatency@pg1"] == 0.002)
        #expect(points["NodeUp@pg2"] == 0)
        #expect(points["StandbyUp"] == 0)
        #expect(points["PrimaryUp"] == 1)
        #expect(points["ReplicationLagSeconds"] == nil, "no standby, no lag datapoint: missing, not 0")
    }
}
