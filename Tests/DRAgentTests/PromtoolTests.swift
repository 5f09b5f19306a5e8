import DRIntegrations
import DRSpec
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

            // Every series the generated rules and dashboard read is one this agent exports.
            let spec = try SpecParser.load(path: env.configPath).spec
            let exported = Set(body.split(separator: "\n").filter { !$0.hasPrefix("#") }
                .compactMap { $0.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map(String.init) })
            let ruleSeries = PrometheusRules.rules(spec).rules.flatMap { Self.series(in: $0.expr) }
            let panelSeries = GrafanaDashboard.panels(spec).flatMap { $0.queries.map(\.metric) }
            #expect(!ruleSeries.isEmpty && !panelSeries.isEmpty)
            for name in Set(ruleSeries + panelSeries) {
                #expect(exported.contains(name), "\(name) is read by a rule or panel but not exported")
            }
            let dashboard = try JSONSerialization.jsonObject(with: Data(GrafanaDashboard.render(spec).utf8)) as? [String: Any]
            #expect((dashboard?["panels"] as? [Any])?.count == GrafanaDashboard.panels(spec).count)
        }
    }

    /// The metric names in a PromQL expression (not functions, keywords or ALERTS).
    static func series(in expr: String) -> [String] {
        expr.matches(of: /pgdr_[a-z_]+/).map { String($0.output) }
    }
}
