/// How one step ended. A step that could not do its job throws instead; a
/// step that did only part of it says so here, and that travels to the
/// journal, the exit status, the notification and the operator's screen.
public enum StepOutcome: Sendable, Hashable, Codable {
    case done(String)
    /// The step finished, but not as well as it should have: the reason is
    /// what the operator must check (a fence that could not stop the old
    /// primary, a rejoin that had to copy everything).
    case degraded(String, reason: String)

    public var detail: String {
        switch self {
        case .done(let detail), .degraded(let detail, _): detail
        }
    }

    public var degradedReason: String? {
        if case .degraded(_, let reason) = self { return reason }
        return nil
    }
}

/// How a whole operation ended.
public enum OperationOutcome: String, Sendable, Hashable, Codable {
    /// Every step done.
    case done
    /// Finished, and at least one step degraded: see the reasons.
    case degraded
    /// Stopped at a step; resumable with `pgdr approve ID`.
    case failed
    /// Undone before it changed who is primary (a switchover rolled back).
    case aborted
}
