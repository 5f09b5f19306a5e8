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
            return try await withDeadline(target.statementTimeout + target.clientGrace) { [connection, logger] in
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
            try await withDeadline(target.statementTimeout + target.clientGrace) { [connection, logger] in
                _ = try await connection.query(query, logger: logger).collect()
            }
        } catch {
            throw PostgresFailure(error, target: target, during: "query")
        }
    }

    /// Closes the connection, never waiting long on a peer that is gone.
    public func close() async {
        // A connection the server already closed needs no goodbye, and asking
        // for one can wait out the whole deadline.
        guard !connection.isClosed else { return }
        _ = try? await withDeadline(.seconds(2)) { [connection] in try await connection.close() }
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

public struct DeadlineExceeded: Error {}

/// Runs `operation`, giving up after `limit`.
///
/// Not a task group on purpose: a group waits for every child, and a query on
/// a connection whose peer vanished may not react to cancellation, so the
/// caller would wait as long as the dead connection. Here the caller resumes
/// at the deadline; the abandoned work is cancelled and ends when its
/// connection is closed.
public func withDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let gate = ResumeOnce<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            gate.arm(continuation)
            let work = Task {
                do { gate.resume(.success(try await operation())) } catch { gate.resume(.failure(error)) }
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                if gate.resume(.failure(DeadlineExceeded())) { work.cancel() }
            }
            gate.onResume { timer.cancel() }
        }
    } onCancel: {
        gate.resume(.failure(CancellationError()))
    }
}

/// Resumes a continuation exactly once, whoever comes first.
final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var pending: Result<T, any Error>?
    private var done = false
    private var cleanup: (@Sendable () -> Void)?

    func arm(_ continuation: CheckedContinuation<T, any Error>) {
        lock.lock()
        if let pending {
            lock.unlock()
            continuation.resume(with: pending)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    func onResume(_ body: @escaping @Sendable () -> Void) {
        lock.lock()
        let alreadyDone = done
        if !alreadyDone { cleanup = body }
        lock.unlock()
        if alreadyDone { body() }
    }

    /// Returns true when this call was the one that resumed.
    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        lock.lock()
        guard !done else {
            lock.unlock()
            return false
        }
        done = true
        let continuation = self.continuation
        if continuation == nil { pending = result }
        let cleanup = self.cleanup
        lock.unlock()
        continuation?.resume(with: result)
        cleanup?()
        return true
    }
}
