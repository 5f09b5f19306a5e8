import DRJournal
import Foundation

/// Bounded mode's journal (`pgdr-rpo-bound.jsonl` beside the operations
/// journal), written by the agent and by `pgdr release-commits`: every hold
/// and release of commits, with the lag that caused it and how long commits
/// were held, and an operator's acceptance of the risk.
public struct BoundLog: Sendable {
    public struct Entry: Sendable, Codable, Hashable {
        public enum Event: String, Sendable, Codable {
            /// Commits wait for the DR replica (synchronous replication on).
            case hold
            /// Commits flow again; `heldSeconds` says for how long they waited.
            case release
            /// An operator let commits through while the DR replica is behind
            /// (`pgdr release-commits --accept-risk`): no hold until it is back inside.
            case acceptRisk = "accept-risk"
            /// The replica is back inside the bound: holding is armed again.
            case rearm
        }
        public var at: Date
        public var event: Event
        public var reason: String
        public var primary: String?
        public var standby: String?
        public var unreceivedBytes: Int64?
        public var unreceivedSeconds: Double?
        public var heldSeconds: Double?
        /// `agent` or `operator`.
        public var by: String

        public init(at: Date = Date(), event: Event, reason: String, primary: String? = nil, standby: String? = nil,
                    unreceivedBytes: Int64? = nil, unreceivedSeconds: Double? = nil, heldSeconds: Double? = nil, by: String) {
            self.at = at
            self.event = event
            self.reason = reason
            self.primary = primary
            self.standby = standby
            self.unreceivedBytes = unreceivedBytes
            self.unreceivedSeconds = unreceivedSeconds
            self.heldSeconds = heldSeconds
            self.by = by
        }
    }

    public let path: String
    public init(directory: String) { path = "\(directory)/pgdr-rpo-bound.jsonl" }

    public func append(_ entry: Entry) throws { try JSONLines.append(entry, to: path) }
    public func entries() -> [Entry] { JSONLines.read(Entry.self, from: path) }

    /// True while an operator's acceptance stands (no rearm after it).
    public static func riskAccepted(_ entries: [Entry]) -> Bool {
        entries.last { $0.event == .acceptRisk || $0.event == .rearm }?.event == .acceptRisk
    }

    /// When the hold in force began (the last hold with no release or accepted risk after it).
    public static func heldSince(_ entries: [Entry]) -> Date? {
        guard let last = entries.last(where: { $0.event != .rearm }), last.event == .hold else { return nil }
        return last.at
    }

    /// Seconds commits were held by finished holds.
    public static func heldTotal(_ entries: [Entry]) -> Double {
        entries.compactMap(\.heldSeconds).reduce(0, +)
    }
}
