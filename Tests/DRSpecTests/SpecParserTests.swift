import Foundation
import Testing
@testable import DRSpec

/// A minimal valid spec; tests add or break one thing at a time.
let minimalSpec = """
name: orders
environment: prod
objectives:
  rpo: 5m
  rto: 1h
engine:
  version: "16"
"""

func problems(_ yaml: String) -> [Diagnostic] {
    do {
        let parsed = try SpecParser.parse(yaml: yaml)
        return parsed.warnings
    } catch {
        return error.diagnostics
    }
}

func errorAt(_ path: String, in yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> Diagnostic? {
    let found = problems(yaml).first { $0.path == path && $0.severity == .error }
    #expect(found != nil, "no error at \(path); got: \(problems(yaml).map(\.description))", sourceLocation: sourceLocation)
    return found
}

@Suite struct SpecDefaultsTests {
    @Test func minimalSpecGetsTheDocumentedDefaults() throws {
        let spec = try SpecParser.parse(yaml: minimalSpec).spec
        #expect(spec.primary.region == "us-east-1")
        #expect(spec.dr.region == "us-east-2")
        #expect(spec.primary.instanceClass == "db.r6g.xlarge")
        #expect(spec.dr.instanceClass == "db.r6g.xlarge")
        #expect(spec.primary.multiAZ == true)
        #expect(spec.dr.multiAZ == false)
        #expect(spec.backup.retentionDays == 7)
        #expect(spec.backup.pointInTimeRecovery)
        #expect(spec.monitoring.interval == .seconds(5))
        #expect(spec.monitoring.thresholds.replicationLag == .seconds(300))
        #expect(spec.monitoring.thresholds.cpuPercent == 80)
        #expect(spec.failover.mode == .manual)
        #expect(spec.failover.maxDataLoss.time == .minutes(5), "defaults to the RPO")
        #expect(spec.nodes.isEmpty)
        #expect(spec.engine.major == 16)
        #expect(spec.resourceName("db") == "db-prod")
    }

    @Test func exampleWrittenByInitIsValid() throws {
        let parsed = try SpecParser.parse(yaml: ExampleSpec.text)
        #expect(parsed.spec.nodes.map(\.name) == ["pg1", "pg2"])
        #expect(parsed.spec.nodes[0].password == .file("secrets/monitor.password"))
        #expect(parsed.spec.nodes[1].password == .environment("PGDR_PG2_PASSWORD"))
        #expect(parsed.spec.notifications.first?.kind == .log)
        #expect(parsed.spec.tags["cost-center"] == "4711")
        #expect(parsed.warnings.isEmpty)
        #expect(parsed.spec.primaryNode?.name == "pg1")
        #expect(parsed.spec.drNode?.name == "pg2")
    }

    @Test func readsEverySection() throws {
        let spec = try SpecParser.parse(yaml: minimalSpec + """

            primary: {region: eu-west-1, instanceClass: db.t4g.medium, multiAZ: false, storage: 50GB}
            dr: {region: eu-central-1, multiAZ: true}
            backup: {retentionDays: 14, pointInTimeRecovery: false}
            monitoring:
              interval: 1s
              thresholds: {replicationLag: 60s, cpuPercent: 90, freeStorage: 5GB, connectionsPercent: "75%", latency: 50ms}
            failover: {mode: automatic, maxDataLoss: {bytes: 16MB, time: 30s}}
            notifications:
              - {type: webhook, url: "https://hooks.example.com/x", timeout: 2s, retries: 5}
              - {type: command, command: [/bin/cat, "-u"]}
            """).spec
        #expect(spec.primary == RegionSite(region: "eu-west-1", instanceClass: "db.t4g.medium", multiAZ: false, storage: .gigabytes(50)))
        #expect(spec.dr.multiAZ)
        #expect(spec.backup == Backup(retentionDays: 14, pointInTimeRecovery: false))
        #expect(spec.monitoring.thresholds.connectionsPercent == 75)
        #expect(spec.monitoring.thresholds.latency == TimeSpan(milliseconds: 50))
        #expect(spec.failover.mode == .automatic)
        #expect(spec.failover.maxDataLoss == DataLossLimit(bytes: .megabytes(16), time: .seconds(30)))
        #expect(spec.notifications[0].delivery.retries == 5)
        #expect(spec.notifications[1] == .command(program: "/bin/cat", arguments: ["-u"], spec.notifications[1].delivery))
    }

    @Test func maxDataLossAcceptsASizeOrATime() throws {
        let bytes = try SpecParser.parse(yaml: minimalSpec + "\nfailover: {maxDataLoss: 16MB}").spec
        #expect(bytes.failover.maxDataLoss == DataLossLimit(bytes: .megabytes(16), time: nil))
        let time = try SpecParser.parse(yaml: minimalSpec + "\nfailover: {maxDataLoss: 30s}").spec
        #expect(time.failover.maxDataLoss == DataLossLimit(bytes: nil, time: .seconds(30)))
    }
}

@Suite struct SpecErrorTests {
    @Test func malformedYAMLGivesLineAndColumn() {
        let found = problems("name: orders\nenvironment: [prod\nobjectives: {}\n")
        #expect(found.count == 1)
        #expect(found.first?.message.hasPrefix("YAML syntax") == true)
        #expect(found.first?.line != nil && found.first?.column != nil)
    }

    @Test func emptyFileIsAnError() {
        #expect(problems("").first?.message == "the file is empty")
    }

    @Test func missingRequiredFieldsAreAllReported() {
        let found = problems("tags: {a: b}\n").filter { $0.severity == .error }.map(\.path)
        #expect(Set(found) == ["name", "environment", "objectives", "engine"])
    }

    @Test func missingObjectiveKeys() {
        let yaml = "name: orders\nenvironment: prod\nobjectives: {rpo: 5m}\nengine: {version: \"16\"}\n"
        #expect(errorAt("objectives.rto", in: yaml)?.hint?.contains("rto") == true)
    }

    @Test func unknownKeySuggestsTheNearestKnownKey() {
        let yaml = minimalSpec + "\nprimary:\n  instanceClas: db.r6g.large\n"
        let found = errorAt("primary.instanceClas", in: yaml)
        #expect(found?.hint == "did you mean `instanceClass`?")
        #expect(found?.line == 9)
        #expect(found?.column == 3)
    }

    @Test func unknownTopLevelKey() {
        #expect(errorAt("monitorng", in: minimalSpec + "\nmonitorng: {interval: 5s}")?.hint == "did you mean `monitoring`?")
    }

    @Test func badDurationNamesItsKeyLineAndUnitHint() {
        let yaml = minimalSpec.replacingOccurrences(of: "rpo: 5m", with: "rpo: 5 minutes")
        let found = errorAt("objectives.rpo", in: yaml)
        #expect(found?.line == 4)
        #expect(found?.hint?.contains("30s") == true)
    }

    @Test func everyInvalidValueIsReportedAtOnce() {
        let yaml = minimalSpec + """

            primary: {region: us-east1, instanceClass: r6g.xlarge, storage: 5GB}
            backup: {retentionDays: 40}
            monitoring: {interval: 500ms, thresholds: {cpuPercent: 150}}
            failover: {mode: automagic}
            """
        let paths = Set(problems(yaml).filter { $0.severity == .error }.map(\.path))
        #expect(paths.isSuperset(of: ["primary.region", "primary.instanceClass", "primary.storage",
                                      "backup.retentionDays", "monitoring.interval",
                                      "monitoring.thresholds.cpuPercent", "failover.mode"]))
        #expect(problems(yaml).first { $0.path == "primary.region" }?.hint == "did you mean `us-east-1`?")
        #expect(problems(yaml).first { $0.path == "failover.mode" }?.hint?.contains("automatic") == true)
    }

    @Test func sameRegionForPrimaryAndDR() {
        #expect(errorAt("dr.region", in: minimalSpec + "\ndr: {region: us-east-1}")?.message.contains("primary's region") == true)
    }

    @Test func badNameAndEnvironment() {
        let yaml = minimalSpec.replacingOccurrences(of: "name: orders", with: "name: Orders_DB")
            .replacingOccurrences(of: "environment: prod", with: "environment: prod-1")
        _ = errorAt("name", in: yaml)
        _ = errorAt("environment", in: yaml)
    }

    @Test func unsupportedEngineVersion() {
        _ = errorAt("engine.version", in: minimalSpec.replacingOccurrences(of: "\"16\"", with: "\"9.6\""))
        _ = errorAt("engine.version", in: minimalSpec.replacingOccurrences(of: "\"16\"", with: "sixteen"))
    }

    @Test func pitrNeedsRetention() {
        _ = errorAt("backup.retentionDays", in: minimalSpec + "\nbackup: {retentionDays: 0}")
    }

    @Test func webhookURLMustParse() {
        _ = errorAt("notifications[0].url", in: minimalSpec + "\nnotifications: [{type: webhook, url: \"not a url\"}]")
        _ = errorAt("notifications[0].url", in: minimalSpec + "\nnotifications: [{type: webhook, url: \"ftp://x/y\"}]")
        _ = errorAt("notifications[0].url", in: minimalSpec + "\nnotifications: [{type: webhook}]")
        _ = errorAt("notifications[0].type", in: minimalSpec + "\nnotifications: [{type: pager}]")
        _ = errorAt("notifications[0].command", in: minimalSpec + "\nnotifications: [{type: command}]")
    }

    @Test func passwordInTheSpecIsRefused() {
        let yaml = minimalSpec + "\nnodes:\n  - {name: pg1, region: us-east-1, host: h, password: hunter2}\n  - {name: pg2, region: us-east-2, host: h}"
        let found = errorAt("nodes[0].password", in: yaml)
        #expect(found?.hint?.contains("passwordFile") == true)
        #expect(!(found?.description.contains("hunter2") ?? true), "the error must not echo the password")
    }

    @Test func nodeRules() {
        let yaml = minimalSpec + """

            nodes:
              - {name: pg1, region: us-east-1, host: a, port: 70000, passwordFile: p}
              - {name: pg1, region: eu-west-1, host: b, passwordFile: p, passwordEnv: X}
              - {region: us-east-2, host: c}
            """
        _ = errorAt("nodes[0].port", in: yaml)
        _ = errorAt("nodes[1].name", in: yaml)
        _ = errorAt("nodes[1].region", in: yaml)
        _ = errorAt("nodes[1].passwordEnv", in: yaml)
        _ = errorAt("nodes", in: yaml)  // three listed: a deployment has two
        let unnamed = minimalSpec + "\nnodes:\n  - {region: us-east-2, host: c}\n"
        _ = errorAt("nodes[0].name", in: unnamed)
    }

    @Test func oneNodePerRegion() {
        let yaml = minimalSpec + "\nnodes:\n  - {name: pg1, region: us-east-1, host: a, passwordFile: p}"
        #expect(errorAt("nodes", in: yaml)?.message.contains("DR region us-east-2") == true)
    }

    @Test func warningsDoNotFail() throws {
        let parsed = try SpecParser.parse(yaml: minimalSpec + "\nfailover: {maxDataLoss: 1h}")
        #expect(parsed.warnings.map(\.path) == ["failover.maxDataLoss"])
    }

    @Test func diagnosticFormatting() {
        let d = Diagnostic(path: "primary.instanceClass", line: 12, column: 3, message: "bad", hint: "fix it")
        #expect(d.formatted(file: "x.yaml") == "x.yaml:12:3: error: primary.instanceClass: bad\n    hint: fix it")
    }

    @Test func nearestKeyOnlyWhenClose() {
        #expect(EditDistance.nearest(to: "instanceClas", in: ["instanceClass", "region"]) == "instanceClass")
        #expect(EditDistance.nearest(to: "zzzzzz", in: ["instanceClass", "region"]) == nil)
    }
}

