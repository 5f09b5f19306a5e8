import Foundation
import PostgresNIO

/// The heartbeat row (docs/agent.md: lag is measured two ways). A writer
/// stamps `pgdr.heartbeat` on the primary every interval; the newest stamp a
/// standby has replayed tells how far behind it is in time, and an idle
/// primary does not make that number grow.
public enum Heartbeat {
    /// The schema and table, as separate statements (the extended protocol
    /// runs one statement at a time).
    public static let schemaStatements = [
        "CREATE SCHEMA IF NOT EXISTS pgdr",
        """
        CREATE TABLE IF NOT EXISTS pgdr.heartbeat (
            writer text PRIMARY KEY,
            beat_at timestamptz NOT NULL,
            primary_lsn pg_lsn NOT NULL
        )
        """,
    ]

    /// Stamps the heartbeat as `writer` (one row per writer, updated in place
    /// so the table never grows).
    /// The beat never waits for a synchronous standby (`synchronous_commit =
    /// local` for the session): the agent's rounds go on while commits are
    /// held, and the beat still reaches the standby through WAL like any other.
    public static func beat(_ session: PostgresSession, writer: String) async throws {
        try await session.execute("SET synchronous_commit TO local")
        let query: PostgresQuery = """
            INSERT INTO pgdr.heartbeat (writer, beat_at, primary_lsn)
            VALUES (\(writer), now(), pg_current_wal_lsn())
            ON CONFLICT (writer) DO UPDATE SET beat_at = excluded.beat_at, primary_lsn = excluded.primary_lsn
            """
        try await session.execute(query)
    }

    /// The newest heartbeat visible on this server, or nil when there is no
    /// heartbeat table (a server pgdr did not set up) or no row yet.
    public static func newest(_ session: PostgresSession) async throws -> Date? {
        let exists = try await session.rows("SELECT to_regclass('pgdr.heartbeat') IS NOT NULL")
        guard let row = exists.first, try row.decode(Bool.self) else { return nil }
        let rows = try await session.rows("SELECT max(beat_at) FROM pgdr.heartbeat")
        return try rows.first?.decode(Date?.self) ?? nil
    }
}
