import DRSpec

/// `pgdr config prometheus`: a Prometheus configuration with a scrape job for
/// the deployment's agents and the rules file of `--rules` (see
/// `PrometheusRules`). Scrapes at the agent's own interval: more often only
/// reads the same round again. Pure: text from the spec.
public enum PrometheusScrape {
    public struct Options: Sendable {
        /// The rules file as Prometheus should find it (relative to this file).
        public var rulesFile: String = "pgdr-rules.yml"
        /// The CA the agents' HTTPS certificates come from (agent.tls).
        public var agentCA: String? = nil
        public init() {}
    }

    /// Every agent's address: one per node in quorum mode, else `agent.listen`.
    public static func targets(_ spec: Spec) -> [String] {
        let listen = AgentSettings.parseListen(spec.agent.listen) ?? ("127.0.0.1", 8008)
        func address(_ host: String, _ port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
        if spec.dcs != nil {
            return spec.nodes.map { address(HAProxyConfig.checkTarget(spec, node: $0).address ?? $0.host, listen.port) }
        }
        return [address(listen.host, listen.port)]
    }

    public static func render(_ spec: Spec, options: Options = Options()) -> String {
        let name = spec.resourceName(spec.name)
        let interval = PrometheusRules.duration(milliseconds: spec.monitoring.interval.milliseconds)
        var lines = [
            "# Written by `pgdr config prometheus` for \(name): scrape pgdr's agents and",
            "# load the alerting rules of `pgdr config prometheus --rules`.",
            "global:",
            "  scrape_interval: \(interval)",
            "  evaluation_interval: \(interval)",
            "rule_files:",
            "  - \(PrometheusRules.quoted(options.rulesFile))",
            "scrape_configs:",
            "  - job_name: \(PrometheusRules.quoted("pgdr-\(name)"))",
            "    metrics_path: /metrics",
        ]
        if spec.agent.tls != nil {
            lines += ["    scheme: https", "    tls_config:", "      ca_file: \(PrometheusRules.quoted(options.agentCA ?? "CA-OF-THE-AGENTS.pem"))"]
        }
        lines += ["    static_configs:", "      - targets:"]
        lines += targets(spec).map { "          - \(PrometheusRules.quoted($0))" }
        lines += ["        labels:", "          deployment: \(PrometheusRules.quoted(name))"]
        return lines.joined(separator: "\n") + "\n"
    }
}
