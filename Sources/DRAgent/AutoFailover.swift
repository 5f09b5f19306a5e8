import DROperations
import DROrchestrator
import DRPostgres
import DRSpec
import DRStatus
import Foundation
import Logging

/// The agent's automatic mode: when a round finds no primary, probe the one
/// last seen `failover.detection.probes` times, `interval` apart, and let
/// `AutomaticFailover` decide. A failover it starts is an ordinary operation
/// (journaled step by step, under the operation lock).
actor AutoFailover {
    let spec: Spec
    let baseDirectory: String
    let journal: Journal
    let logger: Logger
    private var lastRefusal: String?

    init(spec: Spec, baseDirectory: String, journal: Journal, logger: Logger) {
        self.spec = spec
        self.baseDirectory = baseDirectory
        self.journal = journal
        self.logger = logger
    }

    /// Returns true when a failover ran (the caller then samples again at once).
    func consider(_ report: StatusReport) async -> Bool {
        guard spec.failover.mode == .automatic,
              !report.nodes.contains(where: { $0.reachable && $0.role == .primary }),
              let last = PrimaryPosition.load(directory: baseDirectory),
              let node = spec.nodes.first(where: { $0.name == last.node }) else { return false }
        let failed = await probe(node)
        let id = OperationStore.newID(.failover)
        let decision = AutomaticFailover.decide(spec: spec, evidence: .init(consecutiveFailedProbes: failed),
                                                report: report, lastKnownPrimary: last, id: id, now: Date())
        switch decision {
        case .keepWatching:
            return false
        case .refuse(let refusal):
            if refusal.description != lastRefusal {
                lastRefusal = refusal.description
                logger.warning("automatic failover refused", metadata: ["reason": "\(refusal)"])
                _ = try? await journal.append(.init(at: Date(), kind: .operation, message: "automatic failover \(refusal.description)"))
            }
            return false
        case .failover(let plan):
            lastRefusal = nil
            let ctx = OperationContext(spec: spec, baseDirectory: baseDirectory, logger: logger)
            _ = try? await journal.append(.init(at: Date(), kind: .operation,
                                                message: "automatic failover \(plan.id): \(plan.from) -> \(plan.to) after \(failed) failed probes"))
            try? ctx.store.append(.init(operation: plan.id, kind: .failover, phase: .planned,
                                        detail: "automatic: \(plan.from) -> \(plan.to) after \(failed) failed probes"))
            do {
                let outcome = try await OperationRunner(context: ctx).execute(plan)
                _ = try? await journal.append(.init(at: Date(), kind: .operation,
                                                    message: String(format: "automatic failover %@ done in %.2fs", plan.id, outcome.totalSeconds)))
            } catch {
                logger.error("automatic failover failed", metadata: ["error": "\(error)"])
                _ = try? await journal.append(.init(at: Date(), kind: .operation, message: "automatic failover \(plan.id) failed: \(error)"))
            }
            return true
        }
    }

    /// Consecutive failed probes of the node, up to the required count.
    func probe(_ node: NodeSpec) async -> Int {
        guard let probe = try? PrimaryProbe(node: node, baseDirectory: baseDirectory, detection: spec.failover.detection) else { return 0 }
        return await probe.consecutiveFailures()
    }
}
