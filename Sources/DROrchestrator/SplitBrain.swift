import DRStatus
import Foundation

/// The last operation that moved the primary role: who gave it up, who took it.
public struct Promotion: Sendable, Hashable, Codable {
    public var operation: String
    public var from: String
    public var to: String
    public var at: Date

    public init(operation: String, from: String, to: String, at: Date) {
        self.operation = operation
        self.from = from
        self.to = to
        self.at = at
    }
}

/// Pure: two writable primaries (a cut link healed, a fence that could not
/// reach the old primary). Which one is legitimate, and what to do.
public enum SplitBrain {
    public struct Verdict: Sendable, Hashable {
        /// The primary the journal says holds the role, when it does.
        public var legitimate: String?
        /// The writable node an operation demoted.
        public var stale: String?
        /// One sentence for `pgdr status` and `/status`.
        public var advice: String
    }

    public static func judge(_ report: StatusReport, lastPromotion: Promotion?) -> Verdict? {
        let writable = report.nodes.filter { $0.reachable && $0.role == .primary }.map(\.name)
        guard writable.count > 1 else { return nil }
        if let promotion = lastPromotion, writable.contains(promotion.to), writable.contains(promotion.from) {
            return Verdict(legitimate: promotion.to, stale: promotion.from, advice: """
                split brain: \(promotion.from) was demoted by \(promotion.operation) at \(promotion.at.formatted(.iso8601)) \
                and still takes writes, which \(promotion.to) does not have. Stop it now: `pgdr rejoin \(promotion.from)` \
                fences it, then makes it a standby of \(promotion.to) (pg_rewind discards its writes since then; copy them out \
                first if they matter). Clients must write to \(promotion.to) only; the agent's /primary answers 200 for it alone
                """)
        }
        let byTimeline = report.nodes.filter { writable.contains($0.name) }.sorted { ($0.timeline ?? 0) > ($1.timeline ?? 0) }
        let newest = byTimeline.first.map { "\($0.name) is on the newest timeline (\($0.timeline ?? 0))" } ?? ""
        return Verdict(legitimate: nil, stale: nil, advice: """
            split brain: \(writable.joined(separator: " and ")) all take writes and no operation in the journal says which \
            is the primary; \(newest). Stop writes to all but one by hand, then `pgdr rejoin` the others
            """)
    }
}
