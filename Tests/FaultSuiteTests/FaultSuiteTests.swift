import DRDrill
import DRLocal
import DRPostgres
import Foundation
import PGDRTestSupport
import Synchronization
import Testing

/// The fault suite: `pgdr` is killed (SIGKILL) at the beginning of every step
/// of every operation kind, under a writer, on a synchronous lab. For each
/// kill: never two writable primaries (sampled every 20 ms throughout), the
/// lock recovered by the one documented command (`pgdr approve ID`), the
/// pair healthy afterwards, and not one acknowledged commit lost.
@Suite(.serialized) struct FaultSuiteTests {
    /// Samples both nodes every 20 ms and remembers any moment both took writes.
    final class Watcher: Sendable {
        let targets: [(String, ConnectionTarget)]
        let overlaps = Mutex<[String]>([])
        let samples = Mutex(0)
        let running = Mutex(true)

        init(_ lab: Lab) throws {
            targets = try ["pg1", "pg2"].map { name in
                var target = try lab.adminTarget(node: name)
                target.connectTimeout = .milliseconds(300)
                target.statementTimeout = .milliseconds(300)
                target.clientGrace = .milliseconds(50)
                return (name, target)
            }
        }

        func writable(_ target: ConnectionTarget) async -> Bool {
            (try? await PostgresSession.with(target) { session in
                let rows = try await session.rows("SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')::bool")
                guard let (recovery, readOnly) = try rows.first?.decode((Bool, Bool).self) else { return false }
                return !recovery && !readOnly
            }) ?? false
        }

