import DRSpec

/// `pgdr config haproxy`: an HAProxy configuration that routes clients by
/// the agents' health checks, Patroni-style: a read-write frontend to the
/// node whose agent answers 200 to `/primary?node=NAME`, a read-only one to
/// the streaming standbys within the lag bound (`/replica?node=NAME&lag=…`).
/// A demoted primary's sessions are cut at once (`on-marked-down
/// shutdown-sessions`), so clients reconnect to the new one. Pure: text from
/// the spec.
public struct HAProxyConfig: Sendable {
    public struct Options: Sendable {
        public var readWrite: String = "127.0.0.1:5000"
        public var readOnly: String = "127.0.0.1:5001"
        /// Longest lag a replica may have to take reads.
        public var replicaLag: String = "16MB"
        /// The CA HAProxy verifies the agents' HTTPS against (agent.tls).
        public var agentCA: String? = nil
        public init() {}
    }

    /// Where HAProxy asks about each node: the node's own agent in quorum
    /// mode (its host, the API's port), else the one agent at `agent.listen`.
    public static func checkTarget(_ spec: Spec, node: NodeSpec) -> (address: String?, port: Int) {
        let listen = AgentSettings.parseListen(spec.agent.listen) ?? ("127.0.0.1", 8008)
        if spec.dcs != nil { return (nil, listen.port) }
        return (listen.host, listen.port)
    }

    public static func render(_ spec: Spec, options: Options = Options()) -> String {
        let name = spec.resourceName(spec.name)
        let https = spec.agent.tls != nil
        let ssl = https ? " ssl" : ""
        let checkServer = https ? " check-ssl verify required ca-file \(options.agentCA ?? "CA-OF-THE-AGENTS.pem")" : ""
        func backend(_ title: String, uri: String) -> String {
            var lines = [
                "backend \(title)",
                "    option httpchk",
            ]
            // One connect rule per distinct agent address (a single agent answers for every node).
            let targets = Set(spec.nodes.map { checkTarget(spec, node: $0).address ?? "" })
            if targets.count == 1, let address = targets.first, !address.isEmpty {
                lines.append("    http-check connect addr \(address) port \(checkTarget(spec, node: spec.nodes[0]).port)\(ssl)")
            } else {
                lines.append("    http-check connect port \(spec.nodes.first.map { checkTarget(spec, node: $0).port } ?? 8008)\(ssl)")
            }
            lines += [
                "    http-check send meth GET uri-lf \(uri)",
                "    http-check expect status 200",
                "    default-server inter 500ms fastinter 250ms downinter 250ms fall 2 rise 1 on-marked-down shutdown-sessions observe layer4 error-limit 1 on-error mark-down\(checkServer)",
            ]
            lines += spec.nodes.map { "    server \($0.name) \($0.host):\($0.port) check" }
            return lines.joined(separator: "\n")
        }
        return """
            # Written by `pgdr config haproxy` for \(name). Clients connect to the
            # read-write address for the primary and the read-only one for the standbys;
            # pgdr's agent answers HAProxy's checks. Reload HAProxy after a change.
            global
                maxconn 2000

            defaults
                mode tcp
                timeout connect 3s
                timeout client 30m
                timeout server 30m
                timeout check 2s
                # A refused connection (a primary just stopped) is not retried after
                # HAProxy's turn-around of up to a second: the server is marked down
                # at once (on-error mark-down) and the client, reconnecting, reaches
                # the new primary.
                retries 0

            frontend \(name)_read_write
                bind \(options.readWrite)
                default_backend \(name)_primary

            frontend \(name)_read_only
                bind \(options.readOnly)
                default_backend \(name)_replicas

            \(backend("\(name)_primary", uri: "/primary?node=%[srv_name]"))

            \(backend("\(name)_replicas", uri: "/replica?node=%[srv_name]&lag=\(options.replicaLag)"))

            """
    }
}
