import Foundation

/// CPU and free disk of this machine, for nodes whose data directory is here.
/// CPU is the busy share of all cores between two readings of /proc/stat.
public struct HostMetrics: Sendable {
    private var previous: (busy: UInt64, total: UInt64)?

    /// Takes a first reading, so the first round already has a CPU figure.
    public init() { _ = cpuPercent() }

    public mutating func cpuPercent() -> Double? {
        guard let line = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8))?.split(separator: "\n").first,
              line.hasPrefix("cpu ") else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 4 else { return nil }
        let idle = fields[3] + (fields.count > 4 ? fields[4] : 0)  // idle + iowait
        let total = fields.prefix(8).reduce(0, +)
        defer { previous = (total - idle, total) }
        guard let previous, total > previous.total else { return nil }
        return Double((total - idle) - previous.busy) * 100 / Double(total - previous.total)
    }

    public static func freeBytes(at path: String) -> Double? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Double(info.f_bavail) * Double(info.f_frsize)
    }
}
