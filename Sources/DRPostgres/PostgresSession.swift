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
            let connection = try await withDeadline(target.connectTimeout + .seconds(1)) { [config] in
                try await PostgresConnection.connect(configuration: config, id: 1, logger: logger)
            }
            return PostgresSession(target: target, connection: connection, logger: logger)
        } catch {
            throw PostgresFailure(error, target: target, during: "connect")
        }
    }

    /// Runs a statement and returns its rows, within the statement deadline.
    public func rows(_ sql: String) async throws -> [PostgresRow] {
        do {
            return try await withDeadline(target.statementTimeout + .seconds(1)) { [connection, logger] in
                let sequence = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                var collected: [PostgresRow] = []
                for try await row in sequence { collected.append(row) }
                return collected
            }
        } catch {
            throw PostgresFailure(error, target: target, during: "query")
        }
    }

    /// Runs a parameterised statement (`$1`, `$2`): values never go into SQL text.
    public func execute(_ query: PostgresQuery) async throws {
        do {
            try await withDeadline(target.statementTimeout + .seconds(1)) { [connection, logger] in
                _ = try await connection.query(query, logger: logger).collect()
            }
        } catch {
            throw PostgresFailure(error, target: target, during: "query")
        }
    }

    public func close() async {
        try? await connection.close()
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

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

struct DeadlineExceeded: Error {}

/// Runs `operation`, giving up after `limit`.
func withDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
