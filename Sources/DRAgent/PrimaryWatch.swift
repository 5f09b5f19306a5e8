import DROperations
import DRPostgres
import DRSpec
import Foundation
import Logging
import Synchronization

extension PrimaryProbe: PrimaryProber {}

/// Holds a session to the current primary and reports the instant it
/// closes (the server died, was stopped, or the link dropped it), so
/// detection starts then, not at the next round or after a query's deadline.
public final class PrimaryWatch: Sendable {
    let spec: Spec
    let baseDirectory: String
    let logger: Logger
    let onLoss: @Sendable (String, String) -> Void
    private let current = Mutex<String?>(nil)
    private let stopped = Mutex(false)

    /// Ends `run()`.
    public func finish() { stopped.withLock { $0 = true } }
    var isStopped: Bool { stopped.withLock { $0 } }

    public init(spec: Spec, baseDirectory: String, logger: Logger, onLoss: @escaping @Sendable (String, String) -> Void) {
        self.spec = spec
        self.baseDirectory = baseDirectory
        self.logger = logger
        self.onLoss = onLoss
    }

    /// The primary the last round found (nil: none).
    public func update(primary: String?) { current.withLock { $0 = primary } }

    var primary: String? { current.withLock { $0 } }

    public func run() async {
        while !Task.isCancelled && !isStopped {
            guard let node = primary, let spec = spec.nodes.first(where: { $0.name == node }),
                  var target = try? ConnectionTarget(node: spec, baseDirectory: baseDirectory, applicationName: "pgdr-watch")
            else {
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
            target.connectTimeout = self.spec.failover.detection.interval.duration
            guard let session = try? await PostgresSession.connect(target, logger: logger) else {
                // The round said it is the primary, and it does not let us in.
                if primary == node { onLoss(node, "a connection to \(node) failed") }
                try? await Task.sleep(for: self.spec.failover.detection.interval.duration)
                continue
            }
            let closed = await waitUntilClosedOrMoved(session, node: node)
            if closed, primary == node { onLoss(node, "the session to \(node) closed") }
            await session.close()
            if closed { try? await Task.sleep(for: self.spec.failover.detection.interval.duration) }
        }
    }

    /// True when the session closed; false when the primary moved elsewhere
    /// (or the watch is stopping) first.
    func waitUntilClosedOrMoved(_ session: PostgresSession, node: String) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await session.waitUntilClosed()
                return true
            }
            group.addTask {
                while !Task.isCancelled, !self.isStopped, self.primary == node {
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            if !first { await session.close() }
            return first
        }
    }
}