@Suite struct AlarmSpecTests {
    @Test func userAlarmsParseAndReplaceDefaults() throws {
        let spec = try SpecParser.parse(yaml: minimalSpec + """

            alarms:
              - name: replication-lag
                metric: ReplicationLagSeconds
                threshold: 60s
                evaluationPeriods: 5
                datapointsToAlarm: 3
                treatMissingData: notBreaching
              - name: big-slot
                metric: SlotRetainedWAL
                target: primary
                comparison: ">="
                threshold: 1GB
              - name: page-me
                rule: ALARM(big-slot) AND NOT OK(dr-at-risk)
            """).spec
        let effective = spec.effectiveAlarms
        #expect(effective.filter { $0.name == "replication-lag" }.count == 1)
        let lag = try #require(effective.first { $0.name == "replication-lag" }?.metric)
        #expect(lag.threshold == 60)
        #expect(lag.datapointsToAlarm == 3)
        #expect(lag.treatMissingData == .notBreaching)
        let slot = try #require(effective.first { $0.name == "big-slot" }?.metric)
        #expect(slot.threshold == Double(1 << 30))
        #expect(slot.comparison == .greaterThanOrEqual)
        #expect(slot.seriesKey == "SlotRetainedWAL@primary")
        #expect(effective.first { $0.name == "page-me" }?.rule?.references == ["big-slot", "dr-at-risk"])
        #expect(effective.contains { $0.name == DefaultAlarms.drAtRisk })
        #expect(effective.contains { $0.name == DefaultAlarms.primaryDown })
    }

