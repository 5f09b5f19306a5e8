import Foundation
import PGDRTestSupport
import Testing

@Suite(.serialized) struct LabCommandTests {
    @Test func upStatusStopStandbyDown() throws {
        let dir = NSTemporaryDirectory() + "pgdr-cli-lab-\(UUID().uuidString.prefix(8))"
        defer { _ = try? CLI.run(["lab", "destroy", "--dir", dir, "--yes"]) }

        let up = try CLI.run(["lab", "up", "--dir", dir])
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stdout.contains("target_session_attrs=read-write"))
        #expect(!up.stdout.contains(try String(contentsOfFile: "\(dir)/secrets/pgdr_admin.password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)), "the password must not be printed")

        let healthy = try CLI.run(["status", "--config", "\(dir)/pgdr.yaml"])
        #expect(healthy.status == 0, "\(healthy.stdout)\(healthy.stderr)")
        #expect(healthy.stdout.contains("streaming"))

        let json = try CLI.run(["status", "--json", "--config", "\(dir)/pgdr.yaml"])
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(report?["healthy"] as? Bool == true)
        let replication = report?["replication"] as? [String: Any]
        #expect(replication?["standby"] as? String == "pg2")
        #expect(replication?["lagBytes"] != nil)

        // Stop the standby by its PID: status exits 1 and names it.
        let pidText = try String(contentsOfFile: "\(dir)/us-east-2/data/postmaster.pid", encoding: .utf8)
        let pid = try #require(pid_t(pidText.split(separator: "\n")[0]))
        kill(pid, SIGINT)
        let deadline = Date().addingTimeInterval(30)
        while kill(pid, 0) == 0 && Date() < deadline { usleep(50_000) }
        let broken = try CLI.run(["status", "--config", "\(dir)/pgdr.yaml"])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("PROBLEM pg2: unreachable"))

        let again = try CLI.run(["lab", "up", "--dir", dir])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("pg2  us-east-2") && again.stdout.contains("started"))
        #expect(again.stdout.contains("already running"))

        let down = try CLI.run(["lab", "down", "--dir", dir])
        #expect(down.status == 0)
        #expect(down.stdout.components(separatedBy: "stopped").count == 3)
    }

    @Test func upRefusesAFolderThatHoldsSomethingElse() throws {
        let dir = try CLI.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "keep".write(toFile: "\(dir)/notes.txt", atomically: true, encoding: .utf8)
        let result = try CLI.run(["lab", "up", "--dir", dir])
        #expect(result.status == 2)
        #expect(result.stderr.contains("holds no lab"))
        #expect(try String(contentsOfFile: "\(dir)/notes.txt", encoding: .utf8) == "keep")
        let destroy = try CLI.run(["lab", "destroy", "--yes", "--dir", dir])
        #expect(destroy.status == 2)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/notes.txt"))
    }
}
