import Foundation
import Logging

/// What a function does with one event: its JSON answer, or an error.
public protocol FunctionHandler: Sendable {
    func handle(_ invocation: Invocation) async throws -> Data
}

/// The custom runtime's loop: next event, handler, answer; for as long as
/// Lambda keeps the environment. A handler's error is reported for that
/// invocation and the loop goes on; only the Runtime API failing ends it.
public enum RuntimeLoop {
    /// `limit`: stop after that many invocations (tests; nil in Lambda).
    public static func run(_ api: RuntimeAPI, handler: any FunctionHandler, logger: Logger, limit: Int? = nil) async throws {
        var served = 0
        while limit.map({ served < $0 }) ?? true {
            let invocation = try await api.next()
            served += 1
            let started = ContinuousClock.now
            do {
                let answer = try await handler.handle(invocation)
                try await api.respond(invocation.requestID, answer)
                logger.info("invocation done", metadata: ["request": "\(invocation.requestID)", "took": "\(ContinuousClock.now - started)"])
            } catch {
                let failure = error as? FunctionError ?? FunctionError(type: String(describing: Swift.type(of: error)), message: "\(error)")
                logger.error("invocation failed", metadata: ["request": "\(invocation.requestID)", "error": "\(failure)"])
                try await api.fail(invocation.requestID, failure)
            }
        }
    }
}
