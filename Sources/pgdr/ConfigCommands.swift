import ArgumentParser
import DRIntegrations
import DRSpec
import Foundation

/// `pgdr config …`: configuration for the tools operators already run,
/// written from pgdr.yaml to standard output or `--out FILE`.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Write configuration for the tools around pgdr (HAProxy, Prometheus, Grafana).",
        subcommands: [HAProxyConfigCommand.self, PrometheusConfigCommand.self, GrafanaConfigCommand.self])
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

    @OptionGroup var output: ConfigOutputOptions

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
        options.agentCA = try ConfigOutput.agentCA(agentCA, parsed)
        try ConfigOutput.write(HAProxyConfig.render(parsed.spec, options: options), to: output.out, force: output.force)
    }
}

struct PrometheusConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prometheus",
        abstract: "A Prometheus scrape job for the agents, or (--rules) alerting rules equal to pgdr's alarms.",
        discussion: """
            Without --rules: a prometheus.yml that scrapes every agent's /metrics at the \
            agent's interval and loads the rules file (--rules-file). With --rules: one \
            alerting rule per alarm of the deployment (the defaults and pgdr.yaml's), with \
            the same thresholds and `for:` durations, named Pgdr… with the alarm's name in \
            the label `alarm`. Check both with `promtool check config prometheus.yml`.
            """)

    @OptionGroup var config: ConfigOption

    @OptionGroup var output: ConfigOutputOptions

    @Flag(help: "Write the alerting rules instead of the scrape configuration.")
    var rules = false

    @Option(help: "The rules file the scrape configuration loads.")
    var rulesFile = "pgdr-rules.yml"

    @Option(help: "The CA the agents' HTTPS certificates come from (default: agent.peerCA, then tls.ca).")
    var agentCA: String?

    func run() throws {
        let parsed = try config.load()
        if rules {
            let result = PrometheusRules.rules(parsed.spec)
            for skipped in result.skipped {
                FileHandle.standardError.write(Data("pgdr: alarm \(skipped.alarm) not translated: \(skipped.reason)\n".utf8))
            }
            try ConfigOutput.write(PrometheusRules.render(parsed.spec), to: output.out, force: output.force)
            return
        }
        var options = PrometheusScrape.Options()
        options.rulesFile = rulesFile
        options.agentCA = try ConfigOutput.agentCA(agentCA, parsed)
        try ConfigOutput.write(PrometheusScrape.render(parsed.spec, options: options), to: output.out, force: output.force)
    }
}

struct GrafanaConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grafana",
        abstract: "A Grafana dashboard (JSON) over the agents' metrics.",
        discussion: """
            Lag in seconds and bytes, alarm states, which node is up and primary, \
            connections, WAL kept by slots, free storage and operations (backups and the \
            etcd leader key when configured). Import it in Grafana and pick the Prometheus \
            data source that scrapes the agents (`pgdr config prometheus`).
            """)

    @OptionGroup var config: ConfigOption

    @OptionGroup var output: ConfigOutputOptions

    func run() throws {
        let parsed = try config.load()
        try ConfigOutput.write(GrafanaDashboard.render(parsed.spec), to: output.out, force: output.force)
    }
}

/// `--out FILE [--force]`, shared by every `pgdr config` verb.
struct ConfigOutputOptions: ParsableArguments {
    @Option(help: "Write here instead of standard output.")
    var out: String?

    @Flag(help: "Replace --out if it exists.")
    var force = false
}

/// Standard output, or a file that is never replaced without `--force`.
enum ConfigOutput {
    /// The CA to verify the agents' HTTPS against: the flag, else agent.peerCA,
    /// else tls.ca (relative paths from pgdr.yaml's folder); required with agent.tls.
    static func agentCA(_ flag: String?, _ parsed: ParsedSpec) throws -> String? {
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : (parsed.baseDirectory as NSString).appendingPathComponent(path)
        }
        let ca = flag.map(absolute) ?? (parsed.spec.agent.peerCA ?? parsed.spec.tls?.ca).map(absolute)
        if parsed.spec.agent.tls != nil && ca == nil {
            throw fail("the agents serve HTTPS (agent.tls): give --agent-ca, the CA their certificates come from", code: Exit.badInput)
        }
        return ca
    }

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
