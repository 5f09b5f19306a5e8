import Foundation

/// How many HTTP connections the agent accepts at once, from the process's
/// open-file limit: the soft limit is raised to the hard one (up to 65536),
/// and `reserve` descriptors are always kept for what must never fail for
/// want of one: the journal, notification sinks, PostgreSQL sessions, child
/// processes.
public enum ConnectionBudget {
    public static let reserve = 128
    public static let ceiling = 1024

    public struct Budget: Sendable, Hashable {
        public var fileLimit: Int
        public var maxConnections: Int
    }

    /// Raises the soft open-file limit as far as allowed, then computes the cap.
    public static func prepare() -> Budget {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            let target = min(limit.rlim_max, 65536)
            if limit.rlim_cur < target {
                var raised = limit
                raised.rlim_cur = target
                if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
            }
        }
        let files = Int(clamping: limit.rlim_cur)
        return Budget(fileLimit: files, maxConnections: cap(fileLimit: files))
    }

    /// Pure: the cap for a given file limit (at least 16, at most `ceiling`).
    public static func cap(fileLimit: Int) -> Int {
        max(16, min(ceiling, fileLimit - reserve))
    }
}
