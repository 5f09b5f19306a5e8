import DRStatus
import Foundation

/// While the roles are changing (no single writable primary, or a node's
/// role or reachability differs from the round before), the agent samples
/// again every `step` instead of waiting for the next tick, for at most
/// `limit` rounds: load balancers asking /primary learn of a switchover or a
/// failover within a fraction of a second. Pure.
struct SettleRounds: Sendable {
    var step: TimeInterval = 0.25
    var limit = 40
    private(set) var remaining = 0

    /// Each node's role as a round saw it (`unreachable` when it did not answer).
    static func roles(_ report: StatusReport) -> [String: String] {
        Dictionary(report.nodes.map { ($0.name, $0.reachable ? ($0.role?.rawValue ?? "unknown") : "unreachable") },
                   uniquingKeysWith: { a, _ in a })
    }

    mutating func observe(_ roles: [String: String], previous: [String: String]?) {
        let primaries = roles.values.filter { $0 == "primary" }.count
        let changed = previous.map { $0 != roles } ?? false
        if changed {
            remaining = limit
        } else if primaries == 1 {
            remaining = 0
        } else if remaining > 0 {
            remaining -= 1
        }
    }

    /// When to sample next: the tick, or sooner while settling.
    func next(before tick: Date, now: Date) -> Date {
        remaining > 0 ? min(tick, now.addingTimeInterval(step)) : tick
    }
}
