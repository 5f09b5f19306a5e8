import DRLocal
import Foundation
import PGDRTestSupport
import Testing

@Suite(.serialized) struct LabCommandTests {
    @Test func upStatusStopStandbyDown() async throws {
        let dir = NSTemporaryDirectory() + "pgdr-cli-lab-\(UUID().uuidString.prefix(8))"
        defer { _ = try? CLI.runBlocking(["lab", "destroy", "--dir", dir, "--yes"]) }

        let up = try await CLI.run(["lab", "up", "--loopback", "--dir", dir])
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stdout.contains("target_session_attrs=read-write"))
        #expect(!(up.stdout + up.stderr).contains("\u{1B}") && !up.stderr.contains("base backup"), "no progress line without a terminal")
        #expect(!up.stdout.contains(try String(contentsOfFile: "\(dir)/secrets/pgdr_admin.password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)), "the password must not be printed")

        let healthy = try await CLI.run(["status", "--config", "\(dir)/pgdr.yaml"])
        #expect(healthy.status == 0, "\(healthy.stdout)\(healthy.stderr)")
        #expect(healthy.stdout.contains("streaming"))

        let json = try await CLI.run(["status", "--json", "--config", "\(dir)/pgdr.yaml"])
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
        let broken = try await CLI.run(["status", "--config", "\(dir)/pgdr.yaml"])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("PROBLEM pg2: unreachable"))

        let again = try await CLI.run(["lab", "up", "--loopback", "--dir", dir])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("pg2  us-east-2") && again.stdout.contains("started"))
        #expect(again.stdout.contains("already running"))

        // Faults between regions need a lab of regions: refused (exit 2) on loopback; latency is refused everywhere.
        let cut = try await CLI.run(["lab", "fault", "partition", "us-east-1", "--dir", dir])
        #expect(cut.status == 2)
        #expect(cut.stderr.contains("network namespaces"), "\(cut.stderr)")
        let latency = try await CLI.run(["lab", "fault", "latency", "us-east-1", "80ms", "--dir", dir])
        #expect(latency.status == 2)
        #expect(latency.stderr.contains("netem"))

        let down = try await CLI.run(["lab", "down", "--dir", dir])
        #expect(down.status == 0)
        #expect(down.stdout.components(separatedBy: "stopped").count == 3)
    }

    /// On a terminal (a pseudo-terminal from util-linux's `script`), `lab up`
    /// shows each step on one rewritten status line, then erases it.
    @Test func upShowsItsStepsOnATerminal() async throws {
        let dir = NSTemporaryDirectory() + "pgdr-cli-tty-\(UUID().uuidString.prefix(8))"
        defer { _ = try? CLI.runBlocking(["lab", "destroy", "--dir", dir, "--yes"]) }
        let command = "\(CLI.binary) lab up --loopback --dir \(dir)"
        let result = try await CLI.program("/usr/bin/script", ["-qefc", command, "/dev/null"])
        #expect(result.status == 0, "\(result.stdout)")
        let steps = result.stdout.components(separatedBy: "\r\u{1B}[2K").dropFirst()
        #expect(steps.contains { $0.contains("initdb pg1") } && steps.contains { $0.contains("base backup of pg1 for pg2") }
                && steps.contains { $0.contains("waiting for the standby to stream") }, "\(result.stdout)")
        #expect(steps.last?.contains("lab created in") == true, "the status line is erased before the report")

        // A rejoin shows the steps its operation journals as they begin.
        let config = "\(dir)/pgdr.yaml"
        let plan = try await CLI.run(["failover", "--config", config])
        let id = try #require(plan.stdout.firstMatch(of: /approve with: pgdr approve (failover-[0-9a-f]+)/).map { String($0.1) })
        let approved = try await CLI.run(["approve", id, "--config", config])
        #expect(approved.status == 0 || approved.status == 4, "\(approved.stdout)\(approved.stderr)")
        let rejoin = try await CLI.program("/usr/bin/script", ["-qefc", "\(CLI.binary) rejoin pg1 --config \(config)", "/dev/null"])
        #expect(rejoin.status == 0 || rejoin.status == 4, "\(rejoin.stdout)")
        let lines = rejoin.stdout.components(separatedBy: "\r\u{1B}[2K")
        // A rewind takes a fraction of a second: the line shows whichever steps a 250 ms look caught.
        let rejoinSteps = ["stop-node", "resync", "configure-standby", "create-slot", "start-standby", "wait-streaming"]
        #expect(lines.contains { line in line.contains("rejoin-") && rejoinSteps.contains { line.contains(": \($0)") } }, "\(rejoin.stdout)")
        #expect(lines.last?.contains("done in") == true, "the status line is erased before the report")
        let plain = try await CLI.run(["rejoin", "pg1", "--config", config])
        #expect(!plain.stderr.contains("\u{1B}"), "no status line without a terminal")
    }

    @Test func upRefusesAFolderThatHoldsSomethingElse() async throws {
        let dir = try CLI.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "keep".write(toFile: "\(dir)/notes.txt", atomically: true, encoding: .utf8)
        let result = try await CLI.run(["lab", "up", "--loopback", "--dir", dir])
        #expect(result.status == 2)
        #expect(result.stderr.contains("holds no lab"))
        #expect(try String(contentsOfFile: "\(dir)/notes.txt", encoding: .utf8) == "keep")
        let destroy = try await CLI.run(["lab", "destroy", "--yes", "--dir", dir])
        #expect(destroy.status == 2)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/notes.txt"))
    }
}

