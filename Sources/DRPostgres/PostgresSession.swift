import DRSpec
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// One postgres-nio connection with deadlines: connecting fails fast on a
/// dead port, and every query is bounded both on the server
/// (`statement_timeout`) and here (a hung or stopped server never answers
/// the server-side limit).
public final class PostgresSession: Sendable {
    public let target: ConnectionTarget
    let connection: PostgresConnection
    let logger: Logger

    init(target: ConnectionTarget, connection: PostgresConnection, logger: Logger) {
        self.target = target
        self.connection = connection
        self.logger = logger
    }

    public static func connect(_ target: ConnectionTarget, logger: Logger = Logger(label: "pgdr.postgres")) async throws -> PostgresSession {
        var config = PostgresConnection.Configuration(host: target.host, port: target.port, username: target.user,
                                                      password: target.password?.reveal(), database: target.database,
                                                      tls: .disable)
        config.options.connectTimeout = .milliseconds(Int64(target.connectTimeout.milliseconds))
        config.options.additionalStartupParameters = [
            ("application_name", target.applicationName),
            ("statement_timeout", "\(target.statementTimeout.milliseconds)"),
        ]
        do {
            // Cancelling a connect attempt closes its channel: the deadline ends it.
            let connection = try await withDeadline(target.connectTimeout + target.clientGrace) { [config] in
                try await PostgresConnection.connect(configuration: config, id: 1, logger: logger)
            }
            return PostgresSession(target: target, connection: connection, logger: logger)
        } catch {
            throw PostgresFailure(error, target: target, during: "connect")
        }
    }

    /// Runs a statement and returns its rows, within the statement deadline.
    /// A late answer closes the connection: the session is unusable afterwards.
    public func rows(_ sql: String) async throws -> [PostgresRow] {
        try await rows(PostgresQuery(unsafeSQL: sql))
    }

    public func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        do {
            return try await withDeadline(target.statementTimeout + target.clientGrace, onLate: { [self] in abort() }) { [connection, logger] in
                let sequence = try await connection.query(query, logger: logger)
                var collected: [PostgresRow] = []
                for try await row in sequence { collected.append(row) }
                return collected
            }
        } catch {
            throw PostgresFailure(error, target: target, during: "query")
        }
    }

    /// The first column of the first row, decoded; a query that returns no
    /// row is an error, not a crash.
    public func value<T: PostgresDecodable & Sendable>(_ type: T.Type, _ sql: String) async throws -> T {
        guard let row = try await rows(sql).first else {
            throw PostgresFailure(NoRow(sql: sql), target: target, during: "query")
        }
        do {
            return try row.decode(T.self)
        } catch {
            throw PostgresFailure(error, target: target, during: "decode")
        }
    }

    /// Runs a parameterised statement (`$1`, `$2`): values never go into SQL text.
    public func execute(_ query: PostgresQuery) async throws {
        _ = try await rows(query)
    }

    /// True once the server or the network closed the connection.
    public var isClosed: Bool { connection.isClosed }

    /// Returns when the connection closes (the server went away, or it was closed here).
    public func waitUntilClosed() async {
        _ = try? await connection.closeFuture.get()
    }

    /// Closes the connection at once, without waiting for anything: work
    /// waiting on it fails immediately.
    public func abort() {
        connection.close().whenComplete { _ in }
    }

    /// Closes the connection, never waiting long on a peer that is gone.
    public func close() async {
        // A connection the server already closed needs no goodbye, and asking
        // for one can wait out the whole deadline.
        guard !connection.isClosed else { return }
        _ = try? await withDeadline(.seconds(2), onLate: { [self] in abort() }) { [connection] in
            try await connection.close()
        }
    }

    /// Opens a session, runs `body`, and closes it whatever happens.
    public static func with<T: Sendable>(_ target: ConnectionTarget, logger: Logger = Logger(label: "pgdr.postgres"),
                                         _ body: (PostgresSession) async throws -> T) async throws -> T {
        let session = try await connect(target, logger: logger)
        do {
            let result = try await body(session)
            await session.close()
            return result
        } catch {
            await session.close()
            throw error
        }
    }
}

/// A query that should have returned a row returned none.
public struct NoRow: Error, CustomStringConvertible, Sendable {
    public let sql: String
    public var description: String { "the query returned no row: \(sql.prefix(60))" }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

public struct DeadlineExceeded: Error, Sendable {}

/// Runs `work`, giving up after `limit`. Structured: the work is a child task
/// of this call and has ended when it returns. At the deadline `onLate` runs
/// first (it closes the connection the work waits on, so a query to a peer
/// that vanished fails at once instead of waiting for the network), then the
/// work is cancelled.
public func withDeadline<T: Sendable>(_ limit: Duration, onLate: @escaping @Sendable () async -> Void = {},
                                      _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: DeadlineRace<T>.self) { group in
        group.addTask { .finished(try await work()) }
        group.addTask {
            try await Task.sleep(for: limit)
            return .late
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw DeadlineExceeded() }
        switch first {
        case .finished(let value):
            return value
        case .late:
            await onLate()
            group.cancelAll()
            throw DeadlineExceeded()
        }
    }
}

enum DeadlineRace<T: Sendable>: Sendable {
    case finished(T)
    case late
}
