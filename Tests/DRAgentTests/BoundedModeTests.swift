import DRLocal
import DRPostgres
import Foundation
import PGDRTestSupport
import Testing

/// `replication.mode: bounded` against real servers and the real agent, with
/// a libpq writer outside pgdr (bench/libpq_writer.py) counting what was
/// acknowledged: the DR replica stopped under the writer, commits held at the
/// bound and kept held with the agent dead, flowing again when the replica
/// catches up, released by the operator's accepted risk; and a failover after
/// a long lag that loses no more than the bound.
@Suite(.serialized) struct BoundedModeTests {
    static let bound = 3.0
    static let interval = 1.0
    static let replication = "replication: {mode: bounded, maxLag: 3s}"

    @Test func commitsWaitAtTheBoundStayHeldWithoutTheAgentAndFlowWhenTheReplicaIsBack() async throws {
        try await AgentLab.with(sinks: "  - {type: log, path: notices.jsonl}", failover: Self.replication) { env in
            let pg1 = try env.lab.adminTarget(node: "pg1")
            try await PostgresSession.with(pg1) { _ = try await $0.rows("CREATE TABLE pgdr_bench (id int PRIMARY KEY)") }
            var agent = try AgentProcess(config: env.configPath)
            #expect(await agent.waitFor("/health", status: 200, within: .seconds(15)))
            let writer = try Writer(env, node: "pg1")
            try await Task.sleep(for: .seconds(2))
            #expect(try await Self.held(env) == false, "a replica in step: commits flow")

            // The DR replica stops: commits go on until the unreceived WAL reaches the bound, then wait.
            let stopped = Date()
            _ = try await env.lab.control(node: "pg2").stop(.fast)
            #expect(await Self.eventually(.seconds(15)) { (try? await Self.held(env)) == true }, "commits were not held")
            try await Task.sleep(for: .seconds(1))
            let during = try await Self.count(env)
            try await Task.sleep(for: .seconds(2))
            #expect(try await Self.count(env) == during, "a commit went through while held")
            let (_, metrics) = try await agent.get("/metrics")
            #expect(metrics.contains("pgdr_commits_held 1") && metrics.contains("pgdr_commits_waiting 1"), "\(metrics.prefix(0))")
            let status = try await CLI.run(["status", "--config", env.configPath])
            #expect(status.status == 1 && status.stdout.contains("commits HELD"), "\(status.stdout)")

            // The agent dies while commits are held: they stay held (the setting is the server's).
            agent.kill9()
            try await Task.sleep(for: .seconds(3))
            let stillHeld = try await Self.held(env), stillCount = try await Self.count(env)
            #expect(stillHeld && stillCount == during, "the hold did not outlive the agent")

            // The replica comes back: the waiting commits complete, with no agent at all.
            try await env.lab.control(node: "pg2").start()
            #expect(await Self.eventually(.seconds(20)) { ((try? await Self.count(env)) ?? 0) > during + 10 }, "commits did not flow again")
            // The agent, back, lets them go asynchronous once the replica is well inside the bound.
            agent = try AgentProcess(config: env.configPath)
            #expect(await Self.eventually(.seconds(15)) { (try? await Self.held(env)) == false }, "the agent did not release the hold")

            // Stopped again, held again; the operator accepts the risk and commits flow with the replica down.
            _ = try await env.lab.control(node: "pg2").stop(.fast)
            #expect(await Self.eventually(.seconds(15)) { (try? await Self.held(env)) == true })
            let refused = try await CLI.run(["release-commits", "--config", env.configPath])
            #expect(refused.status == 2 && refused.stderr.contains("--accept-risk"), "\(refused.stderr)")
            #expect(try await Self.held(env) == true, "nothing changed without --accept-risk")
            let released = try await CLI.run(["release-commits", "--accept-risk", "--reason", "DR region lost", "--config", env.configPath])
            #expect(released.status == 0, "\(released.stdout)\(released.stderr)")
            let after = try await Self.count(env)
            try await Task.sleep(for: .seconds(3))
            #expect(try await Self.held(env) == false, "the agent held commits again despite the accepted risk")
            #expect(try await Self.count(env) > after + 10, "commits did not flow after the release")
            let log = (try? String(contentsOfFile: "\(env.lab.layout.root)/pgdr-rpo-bound.jsonl", encoding: .utf8)) ?? ""
            #expect(log.contains("\"event\":\"hold\"") && log.contains("\"event\":\"release\"")
                    && log.contains("\"event\":\"accept-risk\"") && log.contains("DR region lost"), "\(log)")
            try await env.lab.control(node: "pg2").start()
            #expect(await Self.eventually(.seconds(20)) {
                ((try? String(contentsOfFile: "\(env.lab.layout.root)/pgdr-rpo-bound.jsonl", encoding: .utf8)) ?? "").contains("\"event\":\"rearm\"")
            }, "the bound was not armed again once the replica caught up")

            let acks = try await writer.stop()
            _ = agent.stop()
            // What was acknowledged after the replica stopped and before the hold: at most the bound and one round.
            let firstHold = acks.filter { $0 > stopped.timeIntervalSince1970 }
            let unreceived = zip(firstHold, firstHold.dropFirst()).first { $1 - $0 > 2 }.map { $0.0 } ?? firstHold.last ?? 0
            let span = unreceived - stopped.timeIntervalSince1970
            #expect(span <= Self.bound + Self.interval + 0.5,
                    "commits were acknowledged for \(span) s after the replica stopped (bound \(Self.bound) s, interval \(Self.interval) s)")
            let events = env.journal().compactMap { $0["message"] as? String }
            #expect(events.contains { $0.hasPrefix("commits held on pg1") } && events.contains { $0.hasPrefix("commits released on pg1") })
        }
    }

    @Test func aFailoverAfterALongLagLosesNoMoreThanTheBound() async throws {
        try await AgentLab.with(sinks: "  - {type: log, path: notices.jsonl}", failover: Self.replication) { env in
            let pg1 = try env.lab.adminTarget(node: "pg1")
            try await PostgresSession.with(pg1) { _ = try await $0.rows("CREATE TABLE pgdr_bench (id int PRIMARY KEY)") }
            let agent = try AgentProcess(config: env.configPath)
            defer { _ = agent.stop() }
            #expect(await agent.waitFor("/health", status: 200, within: .seconds(15)))
            let writer = try Writer(env, node: "pg1")
            try await Task.sleep(for: .seconds(2))
            // The link to the DR region is lost for long (the replica stops receiving), then the primary region.
            _ = try await env.lab.control(node: "pg2").stop(.fast)
            #expect(await Self.eventually(.seconds(15)) { (try? await Self.held(env)) == true })
            try await Task.sleep(for: .seconds(4))
            _ = try await env.lab.control(node: "pg1").stop(.immediate)
            let acks = try await writer.acknowledged()
            try await env.lab.control(node: "pg2").start()
            try await Task.sleep(for: .seconds(3))
            let plan = try await CLI.run(["failover", "--config", env.configPath])
            #expect(plan.stdout.contains("bounded mode"), "the plan states the bound's promise: \(plan.stdout)\(plan.stderr)")
            let id = try #require(plan.stdout.firstMatch(of: /approve with: pgdr approve (failover-[0-9a-f]+)/).map { String($0.1) },
                                  "\(plan.stdout)\(plan.stderr)")
            let approved = try await CLI.run(["approve", id, "--config", env.configPath])
            #expect(approved.status == 0 || approved.status == 4, "\(approved.stdout)\(approved.stderr)")
            let kept = try await PostgresSession.with(try env.lab.adminTarget(node: "pg2")) { session in
                Set(try await session.rows("SELECT id FROM pgdr_bench").map { try $0.decode(Int.self) })
            }
            let lost = acks.filter { !kept.contains($0.id) }.map(\.at)
            let window = (lost.max() ?? 0) - (lost.min() ?? 0)
            #expect(!acks.isEmpty && kept.count > 10)
            #expect(window <= Self.bound + Self.interval + 0.5,
                    "\(lost.count) acknowledged commits lost over \(window) s (bound \(Self.bound) s)")
        }
    }

    /// True while the primary makes commits wait for a synchronous standby.
    static func held(_ env: AgentLab) async throws -> Bool {
        try await PostgresSession.with(try env.lab.adminTarget(node: "pg1")) { session in
            try await session.rows("SELECT current_setting('synchronous_standby_names') <> ''").first!.decode(Bool.self)
        }
    }

    /// Rows committed and visible on the primary (a commit waiting for the standby is not).
    static func count(_ env: AgentLab) async throws -> Int {
        try await PostgresSession.with(try env.lab.adminTarget(node: "pg1")) { session in
            try await session.rows("SELECT count(*)::int FROM pgdr_bench").first!.decode(Int.self)
        }
    }

    static func eventually(_ limit: Duration, _ check: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if await check() { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// bench/libpq_writer.py against one node: an autocommit INSERT every 5 ms
    /// with sequential ids; `stop` returns the acknowledgement times, id order.
    final class Writer: @unchecked Sendable {
        let process = Process()
        let out: String

        init(_ env: AgentLab, node: String) throws {
            let root = env.lab.layout.root
            let port = try env.lab.state().nodes.first { $0.name == node }!.port
            out = "\(root)/writer-\(UUID().uuidString.prefix(6)).json"
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("bench/libpq_writer.py").path
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script, "host=127.0.0.1 port=\(port) user=pgdr_admin dbname=postgres "
                                 + "sslmode=verify-full sslrootcert=\(env.lab.layout.certificateAuthority)", out]
            process.environment = ["PGPASSFILE": env.lab.layout.clientPassfile, "PATH": "/usr/bin:/bin"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        func stop() async throws -> [Double] { try await acknowledged().map(\.at) }

        /// Each acknowledged commit: its id and when the answer came.
        func acknowledged() async throws -> [(id: Int, at: Double)] {
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(20)
            while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            let data = try Data(contentsOf: URL(fileURLWithPath: out))
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            return (object?["acks"] as? [[Any]] ?? []).compactMap { row in
                guard row.count > 1, let id = row[0] as? Int, let at = row[1] as? Double else { return nil }
                return (id, at)
            }
        }
    }
}
