import DRPostgres
import DRSpec
import DRStatus
import Foundation
import Logging

/// The quick look a quorum round starts with: this node's role and, on a
/// primary, its flush position, in one session and one query. A primary
/// saves that position and renews its lease on it; the full sample (slots,
/// archiver, connections: several statements) follows the renewal, so a
/// loaded server cannot make the lease's renewal late.
enum OwnServer {
    struct Look: Sendable {
        var role: NodeRole?
        var flushLSN: LSN?
    }

    static func look(_ node: NodeSpec, baseDirectory: String, timeout: Duration, logger: Logger) async -> Look {
        guard var target = try? ConnectionTarget(node: node, baseDirectory: baseDirectory, applicationName: "pgdr-agent") else {
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