/// Defects found by the fault suite in the CLI's handling of bad input.
@Suite struct BadInputDefectTests {
    @Test func usageErrorsExit2() async throws {
        let bogus = try await CLI.run(["status", "--no-such-flag"])
        #expect(bogus.status == 2, "usage errors are bad input (2), not EX_USAGE (64): \(bogus.status)")
        let level = try await CLI.run(["status", "--log-level", "bogus"])
        #expect(level.status == 2)
        #expect(level.stderr.contains("bogus"))
    }

    @Test func aLabFolderThatIsAFileIsRefusedWithASentence() async throws {
        let dir = try CLI.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/notafolder"
        try "keep me".write(toFile: file, atomically: true, encoding: .utf8)
        let up = try await CLI.run(["lab", "up", "--dir", file])
        #expect(up.status == 2, "\(up.stderr)")
        #expect(up.stderr.contains("is a file, not a folder"))
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep me")
    }

    @Test func synthNeverReplacesAFile() async throws {
        let dir = try CLI.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try await CLI.run(["init", "\(dir)/pgdr.yaml"]).status == 0)
        let before = try String(contentsOfFile: "\(dir)/pgdr.yaml", encoding: .utf8)
        let synth = try await CLI.run(["synth", "--config", "\(dir)/pgdr.yaml", "--out", "\(dir)/pgdr.yaml"])
        #expect(synth.status == 2, "\(synth.stderr)")
        #expect(synth.stderr.contains("is a file"))
        #expect(try String(contentsOfFile: "\(dir)/pgdr.yaml", encoding: .utf8) == before, "the spec is intact")
    }

    @Test func destroyNeedsARealLabNotJustALabJSON() async throws {
        let dir = try CLI.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "precious".write(toFile: "\(dir)/data.txt", atomically: true, encoding: .utf8)
        for text in ["{}", #"{"format":1,"phase":"ready","postgresMajor":15,"binDirectory":"/x","serverUser":"pgdr","createdAt":"2026-01-01T00:00:00Z","nodes":[{"name":"pg1","region":"us-east-1","port":5432}]}"#] {
            try text.write(toFile: "\(dir)/lab.json", atomically: true, encoding: .utf8)
            let destroy = try await CLI.run(["lab", "destroy", "--dir", dir, "--yes"])
            #expect(destroy.status == 2, "\(destroy.stderr)")
            #expect(FileManager.default.fileExists(atPath: "\(dir)/data.txt"), "nothing may be deleted")
        }
    }
}

/// A password pgdr reads from `passwordEnv` lives in pgdr's environment; no
/// child pgdr starts (a postmaster, a hook) may inherit it.
@Suite(.serialized) struct ChildEnvironmentTests {
    @Test func neitherAPostmasterNorAHookInheritsPgdrsEnvironment() async throws {
        let dir = NSTemporaryDirectory() + "pgdr-env-\(UUID().uuidString.prefix(8))"
        let canary = "PGDR_TEST_PG1_PASSWORD"
        let secret = "canary-\(UUID().uuidString)"
        defer { _ = try? CLI.runBlocking(["lab", "destroy", "--dir", dir, "--yes"]) }
        let up = try await CLI.run(["lab", "up", "--loopback", "--dir", dir], environment: [canary: secret])
        #expect(up.status == 0, "\(up.stderr)")
        let lab = Lab(directory: dir)
        for node in ["pg1", "pg2"] {
            let pid = try #require(try lab.control(node: node).data.postmasterPID)
            let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))
            #expect(!String(decoding: environ, as: UTF8.self).contains(secret), "\(node)'s postmaster inherited pgdr's environment")
        }
        // A failover hook that writes its environment down.
        let hook = "\(dir)/hook.sh"
        try "#!/bin/sh\nenv > \"\(dir)/hook.env\"\n".write(toFile: hook, atomically: true, encoding: .utf8)
        chmod(hook, 0o755)
        let config = "\(dir)/pgdr.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "  approvalTimeout: 15m", with: "  approvalTimeout: 15m\n  hook: [\"\(hook)\"]")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        _ = try await lab.kill(node: "pg1", withChildren: true)
        let plan = try await CLI.run(["failover", "--accept-data-loss", "--config", config], environment: [canary: secret])
        let id = try #require(plan.stdout.firstMatch(of: /approve with: pgdr approve (failover-[0-9a-f]+)/)?.1, "\(plan.stderr)")
        let approve = try await CLI.run(["approve", String(id), "--config", config], environment: [canary: secret])
        #expect(approve.status == 0, "\(approve.stdout)\(approve.stderr)")
        let seen = try String(contentsOfFile: "\(dir)/hook.env", encoding: .utf8)
        #expect(seen.contains("PGDR_NEW_PRIMARY_NAME=pg2"))
        #expect(!seen.contains(secret), "the hook inherited pgdr's environment")
    }
}
