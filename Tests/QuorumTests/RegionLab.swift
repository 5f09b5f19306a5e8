import DRLocal
import DRPostgres
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PGDRTestSupport
import Testing

/// A lab of regions (network namespaces, etcd in each region, an agent
/// beside each node), driven through the `pgdr` binary as a user would.
struct RegionLab {
    let dir: String
    let state: LabState

    var config: String { "\(dir)/pgdr.yaml" }
    var nodes: [String] { state.nodes.map(\.name) }

    static func up(_ flags: [String] = []) async throws -> RegionLab {
        let dir = try CLI.tempDirectory() + "/lab"
        let up = try await CLI.run(["lab", "up", "--dir", dir] + flags)
        // A lab that came up only in part (namespaces, etcd, agents, servers) is
        // destroyed before the test fails: nothing may outlive it.
        do {
            try #require(up.status == 0, "lab up: \(up.stdout)\(up.stderr)")
            let lab = RegionLab(dir: dir, state: try Lab(directory: dir).state())
            try #require(lab.state.quorum != nil, "a lab of regions (root) was expected")
            // `lab up` returns once the standby streams; pg1's agent may still be taking the key.
            try #require(await eventually(.seconds(30)) { await lab.writable("pg1") }, "pg1 did not become a writable primary after lab up")
            try await lab.sql("pg1", "CREATE TABLE IF NOT EXISTS pgdr_dual (id bigint PRIMARY KEY)")
            return lab
        } catch {
            _ = try? await CLI.run(["lab", "destroy", "--yes", "--dir", dir])
            throw error
        }
    }

    /// Destroys the lab. With `PGDR_TEST_KEEP_LOGS=DIR` its logs (agents, etcd
    /// members, PostgreSQL servers) are copied to DIR/<lab> first, for a failure's post-mortem.
    func destroy() {
        if let keep = ProcessInfo.processInfo.environment["PGDR_TEST_KEEP_LOGS"], !keep.isEmpty {
            let target = "\(keep)/\(URL(fileURLWithPath: dir).deletingLastPathComponent().lastPathComponent)"
            _ = try? CLI.runProgram("/bin/sh", ["-c", "mkdir -p \"$1\" && cd \"$2\" && find . -name '*.log' -exec cp --parents {} \"$1\" \\;",
                                                "keep", target, dir], in: nil, environment: [:])
        }
        _ = try? CLI.runBlocking(["lab", "destroy", "--yes", "--dir", dir])
    }

    func pgdr(_ arguments: [String]) async throws -> CLI.Result {
        try await CLI.run(arguments + ["--config", config])
    }

    func lab(_ arguments: [String]) async throws -> CLI.Result {
        try await CLI.run(["lab"] + arguments + ["--dir", dir])
    }

    func address(_ node: String) -> String { state.nodes.first { $0.name == node }!.address }

    /// A TCP connection from `from`'s namespace to `to`'s server, given `limit`:
    /// curl's exit status (28: timed out, 7: refused or failed at once) and how long it took.
    func connect(from: String, to: String, limit: Double) async throws -> (status: Int32, took: Double) {
        let namespace = try #require(state.quorum?.network.region(region(from))?.namespace)
        let started = Date()
        let result = try await CLI.program("/bin/ip", ["netns", "exec", namespace, "/usr/bin/curl", "-s", "-o", "/dev/null",
                                                       "--connect-timeout", "\(limit)", "telnet://\(address(to)):5432"], stdin: Data())
        return (result.status, Date().timeIntervalSince(started))
    }
    func region(_ node: String) -> String { state.nodes.first { $0.name == node }!.region }

