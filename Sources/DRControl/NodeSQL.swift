import DRStatus

/// The seam at a node's SQL: the admin actions operations take (as the
/// node's `adminUser`). Implemented over postgres-nio; a fake stands in for
/// unit tests.
public protocol NodeSQL: Sendable {
    var node: String { get }
    func isInRecovery() async throws -> Bool
    /// Ends recovery and waits until the node takes writes (at most `timeout`).
    func promote(timeout: Duration) async throws
    func checkpoint() async throws
    func replayLSN() async throws -> LSN?
    /// Writes a row (the heartbeat) and returns the WAL position after it.
    func writeProbe() async throws -> LSN
    /// Creates the physical slot when missing; true when it was created.
    func ensureSlot(_ name: String) async throws -> Bool
    /// Drops slots nobody streams from; returns their names.
    func dropInactiveSlots() async throws -> [String]
    func isStreaming() async throws -> Bool
    /// Weak fence for a node pgdr cannot stop: default read-only, sessions ended.
    func refuseWrites() async throws
    /// Lifts that weak fence (`default_transaction_read_only` back to the
    /// default): for a node that is the primary again by the quorum's or an
    /// operation's decision. The setting persists in postgresql.auto.conf and
    /// survives restarts, rewinds and base backups until this runs.
    func allowWrites() async throws
    /// `synchronous_standby_names`: cleared (relaxed) or back to the config files' value.
    func setSynchronousStandbys(relaxed: Bool) async throws
    /// Bounded mode: commits wait for `standby` (its application_name), or for
    /// nobody (nil). Written with ALTER SYSTEM: it outlives a restart of the
    /// server and the death of the agent (fail closed).
    func holdCommits(for standby: String?) async throws
}
