import DRLocal
import DRPostgres
import DRSpec
import Foundation
import PostgresNIO
import Testing

/// TLS on every connection of a lab, checked on real servers: replication
/// and pgdr's own sessions are encrypted and verified, a client without TLS
/// is refused, and each way a server's certificate can be wrong is refused
/// by pgdr with its own one-line reason and no session.
@Suite(.serialized) struct LabTLSTests {
    @Test func replicationAndPgdrsSessionsUseVerifiedTLS() async throws {
        try await LabFixture.with { fx in
            // The walsender serving pg2 runs over TLS.
            let replication = try await fx.admin("pg1") { session in
                try await session.rows("SELECT s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_replication r USING (pid)")
                    .map { try $0.decode((Bool, String?).self) }
            }
            #expect(replication.count == 1 && replication.first?.0 == true, "replication over TLS: \(replication)")
            // The standby was told to verify the primary against the lab's CA.
            let conninfo = try await fx.admin("pg2") { try await $0.value(String.self, "SHOW primary_conninfo") }
            #expect(conninfo.contains("sslmode='verify-full'") && conninfo.contains("sslrootcert='\(fx.lab.layout.certificateAuthority)'"),
                    "\(conninfo)")
            // pgdr's monitoring session: verify-full from the lab's pgdr.yaml, and encrypted.
            let monitor = try fx.monitorTarget("pg1")
            #expect(monitor.tls.mode == .verifyFull && monitor.caPath == fx.lab.layout.certificateAuthority)
            let encrypted = try await PostgresSession.with(monitor) { session in
                try await session.value(Bool.self, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            }
            #expect(encrypted)
            // A client without TLS finds no pg_hba.conf line that lets it in.
            let port = fx.spec.nodes[0].port
            let psql = try await LabFixture.run("/usr/bin/psql", ["-XAtc", "SELECT 1",
                                                       "host=127.0.0.1 port=\(port) user=pgdr_admin dbname=postgres sslmode=disable"],
                                     environment: ["PGPASSFILE": fx.lab.layout.clientPassfile])
            #expect(psql.status != 0)
            #expect(psql.output.contains("no encryption"), "\(psql.output)")
        }
    }

    @Test func aWrongCAAnExpiredCertificateAndAnotherHostAreEachRefusedByName() async throws {
        try await LabFixture.with { fx in
            let layout = fx.lab.layout
            let monitor = try fx.monitorTarget("pg1")

            // Another CA than the one that signed the server's certificate.
            let other = LabCertificates(folder: NSTemporaryDirectory() + "pgdr-other-ca-\(UUID().uuidString.prefix(8))")
            defer { try? FileManager.default.removeItem(atPath: other.folder) }
            try await other.makeAuthority(name: "someone else's CA")
            var wrongCA = monitor
            wrongCA.caPath = other.authority
            let wrong = await failure(wrongCA)
            #expect(wrong?.kind == .tls)
            #expect(wrong?.description.contains("not signed by the CA in \(other.authority)") == true, "\(wrong.map(String.init(describing:)) ?? "connected")")

            // A certificate for another address, signed by the right CA.
            let user = try await ServerUser.resolve()
            let lab = LabCertificates(folder: layout.tls)
            try await lab.issue(commonName: "pg1", names: ["10.255.0.1"], certificate: layout.serverCertificate("us-east-1"),
                                key: layout.serverKey("us-east-1"), owner: user)
            try await reload(fx)
            let mismatch = await failure(monitor)
            #expect(mismatch?.description.contains("host name mismatch") == true, "\(mismatch.map(String.init(describing:)) ?? "connected")")
            #expect(mismatch?.description.contains("it names 10.255.0.1") == true)

            // The right address and CA, but expired yesterday.
            try await lab.issue(commonName: "pg1", names: ["127.0.0.1"], certificate: layout.serverCertificate("us-east-1"),
                                key: layout.serverKey("us-east-1"), days: -1, owner: user)
            try await reload(fx)
            let expired = await failure(monitor)
            #expect(expired?.description.contains("certificate expired on") == true, "\(expired.map(String.init(describing:)) ?? "connected")")

            // Set right again: the same session settings connect.
            try await lab.issue(commonName: "pg1", names: ["127.0.0.1"], certificate: layout.serverCertificate("us-east-1"),
                                key: layout.serverKey("us-east-1"), owner: user)
            try await reload(fx)
            let fine = try await PostgresSession.with(monitor) { try await $0.value(Int.self, "SELECT 1") }
            #expect(fine == 1)
        }
    }

    @Test func aLoginThatWouldSendThePasswordInClearIsRefused() async throws {
        try await LabFixture.with { fx in
            // The server asks pgdr's monitoring role for a cleartext password (even over TLS).
            let data = fx.lab.layout.dataDirectory("us-east-1")
            let hba = try String(contentsOfFile: "\(data)/pg_hba.conf", encoding: .utf8)
            try ("hostssl all pgdr_monitor 127.0.0.1/32 password\n" + hba).write(toFile: "\(data)/pg_hba.conf", atomically: false, encoding: .utf8)
            try await reload(fx)
            let refused = await failure(try fx.monitorTarget("pg1"))
            #expect(refused?.kind == .authentication)
            #expect(refused?.description.contains("asked for cleartext password authentication") == true,
                    "\(refused.map(String.init(describing:)) ?? "connected")")
            #expect(refused?.description.contains("sent nothing") == true)
        }
    }

    // MARK: helpers

    func failure(_ target: ConnectionTarget) async -> PostgresFailure? {
        do {
            _ = try await PostgresSession.with(target) { try await $0.value(Int.self, "SELECT 1") }
            return nil
        } catch let failure as PostgresFailure {
            return failure
        } catch {
            Issue.record("not a PostgresFailure: \(error)")
            return nil
        }
    }

    /// SIGHUP to pg1's postmaster (no session: the certificate may be the wrong one by now).
    func reload(_ fx: LabFixture) async throws {
        let pidFile = try String(contentsOfFile: "\(fx.lab.layout.dataDirectory("us-east-1"))/postmaster.pid", encoding: .utf8)
        let pid = try #require(pidFile.split(separator: "\n").first.flatMap { pid_t($0) })
        #expect(kill(pid, SIGHUP) == 0)
        try await Task.sleep(for: .milliseconds(500))
    }
}
