import Foundation

/// CloudWatch's three alarm states.
public enum AlarmState: String, Sendable, Hashable, Codable, CaseIterable {
    case ok = "OK"
    case alarm = "ALARM"
    case insufficientData = "INSUFFICIENT_DATA"

    /// The value `pgdr_alarm_state` exports: 0 OK, 1 ALARM, 2 INSUFFICIENT_DATA.
    public var gaugeValue: Double {
        switch self {
        case .ok: 0
        case .alarm: 1
        case .insufficientData: 2
        }
    }
}

/// One alarm changing state, with the reason, as CloudWatch reports it.
public struct AlarmTransition: Sendable, Hashable, Codable {
    public var alarm: String
    public var summary: String
    public var from: AlarmState
    public var to: AlarmState
    public var reason: String
    public var at: Date

    public init(alarm: String, summary: String, from: AlarmState, to: AlarmState, reason: String, at: Date) {
        self.alarm = alarm
        self.summary = summary
        self.from = from
        self.to = to
        self.reason = reason
        self.at = at
    }
}
