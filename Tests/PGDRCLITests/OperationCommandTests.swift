import DRLocal
import DRDrill
import DROperations
import DRPostgres
import Foundation
import PGDRTestSupport
import PostgresNIO
import Testing

/// DR operations end to end through the `pgdr` binary on a lab of their own.
@Suite(.serialized) struct OperationCommandTests {
    static func withLab(_ body: @Sendable (String, Lab) async throws -> Void) async throws {
        try await LabSlots.with { try await runLab(body) }
    }

    static func runLab(_ body: @Sendable (String, Lab) async throws -> Void) async throws {
        let dir = NSTemporaryDirectory() + "pgdr-ops-\(UUID().uuidString.prefix(8))"
        let lab = Lab(directory: dir)
        do {
            _ = try await lab.up()
            #expect(await lab.waitForStreaming())
            try await body("\(dir)/pgdr.yaml", lab)
        } catch {
            try? await lab.destroy()
            throw error
        }
        try await lab.destroy()
    }

    static func journal(_ dir: String) -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: "\(dir)/pgdr-operations.jsonl") else { return [] }
        return data.split(separator: 0x0A).compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
    }

    /// Whether the node is out of recovery; nil when it cannot be asked. A session that
    /// fails to open (a loaded machine: the suite runs beside this test) is tried again
    /// for up to 5 s, since the question is the server's state, not the connection's.
    static func isPrimary(_ lab: Lab, _ node: String) async -> Bool? {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let answer = try? await PostgresSession.with(try lab.adminTarget(node: node)) { session in
                try await !session.rows("SELECT pg_is_in_recovery()").first!.decode(Bool.self)
            }
            if answer != nil || ContinuousClock.now >= deadline { return answer }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    @Test func manualFailoverWithApprovalThenRejoinThroughRewind() async throws {
        try await Self.withLab { config, lab in
            let dir = (config as NSString).deletingLastPathComponent
            // The agent's record of the primary is evidence for 3 of its intervals:
            // at the lab's 2 s, a loaded machine can take longer than 6 s between
            // the agent's last round and the approval, and the guard rightly
            // refuses. This test is about the approval, not the freshness window
            // (StaleEvidenceTests are): 8 s rounds, a 24 s window (12 s was outrun once
            // by a CI machine running many labs at once).
            let slow = "\(dir)/pgdr-8s.yaml"
            try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "interval: 2s", with: "interval: 8s")
                .write(toFile: slow, atomically: true, encoding: .utf8)
            // The agent runs for a while, as it would in production: it stamps the
            // heartbeat and records the primary's position each round.
            let agent = Process()
            agent.executableURL = URL(fileURLWithPath: CLI.binary)
            agent.arguments = ["agent", "--config", slow, "--listen", "127.0.0.1:0"]
            agent.standardOutput = FileHandle.nullDevice
            agent.standardError = FileHandle.nullDevice
            try agent.run()
            try await Task.sleep(for: .seconds(6))
            kill(agent.processIdentifier, SIGTERM)
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                Blocking.run { agent.waitUntilExit(); done.resume() }
            }
            #expect(FileManager.default.fileExists(atPath: "\(dir)/pgdr-last-primary.json"))
            // Node loss: the primary's postmaster and every child, SIGKILL.
            #expect(try await lab.kill(node: "pg1", withChildren: true) != nil)
            try await Task.sleep(for: .milliseconds(300))

            let plan = try await CLI.run(["failover", "--config", slow])
            #expect(plan.status == 0, "\(plan.stderr)")
            #expect(plan.stdout.contains("UNREACHABLE, cannot be fenced"))
            #expect(plan.stdout.contains("estimated data loss: 0 B"))
            #expect(plan.stdout.contains("last sight of pg1"))
            let id = try #require(plan.stdout.firstMatch(of: /approve with: pgdr approve (failover-[0-9a-f]+)/)?.1)
            #expect(await Self.isPrimary(lab, "pg2") == false, "nothing happens before approval")

            let unknown = try await CLI.run(["approve", "failover-00000000", "--config", config])
            #expect(unknown.status == 3)
            #expect(unknown.stderr.contains("no pending operation"))

            let approved = try await CLI.run(["approve", String(id), "--config", slow])
            #expect(approved.status == 0, "\(approved.stdout)\(approved.stderr)")
            #expect(approved.stdout.contains("pg2 promoted"))
            let promoted = await Self.isPrimary(lab, "pg2")
            #expect(promoted == true, "pg2 after the approval: \(promoted.map(String.init) ?? "no answer"); \(approved.stdout)")
            let status = try await CLI.run(["status", "--json", "--config", config])
            let report = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            let nodes = report["nodes"] as? [[String: Any]] ?? []
            #expect(nodes.first { $0["name"] as? String == "pg2" }?["role"] as? String == "primary", "pg2 took over")

            // The old primary cannot take a write: it is down and the lab will not start it.
            #expect(lab.isFenced(node: "pg1"))
            let up = try await CLI.run(["lab", "up", "--loopback", "--dir", dir])
            #expect(up.stdout.contains("fenced, not started"))
            #expect(await Self.isPrimary(lab, "pg1") == nil, "pg1 must not be running")
            let again = try await CLI.run(["approve", String(id), "--config", config])
            #expect(again.status == 3, "an approval is used once")
            // With the only standby promoted, another failover has nothing to promote.
            let noCandidate = try await CLI.run(["failover", "--config", config])
            #expect(noCandidate.status == 3)
            #expect(noCandidate.stderr.contains("refused"))
            #expect(Self.journal(dir).last?["phase"] as? String == "refused")

            // Rejoin: pg_rewind from pg2, then streaming.
            let rejoin = try await CLI.run(["rejoin", "pg1", "--config", config])
            #expect(rejoin.status == 0, "\(rejoin.stdout)\(rejoin.stderr)")
            #expect(rejoin.stdout.contains("pg_rewind"))
            #expect(rejoin.stdout.contains("pg1 streams"))
            #expect(await Self.isPrimary(lab, "pg1") == false)
            #expect(!lab.isFenced(node: "pg1"))
            let healthy = try await CLI.run(["status", "--config", config])
            #expect(healthy.status == 0, "\(healthy.stdout)")

            let ops = try await CLI.run(["operations", "--config", config])
            #expect(ops.stdout.contains("\(id)  failover  done"))
            #expect(ops.stdout.contains("rejoin"))
            let phases = Self.journal(dir).filter { ($0["operation"] as? String) == String(id) }.compactMap { $0["phase"] as? String }
            #expect(phases.first == "planned")
            #expect(phases.filter { $0 == "begin" }.count == phases.filter { $0 == "end" }.count, "every step journaled before and after")
            #expect(phases.last == "refused", "the second approve is journaled as refused")
        }
    }

    @Test func rpoGuardRefusesAndChangesNothing() async throws {
        try await Self.withLab { config, lab in
            let dir = (config as NSString).deletingLastPathComponent
            // A tight limit, replay paused, writes on the primary.
            let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "maxDataLoss: 1m", with: "maxDataLoss: 64kB")
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            try await PostgresSession.with(try lab.adminTarget(node: "pg2")) { _ = try await $0.rows("SELECT pg_wal_replay_pause()") }
            try await PostgresSession.with(try lab.adminTarget(node: "pg1")) {
                try await $0.execute("CREATE TABLE bulk AS SELECT g, md5(g::text) FROM generate_series(1, 20000) g")
            }
            let refused = try await CLI.run(["failover", "--config", config])
            #expect(refused.status == 3, "\(refused.stdout)\(refused.stderr)")
            #expect(refused.stderr.contains("exceeds failover.maxDataLoss"))
            #expect(refused.stderr.contains("--accept-data-loss"))
            #expect(await Self.isPrimary(lab, "pg1") == true)
            #expect(await Self.isPrimary(lab, "pg2") == false)
            #expect(!lab.isFenced(node: "pg1"))
            #expect(Self.journal(dir).last?["phase"] as? String == "refused")

            // Switchover refuses a lagging (paused) standby too.
            let switchover = try await CLI.run(["switchover", "--config", config])
            #expect(switchover.status == 3)
            #expect(switchover.stderr.contains("paused"))

            // Accepting the loss makes a plan, recorded as accepted.
            let accepted = try await CLI.run(["failover", "--dry-run", "--accept-data-loss", "--config", config])
            #expect(accepted.status == 0, "\(accepted.stderr)")
            #expect(accepted.stdout.contains("ACCEPTED"))

            // An approval past its expiry is refused and changes nothing.
            let planned = try await CLI.run(["failover", "--accept-data-loss", "--config", config])
            let id = try #require(planned.stdout.firstMatch(of: /approve with: pgdr approve (failover-[0-9a-f]+)/)?.1)
            let file = "\(dir)/pgdr-plans/\(id).json"
            var plan = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
            plan["expiresAt"] = (Date().timeIntervalSince1970 - 60) * 1000
            try JSONSerialization.data(withJSONObject: plan).write(to: URL(fileURLWithPath: file))
            let expired = try await CLI.run(["approve", String(id), "--config", config])
            #expect(expired.status == 3)
            #expect(expired.stderr.contains("expired"))
            #expect(await Self.isPrimary(lab, "pg1") == true)
            try await PostgresSession.with(try lab.adminTarget(node: "pg2")) { _ = try await $0.rows("SELECT pg_wal_replay_resume()") }

            // Rejoin of a writable primary, and a second operation while one holds the lock.
            let rejoin = try await CLI.run(["rejoin", "pg1", "--config", config])
            #expect(rejoin.status == 3)
            #expect(rejoin.stderr.contains("still a writable primary"))
            // Held by this (live) test process, as a running operation's would be.
            let boot = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let lock = "{\"operation\":\"failover-held\",\"pid\":\(getpid()),\"bootID\":\"\(boot)\",\"since\":0}"
            try lock.write(toFile: "\(dir)/pgdr-operation.lock", atomically: true, encoding: .utf8)
            let busy = try await CLI.run(["switchover", "--config", config])
            #expect(busy.status == 3)
            #expect(busy.stderr.contains("failover-held is running"))
            try FileManager.default.removeItem(atPath: "\(dir)/pgdr-operation.lock")
            #expect(await Self.isPrimary(lab, "pg1") == true, "nothing changed")
        }
    }

    @Test func switchoverLosesNothingAndSwitchesBack() async throws {
        try await Self.withLab { config, lab in
            let writer = DrillWriter(targets: try ["pg1", "pg2"].map { ($0, try lab.adminTarget(node: $0)) })
            try await writer.prepare()
            let task = Task { await writer.run() }
            try await Task.sleep(for: .seconds(2))
            let result = try await CLI.run(["switchover", "--config", config])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("nothing is lost"))
            let gap = try #require(result.stdout.firstMatch(of: /write gap seen by clients: ([0-9.]+)s/).flatMap { Double($0.1) })
            #expect(gap < 10, "write gap \(gap) s")
            try await Task.sleep(for: .seconds(1))
            await writer.stop()
            await task.value
            #expect(await Self.isPrimary(lab, "pg2") == true)
            let acks = await writer.acks
            #expect(acks.count >= 10, "the writer should have written through the switchover")
            #expect(acks.contains { $0.node == "pg2" }, "writes continued on the new primary")
            let lost = try await writer.lost(on: try lab.adminTarget(node: "pg2"))
            #expect(lost.isEmpty, "acknowledged ids lost in switchover: \(lost.prefix(10))")
            // The old primary streams from the new one; and back again.
            let status = try await CLI.run(["status", "--config", config])
            #expect(status.status == 0, "\(status.stdout)")
            #expect(status.stdout.contains("replication pg2 -> pg1: streaming"))
            let back = try await CLI.run(["switchover", "--config", config])
            #expect(back.status == 0, "\(back.stderr)")
            #expect(await Self.isPrimary(lab, "pg1") == true)
        }
    }
}

