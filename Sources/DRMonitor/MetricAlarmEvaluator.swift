import DRSpec
import Foundation

/// Evaluates one metric alarm the way CloudWatch does: datapoints are
/// aggregated per period with the statistic, the last `evaluationPeriods`
/// periods form the evaluation range, and the alarm is in ALARM when at least
/// `datapointsToAlarm` of them breach.
///
/// Missing periods follow `treatMissingData`: `breaching` and `notBreaching`
/// fill them in; `missing` and `ignore` leave them out, and when fewer
/// datapoints exist than `datapointsToAlarm`, all of them must breach (so
/// `- - X` with 3 of 3 is ALARM, as in CloudWatch's table). A range with no
/// datapoint at all is INSUFFICIENT_DATA for `missing` and keeps the current
/// state for `ignore`.
public enum MetricAlarmEvaluator {
    public struct Outcome: Sendable, Hashable {
        public var state: AlarmState
        public var reason: String
    }

    public static func evaluate(_ alarm: MetricAlarm, store: MetricStore, now: Date, current: AlarmState) -> Outcome {
        let values = periodValues(alarm, store: store, now: now)
        var breaching = 0, present = 0
        for value in values {
            switch (value, alarm.treatMissingData) {
            case (let v?, _):
                present += 1
                if alarm.comparison.breaches(v, alarm.threshold) { breaching += 1 }
            case (nil, .breaching):
                present += 1
                breaching += 1
            case (nil, .notBreaching):
                present += 1
            case (nil, .missing), (nil, .ignore):
                break
            }
        }
        let shown = values.map { $0.map(format) ?? "missing" }.joined(separator: ", ")
        let threshold = "\(alarm.statistic.rawValue) \(symbol(alarm.comparison)) \(format(alarm.threshold))"
        if present == 0 {
            return alarm.treatMissingData == .ignore
                ? Outcome(state: current, reason: "no datapoints in the last \(values.count) periods; state kept (ignore)")
                : Outcome(state: .insufficientData, reason: "no datapoints in the last \(values.count) periods")
        }
        let required = min(alarm.datapointsToAlarm, present)
        if breaching >= required {
            return Outcome(state: .alarm, reason:
                "\(breaching) of \(values.count) periods breached \(threshold) [\(shown)] (\(alarm.datapointsToAlarm) needed)")
        }
        return Outcome(state: .ok, reason:
            "\(breaching) of \(values.count) periods breached \(threshold) [\(shown)] (\(alarm.datapointsToAlarm) needed)")
    }

    /// One value (or nil when missing) per period of the evaluation range,
    /// oldest first. Periods are aligned to the epoch, like CloudWatch's.
    static func periodValues(_ alarm: MetricAlarm, store: MetricStore, now: Date) -> [Double?] {
        let period = Double(alarm.period.milliseconds) / 1000
        let currentStart = (now.timeIntervalSince1970 / period).rounded(.down) * period
        return (0..<alarm.evaluationPeriods).reversed().map { back in
            let start = Date(timeIntervalSince1970: currentStart - Double(back) * period)
            let points = store.points(alarm.seriesKey, from: start, to: start.addingTimeInterval(period))
            return aggregate(points, alarm.statistic)
        }
    }

    static func aggregate(_ points: [Double], _ statistic: MetricAlarm.Statistic) -> Double? {
        guard !points.isEmpty else { return nil }
        switch statistic {
        case .average: return points.reduce(0, +) / Double(points.count)
        case .maximum: return points.max()
        case .minimum: return points.min()
        case .sum: return points.reduce(0, +)
        case .sampleCount: return Double(points.count)
        }
    }

    static func symbol(_ comparison: MetricAlarm.Comparison) -> String {
        switch comparison {
        case .greaterThan: ">"
        case .greaterThanOrEqual: ">="
        case .lessThan: "<"
        case .lessThanOrEqual: "<="
        }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.3g", value)
    }
}
