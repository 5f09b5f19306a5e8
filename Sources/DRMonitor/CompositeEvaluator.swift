import DRSpec

/// Evaluates a composite rule over the other alarms' current states.
/// An alarm the rule names but that has no state yet counts as
/// INSUFFICIENT_DATA, as in CloudWatch.
public enum CompositeEvaluator {
    public static func holds(_ rule: AlarmRule, states: [String: AlarmState]) -> Bool {
        switch rule {
        case .state(let name, let alarm):
            let state = states[alarm] ?? .insufficientData
            switch name {
            case .alarm: return state == .alarm
            case .ok: return state == .ok
            case .insufficientData: return state == .insufficientData
            }
        case .constant(let value): return value
        case .not(let inner): return !holds(inner, states: states)
        case .and(let a, let b): return holds(a, states: states) && holds(b, states: states)
        case .or(let a, let b): return holds(a, states: states) || holds(b, states: states)
        }
    }

    /// Composite alarms are ALARM when the rule holds, otherwise OK.
    public static func evaluate(_ rule: AlarmRule, states: [String: AlarmState]) -> MetricAlarmEvaluator.Outcome {
        let inAlarm = rule.references.filter { states[$0] == .alarm }
        if holds(rule, states: states) {
            return .init(state: .alarm, reason: "rule \(rule) holds"
                + (inAlarm.isEmpty ? "" : " (in ALARM: \(inAlarm.joined(separator: ", ")))"))
        }
        return .init(state: .ok, reason: "rule \(rule) does not hold")
    }
}
