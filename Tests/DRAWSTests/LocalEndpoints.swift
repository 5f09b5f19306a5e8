import Foundation
import PGDRTestSupport
import Testing

/// `local_endpoints.py` on a free loopback port: instance metadata (IMDSv2),
/// a container credentials endpoint, and an API endpoint that throttles or
/// fails. Stopped by its PID.
final class LocalEndpoints: @unchecked Sendable {
    let process = Process()
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }
    static let containerToken = "container-authorization-token"

    static var script: String { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("local_endpoints.py").path }

    /// Starts it off the cooperative pool: waiting for the port blocks a thread,
    /// and a test that blocks one of the pool's few threads stalls every other test.
    static func start(mode: String = "throttle") async throws -> LocalEndpoints {
        try await withCheckedThrowingContinuation { continuation in
            Blocking.run {
                do { continuation.resume(returning: try LocalEndpoints(mode: mode)) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    private init(mode: String) throws {
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // As MotoBed: SIGTERM unblocked before exec, so stop() ends it the ordinary way.
        process.arguments = ["python3", "-c", """
            import os, signal, sys
            signal.pthread_sigmask(signal.SIG_SETMASK, set())
            os.execv(sys.executable, [sys.executable] + sys.argv[1:])
            """, Self.script, mode]
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = String(decoding: out.fileHandleForReading.availableDataLine(), as: UTF8.self)
        port = try #require(Int(line.trimmingCharacters(in: .whitespacesAndNewlines)), "local_endpoints.py did not start: \(line)")
    }

    /// API calls answered so far.
    func count() async throws -> Int {
        let result = try await CLI.program("/usr/bin/curl", ["-s", "\(url)/count"])
        return Int(result.stdout) ?? -1
    }

    /// When each API call arrived (seconds on the server's monotonic clock).
    func arrivals() async throws -> [Double] {
        let result = try await CLI.program("/usr/bin/curl", ["-s", "\(url)/times"])
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [Double]) ?? []
    }

    /// The access key id each API call was signed with, in order.
    func signingKeys() async throws -> [String] {
        let result = try await CLI.program("/usr/bin/curl", ["-s", "\(url)/keys"])
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String]) ?? []
    }

    /// SIGTERM now, SIGKILL in 5 s if it is still there; never blocks the caller.
    func stop() {
        MotoBed.terminate(process)
    }
}

extension FileHandle {
    /// Reads up to the first newline (the port the child prints).
    func availableDataLine() -> Data {
        var line = Data()
        while true {
            let byte = readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { return line }
            line.append(byte)
        }
    }
}
