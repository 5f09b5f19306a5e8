import Foundation
import PGDRTestSupport
import Testing

/// The agent's /metrics as Prometheus itself reads it: `promtool check
/// metrics` (Debian's `prometheus` package) lints a live scrape.
@Suite struct PromtoolTests {
    @Test func aLiveScrapePassesPromtoolsLint() async throws {
        try await AgentLab.with(sinks: "  - {type: log, path: notices.jsonl}") { env in
            let agent = try AgentProcess(config: env.configPath)
            defer { _ = agent.stop() }
            #expect(await agent.waitFor("/replica?node=pg2", status: 200, within: .seconds(15)))
            let (status, body) = try await agent.get("/metrics")
            #expect(status == 200 && body.contains("pgdr_replication_lag_seconds"), "a scrape with the lag series")
            let scrape = (env.configPath as NSString).deletingLastPathComponent + "/scrape.txt"
            try body.write(toFile: scrape, atomically: true, encoding: .utf8)
            let lint = try await CLI.program("/bin/sh", ["-c", "/usr/bin/promtool check metrics < \"$0\"", scrape])
            #expect(lint.status == 0, "promtool check metrics: \(lint.stdout)\(lint.stderr)")
        }
    }
}
