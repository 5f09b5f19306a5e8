import DRIntegrations
import DRSpec
import Testing

/// What `pgdr config haproxy` writes for each kind of deployment (the real
/// HAProxy runs it in HAProxyTests).
@Suite struct HAProxyConfigTests {
    static let base = """
        name: orders
        environment: prod
        objectives: {rpo: 5m, rto: 1h}
        engine: {version: "16"}
        nodes:
          - {name: pg1, region: us-east-1, host: 10.0.1.5, passwordFile: p}
          - {name: pg2, region: us-east-2, host: 10.1.1.5, port: 5433, passwordFile: p}

        """

    @Test func oneAgentAnswersForEveryNodeWithoutQuorum() throws {
        let spec = try SpecParser.parse(yaml: Self.base + "agent: {listen: \"127.0.0.1:9008\"}\n").spec
        let text = HAProxyConfig.render(spec)
        #expect(text.contains("http-check connect addr 127.0.0.1 port 9008\n"))
        #expect(text.contains("uri-lf /primary?node=%[srv_name]"))
        #expect(text.contains("uri-lf /replica?node=%[srv_name]&lag=16MB"))
        #expect(text.contains("    server pg1 10.0.1.5:5432 check") && text.contains("    server pg2 10.1.1.5:5433 check"))
        #expect(text.contains("on-marked-down shutdown-sessions"))
        #expect(text.contains("observe layer4 error-limit 1 on-error mark-down") && text.contains("    retries 0\n"),
                "a refused connection marks the server down at once, with no second-long turn-around")
        #expect(!text.contains("check-ssl"))
    }

    @Test func inQuorumModeEachNodesOwnAgentAnswersOverHTTPS() throws {
        let spec = try SpecParser.parse(yaml: Self.base + """
            dcs: {endpoints: [https://a:2379, https://b:2379, https://c:2379], tls: {ca: ca.pem}}
            agent: {listen: "0.0.0.0:8008", tokenFile: t, tls: {certificate: a.crt, key: a.key}, peerCA: ca.pem}

            """).spec
        var options = HAProxyConfig.Options()
        options.agentCA = "/etc/pgdr/ca.pem"
        options.readWrite = "0.0.0.0:6432"
        let text = HAProxyConfig.render(spec, options: options)
        #expect(text.contains("http-check connect port 8008 ssl\n"), "no fixed address: each server's own agent")
        #expect(text.contains("check-ssl verify required ca-file /etc/pgdr/ca.pem"))
        #expect(text.contains("bind 0.0.0.0:6432"))
    }
}
