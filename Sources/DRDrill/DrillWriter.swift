import DROperations
import DRPostgres
import Foundation

/// The drill's client: sequential ids, one autocommit INSERT each, to
/// whichever node takes writes (like a libpq multi-host string with
/// target_session_attrs=read-write: try each node in turn, keep the one
/// that is not in recovery). Every acknowledged commit is recorded with its
/// time and the node that acknowledged it.
public actor DrillWriter {
    public struct Ack: Sendable, Hashable {
        public var id: Int
        public var at: Date
        public var node: String
    }

    let targets: [(name: String, target: ConnectionTarget)]
    public private(set) var acks: [Ack] = []
    private var running = true
    private var nextID = 0

    public init(targets: [(name: String, target: ConnectionTarget)]) {
        self.targets = targets
    }

    public func prepare() async throws {
        for (_, target) in targets {
            let done = try? await PostgresSession.with(target) { session -> Bool in
                guard try await !session.value(Bool.self, "SELECT pg_is_in_recovery()") else { return false }
                try await session.execute("CREATE TABLE IF NOT EXISTS pgdr_drill (id int PRIMARY KEY, at timestamptz DEFAULT now())")
                try await session.execute("TRUNCATE pgdr_drill")
                return true
            }
            if done == true { return }
        }
        throw OperationError.failed("no node takes writes: the drill needs a primary")
    }

    public func run(pause: Duration = .milliseconds(5)) async {
        var current = 0
        while running {
            let (name, target) = targets[current]
            var short = target
            // One-row inserts on loopback take milliseconds; a tight deadline is
            // what lets this client notice a dead server as quickly as libpq would.
            short.connectTimeout = .milliseconds(500)
            short.statementTimeout = .milliseconds(200)
            short.clientGrace = .milliseconds(50)
            guard let session = try? await PostgresSession.connect(short) else {
                current = (current + 1) % targets.count
                try? await Task.sleep(for: .milliseconds(25))
                continue
            }
            do {
                guard try await !session.value(Bool.self, "SELECT pg_is_in_recovery()") else {
                    throw OperationError.failed("read-only")
                }
                while running {
                    // Every id is used once: an INSERT whose answer never came may
                    // still have committed (a commit waiting on a synchronous standby
                    // is released later), and reusing its id would fail forever as a
                    // duplicate. Only acknowledged ids count for loss.
                    nextID += 1
                    let id = nextID
                    try await session.execute("INSERT INTO pgdr_drill (id) VALUES (\(id))")
                    acks.append(Ack(id: id, at: Date(), node: name))
                    try await Task.sleep(for: pause)
                }
            } catch {
                // Like a libpq client retrying a multi-host string: the next node, 25 ms later.
                current = (current + 1) % targets.count
                try? await Task.sleep(for: .milliseconds(25))
            }
            await session.close()
        }
    }

    public func stop() { running = false }

    /// Acknowledged ids missing on `target` (the primary after the event).
    public func lost(on target: ConnectionTarget) async throws -> [Ack] {
        let present = try await PostgresSession.with(target) { session -> Set<Int> in
            Set(try await session.rows("SELECT id FROM pgdr_drill").map { Int(try $0.decode(Int32.self)) })
        }
        return acks.filter { !present.contains($0.id) }
    }
}
