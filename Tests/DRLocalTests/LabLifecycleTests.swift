import DRControl
import DRLocal
import DRPostgres
import DRProcess
import DRSpec
import DRStatus
import Foundation
import PostgresNIO
import Testing

@Suite(.serialized) struct LabLifecycleTests {
    /// A rebuild whose copy is cut short (here: its source never answers) puts the
    /// old data directory back: a node mid-rebuild when its primary is lost is left
    /// with its data, not with no data directory at all. The standby then starts as it was.
    @Test func aRebuildCutShortPutsTheOldDataDirectoryBack() async throws {
        try await LabFixture.with { fx in
            let control = try fx.lab.control(node: "pg2")
            try await control.stop(.fast)
            let identity = try String(contentsOfFile: "\(control.data.path)/global/pg_control", encoding: .isoLatin1)
            let nowhere = Upstream(name: "pg1", host: "127.0.0.1", port: 1, database: "postgres", slot: "pgdr_pg2")
            let error = await #expect(throws: ControlError.self) { _ = try await control.rebuild(from: nowhere) }
            #expect(error?.message.contains("the old data directory was put back") == true, "\(String(describing: error))")
            #expect(try String(contentsOfFile: "\(control.data.path)/global/pg_control", encoding: .isoLatin1) == identity,
                    "the same data directory, not a partial copy")
            let parent = URL(fileURLWithPath: control.data.path).deletingLastPathComponent().path
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.contains(".replaced-") }
            #expect(leftovers.isEmpty, "\(leftovers)")
            #expect(try await fx.lab.up().nodes.first { $0.name == "pg2" }?.action == "started")
            #expect(await fx.lab.waitForStreaming())
        }
    }

    @Test func stoppedStandbyIsNamedAndASecondUpStartsIt() async throws {
        try await LabFixture.with { fx in
            let again = try await fx.lab.up()
            #expect(!again.created)
            #expect(again.nodes.allSatisfy { $0.action.hasPrefix("already running") })

            try await fx.lab.control(node: "pg2").stop(.fast)
            let report = await fx.status()
            #expect(!report.healthy)
            #expect(report.problems.contains { $0.node == "pg2" && $0.message.contains("unreachable") })
            #expect(StatusTable.render(report).contains("PROBLEM pg2: unreachable"))

            let resumed = try await fx.lab.up()
            #expect(resumed.nodes.first { $0.name == "pg2" }?.action == "started")
            #expect(resumed.nodes.first { $0.name == "pg1" }?.action.hasPrefix("already running") == true)
            #expect(await fx.lab.waitForStreaming())
            let healed = try await fx.status(within: .seconds(15)) { $0.healthy }
            #expect(healed.healthy, "problems: \(healed.problems)")
        }
    }

    @Test func downLeavesNoServerProcess() async throws {
        try await LabFixture.with { fx in
            let pids = try ["pg1", "pg2"].map { try #require(try fx.lab.control(node: $0).data.postmasterPID) }
            let reports = try await fx.lab.down()
            #expect(reports.allSatisfy { $0.action.hasPrefix("stopped") })
            for pid in pids {
                // Exited: gone, or a zombie until init reaps it (it runs nothing).
                #expect(ProcessTable.hasExited(pid), "postmaster \(pid) still runs")
            }
            let postmasters = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap(Int32.init)
                .filter { pid in
                    let cmd = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                    return cmd.contains(fx.lab.layout.root)
                }
            #expect(postmasters.isEmpty, "processes still running from the lab: \(postmasters)")
            #expect(try await fx.lab.down().allSatisfy { $0.action == "was not running" })
        }
    }

    @Test func aFolderHoldingSomethingElseIsLeftAlone() async throws {
        let dir = NSTemporaryDirectory() + "pgdr-notalab-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "precious".write(toFile: "\(dir)/keep.txt", atomically: true, encoding: .utf8)
        let lab = Lab(directory: dir)
        let upError = await #expect(throws: LocalError.self) { try await lab.up() }
        #expect(upError?.kind == .badInput)
        #expect(upError?.description.contains("holds no lab") == true)
        let destroyError = await #expect(throws: LocalError.self) { try await lab.destroy() }
        #expect(destroyError?.description.contains("will not delete") == true)
        #expect(try String(contentsOfFile: "\(dir)/keep.txt", encoding: .utf8) == "precious")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["keep.txt"])
    }

    @Test func aTakenPortIsReportedAndNothingIsLost() async throws {
        try await LabFixture.with { fx in
            _ = try await fx.lab.down()
            let port = try #require(fx.spec.nodes.first { $0.name == "pg1" }?.port)
            let squatter = try Squatter(port: port)
            defer { squatter.close() }
            let error = await #expect(throws: LocalError.self) { try await fx.lab.up() }
            #expect(error?.description.contains("port \(port)") == true)
            #expect(FileManager.default.fileExists(atPath: fx.lab.layout.dataDirectory("us-east-1") + "/PG_VERSION"))
        }
    }

    @Test func wrongPasswordAndUnreachableHostGiveClearErrors() async throws {
        try await LabFixture.with { fx in
            var target = try fx.monitorTarget("pg1")
            target.password = Secret("definitely-wrong-pw")
            let auth = await #expect(throws: PostgresFailure.self) { try await PostgresSession.connect(target) }
            #expect(auth?.kind == .authentication)
            #expect(auth?.description.contains("password authentication failed") == true)
            #expect(auth?.description.contains("definitely-wrong-pw") == false)

            target.port = try FreePort.pick()
            let clock = ContinuousClock()
            let started = clock.now
            let refused = await #expect(throws: PostgresFailure.self) { try await PostgresSession.connect(target) }
            #expect(refused?.kind == .refused)
            #expect(clock.now - started < .seconds(5), "a dead port must fail fast")

            var bad = fx.spec.nodes[0]
            bad.port = target.port
            let sample = await NodeProbe.sample(node: bad, baseDirectory: fx.parsed.baseDirectory)
            #expect(!sample.reachable)
            #expect(sample.error?.contains("connection refused") == true)
        }
    }

    @Test func monitoringRoleIsLeastPrivileged() async throws {
        try await LabFixture.with { fx in
            try await PostgresSession.with(try fx.monitorTarget("pg1")) { session in
                try await Heartbeat.beat(session, writer: "privilege-test")
                for ddl in ["CREATE TABLE public.x (i int)", "CREATE TABLE pgdr.x (i int)",
                            "DELETE FROM pgdr.heartbeat", "CREATE ROLE intruder"] {
                    let error = await #expect(throws: PostgresFailure.self, "\(ddl) must be refused") {
                        try await session.execute(PostgresQuery(unsafeSQL: ddl))
                    }
                    #expect(error?.sqlState == "42501", "\(ddl): \(String(describing: error))")
                }
                // pg_monitor shows other sessions' replication details.
                let address = try await session.rows("SELECT host(client_addr) FROM pg_stat_replication")
                    .first?.decode(String?.self)
                #expect(address == "127.0.0.1")
            }
        }
    }
}

