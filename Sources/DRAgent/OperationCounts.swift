import DROperations
import DROrchestrator

/// How many operations of each kind stand where, from the operations journal:
/// `done`, `degraded`, `failed`, `aborted` once finished, else `refused`,
/// `pending` (awaiting approval) or `started`. Pure; exported as
/// `pgdr_operations{kind,state}`.
enum OperationCounts {
    struct Key: Hashable {
        var kind: OperationKind
        var state: String
    }

    static func count(_ entries: [OperationStore.Entry]) -> [Key: Int] {
        var last: [String: (kind: OperationKind, state: String)] = [:]
        for entry in entries {
            let previous = last[entry.operation]?.state
            let state: String? = switch entry.phase {
            case .done: (entry.outcome ?? .done).rawValue
            case .aborted: "aborted"
            case .refused: previous == nil || previous == "pending" ? "refused" : nil
            case .planned: previous == nil ? "pending" : nil
            case .approved, .begin, .end: ["done", "degraded", "aborted"].contains(previous ?? "") ? nil : "started"
            case .failed: "failed"
            }
            if let state { last[entry.operation] = (entry.kind, state) }
        }
        var counts: [Key: Int] = [:]
        for value in last.values { counts[Key(kind: value.kind, state: value.state), default: 0] += 1 }
        return counts
    }
}
