import Foundation
import PGDRTestSupport
import Testing

/// moto_server on a free loopback port, with signature checking on, and the
/// bed around it (`moto_bed.py`, boto3): IAM users, the two instances, a
/// hosted zone, SNS topics with SQS queues. Stopped by its PID.
final class MotoBed: @unchecked Sendable {
    let process: Process
    let port: Int
    let dir: String
    var url: String { "http://127.0.0.1:\(port)" }
    /// The bed's JSON: pgdr's and the admin's keys, the zone, the queues.
    var state: [String: Any] = [:]


    static var script: String { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("moto_bed.py").path }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                guard bind(fd, $0, length) == 0, getsockname(fd, $0, &length) == 0 else { throw POSIXError(.EADDRINUSE) }
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts moto_server and builds the bed (`standalone`: both instances standalone).
    init(standalone: Bool = false) async throws {
        port = try Self.freePort()
        dir = try CLI.tempDirectory()
        // With SIGTERM unblocked, so stop() ends moto_server the ordinary way (MotoServer).
        process = try MotoServer.start(port: port, environment: ["MOTO_RECORDER_FILEPATH": "\(dir)/recording.jsonl"])
        let up = await MotoServer.waitUntilUp("\(url)/moto-api/", process: process)
        // A bed that cannot be built stops its moto_server: nothing may outlive the test.
        do {
            try #require(up, "moto_server did not start on \(url) (pip install 'moto[server]')")
            let setup = try await bed(["setup"] + (standalone ? ["standalone"] : []))
            state = try #require(try JSONSerialization.jsonObject(with: Data(setup.utf8)) as? [String: Any])
        } catch {
            Self.terminate(process)
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
    }

    /// Stops it by its PID without blocking the caller (MotoServer.terminate).
    static func terminate(_ process: Process) { MotoServer.terminate(process) }

    func stop() {
        Self.terminate(process)
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.removeItem(atPath: "/tmp/pgdr-moto-bed-\(port).json")
    }

    @discardableResult
    func bed(_ arguments: [String], stdin: Data? = nil) async throws -> String {
        let command = arguments[0]
        // boto3 is seconds of Python: at the lowest priority, beside the suite's timing tests.
        let result = try await CLI.program("/usr/bin/nice", ["-n", "19", "python3", Self.script, command, url] + arguments.dropFirst(),
                                           stdin: stdin)
        try #require(result.status == 0, "moto_bed.py \(arguments.joined(separator: " ")): \(result.stderr)")
        return result.stdout
    }

    func json(_ arguments: [String]) async throws -> Any { try JSONSerialization.jsonObject(with: Data(try await bed(arguments).utf8)) }

    func key(_ user: String) -> (String, String) {
        let entry = state[user] as? [String: String] ?? [:]
        return (entry["key"] ?? "", entry["secret"] ?? "")
    }

    /// The environment pgdr runs with: pgdr's keys, no shared files, no instance metadata.
    var pgdrEnvironment: [String: String] {
        let (key, secret) = key("pgdr")
        return ["AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "HOME": dir, "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_PROFILE": ""]
    }

    /// pgdr.yaml for this bed.
    /// `promotionTimeout` is generous by default: the test plays RDS's part in a
    /// promotion with a Python script at the lowest priority, which a loaded
    /// machine can hold back for tens of seconds.
    func spec(extra: String = "", approvalTimeout: String = "15m", promotionTimeout: String = "3m") throws -> String {
        let path = "\(dir)/pgdr.yaml"
        try """
            \(AWSTestSpec.base)
            failover: {maxDataLoss: 1m, approvalTimeout: \(approvalTimeout)}
            dns: {hostedZoneId: \(state["zone"] as? String ?? ""), recordName: db.example.com}
            aws:
              endpoint: \(url)
              fenceParameterGroup: orders-fence-prod
              promotionTimeout: \(promotionTimeout)
            \(extra)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// moto never finishes a promotion: once pgdr has asked for one
    /// (PromoteReadReplica recorded), play RDS's part and finish it.
    func finishPromotionOnceAsked(within seconds: TimeInterval = 120) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try await !pgdrRequests().contains(where: { $0.action == "PromoteReadReplica" }) {
            try #require(Date() < deadline, "pgdr did not call PromoteReadReplica within \(Int(seconds)) s")
            try await Task.sleep(for: .milliseconds(200))
        }
        try await bed(["promoted"])
    }

    /// pgdr's own requests as moto recorded them: (method, path, action, body).
    func pgdrRequests() async throws -> [(method: String, path: String, action: String, body: String)] {
        let (key, _) = key("pgdr")
        let rows = try await json(["recording"]) as? [[String]] ?? []
        return rows.filter { $0.count == 5 && $0[4] == key }.map { ($0[0], $0[1], $0[2], $0[3]) }
    }
}
