import DRLocal
import DRPostgres
import DRProcess
import Foundation
import PGDRTestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Defects the fault suite found in the agent: idle connections that
/// silenced alerting, and a notice lost between a failed delivery and its retry.
@Suite(.serialized) struct AgentDefectTests {
    /// Opens `count` TCP connections to the agent and leaves them idle.
    static func idleConnections(to base: String, count: Int) -> [Int32] {
        guard let url = URL(string: base), let port = url.port else { return [] }
        var sockets: [Int32] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if connected == 0 { sockets.append(fd) } else { close(fd) }
        }
        return sockets
    }

    /// 300 idle connections held open (a load balancer's worth, or an
    /// attacker's): the health check a load balancer makes still answers
    /// within its deadline (HAProxy's default check timeout is 2 s).
    @Test func threeHundredIdleConnectionsLeaveThePrimaryCheckFast() async throws {
        try await AgentLab.with(sinks: "  - {type: log, path: notices.jsonl}") { env in
            let agent = try AgentProcess(config: env.configPath)
            #expect(await agent.waitFor("/primary?node=pg1", status: 200, within: .seconds(15)))
            let sockets = Self.idleConnections(to: agent.base, count: 300)
            defer { for fd in sockets { close(fd) } }
            #expect(sockets.count == 300, "the test must really hold the connections (\(sockets.count))")
            // HAProxy marks a server down after two checks in a row miss their 2 s timeout
            // (fall 2): no two consecutive answers may be that slow.
            var times: [Duration] = []
            for _ in 0..<10 {
                let started = ContinuousClock.now
                let (status, _) = try await agent.get("/primary?node=pg1")
                times.append(ContinuousClock.now - started)
                #expect(status == 200)
            }
            let twoSlowInARow = zip(times, times.dropFirst()).contains { $0 >= .seconds(2) && $1 >= .seconds(2) }
            #expect(!twoSlowInARow, "two /primary answers in a row took 2 s or more with 300 idle connections held: \(times)")
            #expect(agent.stop() == 0)
        }
    }

    /// With an open-file limit of 256, 300 idle connections used to exhaust the
    /// agent's descriptors: /health hung, and when the standby went down the
    /// alarm was neither journaled nor sent ("Too many open files").
    @Test func idleConnectionsNeverSilenceAlerting() async throws {
        let receiver = try await WebhookReceiver.start()
        let sinks = "  - {type: webhook, url: \"\(receiver.url)\", timeout: 2s, retries: 3}"
        try await AgentLab.with(sinks: sinks) { env in
            let agent = try AgentProcess(config: env.configPath, fileLimit: 256)
            #expect(await agent.waitFor("/replica?node=pg2", status: 200, within: .seconds(15)))
            let sockets = Self.idleConnections(to: agent.base, count: 300)
            defer { for fd in sockets { close(fd) } }
            #expect(sockets.count >= 250, "the test must really hold the connections (\(sockets.count))")
            try await env.lab.control(node: "pg2").stop(.fast)
            let fired = await receiver.waitFor(within: .seconds(20)) { $0["alarm"] == "dr-at-risk" && $0["to"] == "ALARM" }
            #expect(fired != nil, "the alarm must reach the webhook despite 300 idle connections")
            let journal = env.journal()
            #expect(journal.contains { $0["alarm"] as? String == "dr-at-risk" && $0["to"] as? String == "ALARM" })
            // Idle connections are closed after their timeout: health answers again.
            #expect(await agent.waitFor("/health", status: 200, within: .seconds(15)))
            #expect(agent.stop() == 0)
            await receiver.stop()
        }
    }

    /// The agent SIGKILLed between a failed delivery and its retry: the notice
    /// used to be lost. It now waits in the journal's outbox and is delivered
    /// by the restarted agent, with the same id.
    @Test func aNoticeSurvivesTheAgentDyingBeforeItsRetry() async throws {
        let port = try FreePort.pick()
        let sinks = "  - {type: webhook, url: \"http://127.0.0.1:\(port)/hook\", timeout: 1s, retries: 8}"
        try await AgentLab.with(sinks: sinks) { env in
            let first = try AgentProcess(config: env.configPath)
            #expect(await first.waitFor("/replica?node=pg2", status: 200, within: .seconds(15)))
            try await env.lab.control(node: "pg2").stop(.fast)
            // Wait for a failed attempt at the dr-at-risk notice (nothing listens yet).
            let deadline = ContinuousClock.now + .seconds(20)
            var notice: String?
            while notice == nil, ContinuousClock.now < deadline {
                notice = env.journal().first {
                    $0["kind"] as? String == "delivery" && $0["alarm"] as? String == "dr-at-risk" && $0["ok"] as? Bool == false
                }?["notice"] as? String
                try await Task.sleep(for: .milliseconds(100))
            }
            let id = try #require(notice, "no failed delivery journaled")
            first.kill9()
            let receiver = try await WebhookReceiver.start(port: port)
            let second = try AgentProcess(config: env.configPath)
            let delivered = await receiver.waitFor(within: .seconds(20)) { $0["id"] == id }
            #expect(delivered != nil, "notice \(id) was lost with the agent")
            #expect(second.stop() == 0)
            await receiver.stop()
        }
    }
}

