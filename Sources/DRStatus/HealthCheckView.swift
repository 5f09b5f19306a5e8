import Foundation

/// `target: aws` with `dns.healthCheckId`: what Route 53's checkers say
/// of the primary (GetHealthCheckStatus), as `pgdr status` shows it.
/// Route 53 calls a check healthy when more than 18% of its checkers
/// report success. Informational, as the CloudWatch alarms are. Pure.
public struct HealthCheckView: Sendable, Codable, Hashable {
    public var id: String
    /// Each checker's report ("Success: ...", "Failure: ...").
    public var observations: [String]
    /// Why the status could not be read.
    public var error: String?

    public init(id: String, observations: [String], error: String? = nil) {
        self.id = id
        self.observations = observations
        self.error = error
    }

    public var successes: Int { observations.filter { $0.hasPrefix("Success") }.count }

    /// Route 53's own rule; nil when nothing was observed.
    public var healthy: Bool? {
        observations.isEmpty ? nil : Double(successes) / Double(observations.count) > 0.18
    }

    public var rendered: String {
        if let error { return "Route 53 health check \(id) could not be read: \(error)\n" }
        guard let healthy else { return "Route 53 health check \(id): no checker has reported yet\n" }
        let failure = observations.first { !$0.hasPrefix("Success") }
        return "Route 53 health check \(id): \(healthy ? "healthy" : "UNHEALTHY") (\(successes) of \(observations.count) checkers report success)"
            + (failure.map { "; \($0)" } ?? "") + "\n"
    }
}
