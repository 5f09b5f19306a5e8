import Foundation
import PGDRTestSupport
import Testing

/// The lag monitor's bootstrap, run as Lambda runs it, against two real
/// PostgreSQL servers (a loopback lab standing in for the RDS instances,
/// reached over TLS checked against the lab's CA, with the master
/// credentials from Secrets Manager) and moto_server with signature
/// checking on: it stamps the heartbeat on the primary, reads it on the
/// replica, and publishes the pgdr metrics the alarms read.
@Suite(.serialized) struct LagMonitorTests {
    @Test func heartbeatLagAndReachabilityArePublished() async throws {
        let folder = try CLI.tempDirectory()
        let labDir = "\(folder)/lab"
        let up = try await CLI.run(["lab", "up", "--loopback", "--dir", labDir])
        try #require(up.status == 0, "\(up.stdout)\(up.stderr)")
        defer { _ = try? CLI.runBlocking(["lab", "destroy", "--yes", "--dir", labDir]) }
        let moto = try await MotoBed()
        defer { moto.stop() }

        // The lab's two servers as the two RDS instances.
        let status = try await CLI.run(["status", "--json", "--config", "\(labDir)/pgdr.yaml"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stdout)")
        let nodes = report["nodes"] as? [[String: Any]] ?? []
        let primaryPort = try #require(nodes.first { $0["role"] as? String == "primary" }?["port"] as? Int, "\(status.stdout)")
        let replicaPort = try #require(nodes.first { $0["role"] as? String == "standby" }?["port"] as? Int)
        let password = try String(contentsOfFile: "\(labDir)/secrets/pgdr_admin.password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let secret = try JSONSerialization.data(withJSONObject: ["username": "pgdr_admin", "password": password])
        try await moto.bed(["secret", "orders-master-prod", "us-east-2"], stdin: secret)

        let task = try await FunctionBed.package(config: try moto.spec(), folder: folder)
        var environment = moto.pgdrEnvironment.merging([
            "PGDR_FUNCTION": "lag-monitor", "LAMBDA_TASK_ROOT": task, "AWS_REGION": "us-east-2",
            "PGDR_DB_CA_FILE": "\(labDir)/tls/ca.crt",
            "PGDR_DB_ADDRESSES": "orders-db-prod=127.0.0.1:\(primaryPort),orders-replica-prod=127.0.0.1:\(replicaPort)",
        ]) { $1 }
        let function = try await FunctionBed(environment: environment, folder: folder)
        defer { function.stop() }
        let schedule: [String: Any] = ["source": "aws.events", "detail-type": "Scheduled Event", "detail": [:]]

        // Streaming: reachable, lag under a second or two, a few bytes at most.
        let first = try await function.invoke(schedule)
        #expect(first.kind == "response", "\(first.text)\n\(function.logText)")
        let reading = first.body["reading"] as? [String: Any] ?? [:]
        #expect(reading["primaryReachable"] as? Bool == true, "\(first.text)\n\(function.logText)")
        let lag = try #require(reading["lagSeconds"] as? Double, "\(first.text)")
        #expect(lag < 3, "\(first.text)")
        #expect(first.body["primary"] as? String == "orders-db-prod" && first.body["replica"] as? String == "orders-replica-prod")
        let metrics = try #require(try await moto.json(["metrics", "us-east-2"]) as? [String: [[String: Any]]])
        #expect(metrics["PrimaryReachable"]?.first?["Minimum"] as? Double == 1, "\(metrics)")
        let published = try #require(metrics["ReplicationLagSeconds"]?.first?["Maximum"] as? Double, "\(metrics)")
        #expect(abs(published - lag) < 0.01, "the published lag is the one measured: \(published) vs \(lag)")
        #expect(metrics["ReplicationLagBytes"]?.isEmpty == false)

        // Replay paused on the replica: the stamp does not arrive, the lag grows, bytes pile up.
        let pause = try await CLI.program("/usr/bin/psql", ["-h", "127.0.0.1", "-p", "\(replicaPort)", "-U", "pgdr_admin", "-d", "postgres",
                                                             "-c", "SELECT pg_wal_replay_pause()"], stdin: nil, environment: ["PGPASSWORD": password, "PGSSLMODE": "require"])
        #expect(pause.status == 0, "\(pause.stderr)")
        try await Task.sleep(for: .seconds(4))
        let paused = try await function.invoke(schedule)
        let behind = paused.body["reading"] as? [String: Any] ?? [:]
        #expect((behind["lagSeconds"] as? Double ?? 0) >= 4, "\(paused.text)")
        #expect((behind["lagBytes"] as? Int ?? 0) > 0, "\(paused.text)")
        _ = try await CLI.program("/usr/bin/psql", ["-h", "127.0.0.1", "-p", "\(replicaPort)", "-U", "pgdr_admin", "-d", "postgres",
                                                     "-c", "SELECT pg_wal_replay_resume()"], stdin: nil, environment: ["PGPASSWORD": password, "PGSSLMODE": "require"])
        function.stop()

        // The primary out of reach: PrimaryReachable 0 (what the primary-unreachable alarm reads).
        environment["PGDR_DB_ADDRESSES"] = "orders-db-prod=127.0.0.1:\(try MotoBed.freePort()),orders-replica-prod=127.0.0.1:\(replicaPort)"
        let cut = try await FunctionBed(environment: environment, folder: folder)
        defer { cut.stop() }
        let unreachable = try await cut.invoke(schedule)
        #expect((unreachable.body["reading"] as? [String: Any])?["primaryReachable"] as? Bool == false, "\(unreachable.text)")
        #expect(unreachable.text.contains("orders-db-prod"), "the problem names the instance: \(unreachable.text)")
        let after = try #require(try await moto.json(["metrics", "us-east-2"]) as? [String: [[String: Any]]])
        #expect(after["PrimaryReachable"]?.contains { $0["Minimum"] as? Double == 0 } == true, "\(after)")
    }
}
