import DRIntegrations
import DRProcess
import DRSpec
import Foundation

/// `pgdr lab up --haproxy`: a real HAProxy in front of the lab, configured by
/// `pgdr config haproxy`'s own renderer, its checks answered by the agents
/// (in a loopback lab, one agent the lab starts for it). Both are daemons of
/// the lab, known by PID, stopped by `lab down` and `lab destroy`.
extension Lab {
    /// Debian's HAProxy; PGDR_HAPROXY names another build.
    public static var haproxyExecutable: String { ProcessInfo.processInfo.environment["PGDR_HAPROXY"] ?? "/usr/sbin/haproxy" }

    /// Before anything is made: HAProxy must be there.
    public static func checkFrontTools() throws {
        guard FileManager.default.isExecutableFile(atPath: haproxyExecutable) else {
            throw LocalError.badInput("HAProxy is not installed (\(haproxyExecutable)); on Debian: apt-get install haproxy. Nothing was changed")
        }
    }

    var frontConfig: String { "\(layout.root)/haproxy.cfg" }
    var frontLog: String { "\(layout.root)/haproxy.log" }

    /// Starts what of the front is not running (idempotent); ports are kept
    /// from an earlier start, so clients' addresses do not change.
    public func startFront() async throws -> LabState.Front {
        try Self.checkFrontTools()
        var state = try loadState()
        var taken = Set(state.nodes.map(\.port))
        func pick(_ kept: Int?) throws -> Int {
            if let kept { return kept }
            var port = try FreePort.pick()
            while taken.contains(port) { port = try FreePort.pick() }
            taken.insert(port)
            return port
        }
        var front = state.front ?? LabState.Front(readWrite: 0, readOnly: 0)
        front.readWrite = try pick(state.front?.readWrite)
        front.readOnly = try pick(state.front?.readOnly)
        var spec = try SpecParser.load(path: layout.specFile).spec
        var options = HAProxyConfig.Options()
        options.readWrite = "127.0.0.1:\(front.readWrite)"
        options.readOnly = "127.0.0.1:\(front.readOnly)"
        if state.quorum != nil {
            // Each node's own agent answers for it, over HTTPS with the lab's CA.
            options.agentCA = layout.hasTLS ? layout.certificateAuthority : nil
        } else {
            let port = try pick(front.agentPort)
            front.agentPort = port
            if !Daemon.isRunning(front.agent) {
                front.agent = try await Daemon.start(Self.pgdrExecutable, [
                    "agent", "--config", layout.specFile, "--listen", "127.0.0.1:\(port)", "--log-level", "info",
                ], log: "\(layout.root)/agent.log", namespace: nil, runAs: nil)
            }
            spec.agent.listen = "127.0.0.1:\(port)"
        }
        state.front = front
        try state.save(layout.stateFile)
        if !Daemon.isRunning(front.haproxy) {
            try HAProxyConfig.render(spec, options: options).write(toFile: frontConfig, atomically: true, encoding: .utf8)
            let check = try await ChildProcess.run(.init(Self.haproxyExecutable, ["-c", "-f", frontConfig], timeout: .seconds(20)))
            guard check.succeeded else {
                throw LocalError("HAProxy refused \(frontConfig): \(check.lastWords())")
            }
            front.haproxy = try await Daemon.start(Self.haproxyExecutable, ["-f", frontConfig, "-db"], log: frontLog,
                                                   namespace: nil, runAs: nil)
            state.front = front
            try state.save(layout.stateFile)
        }
        return front
    }

    /// HAProxy, then the lab's own agent; the ports stay in lab.json for the next start.
    func stopFront() async {
        guard var state = try? loadState(), var front = state.front else { return }
        if let pid = front.haproxy { await Daemon.stop(pid) }
        if let pid = front.agent { await Daemon.stop(pid) }
        front.haproxy = nil
        front.agent = nil
        state.front = front
        try? state.save(layout.stateFile)
    }
}
