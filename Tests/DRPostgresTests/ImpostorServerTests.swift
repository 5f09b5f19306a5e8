import DRSpec
import Foundation
import Logging
import PostgresNIO
import Testing
@testable import DRPostgres

/// A process that took over a stopped server's port asks pgdr for the
/// password in clear, or as MD5: pgdr sends nothing. The same impostor
/// first shows it would have seen a password from a client that answers
/// (postgres-nio on its own), so the test can fail.
@Suite struct ImpostorServerTests {
    @Test(arguments: ["cleartext", "md5"])
    func pgdrSendsNothingToAServerThatAsksForAWeakLogin(method: String) async throws {
        // The control: a client without the guard answers the request.
        let control = try await Impostor.start(method)
        let config = PostgresConnection.Configuration(host: "127.0.0.1", port: control.port, username: "pgdr_monitor",
                                                      password: "bait-\(method)", database: "postgres", tls: .disable)
        let answered = try? await withDeadline(.seconds(5)) {
            try await PostgresConnection.connect(configuration: config, id: 1, logger: Logger(label: "control"))
        }
        try? await answered?.close()
        let seen = try await control.report()
        #expect(seen.startup && seen.afterRequest > 0, "the impostor sees a password when one is sent: \(seen)")

        // pgdr, with TLS off (a trusted local path): refuses and sends nothing.
        let impostor = try await Impostor.start(method)
        var target = ConnectionTarget(host: "127.0.0.1", port: impostor.port, user: "pgdr_monitor",
                                      password: Secret("bait-\(method)"))
        target.tls = TLSSpec(mode: .disable)
        let error = await #expect(throws: PostgresFailure.self) { try await PostgresSession.connect(target) }
        #expect(error?.kind == .authentication)
        #expect(error?.description.contains("asked for \(method == "md5" ? "MD5" : "cleartext") password authentication") == true,
                "\(error.map(String.init(describing:)) ?? "")")
        #expect(error?.description.contains("bait") == false)
        let report = try await impostor.report()
        #expect(report.startup && report.afterRequest == 0, "nothing after the request: \(report)")

        // With TLS required, an impostor without TLS gets no login at all.
        let plain = try await Impostor.start(method)
        var strict = ConnectionTarget(host: "127.0.0.1", port: plain.port, user: "pgdr_monitor", password: Secret("bait"))
        strict.tls = TLSSpec(mode: .require)
        let refused = await #expect(throws: PostgresFailure.self) { try await PostgresSession.connect(strict) }
        #expect(refused?.kind == .tls && refused?.description.contains("does not offer TLS") == true)
        let plainReport = try await plain.report()
        #expect(plainReport.sslRequest && !plainReport.startup)
    }
}

/// The impostor process (impostor.py beside this file).
struct Impostor {
    struct Report: Decodable, Sendable {
        var sslRequest: Bool
        var startup: Bool
        var afterRequest: Int
    }

    let process: Process
    let output: FileHandle
    let port: Int

    static func start(_ method: String) async throws -> Impostor {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("impostor.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, method]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let line = try await readLine(pipe.fileHandleForReading)
        let port = try #require(Int(line.trimmingCharacters(in: .whitespacesAndNewlines)), "the impostor's port: \(line)")
        return Impostor(process: process, output: pipe.fileHandleForReading, port: port)
    }

    func report() async throws -> Report {
        let line = try await Self.readLine(output)
        process.waitUntilExit()
        return try JSONDecoder().decode(Report.self, from: Data(line.utf8))
    }

    /// One line, read on a thread of its own (never a cooperative one).
    static func readLine(_ handle: FileHandle) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                var bytes = Data()
                while true {
                    let byte = handle.readData(ofLength: 1)
                    if byte.isEmpty || byte == Data("\n".utf8) { break }
                    bytes.append(byte)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
    }
}
