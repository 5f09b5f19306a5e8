import DRSpec
import Foundation
import Testing
@testable import DRMonitor

/// A 3-of-3 alarm over 10 s periods on `X`, `> 5`.
func alarm(_ missing: MetricAlarm.MissingData = .missing, periods: Int = 3, datapoints: Int? = nil,
           statistic: MetricAlarm.Statistic = .maximum, comparison: MetricAlarm.Comparison = .greaterThan) -> MetricAlarm {
    MetricAlarm(metric: "X", statistic: statistic, comparison: comparison, threshold: 5, period: .seconds(10),
                evaluationPeriods: periods, datapointsToAlarm: datapoints, treatMissingData: missing)
}

/// Builds a store from a pattern, oldest first: "X" breaching (9), "0" fine (1), "-" missing.
func store(_ pattern: String, end: Date) -> MetricStore {
    var store = MetricStore(retention: 3600)
    let slots = Array(pattern)
    for (i, c) in slots.enumerated() where c != "-" {
        let at = end.addingTimeInterval(-Double(slots.count - 1 - i) * 10 + 1)
        store.record("X", c == "X" ? 9 : 1, at: at)
    }
    return store
}

let now = Date(timeIntervalSince1970: 1_700_000_000)  // on a 10 s boundary

@Suite struct MissingDataTableTests {
    /// CloudWatch's table for 3 evaluation periods, 3 datapoints to alarm,
    /// columns missing / ignore / breaching / notBreaching.
    static let table: [(String, AlarmState, AlarmState, AlarmState, AlarmState)] = [
        ("000", .ok, .ok, .ok, .ok),
        ("0XX", .ok, .ok, .ok, .ok),
        ("XXX", .alarm, .alarm, .alarm, .alarm),
        ("00-", .ok, .ok, .ok, .ok),
        ("0X-", .ok, .ok, .ok, .ok),
        ("XX-", .alarm, .alarm, .alarm, .ok),
        ("--X", .alarm, .alarm, .alarm, .ok),
        ("--0", .ok, .ok, .ok, .ok),
        ("---", .insufficientData, .ok /* kept */, .alarm, .ok),
    ]

    @Test(arguments: table)
    func followsCloudWatch(row: (String, AlarmState, AlarmState, AlarmState, AlarmState)) {
        let (pattern, missing, ignore, breaching, notBreaching) = row
        let s = store(pattern, end: now)
        #expect(MetricAlarmEvaluator.evaluate(alarm(.missing), store: s, now: now, current: .ok).state == missing, "missing \(pattern)")
        #expect(MetricAlarmEvaluator.evaluate(alarm(.ignore), store: s, now: now, current: .ok).state == ignore, "ignore \(pattern)")
        #expect(MetricAlarmEvaluator.evaluate(alarm(.breaching), store: s, now: now, current: .ok).state == breaching, "breaching \(pattern)")
        #expect(MetricAlarmEvaluator.evaluate(alarm(.notBreaching), store: s, now: now, current: .ok).state == notBreaching, "notBreaching \(pattern)")
    }

    @Test func ignoreKeepsAlarmWhenEverythingIsMissing() {
        let outcome = MetricAlarmEvaluator.evaluate(alarm(.ignore), store: store("---", end: now), now: now, current: .alarm)
        #expect(outcome.state == .alarm)
        #expect(outcome.reason.contains("kept"))
    }
}

@Suite struct MetricAlarmSemanticsTests {
    @Test func datapointsToAlarmCountsBreachesInTheRange() {
        let twoOfFive = alarm(periods: 5, datapoints: 2)
        #expect(MetricAlarmEvaluator.evaluate(twoOfFive, store: store("0X00X", end: now), now: now, current: .ok).state == .alarm)
        #expect(MetricAlarmEvaluator.evaluate(twoOfFive, store: store("0X000", end: now), now: now, current: .ok).state == .ok)
        // Breaches older than the range do not count.
        #expect(MetricAlarmEvaluator.evaluate(twoOfFive, store: store("XX00000", end: now), now: now, current: .ok).state == .ok)
    }

    @Test(arguments: [(MetricAlarm.Statistic.average, 5.0), (.maximum, 9.0), (.minimum, 1.0), (.sum, 15.0), (.sampleCount, 3.0)])
    func statisticAggregatesWithinAPeriod(statistic: MetricAlarm.Statistic, expected: Double) {
        var s = MetricStore(retention: 3600)
        for (offset, value) in [(1.0, 1.0), (4.0, 5.0), (8.0, 9.0)] { s.record("X", value, at: now.addingTimeInterval(offset)) }
        let a = MetricAlarm(metric: "X", statistic: statistic, comparison: .greaterThan, threshold: 0, period: .seconds(10),
                            evaluationPeriods: 1)
        let values = MetricAlarmEvaluator.periodValues(a, store: s, now: now.addingTimeInterval(9))
        #expect(values == [expected])
    }

    @Test(arguments: [(MetricAlarm.Comparison.greaterThan, 5.0, false), (.greaterThanOrEqual, 5.0, true),
                      (.lessThan, 5.0, false), (.lessThanOrEqual, 5.0, true), (.lessThan, 4.0, true), (.greaterThan, 6.0, true)])
    func comparisons(comparison: MetricAlarm.Comparison, value: Double, breaches: Bool) {
        #expect(comparison.breaches(value, 5) == breaches)
    }

    @Test func reasonShowsTheEvidence() {
        let outcome = MetricAlarmEvaluator.evaluate(alarm(), store: store("XXX", end: now), now: now, current: .ok)
        #expect(outcome.reason == "3 of 3 periods breached Maximum > 5 [9, 9, 9] (3 needed)")
    }

    @Test func storeForgetsOldPoints() {
        var s = MetricStore(retention: 60)
        s.record("X", 1, at: now)
        s.record("X", 2, at: now.addingTimeInterval(120))
        #expect(s.points("X", from: now.addingTimeInterval(-1000), to: now.addingTimeInterval(1000)) == [2])
    }
}
