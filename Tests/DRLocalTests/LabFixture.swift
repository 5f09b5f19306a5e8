import DRLocal
import DRPostgres
import DRSpec
import DRStatus
import PGDRTestSupport
import Foundation
import PostgresNIO
import Testing

/// A lab of its own for one test: its own folder under /tmp and its own free
/// ports, destroyed afterwards even when the test fails.
struct LabFixture: Sendable {
    let lab: Lab
    let parsed: ParsedSpec

    var spec: Spec { parsed.spec }

    static func with(_ body: @Sendable (LabFixture) async throws -> Void) async throws {
        try await LabSlots.with { try await run(body) }
    }

    static func run(_ body: @Sendable (LabFixture) async throws -> Void) async throws {
        let dir = NSTemporaryDirectory() + "pgdr-test-\(UUID().uuidString.prefix(8))"
        let lab = Lab(directory: dir)
        do {
            _ = try await lab.up()
            #expect(await lab.waitForStreaming(), "the standby should stream after lab up")
            let parsed = try SpecParser.load(path: lab.layout.specFile)
            try await body(LabFixture(lab: lab, parsed: parsed))
        } catch {
            try? await lab.destroy()
            throw error
        }
        try await lab.destroy()
    }

    func status() async -> StatusReport {
        let samples = await NodeProbe.sampleAll(spec.nodes, baseDirectory: parsed.baseDirectory)
        return StatusEvaluator.evaluate(samples, thresholds: spec.monitoring.thresholds)
    }

    /// Samples until `condition` holds or `timeout` passes; returns the last report.
    func status(within timeout: Duration, until condition: @Sendable (StatusReport) -> Bool) async throws -> StatusReport {
        let deadline = ContinuousClock.now + timeout
        var report = await status()
        while !condition(report) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            report = await status()
        }
        return report
    }

    func admin<T: Sendable>(_ node: String, _ body: @Sendable (PostgresSession) async throws -> T) async throws -> T {
        try await PostgresSession.with(try lab.adminTarget(node: node), body)
    }

    func monitorTarget(_ node: String) throws -> ConnectionTarget {
        let spec = spec.nodes.first { $0.name == node }!
        return try ConnectionTarget(node: spec, baseDirectory: parsed.baseDirectory)
    }

    /// A program (psql) run to its end on a thread of its own, its output and errors together.
    static func run(_ program: String, _ arguments: [String], environment: [String: String]) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: program)
                process.arguments = arguments
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
                let pipe = Pipe()
                process.standardOutput = pipe
                process.standardError = pipe
                do {
                    try process.run()
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
