import DRSpec
import DRStatus
import Foundation
import Logging

/// A node's role and, on a primary, its flush position: one session, one
/// query, with a short deadline. The step machine's look at each node
/// before a step, and the quick look a quorum round renews its lease on
/// (the full `NodeProbe` sample takes several statements).
public enum RoleProbe {
    public struct Look: Sendable {
        public var role: NodeRole?
        public var flushLSN: LSN?
        public init(role: NodeRole? = nil, flushLSN: LSN? = nil) {
            self.role = role
            self.flushLSN = flushLSN
        }
    }

    /// nil role: the node did not answer in time.
    public static func look(_ node: NodeSpec, baseDirectory: String, timeout: Duration, applicationName: String,
                            logger: Logger) async -> Look {
        guard var target = try? ConnectionTarget(node: node, baseDirectory: baseDirectory, applicationName: applicationName) else {
            return Look()
        }
        target.connectTimeout = timeout
        target.statementTimeout = timeout
        target.clientGrace = .milliseconds(100)
        let look = try? await PostgresSession.with(target, logger: logger) { session -> Look in
            let rows = try await session.rows("""
                SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')::bool,
                       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_flush_lsn()::text END
                """)
            guard let (inRecovery, readOnly, flush) = try rows.first?.decode((Bool, Bool, String?).self) else { return Look() }
            return Look(role: inRecovery ? .standby : readOnly ? .readOnlyPrimary : .writablePrimary, flushLSN: flush.flatMap(LSN.init))
        }
        return look ?? Look()
    }
}
