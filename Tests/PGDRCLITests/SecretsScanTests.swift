import DRLocal
import Foundation
import PGDRTestSupport
import Synchronization
import Testing

/// Every verb run on a lab with backups, at trace level, while a sampler
/// reads every process's argv from /proc: no generated password, token or
/// passphrase (nor an AWS secret key) may appear in any argv, any output or
/// error text, any log or journal, or any file others can read.
@Suite(.serialized) struct SecretsScanTests {
    @Test func noSecretLeavesTheFilesMeantForIt() async throws {
        let root = try CLI.tempDirectory()
        let dir = "\(root)/lab"
        let up = try await CLI.run(["lab", "up", "--loopback", "--backups", "--dir", dir])
        defer {
            BackupCommandTests.stopRestored(in: root)
            _ = try? CLI.runBlocking(["lab", "destroy", "--yes", "--dir", dir])
        }
        try #require(up.status == 0, "\(up.stderr)")
        let config = "\(dir)/pgdr.yaml"
        // The agent's token, as an operator would add it.
        let token = "tok-\(UUID().uuidString)-\(UUID().uuidString)"
        try token.write(toFile: "\(dir)/secrets/agent.token", atomically: false, encoding: .utf8)
        chmod("\(dir)/secrets/agent.token", 0o600)
        try (String(contentsOfFile: config, encoding: .utf8) + "\nagent:\n  tokenFile: secrets/agent.token\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let awsSecret = "awsSecret\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
        var secrets = [token, awsSecret]
        for name in try FileManager.default.contentsOfDirectory(atPath: "\(dir)/secrets") {
            let text = try String(contentsOfFile: "\(dir)/secrets/\(name)", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { secrets.append(text) }
        }
        #expect(secrets.count >= 6, "admin, replication, monitoring passwords, the backup passphrase, the token, the AWS key: \(secrets.count)")

        let sampler = ArgvSampler(secrets: secrets)
        sampler.start()
        let environment = ["PGDR_LOG_LEVEL": "trace", "AWS_ACCESS_KEY_ID": "AKIASCANSCANSCAN0001", "AWS_SECRET_ACCESS_KEY": awsSecret]
        var outputs: [(String, CLI.Result)] = []
        func run(_ arguments: [String]) async throws -> CLI.Result {
            let result = try await CLI.run(arguments, environment: environment)
            outputs.append((arguments.joined(separator: " "), result))
            return result
        }

        _ = try await run(["validate", config])
        _ = try await run(["status", "--config", config])
        _ = try await run(["status", "--json", "--config", config])
        _ = try await run(["backup", "--config", config])
        _ = try await run(["backups", "--json", "--config", config])
        let restore = try await run(["restore", "--to", "latest", "--target-dir", "\(root)/restore-scan", "--json", "--config", config])
        #expect(restore.status == 0, "\(restore.stderr)")
        BackupCommandTests.stopRestored(in: root)

        // The agent at trace level for a few rounds, its approve endpoint tried with a wrong token and the right one.
        let agent = try await run(["agent", "--config", config, "--listen", "127.0.0.1:0", "--help"])
        #expect(agent.status == 0)
        let traced = try await AgentRun.start(config: config, environment: environment)
        try await Task.sleep(for: .seconds(4))
        // The header from a 0600 file (`-H @FILE`): a token in curl's own argv would be the test's leak.
        for bearer in ["wrong-\(token.prefix(8))", token] {
            let header = "\(root)/bearer.header"
            try "Authorization: Bearer \(bearer)\n".write(toFile: header, atomically: false, encoding: .utf8)
            chmod(header, 0o600)
            _ = try? await CLI.program("/usr/bin/curl", ["-sS", "--max-time", "3", "-X", "POST", "-H", "@\(header)",
                                                          "\(traced.base)/operations/failover-00000000/approve"])
            try? FileManager.default.removeItem(atPath: header)
        }
        outputs.append(("agent (trace)", await traced.stop()))

        let plan = try await run(["failover", "--config", config])
        let id = try #require(plan.stdout.firstMatch(of: /approve with: pgdr approve (failover-[0-9a-f]+)/)?.1, "\(plan.stdout)\(plan.stderr)")
        let approved = try await run(["approve", String(id), "--config", config])
        #expect(approved.status == 0 || approved.status == 4, "\(approved.stdout)\(approved.stderr)")
        let rejoin = try await run(["rejoin", "pg1", "--config", config])
        #expect(rejoin.status == 0 || rejoin.status == 4, "\(rejoin.stdout)\(rejoin.stderr)")
        let switchover = try await run(["switchover", "--config", config])
        #expect(switchover.status == 0 || switchover.status == 4, "\(switchover.stdout)\(switchover.stderr)")
        _ = try await run(["drill", "--scenario", "switchover", "--runs", "1", "--config", config])
        _ = try await run(["operations", "--config", config])
        _ = try await run(["events", "--config", config])

        // The AWS side: synth, and an RDS verb whose endpoint refuses (the error path carries the call).
        let aws = "\(root)/aws"
        try FileManager.default.createDirectory(atPath: aws, withIntermediateDirectories: true)
        _ = try await run(["init", "\(aws)/pgdr.yaml"])
        _ = try await run(["synth", "--config", "\(aws)/pgdr.yaml", "--out", "\(aws)/out"])
        let rds = """
            name: orders
            environment: prod
            objectives: {rpo: 5m, rto: 1h}
            engine: {version: "16"}
            target: aws
            aws: {endpoint: "http://127.0.0.1:9"}

            """
        try rds.write(toFile: "\(aws)/rds.yaml", atomically: true, encoding: .utf8)
        let started = ContinuousClock.now
        let refused = try await run(["status", "--config", "\(aws)/rds.yaml"])
        #expect(refused.status != 0 && (refused.stdout + refused.stderr).contains("no answer after"), "\(refused.stdout)")
        #expect(ContinuousClock.now - started < .seconds(30), "a refused endpoint is said within seconds, not minutes")

        let leaked = sampler.stop()
        #expect(sampler.samples > 50, "the sampler must really have watched: \(sampler.samples) samples")
        #expect(sampler.sawPostgres, "the sampler must have seen the servers' processes")
        #expect(leaked.isEmpty, "secrets in process arguments: \(leaked)")

        for (command, result) in outputs {
            for secret in secrets {
                #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret), "`\(command)` printed a secret")
            }
        }
        let agentOutput = outputs.first { $0.0 == "agent (trace)" }.map { $0.1.stdout + $0.1.stderr } ?? ""
        #expect(agentOutput.contains("trace"), "the agent really logged at trace level: \(agentOutput.prefix(300))")

        // Files: one holding a secret must be its owner's alone; logs and journals hold none.
        for folder in [dir, root] {
            guard let walker = FileManager.default.enumerator(atPath: folder) else { continue }
            for case let relative as String in walker {
                let path = "\(folder)/\(relative)"
                var info = stat()
                guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size < 64 << 20,
                      let data = FileManager.default.contents(atPath: path),
                      secrets.contains(where: { data.range(of: Data($0.utf8)) != nil }) else { continue }
                #expect(info.st_mode & 0o077 == 0, "\(path) holds a secret and is mode \(String(info.st_mode & 0o777, radix: 8))")
                let name = (path as NSString).lastPathComponent
                #expect(!(name.hasSuffix(".log") || name.hasSuffix(".jsonl") || name.hasSuffix(".yaml") || name.hasSuffix(".json")),
                        "\(path) is a log, journal or spec and holds a secret")
            }
        }
    }
}

/// Reads every process's argv from /proc until stopped, and keeps the ones
/// that contain a secret (with the secret masked).
final class ArgvSampler: Sendable {
    let secrets: [String]
    private let state = Mutex<(running: Bool, samples: Int, sawPostgres: Bool, leaked: [String])>((false, 0, false, []))
    private let finished = DispatchSemaphore(value: 0)

