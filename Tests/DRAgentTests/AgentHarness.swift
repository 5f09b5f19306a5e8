import DRLocal
import DRSpec
import Foundation
import PGDRTestSupport
import Hummingbird
import Logging
import ServiceLifecycle
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real HTTP server that records every webhook POST it receives.
final class WebhookReceiver: Sendable {
    actor Inbox {
        var bodies: [[String: String]] = []
        func add(_ body: [String: String]) { bodies.append(body) }
    }

    let inbox: Inbox
    let group: ServiceGroup
    let port: Int

    static func start(port wanted: Int = 0) async throws -> WebhookReceiver {
        let inbox = Inbox()
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
            await inbox.add(object.compactMapValues { $0 as? String })
            return .ok
        }
        let ready = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: wanted)),
                              onServerRunning: { ready.continuation.yield($0.localAddress?.port ?? 0) },
                              logger: Logger(label: "webhook-receiver"))
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [],
                                                      logger: Logger(label: "webhook-receiver")))
        Task { try await group.run() }
        var port = 0
        for await p in ready.stream { port = p; break }
        return WebhookReceiver(inbox: inbox, group: group, port: port)
    }

    private init(inbox: Inbox, group: ServiceGroup, port: Int) {
        self.inbox = inbox
        self.group = group
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }
    func received() async -> [[String: String]] { await inbox.bodies }
    func stop() async { await group.triggerGracefulShutdown() }

    /// Waits until a notice matching `match` has arrived; returns when, or nil.
    func waitFor(within timeout: Duration, _ match: @Sendable ([String: String]) -> Bool) async -> ContinuousClock.Instant? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await received().contains(where: match) { return .now }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}

/// `pgdr agent` as a child process, stopped by its PID.
final class AgentProcess: @unchecked Sendable {
    let process = Process()
    private(set) var base = ""

    /// `fileLimit`: start it with that open-file limit (soft and hard), as a
    /// tight system would.
    /// `arguments`: more of `pgdr agent`'s options (TLS files).
    init(config: String, fileLimit: Int? = nil, arguments: [String] = []) throws {
        if let fileLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(fileLimit) && exec \"$0\" agent --config \"$1\" --listen 127.0.0.1:0",
                                 AgentProcess.binary, config]
        } else {
            process.executableURL = URL(fileURLWithPath: AgentProcess.binary)
            process.arguments = ["agent", "--config", config, "--listen", "127.0.0.1:0"] + arguments
        }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line names the port it listens on.
        var line = Data()
        let handle = out.fileHandleForReading
        while let byte = try handle.read(upToCount: 1), !byte.isEmpty, byte != Data([0x0A]) { line.append(byte) }
        let text = String(decoding: line, as: UTF8.self)
        guard let range = text.range(of: "http://") ?? text.range(of: "https://") else {
            process.terminate()
            throw AgentError("agent did not start: \(text)")
        }
        base = String(text[range.lowerBound...])
    }

    /// SIGKILL: the agent dies wherever it is.
    func kill9() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGTERM, then wait; returns the exit status.
    func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func post(_ path: String, token: String?) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = "POST"
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    func get(_ path: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: base + path)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Polls a path until its status is `status`, or gives up.
    func waitFor(_ path: String, status: Int, within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let (code, _) = try? await get(path), code == status { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    static let binary = PGDRBinary.path
}

struct AgentError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A lab plus an agent spec for it: 1 s sampling, low lag threshold, the given sinks.
struct AgentLab: Sendable {
    let lab: Lab
    let parsed: ParsedSpec
    let configPath: String

    /// `failover`: an extra `failover:` line; `token`: turn on HTTP approval with `api.token`.
    static func with(sinks: String, lagThreshold: String = "3s", failover: String = "", token: Bool = false,
                     thresholds: String = "",
                     _ body: @Sendable (AgentLab) async throws -> Void) async throws {
        try await LabSlots.with {
            try await run(sinks: sinks, lagThreshold: lagThreshold, failover: failover, token: token, thresholds: thresholds, body)
        }
    }

    static func run(sinks: String, lagThreshold: String, failover: String, token: Bool, thresholds: String,
                    _ body: @Sendable (AgentLab) async throws -> Void) async throws {
        let dir = NSTemporaryDirectory() + "pgdr-agent-\(UUID().uuidString.prefix(8))"
        let lab = Lab(directory: dir)
        do {
            _ = try await lab.up()
            _ = await lab.waitForStreaming()
            let labSpec = try SpecParser.load(path: lab.layout.specFile)
            let configPath = "\(dir)/agent.yaml"
            try agentYAML(labSpec.spec, sinks: sinks, lagThreshold: lagThreshold, failover: failover, token: token,
                          thresholds: thresholds)
                .write(toFile: configPath, atomically: true, encoding: .utf8)
            let parsed = try SpecParser.load(path: configPath)
            try await body(AgentLab(lab: lab, parsed: parsed, configPath: configPath))
        } catch {
            try? await lab.destroy()
            throw error
        }
        try await lab.destroy()
    }

    static func agentYAML(_ spec: Spec, sinks: String, lagThreshold: String, failover: String, token: Bool,
                          thresholds: String = "") -> String {
        var text = """
        name: agenttest
        environment: lab
        objectives: {rpo: 1m, rto: 5m}
        engine: {version: "\(spec.engine.version)"}
        monitoring:
          interval: 1s
          reminder: 0s
          thresholds: {replicationLag: \(lagThreshold)\(thresholds.isEmpty ? "" : ", " + thresholds)}
        agent: {journal: journal.jsonl\(token ? ", tokenFile: api.token" : "")}
        \(failover)
        notifications:
        \(sinks)
        nodes:

        """
        for node in spec.nodes {
            let control = node.control.map { c in
                ", control: {type: pg_ctl, logFile: \(c.logFile ?? ""), replicationPassfile: \(c.replicationPassfile ?? ""), "
                    + "restoreCommand: '\(c.restoreCommand ?? "")'}"
            } ?? ""
            text += "  - {name: \(node.name), region: \(node.region), host: \(node.host), port: \(node.port), "
                + "dataDirectory: \(node.dataDirectory ?? ""), user: \(node.user), passwordFile: secrets/pgdr_monitor.password, "
                + "adminUser: pgdr_admin, adminPasswordFile: secrets/pgdr_admin.password\(control)}\n"
        }
        return text
    }

    var journalPath: String { (configPath as NSString).deletingLastPathComponent + "/journal.jsonl" }

    func journal() -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: journalPath) else { return [] }
        return data.split(separator: 0x0A).compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
    }
}
