import DRControl
import DROperations
import DRSpec
import DRStatus
import Foundation
import Synchronization

/// A two-node deployment in memory, for unit tests of the operation runner:
/// the fakes behind `NodeControl`, `NodeSQL` and `ClusterObserver` all act on
/// this one state, so what one step does, the next step sees. Real servers
/// are exercised by the integration tests; this is for the runner's decisions.
final class FakeCluster: Sendable {
    struct Node: Sendable {
        var running = true
        var primary = false
        var fenced = false
        /// Out of recovery but refusing writes (a weak fence through SQL).
        var readOnly = false
        var following: String?
        var streaming = false
        var replay = LSN(0x3000000)
        var checkpoint = LSN(0x3000000)
    }

    enum Timing: Sendable { case before, after }

    struct State: Sendable {
        var nodes: [String: Node]
        /// How many times each `node.action` took effect.
        var calls: [String: Int] = [:]
        /// Actions a run has reached (whether or not they took effect).
        var reached: Set<String> = []
        /// `node.action` that throws.
        var failures: [String: String] = [:]
        /// `node.action` at which the "process" stops forever (a crash), before or after its effect.
        var crash: (action: String, timing: Timing)?
        var slots: Set<String> = []
        /// What every fence says it could not guarantee (a control without a fence command).
        var fenceWeakness: String?
    }

    let state: Mutex<State>

    init() {
        var pg1 = Node()
        pg1.primary = true
        var pg2 = Node()
        pg2.following = "pg1"
        pg2.streaming = true
        state = Mutex(State(nodes: ["pg1": pg1, "pg2": pg2]))
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs one fake action: counts it, fails or "crashes" it as scripted, applies its effect.
    func act(_ node: String, _ action: String, _ effect: @Sendable (inout State) throws -> Void = { _ in }) async throws {
        let key = "\(node).\(action)"
        let (failure, crash) = state.withLock { state -> (String?, Timing?) in
            state.reached.insert(key)
            let crash = state.crash?.action == key ? state.crash?.timing : nil
            return (state.failures[key], crash)
        }
        if crash == .before { try await Self.hang() }
        if let failure { throw Failure(description: failure) }
        try state.withLock { state in
            try effect(&state)
            state.calls[key, default: 0] += 1
        }
        if crash == .after { try await Self.hang() }
    }

    /// A crash, as the journal sees one: this task never goes on.
    static func hang() async throws {
        try await Task.sleep(for: .seconds(86_400))
    }

    func calls(_ key: String) -> Int { state.withLock { $0.calls[key] ?? 0 } }
    func reached(_ key: String) -> Bool { state.withLock { $0.reached.contains(key) } }
    func node(_ name: String) -> Node { state.withLock { $0.nodes[name] ?? Node() } }
    /// Nodes that take writes.
    var primaries: [String] {
        state.withLock { $0.nodes.filter { $0.value.running && $0.value.primary && !$0.value.readOnly }.map(\.key).sorted() }
    }

    func fail(_ key: String, _ message: String) { state.withLock { $0.failures[key] = message } }
    func crash(at key: String, _ timing: Timing) { state.withLock { $0.crash = (key, timing) } }
    func heal() { state.withLock { $0.failures = [:]; $0.crash = nil } }
}

struct FakeControl: NodeControl {
    let node: String
    let cluster: FakeCluster

    func state() async throws -> ServerState { cluster.node(node).running ? .running(pid: nil) : .stopped }

    func start() async throws {
        try await cluster.act(node, "start") { state in
            state.nodes[node]?.running = true
            // A fenced node starts read-only: it carries a standby signal.
            if state.nodes[node]?.fenced == true { state.nodes[node]?.primary = false }
            if let upstream = state.nodes[node]?.following, state.nodes[upstream]?.primary == true, state.nodes[upstream]?.running == true {
                state.nodes[node]?.streaming = true
            }
        }
    }

    func stop(_ mode: StopMode) async throws -> Bool {
        let wasRunning = cluster.node(node).running
        try await cluster.act(node, "stop") { state in
            state.nodes[node]?.running = false
            state.nodes[node]?.streaming = false
            if let last = state.nodes[node]?.replay { state.nodes[node]?.checkpoint = LSN(last.value + 0x28) }
        }
        return wasRunning
    }

    func fence(operation: String, within limit: Duration, urgent: Bool) async throws -> FenceReport {
        try await cluster.act(node, "fence") { state in
            state.nodes[node]?.fenced = true
            state.nodes[node]?.running = false
            state.nodes[node]?.streaming = false
            if let last = state.nodes[node]?.replay { state.nodes[node]?.checkpoint = LSN(last.value + 0x28) }
        }
        return FenceReport("stopped and marked fenced", weakness: cluster.state.withLock { $0.fenceWeakness })
    }

    func unfence(asPrimary: Bool) async throws {
        try await cluster.act(node, "unfence") { state in
            state.nodes[node]?.fenced = false
            if asPrimary {
                state.nodes[node]?.primary = true
                state.nodes[node]?.following = nil
            }
        }
    }

