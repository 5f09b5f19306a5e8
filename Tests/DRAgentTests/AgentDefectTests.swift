import DRLocal
import DRPostgres
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
            try await PostgresSession.with(try env.lab.adminTarget(node: "pg1")) { session in
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
