import DRMonitor
import DROrchestrator
import DRPostgres
import DRSpec
import DRStatus
import Foundation
import Logging
import ServiceLifecycle

/// The control plane's heartbeat: every `monitoring.interval`, on ticks
/// aligned to the clock, it stamps the heartbeat on the primary, probes every
/// node at once, evaluates the alarms, journals what changed and hands
/// notices to the dispatcher (which never blocks this loop).
public final class AgentLoop: Service, Sendable {
    let spec: Spec
    let baseDirectory: String
    let links: [NodeLink]
    let state: AgentState
    let exporter: MetricsExporter
    let journal: Journal
    let dispatcher: NotificationDispatcher
    let logger: Logger
    let engine: Mutex<AlarmEngine>
    let policy: Mutex<NotificationPolicy>
    let host: Mutex<HostMetrics>
    let auto: AutoFailover

    public init(spec: Spec, baseDirectory: String, state: AgentState, exporter: MetricsExporter,
                journal: Journal, logger: Logger) async {
        self.spec = spec
        self.baseDirectory = baseDirectory
        let interval = spec.monitoring.interval.duration
        // A probe may take most of an interval, never more than 5 s.
        let deadline = min(interval * 0.8, .seconds(5))
        links = spec.nodes.map { NodeLink(node: $0, baseDirectory: baseDirectory, deadline: deadline, logger: logger) }
        self.state = state
        self.exporter = exporter
        self.journal = journal
        dispatcher = NotificationDispatcher(spec: spec, baseDirectory: baseDirectory, journal: journal, logger: logger)
        self.logger = logger
        let restored = AgentLoop.lastStates(journal: journal.path)
        engine = Mutex(AlarmEngine(alarms: spec.effectiveAlarms, restored: restored))
        policy = Mutex(NotificationPolicy(reminder: spec.monitoring.reminder.seconds, sequenceStart: await journal.sequence))
        host = Mutex(HostMetrics())
        auto = AutoFailover(spec: spec, baseDirectory: baseDirectory, journal: journal, logger: logger)
    }

    /// Each alarm's last journaled state, so a restart resumes where it was.
    static func lastStates(journal path: String) -> [String: AlarmState] {
        var states: [String: AlarmState] = [:]
        for entry in Journal.read(path: path) where entry.kind == .alarm {
            if let alarm = entry.alarm, let to = entry.to { states[alarm] = to }
        }
        return states
    }

    public func run() async throws {
        try await journal.append(.init(at: Date(), kind: .agentStarted,
                                       message: "watching \(spec.nodes.map(\.name).joined(separator: ", ")) every \(spec.monitoring.interval)"))
        let period = Double(spec.monitoring.interval.milliseconds) / 1000
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Ticks on multiples of the interval: one datapoint per alarm period.
            let now = Date().timeIntervalSince1970
            let tick = ((now / period).rounded(.down) + 1) * period
            do {
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: .milliseconds(Int((tick - Date().timeIntervalSince1970) * 1000)))
                }
            } catch {
                break
            }
            let report = await round(at: Date(timeIntervalSince1970: tick))
            // Automatic mode: a round without a primary starts detection; after a
            // failover, look again at once so /primary answers for the new primary.
            if await auto.consider(report) { _ = await round(at: Date()) }
        }
        await dispatcher.drain(limit: .seconds(5))
        for link in links { await link.close() }
        _ = try? await journal.append(.init(at: Date(), kind: .agentStopped, message: "clean shutdown"))
    }

    @discardableResult
    func round(at tick: Date) async -> StatusReport {
        if let primary = await lastPrimaryLink() { await primary.beat(writer: "pgdr-agent") }
        let samples = await withTaskGroup(of: (Int, NodeSample).self) { group in
            for (index, link) in links.enumerated() { group.addTask { (index, await link.sample()) } }
            var out: [(Int, NodeSample)] = []
            for await result in group { out.append(result) }
            return out.sorted { $0.0 < $1.0 }.map(\.1)
        }
        let report = StatusEvaluator.evaluate(samples, thresholds: spec.monitoring.thresholds, at: tick)
        let points = ClusterMetrics.datapoints(report, hosts: hostReadings())
        let (transitions, entries) = engine.withLock { engine in
            engine.record(points, at: tick)
            return (engine.evaluate(now: tick), engine.entries)
        }
        for transition in transitions {
            logger.notice("alarm \(transition.alarm): \(transition.from.rawValue) -> \(transition.to.rawValue)",
                          metadata: ["reason": "\(transition.reason)"])
            do {
                try await journal.append(.init(at: transition.at, kind: .alarm, alarm: transition.alarm,
                                               from: transition.from, to: transition.to, reason: transition.reason))
            } catch {
                logger.error("journal write failed", metadata: ["error": "\(error)"])
            }
        }
        let notices = policy.withLock { $0.notices(for: transitions, states: entries, now: tick) }
        if !notices.isEmpty { await dispatcher.submit(notices) }
        recordPrimaryPosition(report, at: tick)
        exporter.update(report: report, alarms: Array(entries.values))
        await state.publish(report, alarms: Array(entries.values), at: tick)
        return report
    }

    /// Leaves the primary's position on disk every round: if the primary
    /// region is lost, failover planning knows what the replica is missing.
    func recordPrimaryPosition(_ report: StatusReport, at tick: Date) {
        let primaries = report.nodes.filter { $0.reachable && $0.role == .primary }
        guard primaries.count == 1, let primary = primaries.first, let flush = primary.flushLSN else { return }
        do {
            try PrimaryPosition(node: primary.name, flushLSN: flush.description, at: tick).save(directory: baseDirectory)
        } catch {
            logger.warning("cannot record the primary's position", metadata: ["error": "\(error)"])
        }
    }

    func lastPrimaryLink() async -> NodeLink? {
        guard let report = await state.report,
              let primary = report.nodes.first(where: { $0.reachable && $0.role == .primary }) else {
            // No round yet: try every node; standbys refuse the write harmlessly.
            return links.first
        }
        return links.first { $0.node.name == primary.name }
    }

    /// CPU and free disk for nodes whose data directory is on this machine.
    func hostReadings() -> [String: HostReading] {
        let cpu = host.withLock { $0.cpuPercent() }
        var out: [String: HostReading] = [:]
        for node in spec.nodes {
            guard let dir = node.dataDirectory else { continue }
            let path = dir.hasPrefix("/") ? dir : (baseDirectory as NSString).appendingPathComponent(dir)
            out[node.name] = HostReading(cpuPercent: cpu, freeStorageBytes: HostMetrics.freeBytes(at: path))
        }
        return out
    }
}
