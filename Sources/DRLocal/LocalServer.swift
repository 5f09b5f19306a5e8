import Foundation

/// One PostgreSQL server on this machine, known by its data directory.
/// Started with pg_ctl; stopped by the PID in `postmaster.pid`, never by name.
public struct LocalServer: Sendable {
    public let dataDirectory: String
    public let logFile: String
    public let binaries: PostgresBinaries
    public let runner: CommandRunner

    public init(dataDirectory: String, logFile: String, binaries: PostgresBinaries, runner: CommandRunner) {
        self.dataDirectory = dataDirectory
        self.logFile = logFile
        self.binaries = binaries
        self.runner = runner
    }

    /// The postmaster's PID, if `postmaster.pid` names a live postgres process.
    public var runningPID: pid_t? {
        guard let text = try? String(contentsOfFile: "\(dataDirectory)/postmaster.pid", encoding: .utf8),
              let first = text.split(separator: "\n").first, let pid = pid_t(first), pid > 0,
              kill(pid, 0) == 0 || errno == EPERM, !Self.hasExited(pid)
        else { return nil }
        // A stale file can name a PID that now belongs to something else.
        let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        return command.contains("postgres") ? pid : nil
    }

    public var isRunning: Bool { runningPID != nil }

    /// Gone, or a zombie waiting for its parent (init here, since pg_ctl has
    /// exited) to reap it: either way the server has stopped.
    public static func hasExited(_ pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    /// Starts the server and waits until it accepts connections. pg_ctl puts
    /// the postmaster in a session of its own, so a Ctrl-C aimed at pgdr does
    /// not reach the database server.
    public func start(timeout: Int = 60) async throws {
        do {
            try await runner.run(binaries.path("pg_ctl"),
                                 ["-D", dataDirectory, "-l", logFile, "-w", "-t", "\(timeout)", "start"])
        } catch {
            throw LocalError("\(error); the server log is \(logFile)")
        }
    }

    /// Fast shutdown (SIGINT to the postmaster: sessions are ended, a final
    /// checkpoint is written). Waits until the process is gone.
    public func stop(signal: Int32 = SIGINT, timeout: Duration = .seconds(60)) async throws {
        guard let pid = runningPID else { return }
        guard kill(pid, signal) == 0 else {
            throw LocalError("cannot signal postmaster \(pid): \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if Self.hasExited(pid) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw LocalError("postmaster \(pid) did not stop within \(timeout); see \(logFile)")
    }
}
