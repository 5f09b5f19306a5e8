import Foundation

/// How often approval may be attempted over HTTP: at most `perCaller`
/// attempts from one address, and `overall` from everyone, in any `window`.
/// A guess at the token costs a caller its place for the rest of the window
/// (pure: the endpoint keeps it behind a lock).
public struct ApprovalLimiter: Sendable {
    public var perCaller: Int
    public var overall: Int
    public var window: TimeInterval
    private var attempts: [(caller: String, at: Date)] = []

    public init(perCaller: Int = 5, overall: Int = 20, window: TimeInterval = 60) {
        self.perCaller = perCaller
        self.overall = overall
        self.window = window
    }

    /// Counts the attempt if it is admitted; nil, or the seconds until the
    /// caller may try again.
    public mutating func admit(_ caller: String, at now: Date) -> TimeInterval? {
        attempts.removeAll { now.timeIntervalSince($0.at) >= window }
        let mine = attempts.filter { $0.caller == caller }
        if mine.count >= perCaller, let oldest = mine.first { return window - now.timeIntervalSince(oldest.at) }
        if attempts.count >= overall, let oldest = attempts.first { return window - now.timeIntervalSince(oldest.at) }
        attempts.append((caller, now))
        return nil
    }
}
