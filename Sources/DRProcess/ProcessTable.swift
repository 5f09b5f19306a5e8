import Foundation

/// What /proc says about processes.
public enum ProcessTable {
    public static func all() -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
    }

    /// Gone, or a zombie waiting to be reaped: either way it has stopped.
    public static func hasExited(_ pid: pid_t) -> Bool {
        if Foundation.kill(pid, 0) != 0 && errno == ESRCH { return true }
        guard let fields = statFields(pid) else { return true }
        return fields.first == "Z"
    }

    /// Direct children of a process (a postmaster's backends).
    public static func children(of parent: pid_t) -> [pid_t] {
        all().filter { statFields($0).map { $0.count > 1 && pid_t($0[1]) == parent } ?? false }
    }

    /// The process's start time in clock ticks since boot (`/proc/PID/stat`
    /// field 22): with the boot id, it tells a live process from a new one
    /// that reused its PID.
    public static func startTicks(_ pid: pid_t) -> UInt64? {
        guard let fields = statFields(pid), fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// The fields after the command name (`state ppid …`).
    static func statFields(_ pid: pid_t) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// This boot's id: a PID recorded in another boot names nobody now.
    public static var bootID: String {
        ((try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
