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
}
