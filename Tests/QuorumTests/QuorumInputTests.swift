import DRDCS
import DRLocal
import DROperations
import DROrchestrator
import DRSpec
import Foundation
import PGDRTestSupport
import Testing

/// A single etcd member on 127.0.0.1, on free ports, stopped by its PID.
final class LocalEtcd {
    let process = Process()
    let client: Int
    let dir: String
    let scheme: String

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                guard bind(fd, $0, length) == 0, getsockname(fd, $0, &length) == 0 else { throw POSIXError(.EADDRINUSE) }
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `tls`: serve clients over HTTPS with this certificate and key (verified against `ca`).
    init(clientPort: Int? = nil, tls: (certificate: String, key: String, ca: String)? = nil) async throws {
        dir = try CLI.tempDirectory()
        scheme = tls == nil ? "http" : "https"
        client = try clientPort ?? Self.freePort()
        let peer = try Self.freePort()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/etcd")
        process.arguments = ["--name", "t", "--data-dir", "\(dir)/etcd",
                             "--listen-client-urls", "\(scheme)://127.0.0.1:\(client)", "--advertise-client-urls", "\(scheme)://127.0.0.1:\(client)",
                             "--listen-peer-urls", "http://127.0.0.1:\(peer)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peer)",
                             "--initial-cluster", "t=http://127.0.0.1:\(peer)", "--log-level", "error"]
            + (tls.map { ["--cert-file", $0.certificate, "--key-file", $0.key] } ?? [])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let etcd = try tls.map { try EtcdClient.secured(endpoints: [url], timeout: .milliseconds(500), tls: EtcdTLSFiles(ca: $0.ca)) }
            ?? EtcdClient(endpoints: [url], timeout: .milliseconds(500))
        let deadline = ContinuousClock.now + .seconds(20)
        while (try? await etcd.get("/probe")) == nil, ContinuousClock.now < deadline {
            if (try? await etcd.list(prefix: "/")) != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    var url: URL { URL(string: "\(scheme)://127.0.0.1:\(client)")! }

    func stop() {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// The etcd client on a real etcd, and the bad input quorum mode refuses.
@Suite(.serialized) struct QuorumInputTests {
    @Test func etcdOverTLSIsVerifiedAgainstTheCA() async throws {
        let folder = try CLI.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let ca = LabCertificates(folder: "\(folder)/ca"), other = LabCertificates(folder: "\(folder)/other")
        try await ca.makeAuthority()
        try await other.makeAuthority(name: "someone else's CA")
        try await ca.issue(commonName: "etcd", names: ["127.0.0.1"], certificate: "\(folder)/etcd.crt", key: "\(folder)/etcd.key")
        let etcd = try await LocalEtcd(tls: ("\(folder)/etcd.crt", "\(folder)/etcd.key", ca.authority))
        defer { etcd.stop() }
        let trusted = try EtcdClient.secured(endpoints: [etcd.url], timeout: .milliseconds(800), tls: EtcdTLSFiles(ca: ca.authority))
        try await trusted.put("/tls/probe", value: Data("yes".utf8), lease: nil)
        #expect(try await trusted.get("/tls/probe")?.value == Data("yes".utf8))
        // Another CA: the member is not trusted, nothing is read or written.
        let untrusting = try EtcdClient.secured(endpoints: [etcd.url], timeout: .milliseconds(800), tls: EtcdTLSFiles(ca: other.authority))
        let refused = await #expect(throws: DCSError.self) { try await untrusting.put("/tls/probe", value: Data("no".utf8), lease: nil) }
        #expect("\(refused.map(String.init(describing:)) ?? "")".contains("etcd unreachable"))
        #expect(try await trusted.get("/tls/probe")?.value == Data("yes".utf8))
        // Plain HTTP to the TLS port gets nowhere either.
        let plain = EtcdClient(endpoints: [URL(string: "http://127.0.0.1:\(etcd.client)")!], timeout: .milliseconds(800))
        await #expect(throws: DCSError.self) { _ = try await plain.get("/tls/probe") }
        // A CA file that is not one is a clear error.
        #expect(throws: EtcdTLSError.self) {
            _ = try EtcdClient.secured(endpoints: [etcd.url], timeout: .milliseconds(800), tls: EtcdTLSFiles(ca: "\(folder)/etcd.key"))
        }
    }

    @Test func dcsTLSIsReadAndEveryEndpointMustUseIt() async throws {
        let good = try write(Self.spec("dcs: {endpoints: [https://a:2379, https://b:2379, https://c:2379], tls: {ca: ca.pem}}"))
        var result = try await CLI.run(["validate", good])
        #expect(result.status == 0, "\(result.stderr)")
        let mixed = try write(Self.spec("dcs: {endpoints: [https://a:2379, http://b:2379, https://c:2379], tls: {ca: ca.pem}}"))
        result = try await CLI.run(["validate", mixed])
        #expect(result.status == 2 && result.stderr.contains("`http://b:2379` is plain HTTP while dcs.tls is set"), "\(result.stderr)")
        let half = try write(Self.spec("dcs: {endpoints: [https://a:2379, https://b:2379, https://c:2379], tls: {ca: ca.pem, certificate: c.pem}}"))
        result = try await CLI.run(["validate", half])
        #expect(result.status == 2 && result.stderr.contains("needs both `certificate` and `key`"), "\(result.stderr)")
    }

    @Test func etcdClientLeasesTransactionsAndExpiry() async throws {
        let etcd = try await LocalEtcd()
        defer { etcd.stop() }
        // The request timeout is not under test here (the semantics are): 3 s, so a loaded
        // machine's slow answer (500 ms was outrun once in a full run) is not taken for none.
        let client = EtcdClient(endpoints: [URL(string: "http://127.0.0.1:1")!, etcd.url], timeout: .seconds(3))
        // A lease long enough for the steps below on a loaded machine (with 2 s, a CI run
        // took longer than the lease before its first renewal).
        let lease = try await client.grantLease(ttl: .seconds(5))
        // create succeeds once: the leader-key discipline.
        #expect(try await client.create("/t/leader", value: Data("a".utf8), lease: lease))
        #expect(try await !client.create("/t/leader", value: Data("b".utf8), lease: nil))
        let kv = try #require(try await client.get("/t/leader"))
        #expect(kv.value == Data("a".utf8) && kv.lease == lease)
        // replace only from the revision read.
        try await client.put("/t/op", value: Data("1".utf8), lease: nil)
        let op = try #require(try await client.get("/t/op"))
        #expect(try await client.replace("/t/op", value: Data("2".utf8), ifModRevision: op.modRevision))
        #expect(try await !client.replace("/t/op", value: Data("3".utf8), ifModRevision: op.modRevision))
        #expect(try await client.get("/t/op")?.value == Data("2".utf8))
        // delete only when the value matches.
        #expect(try await !client.delete("/t/op", ifValue: Data("9".utf8)))
        #expect(try await client.list(prefix: "/t/").count == 2)
        // keepAlive renews; a lease left alone ends and takes its key with it.
        #expect(try await client.keepAlive(lease) != nil)
        try await Task.sleep(for: .seconds(6.5))
        #expect(try await client.get("/t/leader") == nil, "the key outlived its lease")
        #expect(try await client.keepAlive(lease) == nil)
        // Nobody answers: an error that names every endpoint.
        let nobody = EtcdClient(endpoints: [URL(string: "http://127.0.0.1:1")!], timeout: .milliseconds(300))
        await #expect(throws: DCSError.self) { try await nobody.get("/t/x") }
    }

    /// What every agent acts on (Quorum.active, read on each round): an
    /// approved plan only until its approval expires, never a plan without
    /// approval, and an operation under way until it ends. On a real etcd,
    /// as the agents read it: the check `pgdr approve` makes is not the only one.
    @Test func agentsActOnlyOnAnApprovedPlanThatHasNotExpired() async throws {
        let etcd = try await LocalEtcd()
        defer { etcd.stop() }
        let quorum = Quorum(dcs: EtcdClient(endpoints: [etcd.url], timeout: .seconds(3)),
                            spec: DCSSpec(endpoints: [etcd.url.absoluteString], prefix: "orders-prod"))
        let now = Date()
        func record(_ n: Int, _ state: OperationRecord.State, expiresIn: TimeInterval) -> OperationRecord {
            OperationRecord(plan: OperationPlan(id: "failover-0000000\(n)", kind: .failover, createdAt: now.addingTimeInterval(-60),
                                                expiresAt: now.addingTimeInterval(expiresIn), from: "pg1", to: "pg2",
                                                oldPrimaryReachable: false, steps: []),
                            state: state, approvedAt: now.addingTimeInterval(-30), updatedAt: now.addingTimeInterval(-30))
        }
        try await quorum.save(record(1, .approved, expiresIn: -1))
        #expect(try await quorum.active(now: now) == nil, "an approval that has expired is not acted on")
        try await quorum.save(record(2, .planned, expiresIn: 600))
        #expect(try await quorum.active(now: now) == nil, "a plan nobody approved is not acted on")
        try await quorum.save(record(3, .approved, expiresIn: 600))
        #expect(try await quorum.active(now: now)?.plan.id == "failover-00000003")
        #expect(try await quorum.active(now: now.addingTimeInterval(601)) == nil, "nor once its approval has expired")
        var finished = record(3, .done, expiresIn: 600)
        finished.detail = "done"
        try await quorum.save(finished)
        #expect(try await quorum.active(now: now) == nil, "a finished operation is not acted on again")
        try await quorum.save(record(4, .promoted, expiresIn: -1))
        #expect(try await quorum.active(now: now)?.plan.id == "failover-00000004",
                "an operation under way is carried to its end, its approval's expiry notwithstanding")
    }

    static func spec(_ dcs: String, mode: String = "automatic") -> String {
        """
        name: orders
        environment: prod
        objectives: {rpo: 1m, rto: 5m}
        engine: {version: "15"}
        failover: {mode: \(mode)}
        \(dcs)
        nodes:
          - {name: pg1, region: us-east-1, host: 127.0.0.1, port: 1, passwordFile: p}
          - {name: pg2, region: us-east-2, host: 127.0.0.1, port: 2, passwordFile: p}
        """
    }

    func write(_ yaml: String) throws -> String {
        let dir = try CLI.tempDirectory()
        try yaml.write(toFile: "\(dir)/pgdr.yaml", atomically: true, encoding: .utf8)
        try "x".write(toFile: "\(dir)/p", atomically: true, encoding: .utf8)
        chmod("\(dir)/p", 0o600)
        return "\(dir)/pgdr.yaml"
    }

    @Test func badQuorumSettingsAreRefusedWithTheReason() async throws {
        let two = try write(Self.spec("dcs: {endpoints: [http://127.0.0.1:2379, http://127.0.0.1:2380]}"))
        var result = try await CLI.run(["validate", two])
        #expect(result.status == 2)
        #expect(result.stderr.contains("quorum of 3 or 5"), "\(result.stderr)")
        let slow = try write(Self.spec("dcs: {endpoints: [http://a:2379, http://b:2379, http://c:2379], ttl: 3s, loopInterval: 2s}"))
        result = try await CLI.run(["validate", slow])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot renew a lease"), "\(result.stderr)")
        let good = try write(Self.spec("dcs: {endpoints: [http://127.0.0.1:1, http://127.0.0.1:2, http://127.0.0.1:3]}"))
        result = try await CLI.run(["agent", "--config", good, "--node", "pg9"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no node named pg9"))
        result = try await CLI.run(["agent", "--config", good])
        #expect(result.status == 2, "quorum mode needs --node")
        #expect(result.stderr.contains("--node"))
    }

    /// etcd not there when the agent starts: a clear error, and it keeps
    /// trying; once etcd answers, it takes part (it publishes its member key).
    @Test func anAgentStartedWithoutEtcdSaysSoAndKeepsRetrying() async throws {
        let port = try LocalEtcd.freePort()
        let config = try write(Self.spec("dcs: {endpoints: [http://127.0.0.1:\(port)], prefix: t1}", mode: "manual"))
        let dir = (config as NSString).deletingLastPathComponent
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: CLI.binary)
        agent.arguments = ["agent", "--config", config, "--node", "pg1", "--listen", "127.0.0.1:0", "--state-dir", "\(dir)/state"]
        let err = Pipe()
        agent.standardError = err
        agent.standardOutput = FileHandle.nullDevice
        try agent.run()
        defer {
            kill(agent.processIdentifier, SIGKILL)
            agent.waitUntilExit()
        }
        try await Task.sleep(for: .seconds(3))
        #expect(agent.isRunning, "the agent must keep running without etcd")
        // etcd comes up on that endpoint: the agent publishes its member record.
        let etcd = try await LocalEtcd(clientPort: port)
        defer { etcd.stop() }
        let client = EtcdClient(endpoints: [etcd.url], timeout: .milliseconds(500))
        let deadline = ContinuousClock.now + .seconds(15)
        var member: KeyValue?
        while member == nil, ContinuousClock.now < deadline {
            member = try? await client.get("/pgdr/t1/members/pg1")
            if member == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(member != nil, "the agent did not take part once etcd answered")
        kill(agent.processIdentifier, SIGTERM)
        agent.waitUntilExit()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("etcd unreachable"), "\(text)")
        #expect(text.contains("keeps retrying"), "\(text)")
    }
}
