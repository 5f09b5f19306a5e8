import DRIntegrations
import DRSpec
import Foundation
import Testing

/// The rules `pgdr config prometheus --rules` writes, run by Prometheus's own
/// rule engine: `promtool check config` loads the scrape configuration and the
/// rules it names, and `promtool test rules` feeds series through them and
/// checks which alerts fire when (Debian's `prometheus` package).
@Suite struct PrometheusRulesTests {
    static let yaml = HAProxyConfigTests.base + """
        monitoring:
          interval: 10s
          thresholds: {replicationLag: 300s, cpuPercent: 80, freeStorage: 10GB, connectionsPercent: 80, latency: 200ms}

        """

    static func spec() throws -> Spec { try SpecParser.parse(yaml: yaml).spec }

    @Test func everyAlarmHasOneRuleWithItsNameThresholdAndDuration() throws {
        let spec = try Self.spec()
        let (rules, skipped) = PrometheusRules.rules(spec)
        #expect(skipped.isEmpty)
        #expect(rules.map(\.alarm).sorted() == spec.effectiveAlarms.map(\.name).sorted())
        let lag = try #require(rules.first { $0.alarm == "replication-lag" })
        #expect(lag.alert == "PgdrReplicationLag")
        #expect(lag.expr == "max_over_time(pgdr_replication_lag_seconds[20s]) > 300")
        #expect(lag.forDuration == "30s", "3 periods of 10 s")
        let cpu = try #require(rules.first { $0.alarm == "cpu-high" })
        #expect(cpu.forDuration == "30s", "3 of 5 datapoints: the soonest the agent fires")
        let down = try #require(rules.first { $0.alarm == "primary-down" })
        #expect(down.forDuration == nil && down.expr.contains("ALERTS{alertstate=\"firing\",alarm=\"primary-unreachable\"}"))
    }

    @Test func anInsufficientDataCompositeIsReportedNotGuessed() throws {
        let spec = try SpecParser.parse(yaml: Self.yaml + """
            alarms:
              - {name: blind, rule: "INSUFFICIENT_DATA(replication-lag) OR ALARM(cpu-high)"}

            """).spec
        let (rules, skipped) = PrometheusRules.rules(spec)
        #expect(skipped.map(\.alarm) == ["blind"])
        #expect(!rules.contains { $0.alarm == "blind" })
        #expect(PrometheusRules.render(spec).contains("# not translated: blind"))
    }

    @Test func promtoolLoadsTheConfigurationAndItsRules() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try Self.spec()
        try PrometheusRules.render(spec).write(toFile: dir + "/pgdr-rules.yml", atomically: true, encoding: .utf8)
        try PrometheusScrape.render(spec).write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
        let result = try Self.promtool(["check", "config", dir + "/prometheus.yml"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("\(spec.effectiveAlarms.count) rules found"), "\(result.output)")
    }

    /// Series in, alerts out, at the times the agent's alarms would fire.
    @Test func promtoolFiresTheAlertsWhenTheAgentWould() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try Self.spec()
        try PrometheusRules.render(spec).write(toFile: dir + "/pgdr-rules.yml", atomically: true, encoding: .utf8)
        let rules = PrometheusRules.rules(spec).rules
        func summary(_ alarm: String) -> String { rules.first { $0.alarm == alarm }!.summary }
        let d = "deployment=\"orders-prod\""
        let pg1 = "node=\"pg1\",region=\"us-east-1\",\(d)"
        let pg2 = "node=\"pg2\",region=\"us-east-2\",\(d)"
        func alert(_ alarm: String, labels extra: String = "") -> String {
            "          - exp_labels: {alarm: \(alarm), deployment: orders-prod\(extra)}\n"
                + "            exp_annotations: {summary: \(PrometheusRulesTests.quote(summary(alarm)))}\n"
        }
        let test = """
            rule_files: [pgdr-rules.yml]
            evaluation_interval: 10s
            tests:
              # Lag of 400 s from t=60s to t=150s: over 300 s for 30 s before it fires, clear after.
              - interval: 10s
                input_series:
                  - {series: 'pgdr_replication_lag_seconds{\(d)}', values: '0x5 400x9 0x10'}
                alert_rule_test:
                  - {eval_time: 70s, alertname: PgdrReplicationLag, exp_alerts: []}
                  - eval_time: 110s
                    alertname: PgdrReplicationLag
                    exp_alerts:
            \(alert("replication-lag"))
                  - {eval_time: 200s, alertname: PgdrReplicationLag, exp_alerts: []}
              # The primary stops answering while the standby answers: primary-down.
              - interval: 10s
                input_series:
                  - {series: 'pgdr_primary_up{\(d)}', values: '1x5 0x30'}
                  - {series: 'pgdr_standby_up{\(d)}', values: '1x35'}
                alert_rule_test:
                  - {eval_time: 50s, alertname: PgdrPrimaryDown, exp_alerts: []}
                  - eval_time: 200s
                    alertname: PgdrPrimaryDown
                    exp_alerts:
            \(alert("primary-down"))
              # Both stop answering: the agent's own network, not a dead primary.
              - interval: 10s
                input_series:
                  - {series: 'pgdr_primary_up{\(d)}', values: '1x5 0x30'}
                  - {series: 'pgdr_standby_up{\(d)}', values: '1x5 0x30'}
                alert_rule_test:
                  - {eval_time: 200s, alertname: PgdrPrimaryDown, exp_alerts: []}
                  - eval_time: 200s
                    alertname: PgdrDrAtRisk
                    exp_alerts:
            \(alert("dr-at-risk"))
              # Both disks low: the primary's alarm names pg1, the standby's pg2.
              - interval: 10s
                input_series:
                  - {series: 'pgdr_free_storage_bytes{\(pg1)}', values: '1000000000x20'}
                  - {series: 'pgdr_free_storage_bytes{\(pg2)}', values: '1000000000x20'}
                  - {series: 'pgdr_node_is_primary{\(pg1)}', values: '1x20'}
                  - {series: 'pgdr_node_is_primary{\(pg2)}', values: '0x20'}
                  - {series: 'pgdr_node_up{\(pg1)}', values: '1x20'}
                  - {series: 'pgdr_node_up{\(pg2)}', values: '1x20'}
                alert_rule_test:
                  - eval_time: 100s
                    alertname: PgdrStorageLow
                    exp_alerts:
            \(alert("storage-low", labels: ", node: pg1, region: us-east-1"))
                  - eval_time: 100s
                    alertname: PgdrStorageLowStandby
                    exp_alerts:
            \(alert("storage-low-standby", labels: ", node: pg2, region: us-east-2"))

            """
        try test.write(toFile: dir + "/test.yml", atomically: true, encoding: .utf8)
        let result = try Self.promtool(["test", "rules", dir + "/test.yml"])
        #expect(result.status == 0, "\(result.output)\n--- test file:\n\(test)")
        #expect(result.output.contains("SUCCESS"))
    }

    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func folder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgdr-prom-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func promtool(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