    @Test func unknownMetricSuggestsTheNearest() {
        let found = errorAt("alarms[0].metric", in: minimalSpec + "\nalarms: [{name: x, metric: ReplicationLagSecond, threshold: 1s}]")
        #expect(found?.hint == "did you mean `ReplicationLagSeconds`?")
    }

    @Test func thresholdInTheWrongUnit() {
        let found = errorAt("alarms[0].threshold", in: minimalSpec + "\nalarms: [{name: x, metric: ReplicationLagSeconds, threshold: 64MB}]")
        #expect(found?.message.contains("seconds") == true)
        _ = errorAt("alarms[0].threshold", in: minimalSpec + "\nalarms: [{name: x, metric: ReplicationLagBytes, threshold: 30s}]")
        _ = errorAt("alarms[0].threshold", in: minimalSpec + "\nalarms: [{name: x, metric: CPUPercent, target: primary, threshold: 1GB}]")
    }

    @Test func unknownAlarmInACompositeRule() {
        let found = errorAt("alarms[0].rule", in: minimalSpec + "\nalarms: [{name: x, rule: \"ALARM(dr-at-rsk)\"}]")
        #expect(found?.hint == "did you mean `dr-at-risk`?")
    }

    @Test func cycleBetweenComposites() {
        let yaml = minimalSpec + """

            alarms:
              - {name: a, rule: "ALARM(b)"}
              - {name: b, rule: "ALARM(c) OR ALARM(dr-at-risk)"}
              - {name: c, rule: "ALARM(a)"}
            """
        let found = problems(yaml).first { $0.message.contains("cycle") }
        #expect(found?.message.contains("a -> b -> c -> a") == true)
    }

