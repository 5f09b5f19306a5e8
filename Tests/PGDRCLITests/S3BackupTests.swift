import DRLocal
import DRPostgres
import Foundation
import PGDRTestSupport
import Testing

/// A backup repository in S3: moto_server (signature checking off: its S3
/// check rejects pgBackRest's signatures, see docs/backups.md) behind HAProxy terminating TLS with a
/// certificate from the lab's CA (pgBackRest speaks S3 over TLS only, and
/// moto's own TLS drops pgBackRest's reused connections). The lab's DR
/// repository is moved to S3 in pgdr.yaml, `pgdr backup --setup` creates the
/// stanza there, a backup goes to it and a restore comes back from it alone.
@Suite(.serialized) struct S3BackupTests {
    @Test func aRepositoryInS3TakesABackupAndRestoresFromItAlone() async throws {
        try await BackupCommandTests.withLab { config, lab in
            let dir = (config as NSString).deletingLastPathComponent
            let bed = try await S3Bed.start(dir: dir)
            defer { bed.stop() }
            let bucket = "pgdr-backups"
            let setup = try await CLI.program("/usr/bin/env", ["python3", S3Bed.script, "setup", bed.motoURL, bucket])
            let credentials = try #require(try JSONSerialization.jsonObject(with: Data(setup.stdout.utf8)) as? [String: String],
                                           "s3_bed setup: \(setup.stderr)")
            for (file, value) in [("s3.key", credentials["key"]), ("s3.secret", credentials["secret"])] {
                try (value ?? "").write(toFile: "\(dir)/secrets/\(file)", atomically: true, encoding: .utf8)
                chmod("\(dir)/secrets/\(file)", 0o600)
            }
            let spec = try String(contentsOfFile: config, encoding: .utf8)
            let posix = "    - {region: us-east-2, path: us-east-2/pgbackrest-repo}"
            try #require(spec.contains(posix), "the lab's DR repository line")
            try spec.replacingOccurrences(of: posix, with: "    - {region: us-east-2, path: /pgdr, s3: {bucket: \(bucket), "
                                          + "endpoint: localhost, port: \(bed.tlsPort), uriStyle: path, caFile: tls/ca.crt, "
                                          + "keyFile: secrets/s3.key, secretFile: secrets/s3.secret}}")
                .write(toFile: config, atomically: true, encoding: .utf8)

            let setupRun = try await CLI.run(["backup", "--setup", "--config", config])
            #expect(setupRun.status == 0, "\(setupRun.stdout)\(setupRun.stderr)")
            let file = try String(contentsOfFile: "\(dir)/pgbackrest/pg1/pgbackrest.conf", encoding: .utf8)
            #expect(file.contains("repo2-type=s3") && file.contains("repo2-s3-uri-style=path"))
            #expect(!setupRun.stdout.contains(credentials["secret"] ?? "-") && !setupRun.stderr.contains(credentials["secret"] ?? "-"))

            _ = try await BackupCommandTests.sql(lab, "pg1", ["CREATE TABLE t (id int)", "INSERT INTO t SELECT generate_series(1, 250)",
                                                            "SELECT pg_switch_wal()::text"])
            let backup = try await CLI.run(["backup", "--repo", "2", "--config", config])
            #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
            let objects = try await CLI.program("/usr/bin/env", ["python3", S3Bed.script, "keys", bed.motoURL, bucket],
                                                stdin: try JSONSerialization.data(withJSONObject: credentials))
            let keys = (try? JSONSerialization.jsonObject(with: Data(objects.stdout.utf8)) as? [String]) ?? []
            #expect(keys.contains { $0.hasPrefix("pgdr/backup/lab-lab/") } && keys.contains { $0.hasPrefix("pgdr/archive/lab-lab/") },
                    "the backup and the WAL are in the bucket: \(keys.prefix(5)) \(objects.stderr)")

