import DRLocal
import DRSpec
import Foundation
import PGDRTestSupport
import Testing

/// The agent's API over HTTPS, and its refusals: no plain HTTP off
/// loopback, no private key that others can read.
@Suite struct AgentTLSTests {
    @Test func theAPIServesHTTPSWithTheLabsCAAndNothingInTheClear() async throws {
        try await AgentLab.with(sinks: "  - {type: log, path: notices.jsonl}", token: true) { env in
            let dir = (env.configPath as NSString).deletingLastPathComponent
            try "t0ken-\(UUID().uuidString)".write(toFile: "\(dir)/api.token", atomically: true, encoding: .utf8)
            chmod("\(dir)/api.token", 0o600)
            let ca = env.lab.layout.certificateAuthority
            let certificates = LabCertificates(folder: env.lab.layout.tls)
            let certificate = "\(dir)/agent.crt", key = "\(dir)/agent.key"
            try await certificates.issue(commonName: "agent", names: ["127.0.0.1"], certificate: certificate, key: key)

            // A key others can read is refused before anything listens.
            chmod(key, 0o644)
            let loose = try await CLI.run(["agent", "--config", env.configPath, "--listen", "127.0.0.1:0",
                                           "--tls-certificate", certificate, "--tls-key", key])
            #expect(loose.status != 0)
            #expect(loose.stderr.contains("can be read by others (mode 644); chmod 600 it"), "\(loose.stderr)")
            chmod(key, 0o600)

            let agent = try AgentProcess(config: env.configPath, arguments: ["--tls-certificate", certificate, "--tls-key", key])
            defer { _ = agent.stop() }
            #expect(agent.base.hasPrefix("https://127.0.0.1:"), "\(agent.base)")
            var healthy = false
            for _ in 0..<100 where !healthy {
                let result = try await CLI.program("/usr/bin/curl", ["-sS", "--max-time", "2", "--cacert", ca, "-o", "/dev/null",
                                                                      "-w", "%{http_code}", agent.base + "/health"])
                healthy = result.stdout == "200"
                if !healthy { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(healthy, "GET /health over HTTPS, verified against the lab's CA")
            // Plain HTTP on the same port gets no answer from the API.
            let plain = try await CLI.program("/usr/bin/curl", ["-sS", "--max-time", "2", "-o", "/dev/null", "-w", "%{http_code}",
                                                                 agent.base.replacingOccurrences(of: "https://", with: "http://") + "/health"])
            #expect(plain.stdout != "200", "plain HTTP must not be served: \(plain.stdout) \(plain.stderr)")
            // A client that does not trust the lab's CA refuses the agent.
            let untrusting = try await CLI.program("/usr/bin/curl", ["-sS", "--max-time", "2", "-o", "/dev/null", agent.base + "/health"])
            #expect(untrusting.status != 0)
        }
    }

    @Test func offLoopbackTheAPINeedsTLSAndTheToken() async throws {
        try await AgentLab.with(sinks: "  - {type: log, path: notices.jsonl}") { env in
            let open = try await CLI.run(["agent", "--config", env.configPath, "--listen", "0.0.0.0:0"])
            #expect(open.status == 2, "\(open.stderr)")
            #expect(open.stderr.contains("would be reachable from the network without agent.tls (certificate and key) and agent.tokenFile"),
                    "\(open.stderr)")
        }
        // The same rule in pgdr.yaml, before anything runs.
        let problem = AgentSettings.exposureProblem(host: "10.0.1.5", tls: true, tokenFile: false)
        #expect(problem?.contains("without agent.tokenFile") == true)
        #expect(AgentSettings.exposureProblem(host: "127.0.0.1", tls: false, tokenFile: false) == nil)
        #expect(AgentSettings.exposureProblem(host: "10.0.1.5", tls: true, tokenFile: true) == nil)
    }
}