    @Test func badRuleSyntaxAndOtherMistakes() {
        _ = errorAt("alarms[0].rule", in: minimalSpec + "\nalarms: [{name: x, rule: \"ALARM(a\"}]")
        _ = errorAt("alarms[0].target", in: minimalSpec + "\nalarms: [{name: x, metric: CPUPercent, threshold: 5}]")
        _ = errorAt("alarms[0].target", in: minimalSpec + "\nalarms: [{name: x, metric: CPUPercent, target: pg9, threshold: 5}]")
        _ = errorAt("alarms[0].target", in: minimalSpec + "\nalarms: [{name: x, metric: StandbyUp, target: primary, threshold: 1}]")
        _ = errorAt("alarms[0].datapointsToAlarm", in: minimalSpec + "\nalarms: [{name: x, metric: StandbyUp, threshold: 1, evaluationPeriods: 2, datapointsToAlarm: 3}]")
        _ = errorAt("alarms[0].comparison", in: minimalSpec + "\nalarms: [{name: x, metric: StandbyUp, threshold: 1, comparison: \"=>\"}]")
        _ = errorAt("alarms[1].name", in: minimalSpec + "\nalarms: [{name: x, metric: StandbyUp, threshold: 1}, {name: x, rule: TRUE}]")
    }

    @Test func agentSettings() throws {
        let spec = try SpecParser.parse(yaml: minimalSpec + "\nagent: {listen: \"127.0.0.1:9100\", journal: /var/lib/pgdr/j.jsonl}\nmonitoring: {reminder: 30m}").spec
        #expect(spec.agent.listen == "127.0.0.1:9100")
        #expect(spec.agent.journal == "/var/lib/pgdr/j.jsonl")
        #expect(spec.monitoring.reminder == .minutes(30))
        _ = errorAt("agent.listen", in: minimalSpec + "\nagent: {listen: localhost}")
    }
}

