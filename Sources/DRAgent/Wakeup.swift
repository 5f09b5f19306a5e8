import Synchronization

/// A signal one task waits for and others give: "look again now". A signal
/// given while nobody waits is kept for the next wait. Cancelling the waiter
/// ends its wait and keeps the signal usable (unlike an AsyncStream, which a
/// cancelled consumer finishes for good).
final class Wakeup: Sendable {
    private struct State {
        var waiter: CheckedContinuation<Bool, Never>?
        var pending = false
    }

    private let state = Mutex(State())

    func signal() {
        let waiter: CheckedContinuation<Bool, Never>? = state.withLock { state in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: true)
    }

    /// True when signalled, false when cancelled.
    func wait() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let resumeNow: Bool? = state.withLock { state in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    if Task.isCancelled { return false }
                    state.waiter = continuation
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Bool, Never>? = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: false)
        }
    }
}
