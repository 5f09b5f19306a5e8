import Foundation

/// moto_server as a child of a test, started with SIGTERM unblocked
/// (Foundation starts children with the launching thread's signal mask, where
/// SIGTERM may be blocked) and stopped by its PID without blocking the caller.
public enum MotoServer {
    static let unblockedExec = """
        import os, shutil, signal, sys
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        os.nice(10)  # the suite's timing tests run beside it
        server = shutil.which("moto_server") or sys.exit("moto_server is not installed (pip install 'moto[server]')")
        os.execv(server, [server, "-H", "127.0.0.1", "-p", sys.argv[1]])
        """

    public static func start(port: Int, environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", unblockedExec, "\(port)"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static let unblockedScript = """
        import os, signal, sys
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        os.execv(sys.executable, [sys.executable] + sys.argv[1:])
        """

    /// Another Python server of the tests (a stand-in), started the same way;
    /// its output goes to `log` when one is given (read it when it fails to start).
    public static func startScript(_ script: String, _ arguments: [String], log: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", unblockedScript, script] + arguments
        if let log, FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) {
            process.standardOutput = handle
            process.standardError = handle
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        return process
    }

    /// Whether `url` answers HTTP 200 within `within` (a server just started;
    /// it imports all of moto, which takes long at low priority on a loaded
    /// machine). Gives up at once when `process` has exited.
    public static func waitUntilUp(_ url: String, process: Process? = nil, within: Duration = .seconds(120)) async -> Bool {
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            if (try? await CLI.program("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", url]))?.stdout == "200" { return true }
            if let process, !process.isRunning { return false }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// Whether `condition` holds within `within`, checked every 500 ms.
    public static func eventually(_ within: Duration, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + within
        repeat {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(500))
        } while ContinuousClock.now < deadline
        return false
    }

    /// The last `lines` lines of a server's log, for a failure message.
    public static func logTail(_ path: String, lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(no log at \(path))"
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// SIGTERM now, SIGKILL after 5 s if it is still there; never waits.
    public static func terminate(_ process: Process) {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + 5) {
            if process.isRunning { kill(pid, SIGKILL) }
        }
    }
}