/// Defects found by the fault suite in `validate`.
@Suite struct ValidateDefectTests {
    static let base = """
        name: orders
        environment: prod
        objectives: {rpo: 1m, rto: 5m}
        engine: {version: "15"}

        """

    @Test func aBadRpoDoesNotMakeRtoLookUnknown() {
        let error = #expect(throws: SpecError.self) {
            try SpecParser.parse(yaml: "name: orders\nenvironment: prod\nobjectives: {rpo: soon, rto: 1h}\nengine: {version: \"15\"}\n")
        }
        let messages = error?.diagnostics.map(\.message) ?? []
        #expect(messages.contains { $0.contains("soon") })
        #expect(!messages.contains { $0.contains("unknown key `rto`") }, "\(messages)")
    }

    @Test func anAlarmWithoutANameStillHasItsOtherProblemsReported() {
        let error = #expect(throws: SpecError.self) {
            try SpecParser.parse(yaml: Self.base + "alarms:\n  - {metric: CPUPercent, target: primary, comparison: '>>', threshold: 80}\n")
        }
        let messages = error?.diagnostics.map(\.message) ?? []
        #expect(messages.contains { $0.contains("missing") || $0.contains("name") })
        #expect(messages.contains { $0.contains("`>>` is not a comparison") }, "every problem at once: \(messages)")
        #expect(!messages.contains { $0.contains("unknown key") }, "\(messages)")
    }

    @Test func twentyThousandNodesAreRefusedQuickly() {
        var yaml = Self.base + "nodes:\n"
        for i in 0..<20_000 { yaml += "  - {name: n\(i), region: us-east-1, host: 10.0.0.1}\n" }
        // The parse's own CPU time (it runs on this thread, start to end): wall time in a
        // full suite's first seconds measured the machine's load, not the parser.
        func threadCPUSeconds() -> Double {
            var time = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        }
        let started = threadCPUSeconds()
        let error = #expect(throws: SpecError.self) { try SpecParser.parse(yaml: yaml) }
        let spent = threadCPUSeconds() - started
        #expect(spent < 10, "validating took \(spent) s of CPU")
        #expect(error?.diagnostics.contains { $0.message.contains("20000 nodes listed; a deployment has 2") } == true)
        #expect((error?.diagnostics.count ?? 0) < 20, "said once, not 20,000 times")
    }

    @Test func invalidUTF8IsSaidToBeInvalidUTF8() throws {
        let path = NSTemporaryDirectory() + "pgdr-utf8-\(UUID().uuidString.prefix(8)).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = Array("name: orders\nenvironment: pr".utf8)
        bytes += [0xC3, 0x28]
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: SpecError.self) { try SpecParser.load(path: path) }
        let message = error?.diagnostics.first?.message ?? ""
        #expect(message.contains("not UTF-8") && message.contains("offset 28"), "\(message)")
        #expect(error?.diagnostics.first?.hint?.contains("permissions") != true)
    }

    @Test func anAPIOpenToTheNetworkNeedsTLSAndTheToken() throws {
        let open = errorAt("agent.listen", in: Self.base + "agent: {listen: \"0.0.0.0:8008\"}\n")
        #expect(open?.message.contains("reachable from the network without agent.tls (certificate and key) and agent.tokenFile") == true)
        let noToken = errorAt("agent.listen", in: Self.base + "agent: {listen: \"0.0.0.0:8008\", tls: {certificate: a.crt, key: a.key}}\n")
        #expect(noToken?.message.contains("without agent.tokenFile") == true)
        let both = try SpecParser.parse(yaml: Self.base
            + "agent: {listen: \"0.0.0.0:8008\", tokenFile: api.token, tls: {certificate: a.crt, key: a.key}}\n")
        #expect(both.spec.agent.tls == AgentTLS(certificate: "a.crt", key: "a.key"))
        #expect(try SpecParser.parse(yaml: Self.base + "agent: {listen: \"127.0.0.1:8008\"}\n").warnings.isEmpty)
    }
}
