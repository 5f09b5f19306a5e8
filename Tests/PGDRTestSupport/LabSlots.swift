import Foundation

/// How many tests may run a lab (servers, agents, a browser) at once.
/// Swift Testing starts every suite together; on a machine of two cores a
/// dozen labs starting at the same moment starve each other's agents past
/// the deadlines the tests check (a probe's 0.8 s, HAProxy's 2 s). Tests
/// queue for a slot instead: the timing a test asserts is then the
/// software's, not the pile-up's. `PGDR_TEST_LABS` overrides the default.
public actor LabSlots {
    public static let shared = LabSlots(limit: Int(ProcessInfo.processInfo.environment["PGDR_TEST_LABS"] ?? "") ?? 4)

    let limit: Int
    var inUse = 0
    var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = max(1, limit) }

    public func acquire() async {
        if inUse < limit {
            inUse += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    public func release() {
        if waiting.isEmpty {
            inUse -= 1
        } else {
            waiting.removeFirst().resume()  // the slot passes straight to the next test
        }
    }

    /// Runs `body` holding a slot.
    public static func with<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        await shared.acquire()
        do {
            let value = try await body()
            await shared.release()
            return value
        } catch {
            await shared.release()
            throw error
        }
    }
}
