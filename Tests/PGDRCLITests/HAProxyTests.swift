import DRLocal
import Foundation
import PGDRTestSupport
import Testing

/// `pgdr config haproxy` with a real HAProxy in front of a lab and the real
/// agent answering its checks: clients of the read-write address reach the
/// primary, and after a switchover the new one, with nothing reconfigured.
@Suite(.serialized) struct HAProxyTests {
    @Test func writesFollowThePrimaryThroughHAProxyAcrossASwitchover() async throws {
        try await OperationCommandTests.withLab { config, lab in
            let dir = (config as NSString).deletingLastPathComponent
            let agentPort = try FreePort.pick()
            try (String(contentsOfFile: config, encoding: .utf8) + "\nagent:\n  listen: 127.0.0.1:\(agentPort)\n")
                .write(toFile: config, atomically: true, encoding: .utf8)
            let agent = try await AgentRun.start(config: config, environment: [:], listen: "127.0.0.1:\(agentPort)", logLevel: "info")
            var readWrite = try FreePort.pick(), readOnly = try FreePort.pick()
            while readOnly == readWrite || readWrite == agentPort || readOnly == agentPort {
                readWrite = try FreePort.pick()
                readOnly = try FreePort.pick()
            }
            let out = "\(dir)/haproxy.cfg"
            let arguments = ["config", "haproxy", "--config", config, "--out", out,
                             "--read-write", "127.0.0.1:\(readWrite)", "--read-only", "127.0.0.1:\(readOnly)"]
            let written = try await CLI.run(arguments)
            #expect(written.status == 0, "\(written.stderr)")
            let again = try await CLI.run(arguments)
            #expect(again.status == 2 && again.stderr.contains("pass --force to replace it"), "\(again.stderr)")
            let checked = try await CLI.program("/usr/sbin/haproxy", ["-c", "-f", out])
            #expect(checked.status == 0, "haproxy -c: \(checked.stdout)\(checked.stderr)")

            let haproxy = Process()
            haproxy.executableURL = URL(fileURLWithPath: "/usr/sbin/haproxy")
            haproxy.arguments = ["-f", out, "-db"]
            haproxy.standardOutput = FileHandle.nullDevice
            haproxy.standardError = FileHandle.nullDevice
            try haproxy.run()
            defer {
                kill(haproxy.processIdentifier, SIGTERM)
                haproxy.waitUntilExit()
            }
            let ports = Dictionary(uniqueKeysWithValues: try lab.state().nodes.map { ($0.name, $0.port) })
            func serverPort(through port: Int) async -> Int? {
                let result = try? await CLI.program("/usr/bin/env", [
                    "PGPASSFILE=\(dir)/pgpass", "/usr/bin/psql", "-XAtc", "SELECT inet_server_port()",
                    "host=127.0.0.1 port=\(port) user=pgdr_admin dbname=postgres connect_timeout=2 sslmode=verify-full sslrootcert=\(dir)/tls/ca.crt",
                ])
                return result.flatMap { Int($0.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            func eventually(_ port: Int, reaches node: String) async -> Bool {
                for _ in 0..<100 {
                    if await serverPort(through: port) == ports[node] { return true }
                    try? await Task.sleep(for: .milliseconds(200))
                }
                return false
            }
            #expect(await eventually(readWrite, reaches: "pg1"), "the read-write address reaches the primary")
            #expect(await eventually(readOnly, reaches: "pg2"), "the read-only address reaches the standby")

            let switched = try await CLI.run(["switchover", "--config", config])
            #expect(switched.status == 0, "\(switched.stdout)\(switched.stderr)")
            #expect(await eventually(readWrite, reaches: "pg2"), "after the switchover, writes reach the new primary")
            #expect(await eventually(readOnly, reaches: "pg1"), "and reads the new standby")
            _ = await agent.stop()
        }
    }

    /// `pgdr lab up --haproxy`: HAProxy and the agent it asks run with the lab;
    /// writes through it follow an approved failover; `lab down` stops both by
    /// PID and the next `lab up` starts them on the same ports.
    @Test func theLabsHAProxyFollowsAFailoverAndComesAndGoesWithTheLab() async throws {
        let missing = NSTemporaryDirectory() + "pgdr-haproxy-missing-\(UUID().uuidString.prefix(8))"
        let refused = try await CLI.run(["lab", "up", "--loopback", "--haproxy", "--dir", missing],
                                        environment: ["PGDR_HAPROXY": "/nonexistent/haproxy"])
        #expect(refused.status == 2 && refused.stderr.contains("apt-get install haproxy"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: missing), "nothing was made")

        let dir = NSTemporaryDirectory() + "pgdr-haproxy-lab-\(UUID().uuidString.prefix(8))"
        defer { _ = try? CLI.runBlocking(["lab", "destroy", "--dir", dir, "--yes"]) }
        let up = try await CLI.run(["lab", "up", "--loopback", "--haproxy", "--dir", dir])
        #expect(up.status == 0, "\(up.stdout)\(up.stderr)")
        #expect(up.stdout.contains("haproxy: read-write 127.0.0.1:"))
        let lab = Lab(directory: dir)
        let front = try #require(try lab.state().front)
        let (haproxy, agent) = (try #require(front.haproxy), try #require(front.agent))
        #expect(kill(haproxy, 0) == 0 && kill(agent, 0) == 0)
        let ports = Dictionary(uniqueKeysWithValues: try lab.state().nodes.map { ($0.name, $0.port) })
        func reaches(_ node: String) async -> Bool {
            for _ in 0..<100 {
                let result = try? await CLI.program("/usr/bin/env", [
                    "PGPASSFILE=\(dir)/pgpass", "/usr/bin/psql", "-XAtc", "SELECT inet_server_port() WHERE NOT pg_is_in_recovery()",
                    "host=127.0.0.1 port=\(front.readWrite) user=pgdr_admin dbname=postgres connect_timeout=2 sslmode=verify-full sslrootcert=\(dir)/tls/ca.crt",
                ])
                if let out = result?.stdout, Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) == ports[node] { return true }
                try? await Task.sleep(for: .milliseconds(200))
            }
            return false
        }
        #expect(await reaches("pg1"), "writes through HAProxy reach the primary")
        let config = "\(dir)/pgdr.yaml"
        let plan = try await CLI.run(["failover", "--config", config])
        let id = try #require(plan.stdout.firstMatch(of: /approve with: pgdr approve (failover-[0-9a-f]+)/).map { String($0.1) }, "\(plan.stdout)")
        let approved = try await CLI.run(["approve", id, "--config", config])
        #expect(approved.status == 0 || approved.status == 4, "\(approved.stdout)\(approved.stderr)")
        #expect(await reaches("pg2"), "after the failover, writes through the same address reach the new primary")

        let down = try await CLI.run(["lab", "down", "--dir", dir])
        #expect(down.status == 0, "\(down.stderr)")
        for _ in 0..<50 where kill(haproxy, 0) == 0 || kill(agent, 0) == 0 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(kill(haproxy, 0) != 0 && kill(agent, 0) != 0, "lab down stops HAProxy and the agent")
        let again = try await CLI.run(["lab", "up", "--dir", dir])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        let restarted = try #require(try lab.state().front)
        #expect(restarted.readWrite == front.readWrite && restarted.haproxy != nil && restarted.haproxy != haproxy)
        #expect(await reaches("pg2"), "the same address, after the lab came back")
    }
}
