import DRProcess
import Foundation
import Testing

/// The one way pgdr runs programs: timeouts that end the whole process
/// group, bounded output, and an environment that carries no secret.
@Suite struct ChildProcessTests {
    @Test func aTimeoutKillsTheProgramAndItsChildren() async throws {
        let pidFile = NSTemporaryDirectory() + "pgdr-child-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let started = ContinuousClock.now
        let error = await #expect(throws: ChildProcess.Failure.self) {
            // A child of the program, which writes its PID down and would live 30 s.
            try await ChildProcess.run(.init("/bin/sh", ["-c", "sh -c 'echo $$ > \(pidFile); exec sleep 30' & sleep 30"],
                                             timeout: .milliseconds(500)))
        }
        #expect(error?.kind == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(20), "the timeout ended the run (a loaded machine fires it late, not never)")
        // (Killed before it forked, the child never existed: nothing can be left.)
        if let grandchild = Int32((try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") {
            // SIGKILL to the group is sent before run returns; its delivery and the reaping of
            // the orphan by init take a moment on a loaded machine: a survivor would live 30 s.
            // Alive means that PID still runs the grandchild's `sleep 30`: on a busy machine
            // (pid_max 32768) another process may have the number by now.
            func stillSleeping() -> Bool {
                guard !ProcessTable.hasExited(grandchild),
                      let argv = FileManager.default.contents(atPath: "/proc/\(grandchild)/cmdline") else { return false }
                return String(decoding: argv, as: UTF8.self).hasPrefix("sleep\u{0}30")
            }
            var exited = !stillSleeping()
            for _ in 0..<30 where !exited {
                try await Task.sleep(for: .milliseconds(100))
                exited = !stillSleeping()
            }
            #expect(exited, "a child of the timed-out program kept running (pid \(grandchild))")
        }
    }

    @Test func aProgramThatClosesItsOutputIsStillBoundedByTheTimeout() async throws {
        let started = ContinuousClock.now
        let error = await #expect(throws: ChildProcess.Failure.self) {
            try await ChildProcess.run(.init("/bin/sh", ["-c", "exec >/dev/null 2>&1; sleep 30"], timeout: .milliseconds(300)))
        }
        #expect(error?.kind == .timedOut)
        // Well before the program's own 30 s (a loaded machine took 10.4 s to get there once).
        #expect(ContinuousClock.now - started < .seconds(25))
    }

    @Test func outputIsBoundedToItsLastBytes() async throws {
        let result = try await ChildProcess.run(.init("/bin/sh", ["-c", "seq 1 100000; echo the-end"], timeout: .seconds(20),
                                                      outputLimit: 1000))
        #expect(result.succeeded)
        #expect(result.truncated)
        #expect(result.output.utf8.count <= 1000)
        #expect(result.output.hasSuffix("the-end\n"))
    }

    @Test func theEnvironmentCarriesOnlyWhatIsGiven() async throws {
        setenv("PGDR_TEST_SECRET_PASSWORD", "hunter2-must-not-leak", 1)
        defer { unsetenv("PGDR_TEST_SECRET_PASSWORD") }
        let result = try await ChildProcess.checked(.init("/usr/bin/env", [], environment: ["PGDR_NEW_PRIMARY_NAME": "pg2"],
                                                          timeout: .seconds(10)))
        #expect(!result.output.contains("hunter2"), "a variable of pgdr's own environment reached the child")
        #expect(result.output.contains("PGDR_NEW_PRIMARY_NAME=pg2"))
        #expect(result.output.contains("PATH="))
    }

    @Test func aFailureQuotesTheProgramsLastWords() async throws {
        let error = await #expect(throws: ChildProcess.Failure.self) {
            try await ChildProcess.checked(.init("/bin/sh", ["-c", "echo first >&2; echo 'the real reason' >&2; exit 3"],
                                                 timeout: .seconds(10)))
        }
        #expect(error?.kind == .failed)
        #expect(error?.description.contains("exit status 3") == true)
        #expect(error?.description.contains("the real reason") == true)
    }

    @Test func aMissingProgramIsAClearError() async throws {
        let error = await #expect(throws: ChildProcess.Failure.self) {
            try await ChildProcess.run(.init("/nonexistent/pgdr-hook", [], timeout: .seconds(5)))
        }
        #expect(error?.kind == .couldNotStart)
        #expect(error?.description.contains("pgdr-hook") == true)
    }

    @Test func inputReachesTheProgram() async throws {
        let result = try await ChildProcess.checked(.init("/bin/cat", [], timeout: .seconds(5), input: Array("{\"a\":1}".utf8)))
        #expect(result.output == "{\"a\":1}")
    }
}

@Suite struct ChildProcessGroupTests {
    @Test func theChildLeadsItsOwnProcessGroup() async throws {
        let result = try await ChildProcess.checked(.init("/bin/sh", ["-c", "echo $$; cut -d' ' -f5,6 /proc/$$/stat"], timeout: .seconds(10)))
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 2)
        let pid = lines.first.map(String.init) ?? ""
        #expect(lines.last == Substring("\(pid) \(pid)"), "pgid and sid should be the child's pid: \(result.output)")
    }
}