/// Holds a TCP port on 127.0.0.1 so a server cannot take it.
final class Squatter {
    let fd: Int32

    init(port: Int) throws {
        guard let fd = FreePort.hold(port) else { throw LocalError("cannot hold port \(port)") }
        self.fd = fd
    }

    func close() { _ = Foundation.close(fd) }
}

/// The lab's archive_command, run as PostgreSQL runs it (`sh -c` with %p and %f replaced).
@Suite struct ArchiveCommandTests {
    static func run(_ archive: String, wal: String, name: String) -> Int32 {
        let command = LabConfig.archiveCommand(archive: archive)
            .replacingOccurrences(of: "%p", with: wal).replacingOccurrences(of: "%f", with: name)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        try? process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test func aCopyCutShortNeverBlocksArchivingAndDuplicatesFollowTheRules() throws {
        let dir = NSTemporaryDirectory() + "pgdr-archive-\(UUID().uuidString.prefix(8))"
        let archive = "\(dir)/archive"
        try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wal = "\(dir)/000000010000000000000001"
        try Data(repeating: 7, count: 65536).write(to: URL(fileURLWithPath: wal))
        // A previous attempt died mid-copy (a full disk): only a partial temporary file remains.
        try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: "\(archive)/000000010000000000000001.tmp"))
        #expect(Self.run(archive, wal: wal, name: "000000010000000000000001") == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(archive)/000000010000000000000001")).count == 65536)
        #expect(!FileManager.default.fileExists(atPath: "\(archive)/000000010000000000000001.tmp"))
        // Archived again with the same content: success (PostgreSQL may retry after a crash).
        #expect(Self.run(archive, wal: wal, name: "000000010000000000000001") == 0)
        // A different file under an archived name: failure, nothing overwritten.
        let other = "\(dir)/other"
        try Data(repeating: 9, count: 65536).write(to: URL(fileURLWithPath: other))
        #expect(Self.run(archive, wal: other, name: "000000010000000000000001") != 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(archive)/000000010000000000000001")).first == 7)
    }
}
