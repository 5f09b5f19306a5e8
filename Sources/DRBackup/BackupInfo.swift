import DRStatus
import Foundation

/// What `pgbackrest info --output=json` says about the stanza, per
/// repository: the backups, and the window a restore can reach.
public struct BackupInfo: Sendable, Codable, Equatable {
    public struct Backup: Sendable, Codable, Equatable {
        public var label: String
        public var type: String
        public var repository: Int
        public var started: Date
        public var stopped: Date
        public var durationSeconds: Double
        /// Size of the database as backed up, and what the repository holds for this backup.
        public var databaseBytes: Int64
        public var repositoryBytes: Int64
        public var walStart: String?
        public var walStop: String?
        public var lsnStart: LSN?
        public var lsnStop: LSN?
    }

    public struct Repository: Sendable, Codable, Equatable {
        public var number: Int
        public var status: String
        public var backups: Int
        /// A restore can reach from the end of the oldest backup on.
        public var recoverableFrom: Date?
        /// The newest WAL segment archived (the window's far end, as a segment).
        public var newestWAL: String?
        public var oldestWAL: String?
    }

    public var stanza: String
    public var status: String
    public var backups: [Backup]
    public var repositories: [Repository]

    /// No repository holds the stanza at all (pgBackRest: `missing stanza path`):
    /// pgdr.yaml names a stanza that was never created, or not this one.
    public var stanzaMissing: Bool {
        !repositories.isEmpty && repositories.allSatisfy { $0.status.contains("missing stanza path") }
    }

    /// The error for a missing stanza, with what to do.
    public static func missingStanza(_ stanza: String) -> BackupError {
        .badInput("the stanza `\(stanza)` (backup.stanza in pgdr.yaml) is in none of the repositories: run `pgdr backup --setup` "
                  + "to create it, or set backup.stanza to the stanza they hold")
    }

    /// Decodes pgBackRest's JSON (one stanza).
    public static func decode(_ data: Data, stanza: String) throws -> BackupInfo {
        guard let all = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw BackupError.failed("pgbackrest info answered something that is not its JSON")
        }
        guard let entry = all.first(where: { $0["name"] as? String == stanza }) else {
            throw BackupError.refused("pgBackRest knows no stanza \(stanza)")
        }
        let status = ((entry["status"] as? [String: Any])?["message"] as? String) ?? "unknown"
        func date(_ value: Any?) -> Date { Date(timeIntervalSince1970: (value as? NSNumber)?.doubleValue ?? 0) }
        var backups: [Backup] = []
        for case let b as [String: Any] in entry["backup"] as? [Any] ?? [] {
            let timestamp = b["timestamp"] as? [String: Any] ?? [:]
            let info = b["info"] as? [String: Any] ?? [:]
            let repoInfo = info["repository"] as? [String: Any] ?? [:]
            let archive = b["archive"] as? [String: Any] ?? [:]
            let lsn = b["lsn"] as? [String: Any] ?? [:]
            let repo = ((b["database"] as? [String: Any])?["repo-key"] as? NSNumber)?.intValue ?? 1
            let started = date(timestamp["start"]), stopped = date(timestamp["stop"])
            backups.append(Backup(label: b["label"] as? String ?? "?", type: b["type"] as? String ?? "?", repository: repo,
                                  started: started, stopped: stopped, durationSeconds: stopped.timeIntervalSince(started),
                                  databaseBytes: (info["size"] as? NSNumber)?.int64Value ?? 0,
                                  repositoryBytes: (repoInfo["size"] as? NSNumber)?.int64Value ?? 0,
                                  walStart: archive["start"] as? String, walStop: archive["stop"] as? String,
                                  lsnStart: (lsn["start"] as? String).flatMap(LSN.init), lsnStop: (lsn["stop"] as? String).flatMap(LSN.init)))
        }
        var repositories: [Repository] = []
        for case let r as [String: Any] in entry["repo"] as? [Any] ?? [] {
            let number = (r["key"] as? NSNumber)?.intValue ?? 0
            let mine = backups.filter { $0.repository == number }
            let archives = (entry["archive"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }
                .filter { (($0["database"] as? [String: Any])?["repo-key"] as? NSNumber)?.intValue == number }
            repositories.append(Repository(number: number, status: ((r["status"] as? [String: Any])?["message"] as? String) ?? "unknown",
                                           backups: mine.count, recoverableFrom: mine.map(\.stopped).min(),
                                           newestWAL: archives.compactMap { $0["max"] as? String }.max(),
                                           oldestWAL: archives.compactMap { $0["min"] as? String }.min()))
        }
        return BackupInfo(stanza: stanza, status: status, backups: backups.sorted { $0.started < $1.started },
                          repositories: repositories)
    }
}

public enum BackupError: Error, CustomStringConvertible, Equatable {
    /// Bad input (exit 2).
    case badInput(String)
    /// A guard refused (exit 3): outside the window, a directory not empty.
    case refused(String)
    /// pgBackRest or the server failed (exit 1).
    case failed(String)

    public var description: String {
        switch self {
        case .badInput(let text), .refused(let text), .failed(let text): text
        }
    }
}
