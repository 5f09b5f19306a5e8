import Foundation

/// `target: aws`: the deployment's own CloudWatch alarms (those `pgdr
/// synth` names NAME-…-ENV) in both regions, as DescribeAlarms reports
/// them, shown by `pgdr status` beside pgdr's own verdict. Informational:
/// the verdict and the exit status come from pgdr's evaluation of the
/// same data, and an alarm that cannot be read is said, not guessed. Pure.
public struct CloudAlarmsView: Sendable, Codable, Hashable {
    public struct Alarm: Sendable, Codable, Hashable {
        public var name: String
        public var region: String
        /// OK, ALARM or INSUFFICIENT_DATA.
        public var state: String
        public var reason: String?
        public var since: Date?

        public init(name: String, region: String, state: String, reason: String?, since: Date?) {
            self.name = name
            self.region = region
            self.state = state
            self.reason = reason
            self.since = since
        }
    }

    /// Which names count as the deployment's ("orders-*-prod").
    public var pattern: String
    public var alarms: [Alarm]
    /// Regions whose alarms could not be read, with why.
    public var unreadable: [String: String]

    public init(pattern: String, alarms: [Alarm], unreadable: [String: String]) {
        self.pattern = pattern
        self.alarms = alarms.sorted { ($0.region, $0.name) < ($1.region, $1.name) }
        self.unreadable = unreadable
    }

    public var firing: [Alarm] { alarms.filter { $0.state == "ALARM" } }

    public var rendered: String {
        var out = ""
        if alarms.isEmpty && unreadable.isEmpty {
            out = "CloudWatch alarms: none named \(pattern) (the deployment's stacks create them: pgdr deploy)\n"
        } else if !alarms.isEmpty {
            let waiting = alarms.filter { $0.state == "INSUFFICIENT_DATA" }.count
            out = "CloudWatch alarms: \(firing.count) of \(alarms.count) in ALARM"
                + (waiting > 0 ? ", \(waiting) with insufficient data" : "") + "\n"
            for alarm in firing {
                out += "  ALARM \(alarm.name) (\(alarm.region))" + (alarm.since.map { " since \($0.formatted(.iso8601))" } ?? "")
                    + (alarm.reason.map { ": \($0)" } ?? "") + "\n"
            }
        }
        for (region, why) in unreadable.sorted(by: { $0.key < $1.key }) {
            out += "CloudWatch alarms in \(region) could not be read: \(why)\n"
        }
        return out
    }
}