/// A stuck standby made the primary's slot keep WAL without limit, with no
/// warning. The lab now sets max_slot_wal_keep_size, and the agent watches
/// how much WAL a slot can still take before it is invalidated.
@Suite(.serialized) struct SlotAndDiskTests {
    @Test func aSlotCloseToInvalidationRaisesAnAlarmAndEveryNodesDiskIsExported() async throws {
        // 1000MB of margin against the lab's 1GB limit: a few tens of MB of WAL cross it.
        try await AgentLab.with(sinks: "  - {type: log, path: notices.jsonl}", thresholds: "slotSafeWAL: 1000MB") { env in
            let agent = try AgentProcess(config: env.configPath)
            #expect(await agent.waitFor("/replica?node=pg2", status: 200, within: .seconds(15)))
            let (_, metrics) = try await agent.get("/metrics")
            for node in ["pg1", "pg2"] {
                #expect(metrics.contains("pgdr_free_storage_bytes{node=\"\(node)\""), "free space of \(node) is exported")
            }
            #expect(metrics.contains("pgdr_slot_safe_wal_bytes{"))
            try await env.lab.control(node: "pg2").stop(.fast)
            var bulk = try env.lab.adminTarget(node: "pg1")
            bulk.statementTimeout = .seconds(120)
            try await PostgresSession.with(bulk) { session in
                try await session.execute("CREATE TABLE wal_filler AS SELECT g, md5(g::text) AS a, md5((g * 7)::text) AS b FROM generate_series(1, 400000) g")
                _ = try await session.rows("SELECT pg_switch_wal()")
            }
            let deadline = ContinuousClock.now + .seconds(20)
            var fired = false
            while !fired, ContinuousClock.now < deadline {
                fired = env.journal().contains { $0["alarm"] as? String == "slot-wal-at-risk" && $0["to"] as? String == "ALARM" }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(fired, "slot-wal-at-risk never fired")
            let settings = try await PostgresSession.with(try env.lab.adminTarget(node: "pg1")) {
                try await $0.value(String.self, "SELECT current_setting('max_slot_wal_keep_size')")
            }
            #expect(settings == "1GB")
            #expect(agent.stop() == 0)
        }
    }
}

/// Silent faults: a primary that accepts connections and never answers (its
/// processes stopped with SIGSTOP, as a silently cut link looks from here).
@Suite(.serialized) struct SilentPrimaryTests {
    static func freeze(_ env: AgentLab, _ node: String) async throws -> [Int32] {
        let postmaster = try #require(try env.lab.control(node: node).data.postmasterPID)
        let frozen = [postmaster] + ProcessTable.children(of: postmaster)
        for pid in frozen { kill(pid, SIGSTOP) }
        return frozen
    }

