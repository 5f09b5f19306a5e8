import DRStatus
import Foundation

/// The seam at "look at the servers": a full status report, and a quick
/// look at a few nodes' roles for the step machine between steps.
public protocol ClusterObserver: Sendable {
    func observe() async -> StatusReport
    /// What each named node is right now; nil for one that did not answer
    /// within `timeout`.
    func roles(of nodes: [String], timeout: Duration) async -> [String: NodeRole?]
}

/// The seam at time, so the runner and detector can be tested without waiting.
public protocol OperationClock: Sendable {
    func now() -> Date
    func sleep(for duration: Duration) async throws
}

public struct SystemClock: OperationClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}
