import ArgumentParser
import DRIntegrations
import DRSpec
import Foundation

/// `pgdr config …`: configuration for the tools operators already run,
/// written from pgdr.yaml to standard output or `--out FILE`.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Write configuration for the tools around pgdr (HAProxy).",
        subcommands: [HAProxyConfigCommand.self])
}

struct HAProxyConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "haproxy",
        abstract: "An HAProxy configuration that routes clients by the agents' /primary and /replica checks.",
        discussion: """
            A read-write frontend sends clients to the node whose agent answers 200 to \
            /primary?node=NAME, a read-only one to streaming standbys within --replica-lag. \
            A node marked down has its sessions cut (on-marked-down shutdown-sessions), so \
            clients reconnect to the new primary after a failover or switchover without any \
            change to HAProxy. The agent must run (`pgdr agent`); with agent.tls the checks \
            use HTTPS, verified against --agent-ca.
            """)

    @OptionGroup var config: ConfigOption

    @Option(help: "Write here instead of standard output.")
    var out: String?

    @Flag(help: "Replace --out if it exists.")
    var force = false

    @Option(help: "Address of the read-write frontend.")
    var readWrite = "127.0.0.1:5000"

    @Option(help: "Address of the read-only frontend.")
    var readOnly = "127.0.0.1:5001"

    @Option(help: "Most a standby may lag to take reads (a size, e.g. 16MB).")
    var replicaLag = "16MB"

    @Option(help: "The CA the agents' HTTPS certificates come from (default: agent.peerCA, then tls.ca).")
    var agentCA: String?

    func run() throws {
        let parsed = try config.load()
        guard !parsed.spec.nodes.isEmpty else {
            throw fail("pgdr.yaml lists no nodes: HAProxy routes to self-managed servers (`nodes:`)", code: Exit.badInput)
        }
        for (flag, value) in [("--read-write", readWrite), ("--read-only", readOnly)] where AgentSettings.parseListen(value) == nil {
            throw fail("\(flag) `\(value)` is not host:port", code: Exit.badInput)
        }
        guard ByteSize(parsing: replicaLag) != nil else {
            throw fail("--replica-lag `\(replicaLag)` is not a size (e.g. 16MB)", code: Exit.badInput)
        }
        var options = HAProxyConfig.Options()
        options.readWrite = readWrite
        options.readOnly = readOnly
        options.replicaLag = replicaLag
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : (parsed.baseDirectory as NSString).appendingPathComponent(path)
        }
        options.agentCA = agentCA.map(absolute) ?? (parsed.spec.agent.peerCA ?? parsed.spec.tls?.ca).map(absolute)
        if parsed.spec.agent.tls != nil && options.agentCA == nil {
            throw fail("the agents serve HTTPS (agent.tls): give --agent-ca, the CA their certificates come from", code: Exit.badInput)
        }
        try ConfigOutput.write(HAProxyConfig.render(parsed.spec, options: options), to: out, force: force)
    }
}

/// Standard output, or a file that is never replaced without `--force`.
enum ConfigOutput {
    static func write(_ text: String, to path: String?, force: Bool) throws {
        guard let path else {
            print(text, terminator: "")
            return
        }
        if FileManager.default.fileExists(atPath: path) && !force {
            throw fail("\(path) exists; pass --force to replace it (nothing was written)", code: Exit.badInput)
        }
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw fail("cannot write \(path): \(error.localizedDescription)", code: Exit.failed)
        }
        print("wrote \(path)")
    }
}