        func run() async {
            while running.withLock({ $0 }) {
                let started = Date()
                let states = await withTaskGroup(of: (String, Bool).self) { group in
                    for (name, target) in targets { group.addTask { (name, await self.writable(target)) } }
                    var out: [String: Bool] = [:]
                    for await (name, state) in group { out[name] = state }
                    return out
                }
                samples.withLock { $0 += 1 }
                if states.values.filter({ $0 }).count > 1 {
                    overlaps.withLock { $0.append("\(started.formatted(.iso8601)): \(states)") }
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }

        func stop() { running.withLock { $0 = false } }
    }

    /// Runs `pgdr ARGS` and SIGKILLs it the moment the journal shows `begin STEP`
    /// of a new operation. Returns that operation's id (nil if it never got there).
    static func killAt(_ step: String, _ arguments: [String], journal: String,
                       afterStart: (@Sendable () async throws -> Void)? = nil) async throws -> (id: String?, killed: Bool) {
        let offset = (try? FileManager.default.attributesOfItem(atPath: journal)[.size] as? Int) ?? 0
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        if let afterStart { try await afterStart() }
        var id: String?
        var killed = false
        while process.isRunning {
            if let data = FileManager.default.contents(atPath: journal), data.count > offset {
                for line in data[offset...].split(separator: 0x0A) {
                    guard let entry = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { continue }
                    id = id ?? entry["operation"] as? String
                    if entry["phase"] as? String == "begin", entry["step"] as? String == step {
                        kill(process.processIdentifier, SIGKILL)
                        killed = true
                    }
                }
            }
            if killed { break }
            try await Task.sleep(for: .milliseconds(1))
        }
        process.waitUntilExit()
        if id == nil, let data = FileManager.default.contents(atPath: journal), data.count > offset {
            id = data[offset...].split(separator: 0x0A).compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any])?["operation"] as? String
            }.first
        }
        return (id, killed)
    }

    /// The node out of recovery; asked again for up to 10 s, so one session a
    /// loaded machine was slow to open is not taken for "no primary".
    static func primary(_ lab: Lab) async -> String? {
        let deadline = ContinuousClock.now + .seconds(10)
        repeat {
            for node in ["pg1", "pg2"] {
                let writable = try? await PostgresSession.with(try lab.adminTarget(node: node)) {
                    try await !$0.value(Bool.self, "SELECT pg_is_in_recovery()")
                }
                if writable == true { return node }
            }
            try? await Task.sleep(for: .milliseconds(250))
        } while ContinuousClock.now < deadline
        return nil
    }

    /// The last lines of both servers' logs, for a failure message.
    static func serverLogs(_ config: String) -> String {
        let dir = (config as NSString).deletingLastPathComponent
        return ["us-east-1", "us-east-2"].map { region in
            let text = (try? String(contentsOfFile: "\(dir)/\(region)/postgres.log", encoding: .utf8)) ?? ""
            return "--- \(region)/postgres.log:\n" + text.split(separator: "\n").suffix(12).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// The documented way out of an interrupted operation, then a healthy pair.
    static func recover(_ id: String, config: String, label: String) async throws {
        let approve = try await CLI.run(["approve", id, "--config", config])
        let ended = approve.status == 3 && approve.stderr.contains("has ended")
        #expect(approve.status == 0 || approve.status == 4 || ended,
                "\(label): approve \(id): \(approve.status) \(approve.stdout)\(approve.stderr)\n\(serverLogs(config))")
        let dir = (config as NSString).deletingLastPathComponent
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/pgdr-operation.lock"), "\(label): the lock is still held")
    }

    static func waitHealthy(_ config: String, label: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        var status = try await CLI.run(["status", "--config", config])
        while status.status != 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            status = try await CLI.run(["status", "--config", config])
        }
        #expect(status.status == 0, "\(label): the pair is not healthy:\n\(status.stdout)\n\(serverLogs(config))")
    }

    @Test func killedAtEveryStepOfEveryOperation() async throws {
        let dir = NSTemporaryDirectory() + "pgdr-faults-\(UUID().uuidString.prefix(8))"
        // Destroyed whatever happens, a lab that came up only in part included.
        defer { _ = try? CLI.runBlocking(["lab", "destroy", "--dir", dir, "--yes"]) }
        let up = try await CLI.run(["lab", "up", "--loopback", "--sync", "--dir", dir])
        try #require(up.status == 0, "\(up.stderr)")
        let lab = Lab(directory: dir)
        let config = "\(dir)/pgdr.yaml", journal = "\(dir)/pgdr-operations.jsonl"
        try await Self.waitHealthy(config, label: "start")

        let writer = DrillWriter(targets: try ["pg1", "pg2"].map { ($0, try lab.adminTarget(node: $0)) })
        try await writer.prepare()
        let watcher = try Watcher(lab)
        let writing = Task { await writer.run() }
        let watching = Task { await watcher.run() }
        var kills = 0

        // Switchover, killed at each step; then whatever is stopped is started
        // again behind pgdr's back (a supervisor, an operator, a reboot): a
        // demoted old primary must come back read-only, never writable.
        for step in ["stop-writes", "wait-catch-up", "promote", "verify", "restart-old-as-standby", "repoint", "notify"] {
            let (id, killed) = try await Self.killAt(step, ["switchover", "--config", config], journal: journal)
            let label = "switchover killed at \(step)"
            let operation = try #require(id, "\(label): no operation journaled")
            if killed {
                kills += 1
                for node in ["pg1", "pg2"] {
                    let control = try lab.control(node: node)
                    guard control.data.postmasterPID == nil else { continue }
                    do {
                        try await control.start()
                    } catch {
                        // pgdr was killed while its own `pg_ctl start` ran: that
                        // postmaster may have won the race (a supervisor meets
                        // the same). Anything else is a failure.
                        try await Task.sleep(for: .milliseconds(500))
                        #expect(control.data.postmasterPID != nil,
                                "\(label): \(node) does not start: \(error)\n\(Self.serverLogs(config))")
                    }
                }
                try await Task.sleep(for: .milliseconds(300))
            }
            try await Self.recover(operation, config: config, label: label)
            try await Self.waitHealthy(config, label: label)
        }

        // Failover after node loss, killed at each step, then the old primary rejoined.
        for step in ["fence", "promote", "verify", "repoint", "notify"] {
            let label = "failover killed at \(step)"
            let old = try #require(await Self.primary(lab), "\(label): no primary before the fault")
            _ = try await lab.kill(node: old, withChildren: true)
            let plan = try await CLI.run(["failover", "--accept-data-loss", "--config", config])
            let id = try #require(plan.stdout.firstMatch(of: /approve with: pgdr approve (failover-[0-9a-f]+)/)?.1, "\(label): \(plan.stderr)")
            let (_, killed) = try await Self.killAt(step, ["approve", String(id), "--config", config], journal: journal)
            if killed { kills += 1 }
            try await Self.recover(String(id), config: config, label: label)
            let rejoin = try await CLI.run(["rejoin", old, "--config", config])
            #expect(rejoin.status == 0 || rejoin.status == 4, "\(label): rejoin \(old): \(rejoin.stderr)")
            try await Self.waitHealthy(config, label: label)
        }

        // Rejoin killed at each step (after a failover).
        for step in ["stop-node", "resync", "configure-standby", "create-slot", "start-standby", "wait-streaming"] {
            let label = "rejoin killed at \(step)"
            let old = try #require(await Self.primary(lab), "\(label): no primary before the fault")
            _ = try await lab.kill(node: old, withChildren: true)
            let plan = try await CLI.run(["failover", "--accept-data-loss", "--config", config])
            let id = try #require(plan.stdout.firstMatch(of: /approve with: pgdr approve (failover-[0-9a-f]+)/)?.1, "\(label): \(plan.stderr)")
            #expect(try await CLI.run(["approve", String(id), "--config", config]).status == 0, "\(label): the failover")
            let (rejoinID, killed) = try await Self.killAt(step, ["rejoin", old, "--config", config], journal: journal)
            if killed { kills += 1 }
            try await Self.recover(try #require(rejoinID, "\(label): no rejoin journaled"), config: config, label: label)
            try await Self.waitHealthy(config, label: label)
        }

        // The automatic agent killed at each step of its own failover, then
        // started again: it resumes the failover by itself (no stuck lock).
        let automatic = "\(dir)/automatic.yaml"
        try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "mode: manual", with: "mode: automatic")
            .replacingOccurrences(of: "interval: 2s", with: "interval: 1s")
            .write(toFile: automatic, atomically: true, encoding: .utf8)
        for step in ["fence", "promote", "verify"] {
            let label = "automatic failover, agent killed at \(step)"
            let old = try #require(await Self.primary(lab), "\(label): no primary before the fault")
            let (id, killed) = try await Self.killAt(step, ["agent", "--config", automatic, "--listen", "127.0.0.1:0"],
                                                     journal: journal) {
                try await Task.sleep(for: .seconds(3))
                _ = try await lab.kill(node: old, withChildren: true)
            }
            if killed { kills += 1 }
            let operation = try #require(id, "\(label): the agent journaled no failover")
            let restarted = Process()
            restarted.executableURL = URL(fileURLWithPath: CLI.binary)
            restarted.arguments = ["agent", "--config", automatic, "--listen", "127.0.0.1:0"]
            restarted.standardOutput = FileHandle.nullDevice
            restarted.standardError = FileHandle.nullDevice
            try restarted.run()
            let deadline = ContinuousClock.now + .seconds(30)
            func finished() -> Bool {
                (FileManager.default.contents(atPath: journal) ?? Data()).split(separator: 0x0A).contains { line in
                    let entry = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any]
                    return entry?["operation"] as? String == operation && entry?["phase"] as? String == "done"
                }
            }
            while ContinuousClock.now < deadline, !finished() {
                try await Task.sleep(for: .milliseconds(100))
            }
            kill(restarted.processIdentifier, SIGTERM)
            restarted.waitUntilExit()
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/pgdr-operation.lock"), "\(label): the lock is still held")
            let standing = try await CLI.run(["operations", "--config", config])
            #expect(standing.stdout.contains("\(operation)  failover  done"), "\(label): the restarted agent did not finish it:\n\(standing.stdout)")
            let rejoin = try await CLI.run(["rejoin", old, "--config", config])
            #expect(rejoin.status == 0 || rejoin.status == 4, "\(label): rejoin \(old): \(rejoin.stderr)")
            try await Self.waitHealthy(config, label: label)
        }

        try await Task.sleep(for: .milliseconds(500))
        await writer.stop()
        await writing.value
        watcher.stop()
        await watching.value
        #expect(kills >= 18, "the suite really killed pgdr mid-operation (\(kills) of 21)")
        #expect(watcher.samples.withLock { $0 } > 100, "the watcher really sampled")
        let overlaps = watcher.overlaps.withLock { $0 }
        #expect(overlaps.isEmpty, "two writable primaries at: \(overlaps.prefix(5))")
        let primary = try #require(await Self.primary(lab))
        let acks = await writer.acks
        #expect(acks.count > 100, "the writer really wrote (\(acks.count))")
        let lost = try await writer.lost(on: try lab.adminTarget(node: primary))
        #expect(lost.isEmpty, "acknowledged commits lost in sync mode: \(lost.prefix(10).map(\.id))")
    }
}