    /// Defect: an automatic failover across a silent link took 21 to 38 s,
    /// most of it waiting on connection timeouts to the old primary. Every
    /// wait is now bounded (probes by their interval, the agent's fresh look
    /// by the detection window, the fence by failover.fenceTimeout), and a
    /// local old primary that will not stop is killed by the fence.
    @Test func anAutomaticFailoverAcrossASilentPrimaryIsBounded() async throws {
        let failover = "failover: {mode: automatic, maxDataLoss: 1m, fenceTimeout: 3s}"
        try await AgentLab.with(sinks: "  - {type: log, path: notices.jsonl}", failover: failover) { env in
            let agent = try AgentProcess(config: env.configPath)
            #expect(await agent.waitFor("/primary?node=pg1", status: 200, within: .seconds(15)))
            try await Task.sleep(for: .seconds(2))
            let frozen = try await Self.freeze(env, "pg1")
            defer { for pid in frozen { kill(pid, SIGCONT) } }
            let started = ContinuousClock.now
            #expect(await agent.waitFor("/primary?node=pg2", status: 200, within: .seconds(30)))
            let took = ContinuousClock.now - started
            #expect(took < .seconds(12), "failover across a silent primary took \(took)")
            #expect(env.lab.isFenced(node: "pg1"))
            #expect(frozen.allSatisfy { ProcessTable.hasExited($0) }, "the silent old primary was stopped (killed) by the fence")
            #expect(agent.stop() == 0)
        }
    }

    /// Defect: after a cut link healed, /primary answered 503 for both nodes and
    /// nothing said what to do. Here the old primary cannot be fenced (no
    /// `control:` for it, and it does not answer SQL): the failover says NOT
    /// fenced within the bound, and once it answers again status names the
    /// stale node and the command, /primary answers for the promoted node, and
    /// that command brings the pair back.
    @Test func aHealedSplitBrainIsNamedAndRepaired() async throws {
        try await AgentLab.with(sinks: "  - {type: log, path: notices.jsonl}", failover: "failover: {mode: manual, fenceTimeout: 2s}") { env in
            let full = env.configPath
            let dir = (full as NSString).deletingLastPathComponent
            let blind = "\(dir)/blind.yaml"
            var text = try String(contentsOfFile: full, encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                guard line.contains("name: pg1"), let range = line.range(of: ", control: {") else { return String(line) }
                return String(line[..<range.lowerBound]) + "}"
            }
            text = lines.joined(separator: "\n")
            try text.write(toFile: blind, atomically: true, encoding: .utf8)
            let frozen = try await Self.freeze(env, "pg1")
            let plan = try await CLI.run(["failover", "--accept-data-loss", "--config", blind])
            let id = try #require(plan.stdout.firstMatch(of: /approve with: pgdr approve (failover-[0-9a-f]+)/)?.1, "\(plan.stdout)\(plan.stderr)")
            #expect(plan.stdout.contains("gives up after 2s"))
            let started = ContinuousClock.now
            let approve = try await CLI.run(["approve", String(id), "--config", blind])
            #expect(approve.status == 4, "NOT fenced is a degraded outcome: \(approve.stdout)\(approve.stderr)")
            #expect(approve.stdout.contains("NOT fenced"))
            #expect(ContinuousClock.now - started < .seconds(15), "the fence is bounded by fenceTimeout")
            for pid in frozen { kill(pid, SIGCONT) }
            try await Task.sleep(for: .milliseconds(500))
            let status = try await CLI.run(["status", "--config", full])
            #expect(status.status == 1)
            #expect(status.stdout.contains("split brain: pg1 was demoted by \(id)"), "\(status.stdout)")
            #expect(status.stdout.contains("pgdr rejoin pg1"))
            let agent = try AgentProcess(config: full)
            #expect(await agent.waitFor("/primary?node=pg2", status: 200, within: .seconds(15)), "the promoted node is the primary")
            #expect(try await agent.get("/primary?node=pg1").0 == 503)
            #expect(agent.stop() == 0)
            let rejoin = try await CLI.run(["rejoin", "pg1", "--config", full])
            #expect(rejoin.status == 0 || rejoin.status == 4, "\(rejoin.stdout)\(rejoin.stderr)")
            let healed = try await CLI.run(["status", "--config", full])
            #expect(healed.status == 0, "\(healed.stdout)")
        }
    }
}