    func isFenced() async throws -> Bool { cluster.node(node).fenced }

    func controlData() async throws -> ControlData {
        try await cluster.act(node, "controldata")
        let node = cluster.node(node)
        return ControlData(checkpoint: node.checkpoint, state: node.running ? "in production" : "shut down", timeline: 1)
    }

    func follow(_ upstream: Upstream) async throws {
        try await cluster.act(node, "follow") { state in
            state.nodes[node]?.following = upstream.name
            state.nodes[node]?.primary = false
        }
    }

    func rewind(from upstream: Upstream) async throws -> String {
        try await cluster.act(node, "rewind")
        return "rewound"
    }

    func rebuild(from upstream: Upstream) async throws -> String {
        try await cluster.act(node, "rebuild") { state in state.nodes[node]?.following = upstream.name }
        return "fresh base backup from \(upstream.name); the old data directory is kept"
    }

    func kill(withChildren: Bool) async throws -> Int32? {
        try await cluster.act(node, "kill") { state in
            state.nodes[node]?.running = false
            state.nodes[node]?.streaming = false
        }
        return 1
    }
}

struct FakeSQL: NodeSQL {
    let node: String
    let cluster: FakeCluster

    func reachable() throws {
        guard cluster.node(node).running else { throw FakeCluster.Failure(description: "connection refused at \(node)") }
    }

    func isInRecovery() async throws -> Bool {
        try reachable()
        return !cluster.node(node).primary
    }

    func promote(timeout: Duration) async throws {
        try reachable()
        try await cluster.act(node, "promote") { state in
            state.nodes[node]?.primary = true
            state.nodes[node]?.following = nil
            state.nodes[node]?.streaming = false
        }
    }

    func checkpoint() async throws { try reachable() }

    func replayLSN() async throws -> LSN? {
        try reachable()
        // A streaming standby has replayed what its upstream shut down with.
        let me = cluster.node(node)
        if let upstream = me.following { return LSN(max(me.replay.value, cluster.node(upstream).checkpoint.value + 0x78)) }
        return me.replay
    }

    func writeProbe() async throws -> LSN {
        try reachable()
        try await cluster.act(node, "write")
        guard cluster.node(node).primary else { throw FakeCluster.Failure(description: "\(node) is read-only") }
        return LSN(0x5000000)
    }

    func ensureSlot(_ name: String) async throws -> Bool {
        try reachable()
        return cluster.state.withLock { $0.slots.insert("\(node)/\(name)").inserted }
    }

    func dropInactiveSlots() async throws -> [String] { [] }

    func isStreaming() async throws -> Bool {
        try reachable()
        return cluster.node(node).streaming
    }

    func refuseWrites() async throws {
        try reachable()
        try await cluster.act(node, "refuseWrites") { state in state.nodes[node]?.readOnly = true }
    }

    func allowWrites() async throws {
        try reachable()
        try await cluster.act(node, "allowWrites") { state in state.nodes[node]?.readOnly = false }
    }

    func setSynchronousStandbys(relaxed: Bool) async throws { try reachable() }
    func holdCommits(for standby: String?) async throws { try reachable() }
}

struct FakeObserver: ClusterObserver {
    let cluster: FakeCluster

    func observe() async -> StatusReport {
        let samples = ["pg1", "pg2"].map { name -> NodeSample in
            let node = cluster.node(name)
            var sample = NodeSample(name: name, region: name == "pg1" ? "us-east-1" : "us-east-2", host: "127.0.0.1",
                                    port: name == "pg1" ? 1 : 2, reachable: node.running,
                                    error: node.running ? nil : "connection refused")
            guard node.running else { return sample }
            sample.role = node.primary ? .primary : .standby
            sample.serverTime = Date()
            if node.primary {
                sample.flushLSN = node.replay
            } else {
                sample.replayLSN = node.replay
                sample.receiveLSN = node.replay
                sample.heartbeatAt = Date()
                sample.replayPaused = false
                sample.walReceiver = .init(status: node.streaming ? .streaming : .waiting, senderHost: nil, senderPort: nil,
                                           slotName: nil, lastMessageAt: nil)
            }
            return sample
        }
        return StatusEvaluator.evaluate(samples, thresholds: Thresholds(replicationLag: .seconds(300), cpuPercent: 80,
                                                                        freeStorage: .gigabytes(1), connectionsPercent: 80,
                                                                        latency: TimeSpan(milliseconds: 200)))
    }

    func roles(of nodes: [String], timeout: Duration) async -> [String: NodeRole?] {
        var out: [String: NodeRole?] = [:]
        for name in nodes {
            let node = cluster.node(name)
            out[name] = node.running ? (node.primary ? (node.readOnly ? NodeRole.readOnlyPrimary : .writablePrimary) : .standby) : nil
        }
        return out
    }
}

/// Time that passes only when asked: sleeps return at once.
struct FakeClock: OperationClock {
    func now() -> Date { Date() }
    func sleep(for duration: Duration) async throws { await Task.yield() }
}