            let restored = try await CLI.run(["restore", "--config", config, "--to", "latest", "--repo", "2",
                                              "--target-dir", "\(dir)/restore-s3", "--json"])
            #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(restored.stdout.utf8)) as? [String: Any])
            #expect(try await BackupCommandTests.countAndStop(report, lab: lab) == 250, "every row, from the S3 repository alone")

            // The credentials are in the 0600 file pgBackRest reads, nowhere else.
            let mode = (try FileManager.default.attributesOfItem(atPath: "\(dir)/pgbackrest/pg1/pgbackrest.conf")[.posixPermissions] as? Int) ?? 0
            #expect(mode == 0o600 && file.contains("repo2-s3-key-secret="))
            #expect(!(try String(contentsOfFile: config, encoding: .utf8)).contains(credentials["secret"] ?? "-"))

            // The lab goes while the bucket is still there: a fast shutdown waits for the
            // archiver's last archive-push, which would wait for an S3 that is gone.
            let destroyed = try await CLI.run(["lab", "destroy", "--dir", dir, "--yes"])
            #expect(destroyed.status == 0, "\(destroyed.stdout)\(destroyed.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir), "the lab folder is gone")
        }
    }
}

/// moto_server on plain HTTP and HAProxy in front of it with TLS, both stopped by PID.
struct S3Bed: Sendable {
    let moto: Process
    let haproxy: Process
    let motoURL: String
    let tlsPort: Int

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("s3_bed.py").path

    static func start(dir: String) async throws -> S3Bed {
        let motoPort = try FreePort.pick()
        var tlsPort = try FreePort.pick()
        while tlsPort == motoPort { tlsPort = try FreePort.pick() }
        let certificates = LabCertificates(folder: "\(dir)/tls")
        try await certificates.issue(commonName: "localhost", names: ["localhost"], certificate: "\(dir)/tls/s3.crt", key: "\(dir)/tls/s3.key")
        let pem = try String(contentsOfFile: "\(dir)/tls/s3.crt", encoding: .utf8) + String(contentsOfFile: "\(dir)/tls/s3.key", encoding: .utf8)
        try pem.write(toFile: "\(dir)/tls/s3.pem", atomically: true, encoding: .utf8)
        chmod("\(dir)/tls/s3.pem", 0o600)
        try """
            global
                maxconn 200
            defaults
                mode tcp
                timeout connect 3s
                timeout client 60s
                timeout server 60s
            frontend s3
                bind 127.0.0.1:\(tlsPort) ssl crt \(dir)/tls/s3.pem
                default_backend moto
            backend moto
                server moto 127.0.0.1:\(motoPort)

            """.write(toFile: "\(dir)/s3-haproxy.cfg", atomically: true, encoding: .utf8)
        let moto = try MotoServer.start(port: motoPort)
        let haproxy = Process()
        haproxy.executableURL = URL(fileURLWithPath: "/usr/sbin/haproxy")
        haproxy.arguments = ["-f", "\(dir)/s3-haproxy.cfg", "-db"]
        haproxy.standardOutput = FileHandle.nullDevice
        haproxy.standardError = FileHandle.nullDevice
        try haproxy.run()
        let bed = S3Bed(moto: moto, haproxy: haproxy, motoURL: "http://127.0.0.1:\(motoPort)", tlsPort: tlsPort)
        for _ in 0..<100 {
            if (try? await CLI.program("/usr/bin/curl", ["-sf", "-o", "/dev/null", bed.motoURL + "/moto-api/"]))?.status == 0 { return bed }
            try await Task.sleep(for: .milliseconds(200))
        }
        bed.stop()
        throw S3BedError("moto_server did not answer on \(bed.motoURL)")
    }

    /// Both by PID, without waiting (a `defer` in an async test must not block).
    func stop() {
        MotoServer.terminate(haproxy)
        MotoServer.terminate(moto)
    }
}

struct S3BedError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
