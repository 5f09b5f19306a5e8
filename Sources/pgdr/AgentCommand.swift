import ArgumentParser
import DRAgent
import DRSpec
import Foundation

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the control plane: sample both regions, raise alarms, notify, serve /metrics and health checks.",
        discussion: """
            Every monitoring.interval the agent stamps the heartbeat on the primary, probes every node \
            (each with its own deadline, so a hung node never stalls the others), evaluates the alarms \
            (CloudWatch semantics), journals every transition and delivery, and notifies the sinks. \
            HTTP (loopback by default): GET /metrics, /status, /health, /primary?node=NAME, \
            /replica?node=NAME&lag=16MB. Stops cleanly on SIGTERM or SIGINT.
            """)

    @OptionGroup var config: ConfigOption
    @OptionGroup var global: GlobalOptions

    @Option(help: "Listen on host:port (default: agent.listen in pgdr.yaml; port 0 picks a free one).")
    var listen: String?

    @Option(help: "Quorum mode (a `dcs:` section): the node this agent runs beside; it samples and controls that node only.")
    var node: String?

    @Option(help: "Where this agent keeps its journal and operation files (default: beside pgdr.yaml).")
    var stateDir: String?

    @Option(help: "The HTTPS certificate (PEM), instead of agent.tls.certificate (for agents that share one pgdr.yaml on one machine).")
    var tlsCertificate: String?

    @Option(help: "Its private key (PEM, mode 0600), instead of agent.tls.key.")
    var tlsKey: String?

    func run() async throws {
        let parsed = try config.load()
        guard !parsed.spec.nodes.isEmpty || parsed.spec.target == .aws else {
            throw fail("the spec lists no nodes; add them under `nodes:` to run the agent", code: Exit.badInput)
        }
        if let dcs = parsed.spec.dcs {
            guard let node else {
                throw fail("pgdr.yaml has a `dcs:` section: run one agent beside each node with --node NAME (\(parsed.spec.nodes.map(\.name).joined(separator: ", ")))",
                           code: Exit.badInput)
            }
            guard parsed.spec.nodes.contains(where: { $0.name == node }) else {
                throw fail("no node named \(node) in the spec (nodes: \(parsed.spec.nodes.map(\.name).joined(separator: ", ")))", code: Exit.badInput)
            }
            _ = dcs
        } else if node != nil {
            throw fail("--node is for quorum mode: add a `dcs:` section (etcd endpoints) to pgdr.yaml", code: Exit.badInput)
        }
        let address = listen ?? parsed.spec.agent.listen
        guard AgentSettings.parseListen(address) != nil else {
            throw fail("--listen `\(address)` is not host:port", code: Exit.badInput)
        }
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw fail("give --tls-certificate and --tls-key together", code: Exit.badInput)
        }
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : (parsed.baseDirectory as NSString).appendingPathComponent(path)
        }
        let tls = (tlsCertificate.flatMap { certificate in tlsKey.map { AgentTLS(certificate: certificate, key: $0) } }
                   ?? parsed.spec.agent.tls).map { AgentTLS(certificate: absolute($0.certificate), key: absolute($0.key)) }
        if let (host, _) = AgentSettings.parseListen(address),
           let problem = AgentSettings.exposureProblem(host: host, tls: tls != nil, tokenFile: parsed.spec.agent.tokenFile != nil) {
            throw fail("\(problem); listen on 127.0.0.1, or give agent.tls (or --tls-certificate/--tls-key) and agent.tokenFile",
                       code: Exit.badInput)
        }
        var logger = global.makeLogger("pgdr.agent")
        logger[metadataKey: "deployment"] = "\(parsed.spec.resourceName(parsed.spec.name))"
        do {
            try await Agent.run(spec: parsed.spec, baseDirectory: parsed.baseDirectory, listen: address, node: node,
                                stateDirectory: stateDir, tls: tls,
                                onListening: { host, port in
                                    // Written straight to fd 1: a supervisor reading the pipe sees it at once.
                                    let scheme = tls == nil ? "http" : "https"
                                    FileHandle.standardOutput.write(Data("pgdr agent listening on \(scheme)://\(host):\(port)\n".utf8))
                                }, logger: logger)
        } catch let error as AgentError {
            throw fail(error.description, code: Exit.failed)
        } catch {
            throw fail("the agent stopped: \(error)", code: Exit.failed)
        }
    }
}

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "List the agent's journal: alarm transitions, notification deliveries, approvals over HTTP.")

    @OptionGroup var config: ConfigOption

    @Option(help: "Only events newer than this (e.g. 30m, 1h, 1d).")
    var since: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let parsed = try config.load()
        var cutoff: Date?
        if let since {
            guard let span = TimeSpan(parsing: since) else {
                throw fail("--since `\(since)` is not a duration (e.g. 30m, 1h)", code: Exit.badInput)
            }
            cutoff = Date().addingTimeInterval(-span.seconds)
        }
        let path = parsed.spec.agent.journal.hasPrefix("/") ? parsed.spec.agent.journal
            : (parsed.baseDirectory as NSString).appendingPathComponent(parsed.spec.agent.journal)
        let entries = Journal.read(path: path, since: cutoff)
        if json {
            print(try JSON.encode(entries))
            return
        }
        if entries.isEmpty { print("no events in \(path)\(since.map { " in the last \($0)" } ?? "")") }
        for e in entries {
            let time = e.at.formatted(.iso8601)
            switch e.kind {
            case .alarm:
                print("\(time)  #\(e.seq)  alarm \(e.alarm ?? "?"): \(e.from?.rawValue ?? "?") -> \(e.to?.rawValue ?? "?")  \(e.reason ?? "")")
            case .delivery:
                print("\(time)  #\(e.seq)  \(e.ok == true ? "delivered" : "FAILED") \(e.alarm ?? "?") to \(e.sink ?? "?") (attempt \(e.attempt ?? 0))\(e.message.map { ": \($0)" } ?? "")")
            case .queued:
                print("\(time)  #\(e.seq)  queued \(e.alarm ?? "?") for \(e.sink ?? "?") (notice \(e.notice ?? "?"))")
            case .approval:
                print("\(time)  #\(e.seq)  approval over HTTP from \(e.caller ?? "?") for \(e.notice ?? "(no id)"): \(e.reason ?? "")")
            case .agentStarted, .agentStopped, .operation:
                print("\(time)  #\(e.seq)  \(e.kind.rawValue)  \(e.message ?? "")")
            }
        }
    }
}
