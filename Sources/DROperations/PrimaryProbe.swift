import DRPostgres
import DRSpec
import Foundation
import Logging

/// The detection probe of automatic mode: can a fresh connection to the
/// node write? Each probe is bounded by `failover.detection.interval`, and
/// probes start `interval` apart however long each took, so the whole
/// detection takes (probes - 1) × interval after the first one.
public struct PrimaryProbe: Sendable {
    let spec: Spec
    let baseDirectory: String
    let logger: Logger

    public init(spec: Spec, baseDirectory: String, logger: Logger = Logger(label: "pgdr.detect")) {
        self.spec = spec
        self.baseDirectory = baseDirectory
        self.logger = logger
    }

    func target(_ name: String, detection: Failover.Detection) throws -> ConnectionTarget {
        guard let node = spec.nodes.first(where: { $0.name == name }) else {
            throw OperationError.badInput("no node named \(name) in the spec")
        }
        var target = try ConnectionTarget(node: node, baseDirectory: baseDirectory, applicationName: "pgdr-detect")
        target.connectTimeout = detection.interval.duration
        target.statementTimeout = detection.interval.duration
        target.clientGrace = .milliseconds(20)
        return target
    }

    /// True when the node answers and is not in recovery.
    public func isWritable(_ name: String, detection: Failover.Detection) async -> Bool {
        guard let target = try? target(name, detection: detection) else { return false }
        return (try? await PostgresSession.with(target, logger: logger) { session in
            try await !session.value(Bool.self, "SELECT pg_is_in_recovery()")
        }) ?? false
    }

    public func consecutiveFailures(of name: String, detection: Failover.Detection) async -> Int {
        let start = ContinuousClock.now
        for attempt in 0..<detection.probes {
            if attempt > 0 {
                try? await Task.sleep(until: start + detection.interval.duration * attempt, clock: .continuous)
            }
            if await isWritable(name, detection: detection) { return 0 }
        }
        return detection.probes
    }
}
