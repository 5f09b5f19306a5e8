import DROrchestrator
import Foundation

/// `pgdr operations`: each operation's state, read back from the journal.
public struct OperationSummary: Sendable, Codable {
    public var operation: String
    public var kind: OperationKind
    public var state: String
    /// done, degraded, failed, aborted; nil while pending or running.
    public var outcome: OperationOutcome?
    public var lastStep: Step?
    public var detail: String?
    /// Why the operation ended degraded, step by step.
    public var degraded: [String]
    public var startedAt: Date
    public var updatedAt: Date
    public var finishedSteps: [Step]
    /// The one command that moves it on, when there is one.
    public var next: String?

    public static func all(store: OperationStore, now: Date = Date()) -> [OperationSummary] {
        let lock = store.currentLock()
        var order: [String] = []
        var grouped: [String: [OperationStore.Entry]] = [:]
        for entry in store.entries() {
            if grouped[entry.operation] == nil { order.append(entry.operation) }
            grouped[entry.operation, default: []].append(entry)
        }
        return order.compactMap { id in
            guard let list = grouped[id], let first = list.first, let last = list.last else { return nil }
            let finished = list.filter { $0.phase == .end }.compactMap(\.step)
            let begun = list.filter { $0.phase == .begin }.compactMap(\.step)
            let open = begun.last.flatMap { finished.contains($0) ? nil : $0 }
            let degraded = list.filter { $0.phase == .end }.compactMap(\.reason)
            var summary = OperationSummary(operation: id, kind: last.kind, state: "", outcome: nil, lastStep: last.step ?? open,
                                           detail: last.detail, degraded: degraded, startedAt: first.at, updatedAt: last.at,
                                           finishedSteps: finished, next: nil)
            let holdsLock = lock?.operation == id
            switch store.standing(of: id) {
            case .finished(let outcome):
                summary.outcome = outcome
                summary.state = outcome == .aborted ? "aborted (rolled back)" : outcome.rawValue
            case .refused, .unknown:
                summary.state = "refused"
            case .pending:
                if let plan = store.plan(id), let expires = plan.expiresAt {
                    summary.state = expires < now ? "approval expired" : "awaiting approval until \(expires.formatted(.iso8601))"
                    if expires >= now { summary.next = "pgdr approve \(id)" }
                } else {
                    summary.state = "planned"
                }
            case .started:
                if holdsLock, lock?.holderAlive == true {
                    summary.state = "running" + (open.map { " (\($0.rawValue))" } ?? "")
                } else {
                    let failedAt = list.last { $0.phase == .failed }
                    let at = open.map { " during \($0.rawValue) (began, never ended)" }
                        ?? (finished.last.map { " after \($0.rawValue)" } ?? " before its first step")
                    summary.outcome = failedAt != nil && last.phase == .failed ? .failed : nil
                    summary.state = (summary.outcome == .failed ? "failed" : "interrupted") + at
                        + (holdsLock ? "; it holds the operation lock" : "")
                    summary.next = "pgdr approve \(id)"
                }
            }
            return summary
        }
    }
}
