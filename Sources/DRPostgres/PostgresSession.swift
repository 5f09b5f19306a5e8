import DRSpec
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

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
        let verdict = AuthenticationGuard.Verdict()
        do {
            // Cancelling a connect attempt closes its channel: the deadline ends it.
            let connection = try await withDeadline(target.connectTimeout + target.clientGrace,
                                                    discard: { late in try? await late.close() }) { [target] in
                let channel = try await ServerChannel.open(host: target.host, port: target.port, tls: target.tls, caPath: target.caPath,
                                                           connectTimeout: target.connectTimeout, verdict: verdict)
                var config = PostgresConnection.Configuration(establishedChannel: channel, username: target.user,
                                                              password: target.password?.reveal(), database: target.database)
                config.options.connectTimeout = .milliseconds(Int64(target.connectTimeout.milliseconds))
                config.options.additionalStartupParameters = [
                    ("application_name", target.applicationName),
                    ("statement_timeout", "\(target.statementTimeout.milliseconds)"),
                ]
                do {
                    // postgres-nio must run on the channel's own event loop.
                    return try await PostgresConnection.connect(on: channel.eventLoop, configuration: config, id: 1, logger: logger).get()
                } catch {
                    channel.close(promise: nil)
                    throw error
                }
            }
            return PostgresSession(target: target, connection: connection, logger: logger)
        } catch {
            if let refused = verdict.refused.withLock({ $0 }) {
                throw PostgresFailure(refused, target: target, during: "connect")
            }
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

/// Runs `work`, giving up after `limit`: at the deadline `onLate` runs (it
/// closes the connection the work waits on), the work is cancelled, and the
/// caller resumes at once.
///
/// Not a task group on purpose. A group waits for every child, and a query on
/// a connection whose server died can stay suspended after its connection is
/// closed (seen here: a drill's INSERT on an orphaned backend of a killed
/// postmaster never resumed, and a structured deadline hung the drill for
/// good). The work therefore runs in a task this call owns: it is cancelled
/// and its connection closed at the deadline, and it ends whenever the
/// driver lets it; the caller never waits for that.
///
/// `discard` receives a value the work produced after the deadline (a
/// connection that opened too late), so it can be closed rather than leaked.
/// A caller cancelled before the deadline is treated like the deadline: it
/// returns at once (CancellationError), the work is cancelled and `onLate`
/// runs (it closes what the work waits on).
public func withDeadline<T: Sendable>(_ limit: Duration, onLate: @escaping @Sendable () async -> Void = {},
                                      discard: (@Sendable (T) async -> Void)? = nil,
                                      _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    let gate = ResumeOnce<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            gate.arm(continuation)
            let task = Task {
                do {
                    let value = try await work()
                    if !gate.resume(.success(value)) { await discard?(value) }
                } catch {
                    gate.resume(.failure(error))
                }
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled else { return }
                if gate.resume(.failure(DeadlineExceeded())) {
                    await onLate()
                    task.cancel()
                }
            }
            gate.onResume {
                timer.cancel()
            }
            gate.onCancelWork {
                task.cancel()
                Task { await onLate() }
            }
        }
    } onCancel: {
        if gate.resume(.failure(CancellationError())) { gate.cancelWork() }
    }
}

/// Resumes a continuation exactly once, whoever comes first.
final class ResumeOnce<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var pending: Result<T, any Error>?
        var done = false
        var cleanup: (@Sendable () -> Void)?
        /// The caller was cancelled; `cancelWork` ends the work (set once the work has started).
        var cancelled = false
        var workCanceller: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    func arm(_ continuation: CheckedContinuation<T, any Error>) {
        let pending: Result<T, any Error>? = state.withLock { state in
            if let pending = state.pending { return pending }
            state.continuation = continuation
            return nil
        }
        if let pending { continuation.resume(with: pending) }
    }

    func onResume(_ body: @escaping @Sendable () -> Void) {
        let alreadyDone = state.withLock { state in
            if !state.done { state.cleanup = body }
            return state.done
        }
        if alreadyDone { body() }
    }

    /// How to end the work when the caller is cancelled (run at once if it already was).
    func onCancelWork(_ body: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if !state.cancelled { state.workCanceller = body }
            return state.cancelled
        }
        if now { body() }
    }

    /// The caller was cancelled: ends the work (now, or as soon as it starts).
    func cancelWork() {
        let body = state.withLock { state -> (@Sendable () -> Void)? in
            state.cancelled = true
            defer { state.workCanceller = nil }
            return state.workCanceller
        }
        body?()
    }

    /// Returns true when this call was the one that resumed.
    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        let (won, continuation, cleanup) = state.withLock { state -> (Bool, CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard !state.done else { return (false, nil, nil) }
            state.done = true
            if state.continuation == nil { state.pending = result }
            return (true, state.continuation, state.cleanup)
        }
        guard won else { return false }
        continuation?.resume(with: result)
        cleanup?()
        return true
    }
}
