import DRPostgres
import Foundation
import Testing

/// Deadlines against peers that never answer: a listening socket nobody
/// accepts on (the kernel completes the TCP handshake, then silence).
@Suite struct DeadlineTests {
    /// A socket listening on a free loopback port that never accepts.
    static func silentPort() throws -> (port: Int, fd: Int32) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                guard bind(fd, raw, length) == 0, listen(fd, 16) == 0, getsockname(fd, raw, &length) == 0 else {
                    throw POSIXError(.EADDRINUSE)
                }
            }
        }
        return (Int(UInt16(bigEndian: address.sin_port)), fd)
    }

    @Test func aServerThatNeverAnswersCostsTheConnectDeadline() async throws {
        let (port, fd) = try Self.silentPort()
        defer { close(fd) }
        var target = ConnectionTarget(host: "127.0.0.1", port: port, user: "nobody", password: nil)
        target.connectTimeout = .milliseconds(300)
        target.clientGrace = .milliseconds(100)
        let started = ContinuousClock.now
        await #expect(throws: PostgresFailure.self) { try await PostgresSession.connect(target) }
        let took = ContinuousClock.now - started
        // Without a deadline this waits for TCP keepalive (hours); on a loaded machine
        // the bound is the deadline plus scheduling (a full suite's first seconds once took 15 s).
        #expect(took < .seconds(60), "connect took \(took) against a silent peer")
    }

    @Test func aDeadlineEndsWorkThatWaitsOnSomethingClosable() async throws {
        let started = ContinuousClock.now
        let gate = AsyncStream<Void>.makeStream()
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(100), onLate: { gate.continuation.finish() }) {
                for await _ in gate.stream {}
                throw CancellationError()
            }
        }
        #expect(ContinuousClock.now - started < .seconds(60), "without the deadline this never ends")
    }

    /// A caller cancelled before the deadline: it returns at once, and the
    /// work is ended too (cancelled, and what it waits on closed by onLate).
    @Test func aCancelledCallerEndsItsWorkToo() async throws {
        let gate = AsyncStream<Void>.makeStream()
        let ended = AsyncStream<String>.makeStream()
        let caller = Task {
            try await withDeadline(.seconds(60), onLate: { gate.continuation.finish() }) {
                for await _ in gate.stream {}
                ended.continuation.yield(Task.isCancelled ? "cancelled" : "released")
                ended.continuation.finish()
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(ContinuousClock.now - started < .seconds(5), "the caller returns at once, not at the 60 s deadline")
        var seen: String?
        for await value in ended.stream { seen = value }
        #expect(seen == "cancelled", "the work was ended and cancelled, not left waiting: \(seen ?? "still waiting")")
    }
}