    init(secrets: [String]) { self.secrets = secrets }

    var samples: Int { state.withLock { $0.samples } }
    var sawPostgres: Bool { state.withLock { $0.sawPostgres } }

    func start() {
        state.withLock { $0.running = true }
        Thread.detachNewThread { [self] in
            while state.withLock({ $0.running }) {
                var sawPostgres = false
                var leaked: [String] = []
                for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where pid.allSatisfy(\.isNumber) {
                    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { continue }
                    let argv = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
                    if argv.contains("postgres") { sawPostgres = true }
                    for secret in secrets where argv.contains(secret) {
                        leaked.append(argv.replacingOccurrences(of: secret, with: "<secret>"))
                    }
                }
                state.withLock {
                    $0.samples += 1
                    $0.sawPostgres = $0.sawPostgres || sawPostgres
                    $0.leaked += leaked
                }
                usleep(20_000)
            }
            finished.signal()
        }
    }

    func stop() -> [String] {
        state.withLock { $0.running = false }
        finished.wait()
        return state.withLock { $0.leaked }
    }
}

/// `pgdr agent` at trace level with its output kept, stopped by its PID.
/// Both pipes are drained from the start: an agent logging at trace level
/// fills a pipe nobody reads, and then cannot even stop.
final class AgentRun: Sendable {
    let process: Process
    let base: String
    private let output: Drain
    private let errors: Drain

    private init(process: Process, base: String, output: Drain, errors: Drain) {
        self.process = process
        self.base = base
        self.output = output
        self.errors = errors
    }

    static func start(config: String, environment: [String: String], listen: String = "127.0.0.1:0",
                      logLevel: String = "trace") async throws -> AgentRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["agent", "--config", config, "--listen", listen, "--log-level", logLevel]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = Drain(out.fileHandleForReading), errors = Drain(err.fileHandleForReading)
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let text = output.text
            if let range = text.range(of: "http://") {
                let base = String(text[range.lowerBound...].prefix { !$0.isNewline })
                return AgentRun(process: process, base: base, output: output, errors: errors)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(process.processIdentifier, SIGKILL)
        throw AgentRunError(description: "the agent did not start: \(errors.text.suffix(500))")
    }

    func stop() async -> CLI.Result {
        kill(process.processIdentifier, SIGTERM)
        await output.finished()
        await errors.finished()
        process.waitUntilExit()
        return CLI.Result(status: process.terminationStatus, stdout: output.text, stderr: errors.text)
    }
}

/// Reads a pipe to its end on a thread of its own.
final class Drain: Sendable {
    private let data = Mutex(Data())
    private let done = Mutex(false)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            // availableData returns what has arrived (read(upToCount:) waits for all of it).
            while case let chunk = handle.availableData, !chunk.isEmpty {
                data.withLock { $0.append(chunk) }
            }
            done.withLock { $0 = true }
        }
    }

    var text: String { String(decoding: data.withLock { $0 }, as: UTF8.self) }

    func finished() async {
        while !done.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(20)) }
    }
}

struct AgentRunError: Error, CustomStringConvertible { let description: String }
