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

    /// Another Python server of the tests (a stand-in), started the same way.
    public static func startScript(_ script: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", unblockedScript, script] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Whether `url` answers HTTP 200 within `within` (a server just started).
    public static func waitUntilUp(_ url: String, within: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            if (try? await CLI.program("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", url]))?.stdout == "200" { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
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
