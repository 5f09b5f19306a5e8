/// A node's role as operations care about it: a primary that refuses
/// writes (fenced through SQL) is not a second writable primary.
public enum NodeRole: Sendable, Hashable {
    case writablePrimary
    /// Out of recovery, but `default_transaction_read_only` is on.
    case readOnlyPrimary
    case standby

    public var isPrimary: Bool { self != .standby }
}
