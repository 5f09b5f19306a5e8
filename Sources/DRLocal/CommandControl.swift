import DRControl
import DRProcess
import DRSpec
import DRStatus
import Foundation

/// `NodeControl` through commands of the operator's own (`control.type:
/// commands`): each action runs its command with what it needs in the
/// environment (`PGDR_NODE`, `PGDR_ACTION`, `PGDR_OPERATION`,
/// `PGDR_STOP_MODE`, `PGDR_UPSTREAM_NAME/HOST/PORT/SLOT`, and for rewind a
/// private `PGPASSFILE`). Exit 0 is success; an action without a command
/// fails with an error that names the key to set.
public struct CommandControl: NodeControl {
    public let node: String
    let commands: NodeControlSpec.Commands
    let timeout: Duration

    public init(node: String, commands: NodeControlSpec.Commands, timeout: Duration) {
        self.node = node
        self.commands = commands
        self.timeout = timeout
    }

    @discardableResult
    func run(_ key: String, _ command: [String]?, _ environment: [String: String] = [:]) async throws -> ChildProcess.Result {
        guard let command, let program = command.first else {
            throw ControlError(node: node, action: key, "control.commands.\(key) is not set for \(node) in pgdr.yaml")
        }
        do {
            return try await ChildProcess.checked(.init(program, Array(command.dropFirst()),
                environment: environment.merging(["PGDR_NODE": node, "PGDR_ACTION": key]) { a, _ in a }, timeout: timeout))
        } catch {
            throw ControlError(node: node, action: key, "\(error)")
        }
    }

    func upstreamEnvironment(_ upstream: Upstream) -> [String: String] {
        var environment = ["PGDR_UPSTREAM_NAME": upstream.name, "PGDR_UPSTREAM_HOST": upstream.host,
                           "PGDR_UPSTREAM_PORT": "\(upstream.port)", "PGDR_UPSTREAM_SLOT": upstream.slot,
                           "PGDR_UPSTREAM_DATABASE": upstream.database]
        // libpq reads these itself: a command's pg_basebackup or pg_rewind
        // protects its connection to the upstream as pgdr.yaml says.
        for parameter in upstream.tlsParameters {
            if let name = parameter.environmentName { environment[name] = parameter.value }
        }
        return environment
    }

    /// `status`: exit 0 running, exit 3 stopped (the LSB convention `pg_ctl status` follows).
    public func state() async throws -> ServerState {
        guard let command = commands.status, let program = command.first else {
            throw ControlError(node: node, action: "status", "control.commands.status is not set for \(node) in pgdr.yaml")
        }
        let result: ChildProcess.Result
        do {
            result = try await ChildProcess.run(.init(program, Array(command.dropFirst()),
                                                      environment: ["PGDR_NODE": node, "PGDR_ACTION": "status"], timeout: timeout))
        } catch {
            throw ControlError(node: node, action: "status", "\(error)")
        }
        switch result.termination {
        case .exited(0): return .running(pid: nil)
        case .exited(3): return .stopped
        default: throw ControlError(node: node, action: "status", "\(program) answered \(result.termination): \(result.lastWords())")
        }
    }

    public func start() async throws { try await run("start", commands.start) }

    @discardableResult
    public func stop(_ mode: StopMode) async throws -> Bool {
        let wasRunning = commands.status == nil ? true : ((try? await state())?.isRunning ?? true)
        try await run("stop", commands.stop, ["PGDR_STOP_MODE": mode.rawValue])
        return wasRunning
    }

    public func fence(operation: String, within limit: Duration, urgent: Bool) async throws -> FenceReport {
        guard commands.fence != nil else {
            try await stop(urgent ? .immediate : .fast)
            return FenceReport("stopped by control.commands.stop",
                               weakness: "no control.commands.fence: nothing stops a restart as a primary")
        }
        try await run("fence", commands.fence, ["PGDR_OPERATION": operation, "PGDR_STOP_MODE": urgent ? "immediate" : "fast"])
        return FenceReport("fenced by control.commands.fence")
    }

    public func unfence(asPrimary: Bool) async throws {
        guard commands.unfence != nil else { return }
        try await run("unfence", commands.unfence, ["PGDR_AS_PRIMARY": asPrimary ? "1" : "0"])
    }

    public func isFenced() async throws -> Bool { false }

    public func controlData() async throws -> ControlData {
        let result = try await run("controldata", commands.controldata, ["LC_ALL": "C"])
        return try ControlDataParser.parse(result.output, node: node)
    }

    public func follow(_ upstream: Upstream) async throws {
        try await run("follow", commands.follow, upstreamEnvironment(upstream))
    }

    public func rewind(from upstream: Upstream) async throws -> String {
        let passfile = try TemporaryPassfile(entries: [(upstream.host, upstream.port, upstream.adminUser ?? "", upstream.adminPassword)],
                                             owner: nil)
        defer { passfile.remove() }
        var environment = upstreamEnvironment(upstream)
        environment["PGPASSFILE"] = passfile.path
        environment["PGDR_UPSTREAM_USER"] = upstream.adminUser
        let result = try await run("rewind", commands.rewind, environment)
        return result.output.split(separator: "\n").last.map(String.init) ?? "rewound by control.commands.rewind"
    }

    public func rebuild(from upstream: Upstream) async throws -> String {
        let result = try await run("rebuild", commands.rebuild, upstreamEnvironment(upstream))
        return result.output.split(separator: "\n").last.map(String.init) ?? "rebuilt by control.commands.rebuild"
    }

    public func kill(withChildren: Bool) async throws -> Int32? {
        try await run("kill", commands.kill)
        return nil
    }
}
