import Foundation

/// What the agent last learned of the backups (pgBackRest's info), per
/// repository: whether it answers, its newest backup, where its window starts.
public struct BackupStatus: Sendable, Codable, Hashable {
    public struct Repository: Sendable, Codable, Hashable {
        public var number: Int
        public var ok: Bool
        public var status: String
        public var newestBackupAt: Date?
        public var recoverableFrom: Date?
        public init(number: Int, ok: Bool, status: String, newestBackupAt: Date?, recoverableFrom: Date?) {
            self.number = number
            self.ok = ok
            self.status = status
            self.newestBackupAt = newestBackupAt
            self.recoverableFrom = recoverableFrom
        }
    }

    public var checkedAt: Date
    /// How many repositories pgdr.yaml lists (an unanswered check counts them all failing).
    public var configured: Int
    public var repositories: [Repository]
    /// Why the check itself failed (pgBackRest missing, the stanza unreadable).
    public var error: String?

    public init(checkedAt: Date, configured: Int, repositories: [Repository], error: String? = nil) {
        self.checkedAt = checkedAt
        self.configured = configured
        self.repositories = repositories
        self.error = error
    }

    /// Repositories that cannot be counted on: failing, missing from the answer, or all when the check failed.
    public var failing: Int {
        if error != nil { return configured }
        return repositories.filter { !$0.ok }.count + max(0, configured - repositories.count)
    }

    /// Age of the newest backup in the stalest repository: a repository with
    /// no backup at all counts as infinitely old (a year, for the metric).
    public func newestBackupAge(now: Date) -> Double? {
        guard error == nil, !repositories.isEmpty else { return nil }
        return repositories.map { repo in repo.newestBackupAt.map { max(0, now.timeIntervalSince($0)) } ?? 365 * 86_400 }.max()
    }
}
