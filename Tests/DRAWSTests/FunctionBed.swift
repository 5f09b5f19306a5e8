import Foundation
import PGDRTestSupport
import Testing

/// A Lambda function as Lambda runs it, on this machine: the built
/// `pgdr-lambda` bootstrap against a local stand-in of the Runtime API
/// (`runtime_api.py`). The test queues events and reads the answers; both
/// processes are stopped by their PIDs.
final class FunctionBed: @unchecked Sendable {
    let runtime: Process
    let function: Process
    let port: Int
    let log: String
    var api: String { "http://127.0.0.1:\(port)" }

    /// The bootstrap as Lambda gets it: built by `scripts/build-functions debug` (.ci/run does).
    static var bootstrap: String {
        ProcessInfo.processInfo.environment["PGDR_LAMBDA_BOOTSTRAP"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build-functions/pgdr-lambda-debug").path
    }

    /// `pgdr package` with this spec, unzipped as Lambda unzips it: the task root.
    static func package(config: String, folder: String) async throws -> String {
        try #require(FileManager.default.isExecutableFile(atPath: bootstrap),
                     "no Lambda bootstrap at \(bootstrap): run scripts/build-functions debug (as .ci/run does)")
        let out = "\(folder)/package-\(UUID().uuidString.prefix(6))"
        let packaged = try await CLI.run(["package", "--bootstrap", bootstrap, "--config", config, "--out", out])
        try #require(packaged.status == 0, "pgdr package: \(packaged.stdout)\(packaged.stderr)")
        let task = "\(out)/task"
        let unzipped = try await CLI.program("/usr/bin/unzip", ["-q", "\(out)/pgdr-functions.zip", "-d", task])
        try #require(unzipped.status == 0, "unzip: \(unzipped.stderr)")
        return task
    }
    static var script: String { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("runtime_api.py").path }

    /// `environment`: the function's whole environment (Lambda gives it nothing else).
    init(environment: [String: String], folder: String) async throws {
        port = try MotoBed.freePort()
        runtime = try MotoServer.startScript(Self.script, ["\(port)"])
        var up = false
        for _ in 0..<100 where !up {
            up = (try? await CLI.program("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/test/init"]))?.stdout == "200"
            if !up { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(up, "the Runtime API stand-in did not start")
        log = "\(folder)/function-\(port).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        function = Process()
        let root = environment["LAMBDA_TASK_ROOT"] ?? ""
        function.executableURL = URL(fileURLWithPath: root.isEmpty ? Self.bootstrap : "\(root)/bootstrap")
        function.environment = ["AWS_LAMBDA_RUNTIME_API": "127.0.0.1:\(port)", "PATH": "/usr/bin:/bin", "PGDR_LOG_LEVEL": "info"]
            .merging(environment) { $1 }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        function.standardOutput = handle
        function.standardError = handle
        try function.run()
    }

    struct Answer: @unchecked Sendable {
        var kind: String
        var body: [String: Any]
        var errorType: String?
        var seconds: Double
        var text: String
    }

    /// Queues the event and waits for the function's answer.
    func invoke(_ event: Any) async throws -> Answer {
        let data = try JSONSerialization.data(withJSONObject: event)
        let queued = try await CLI.program("/usr/bin/curl", ["-s", "-X", "POST", "--data-binary", "@-", "\(api)/test/events"], stdin: data)
        let id = queued.stdout
        try #require(!id.isEmpty, "the stand-in did not queue the event")
        // Asked in slices while the function runs: one that died answers nothing.
        var object: [String: Any]?
        let deadline = Date().addingTimeInterval(90)
        while object == nil, Date() < deadline, function.isRunning {
            let result = try await CLI.program("/usr/bin/curl", ["-s", "-m", "3", "\(api)/test/results/\(id)"])
            object = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any]
        }
        let answer = try #require(object, "no answer from the function (running: \(function.isRunning)): \(logText)")
        let body = answer["body"] as? String ?? ""
        return Answer(kind: answer["kind"] as? String ?? "", body: (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:],
                      errorType: answer["errorType"] as? String, seconds: answer["seconds"] as? Double ?? 0, text: body)
    }

    func initError() async throws -> [String: Any] {
        let result = try await CLI.program("/usr/bin/curl", ["-s", "\(api)/test/init"])
        return (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]) ?? [:]
    }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    func stop() {
        if function.isRunning { kill(function.processIdentifier, SIGKILL) }
        MotoServer.terminate(runtime)
    }

    /// A CloudWatch alarm state change, as EventBridge delivers it.
    static func alarmEvent(_ name: String, state: String = "ALARM") -> [String: Any] {
        ["version": "0", "id": UUID().uuidString, "source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
         "account": "123456789012", "region": "us-east-2", "time": ISO8601DateFormatter().string(from: Date()),
         "resources": ["arn:aws:cloudwatch:us-east-2:123456789012:alarm:\(name)"],
         "detail": ["alarmName": name, "state": ["value": state, "reason": "test"], "previousState": ["value": "OK"]]]
    }

    /// A Parameter Store change, as EventBridge delivers it.
    static func parameterEvent(_ name: String, operation: String = "Create") -> [String: Any] {
        ["version": "0", "id": UUID().uuidString, "source": "aws.ssm", "detail-type": "Parameter Store Change",
         "account": "123456789012", "region": "us-east-2", "time": ISO8601DateFormatter().string(from: Date()),
         "resources": ["arn:aws:ssm:us-east-2:123456789012:parameter\(name)"],
         "detail": ["name": name, "type": "String", "operation": operation]]
    }
}
