import DRLocal
import DRPostgres
import Foundation
import PostgresNIO

/// Writes sequential ids in autocommit to whichever node takes writes, and
/// records every id whose COMMIT was acknowledged: the evidence for "no
/// acknowledged write was lost".
actor ProbeWriter {
    let targets: [ConnectionTarget]
    private(set) var acknowledged: [Int] = []
    private var running = true

    init(lab: Lab, nodes: [String]) throws {
        targets = try nodes.map { try lab.adminTarget(node: $0) }
    }

    func prepare() async throws {
        for target in targets {
            let done = try? await PostgresSession.with(target) { session -> Bool in
                guard try await !session.rows("SELECT pg_is_in_recovery()").first!.decode(Bool.self) else { return false }
                try await session.execute("CREATE TABLE IF NOT EXISTS probe (id int PRIMARY KEY, at timestamptz DEFAULT now())")
                return true
            }
            if done == true { return }
        }
    }

    func run() async {
        var id = 0
        var current = 0
        while running {
            guard let session = try? await PostgresSession.connect(targets[current]) else {
                current = (current + 1) % targets.count
                try? await Task.sleep(for: .milliseconds(25))
                continue
            }
            do {
                while running {
                    let next = id + 1
                    try await session.execute("INSERT INTO probe (id) VALUES (\(next))")
                    id = next
                    acknowledged.append(next)
                    try await Task.sleep(for: .milliseconds(5))
                }
            } catch {
                current = (current + 1) % targets.count
            }
            await session.close()
        }
    }

    func stop() { running = false }

    /// Acknowledged ids missing on the node that is primary now.
    func missing(on target: ConnectionTarget) async throws -> [Int] {
        let present = try await PostgresSession.with(target) { session -> Set<Int> in
            Set(try await session.rows("SELECT id FROM probe").map { Int(try $0.decode(Int32.self)) })
        }
        return acknowledged.filter { !present.contains($0) }
    }
}