@Suite(.serialized) struct DrillCommandTests {
    static func drill(_ scenario: String, config: String, runs: Int = 1) async throws -> (CLI.Result, [[String: Any]]) {
        let result = try await CLI.run(["drill", "--scenario", scenario, "--runs", "\(runs)", "--json", "--config", config])
        let report = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any]
        return (result, report?["runs"] as? [[String: Any]] ?? [])
    }

    @Test func oneDrillOfEachScenarioRestoresTheTopology() async throws {
        try await OperationCommandTests.withLab { config, lab in
            for scenario in ["node-loss", "postgres-crash", "switchover"] {
                let (result, runs) = try await Self.drill(scenario, config: config)
                #expect(result.status == 0, "\(scenario): \(result.stderr)")
                let run = try #require(runs.first, "\(scenario): no run in the report")
                let rto = try #require(run["rtoSeconds"] as? Double, "\(scenario): no RTO")
                #expect(rto > 0 && rto < 30, "\(scenario): RTO \(rto)")
                #expect((run["acknowledged"] as? Int ?? 0) > 20)
                #expect(run["from"] as? String == "pg1" && run["to"] as? String == "pg2")
                if scenario == "switchover" {
                    #expect(run["lost"] as? Int == 0, "a switchover loses nothing")
                } else {
                    #expect(run["rejoinMethod"] as? String == "pg_rewind")
                    #expect((run["lost"] as? Int ?? 99) <= 2, "async loss on loopback is a commit or two at most")
                }
                #expect(await OperationCommandTests.isPrimary(lab, "pg1") == true, "\(scenario): roles restored")
            }
            let status = try await CLI.run(["status", "--config", config])
            #expect(status.status == 0, "\(status.stdout)")
        }
    }

    @Test func synchronousModeLosesNoAcknowledgedCommit() async throws {
        let dir = NSTemporaryDirectory() + "pgdr-sync-\(UUID().uuidString.prefix(8))"
        defer { _ = try? CLI.runBlocking(["lab", "destroy", "--dir", dir, "--yes"]) }
        let up = try await CLI.run(["lab", "up", "--loopback", "--sync", "--dir", dir])
        #expect(up.status == 0, "\(up.stderr)")
        // The standby reports itself synchronous once it has reconnected after the reload.
        var status = try await CLI.run(["status", "--json", "--config", "\(dir)/pgdr.yaml"])
        let deadline = ContinuousClock.now + .seconds(15)
        while !status.stdout.contains("\"syncState\" : \"quorum\""), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            status = try await CLI.run(["status", "--json", "--config", "\(dir)/pgdr.yaml"])
        }
        // ANY 1 (...) is quorum commit: pg_stat_replication says `quorum` for it.
        #expect(status.stdout.contains("\"syncState\" : \"quorum\""), "\(status.stdout)")
        let (result, runs) = try await Self.drill("node-loss", config: "\(dir)/pgdr.yaml", runs: 2)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(runs.count == 2)
        for run in runs { #expect(run["lost"] as? Int == 0, "sync mode must not lose an acknowledged commit: \(run)") }
    }
}
