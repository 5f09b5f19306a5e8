import DRLocal
import DRPostgres
import DRSpec
import DRStatus
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
}