    /// The last lines of a node's agent log, for a failure message.
    func agentLogTail(_ node: String, lines: Int = 40) -> String {
        let text = (try? String(contentsOfFile: "\(dir)/\(region(node))/agent.log", encoding: .utf8)) ?? "(no agent.log)"
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// The last lines of the etcd member's log in a node's region: whether it lost its
    /// leader, held elections, or warned of slow disk writes while a lease was due.
    func etcdLogTail(_ node: String, lines: Int = 25) -> String {
        let text = (try? String(contentsOfFile: "\(dir)/\(region(node))/etcd.log", encoding: .utf8)) ?? "(no etcd.log)"
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// A libpq connection string for the admin role (the password from the lab's passfile).
    func dsn(_ node: String) -> String {
        let n = state.nodes.first { $0.name == node }!
        return "host=\(n.address) port=\(n.port) user=pgdr_admin dbname=postgres passfile=\(dir)/pgpass"
    }

    func target(_ node: String) throws -> ConnectionTarget {
        var target = try Lab(directory: dir).adminTarget(node: node)
        target.connectTimeout = .milliseconds(500)
        target.statementTimeout = .milliseconds(500)
        target.clientGrace = .milliseconds(100)
        return target
    }

    /// Setup statements: ordinary deadlines (the tight ones are for polling,
    /// which retries; a loaded machine can take more than 500 ms to connect).
    func sql(_ node: String, _ query: String) async throws {
        var target = try Lab(directory: dir).adminTarget(node: node)
        target.connectTimeout = .seconds(5)
        target.statementTimeout = .seconds(10)
        try await PostgresSession.with(target) { session in _ = try await session.rows(query) }
    }

    /// True when the node answers as a primary that takes writes.
    func writable(_ node: String) async -> Bool {
        guard let target = try? target(node) else { return false }
        return (try? await PostgresSession.with(target) { session in
            let rows = try await session.rows("SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')::bool")
            guard let (recovery, readOnly) = try rows.first?.decode((Bool, Bool).self) else { return false }
            return !recovery && !readOnly
        }) ?? false
    }

    /// (primary, standby): which node takes writes (exactly one must). Asked again for up
    /// to 20 s: a probe that times out on a loaded machine (the suite runs beside this
    /// test) reads as "not writable", and the phase before may still be settling.
    func roles() async throws -> (String, String) {
        var writable: [String] = []
        let deadline = ContinuousClock.now + .seconds(20)
        repeat {
            writable = []
            for node in nodes where await self.writable(node) { writable.append(node) }
            if writable.count == 1 { break }
            try await Task.sleep(for: .milliseconds(500))
        } while ContinuousClock.now < deadline
        let logs = nodes.map { "\($0):\n\(agentLogTail($0))" }.joined(separator: "\n---\n")
        try #require(writable.count == 1, "expected one writable node, found \(writable); agents said:\n\(logs)")
        return (writable[0], nodes.first { $0 != writable[0] }!)
    }

    /// True when the node is a standby whose WAL receiver streams.
    func streams(_ node: String) async -> Bool {
        guard let target = try? target(node) else { return false }
        return (try? await PostgresSession.with(target) { session in
            let rows = try await session.rows("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")
            return try rows.first?.decode(Int.self) == 1
        }) ?? false
    }

    func ids(on node: String) async throws -> Set<Int> {
        try await PostgresSession.with(try target(node)) { session in
            Set(try await session.rows("SELECT id FROM pgdr_dual").map { try $0.decode(Int.self) })
        }
    }

    /// The agent's Prometheus text on one node (from the root namespace), over
    /// HTTPS verified against the lab's CA: off loopback the API serves nothing else.
    func metrics(_ node: String) async -> String {
        let result = try? await CLI.program("/usr/bin/curl", ["-sS", "--max-time", "2", "--cacert", "\(dir)/tls/ca.crt",
                                                               "https://\(address(node)):8008/metrics"])
        return result?.status == 0 ? result?.stdout ?? "" : ""
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(_ timeout: Duration, every: Duration = .milliseconds(100),
                           _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: every)
        }
        return await condition()
    }
}

/// `bench/dual_writer.py`: a libpq client outside pgdr trying every node
/// directly every 10 ms, so a split brain shows as acknowledged writes on both.
final class DualWriter: @unchecked Sendable {
    struct Ack { var id: Int; var at: Double; var node: Int }
    struct Result {
        var acks: [Ack]
        var errors: [Int]
        func times(_ node: Int) -> [Double] { acks.filter { $0.node == node }.map(\.at) }
        func ids(_ node: Int) -> [Int] { acks.filter { $0.node == node }.map(\.id) }
    }

    let process = Process()
    let out: String
    let nodes: [String]

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("bench/dual_writer.py").path
    }

    init(_ lab: RegionLab, nodes: [String] = ["pg1", "pg2"], intervalMs: Int = 10) throws {
        out = "\(lab.dir)/writer-\(UUID().uuidString.prefix(6)).json"
        self.nodes = nodes
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.script, out, String(intervalMs)] + nodes.map(lab.dsn)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func index(_ node: String) -> Int { nodes.firstIndex(of: node)! }

    /// Waits until the writer has had a write acknowledged by `node` (a
    /// loaded machine can take more than a second to connect).
    func reached(_ node: String, within limit: Duration = .seconds(20)) async -> Bool {
        await RegionLab.eventually(limit) { FileManager.default.fileExists(atPath: "\(self.out).first-\(self.index(node))") }
    }

    /// A test that stops early (a failed #require) leaves no writer behind.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    func stop() async throws -> Result {
        process.terminate()
        let process = self.process
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Blocking.run { process.waitUntilExit(); c.resume() }
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let acks = (object["acks"] as! [[Any]]).map {
            Ack(id: ($0[0] as! NSNumber).intValue, at: ($0[1] as! NSNumber).doubleValue, node: ($0[2] as! NSNumber).intValue)
        }
        return Result(acks: acks, errors: (object["errors"] as! [NSNumber]).map(\.intValue))
    }
}
