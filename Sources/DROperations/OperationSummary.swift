import DROrchestrator
import Foundation

/// `pgdr operations`: each operation's state, read back from the journal.
public struct OperationSummary: Sendable, Codable {
    public var operation: String
    public var kind: OperationKind
    public var state: String
    public var lastStep: Step?
    public var detail: String?
    public var startedAt: Date
    public var updatedAt: Date
    public var finishedSteps: [Step]

    public static func all(store: OperationStore) -> [OperationSummary] {
        let entries = store.entries()
        let lock = store.currentLock()
        var order: [String] = []
        var grouped: [String: [OperationStore.Entry]] = [:]
        for entry in entries {
            if grouped[entry.operation] == nil { order.append(entry.operation) }
            grouped[entry.operation, default: []].append(entry)
        }
        return order.map { id in
            let list = grouped[id]!
            let last = list.last!
            let finished = list.filter { $0.phase == .end }.compactMap(\.step)
            let begun = list.filter { $0.phase == .begin }.compactMap(\.step)
            let open = begun.last.flatMap { finished.contains($0) ? nil : $0 }
            var state: String
            // A finished operation stays done, whatever was attempted on its id afterwards.
            let phase = list.contains { $0.phase == .done } ? .done : last.phase
            switch phase {
            case .done: state = "done"
            case .refused: state = "refused"
            case .aborted: state = "aborted (rolled back)"
            case .failed: state = "failed" + (last.step.map { " at \($0.rawValue)" } ?? "")
            case .planned:
                if let plan = store.approval(id), let expires = plan.expiresAt {
                    state = expires < Date() ? "approval expired" : "awaiting approval until \(expires.formatted(.iso8601))"
                } else {
                    state = "planned"
                }
            case .approved, .begin, .end:
                if let lock, lock.operation == id, kill(lock.pid, 0) == 0 || errno == EPERM {
                    state = "running" + (open.map { " (\($0.rawValue))" } ?? "")
                } else {
                    state = "interrupted" + (open.map { " during \($0.rawValue) (began, never ended)" }
                        ?? (finished.last.map { " after \($0.rawValue)" } ?? " before its first step"))
                }
            }
            return OperationSummary(operation: id, kind: last.kind, state: state, lastStep: last.step ?? open,
                                    detail: last.detail, startedAt: list.first!.at, updatedAt: last.at,
                                    finishedSteps: finished)
        }
    }
}
