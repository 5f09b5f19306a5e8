import DRStatus
import Foundation

/// Where a restore stops: the end of the archived WAL, a moment, or a WAL
/// position. Pure: parsed from `--to`, checked against a repository's window.
public enum RestoreTarget: Sendable, Equatable, CustomStringConvertible {
    case latest
    case time(Date)
    case lsn(LSN)

    /// `latest`, an LSN (`0/3000060`), or a time with its zone
    /// (`2026-11-30T15:40:00Z`, `2026-11-30 15:40:00.25+00:00`).
    public static func parse(_ text: String) throws -> RestoreTarget {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "latest" { return .latest }
        if trimmed.wholeMatch(of: /[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}/) != nil, let lsn = LSN(trimmed) { return .lsn(lsn) }
        // The fraction is read apart: ISO8601DateFormatter keeps milliseconds,
        // and a commit time (PostgreSQL's now()) has microseconds.
        if let parts = trimmed.replacingOccurrences(of: " ", with: "T")
            .wholeMatch(of: /(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?(Z|[+-]\d\d(?::?\d\d)?)/) {
            var zone = String(parts.3)
            if zone != "Z" {
                // PostgreSQL writes +00 for a zone; ISO 8601 wants +00:00.
                zone = zone.count == 3 ? zone + ":00" : zone.contains(":") ? zone : "\(zone.prefix(3)):\(zone.suffix(2))"
            }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            if let whole = formatter.date(from: "\(parts.1)\(zone)") {
                return .time(whole.addingTimeInterval(parts.2.flatMap { Double("0" + $0) } ?? 0))
            }
        }
        throw BackupError.badInput("`\(text)` is not a restore target: give `latest`, an LSN such as 0/3000060, "
                                   + "or a time with its zone such as 2026-11-30T15:40:00Z")
    }

    /// The moment as pgBackRest and PostgreSQL read it (UTC, microseconds).
    public static func postgresTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        // DateFormatter stops at milliseconds; a commit time has microseconds.
        // Rounded, not truncated: 46.352491 is held as 46.35249099…, and one
        // microsecond early would leave out a commit made at exactly that time.
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let whole = Date(timeIntervalSince1970: Double(micros / 1_000_000))
        return formatter.string(from: whole) + String(format: ".%06d+00", Int(micros % 1_000_000))
    }

    /// pgBackRest's restore options for this target.
    public var restoreOptions: [String] {
        switch self {
        case .latest: ["--type=default"]
        case .time(let date): ["--type=time", "--target=\(Self.postgresTime(date))", "--target-action=promote"]
        case .lsn(let lsn): ["--type=lsn", "--target=\(lsn)", "--target-action=promote"]
        }
    }

    /// A time before the end of the oldest backup cannot be reached; one in
    /// the future is not a moment anything was committed at.
    public func check(against repository: BackupInfo.Repository, now: Date = Date()) throws {
        guard let from = repository.recoverableFrom else {
            throw BackupError.refused("repository \(repository.number) holds no backup: take one with `pgdr backup`")
        }
        if case .time(let date) = self {
            if date < from {
                throw BackupError.refused("\(Self.postgresTime(date)) is before repository \(repository.number)'s recoverable window, "
                                          + "which starts at \(Self.postgresTime(from)) (the end of its oldest backup)"
                                          + (repository.newestWAL.map { " and runs through WAL \($0)" } ?? ""))
            }
            if date > now {
                throw BackupError.refused("\(Self.postgresTime(date)) is in the future: the window of repository \(repository.number) "
                                          + "runs from \(Self.postgresTime(from)) to now; use --to latest for everything archived")
            }
        }
    }

    public var description: String {
        switch self {
        case .latest: "latest (the end of the archived WAL)"
        case .time(let date): Self.postgresTime(date)
        case .lsn(let lsn): "LSN \(lsn)"
        }
    }
}
