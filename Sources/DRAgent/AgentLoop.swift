import DRMonitor
import DROperations
import DROrchestrator
import DRRDS
import DRPostgres
import DRSpec
import DRStatus
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The control plane's heartbeat: every `monitoring.interval`, on ticks
/// aligned to the clock, it stamps the heartbeat on the primary, probes every
/// node at once, evaluates the alarms, journals what changed and hands
/// notices to the dispatcher (which never blocks this loop). Its children
/// (the dispatcher, and in automatic mode the primary watch and the failover
/// detector) run in one task group it owns.
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
    let detector: FailoverDetector
    let watch: PrimaryWatch
    let store: OperationStore
    /// `replication.mode: bounded` (self-managed, one vantage point).
    let bound: BoundEnforcer?
    /// Signalled when something asks for a round now (after a failover).
    let roundNow = Wakeup()

    /// Quorum mode: the agent beside one node; it samples only that node and
    /// learns the others from their agents' member records.
    let ha: HAService?
    /// `target: aws`: the report comes from the RDS API and CloudWatch
    /// (no SQL sessions, no heartbeat writer, no automatic failover).
    let rds: RDSObserver?
    /// Backups configured (pgBackRest): the agent's look at them.
    let backups: BackupWatch?

    public init(spec: Spec, baseDirectory: String, state: AgentState, exporter: MetricsExporter,
                journal: Journal, logger: Logger, environment: OperationEnvironment? = nil, ha: HAService? = nil,
                rds: RDSObserver? = nil) async {
        self.spec = spec
        self.baseDirectory = baseDirectory
        self.ha = ha
        self.rds = rds
        backups = rds == nil ? BackupWatch(spec: spec, baseDirectory: baseDirectory, node: ha?.me.name, logger: logger) : nil
        let interval = spec.monitoring.interval.duration
        // A probe may take most of an interval, never more than 5 s.
        let deadline = min(interval * 0.8, .seconds(5))
        links = spec.nodes.filter { ha == nil || $0.name == ha?.me.name }
            .map { NodeLink(node: $0, baseDirectory: baseDirectory, deadline: deadline, logger: logger) }
        self.state = state
        self.exporter = exporter
        self.journal = journal
        dispatcher = NotificationDispatcher(spec: spec, baseDirectory: baseDirectory, journal: journal, logger: logger)
        self.logger = logger
        let restored = AgentLoop.lastStates(journal: journal.path)
        engine = Mutex(AlarmEngine(alarms: spec.effectiveAlarms, restored: restored))
        policy = Mutex(NotificationPolicy(reminder: spec.monitoring.reminder.seconds, sequenceStart: await journal.sequence))
        host = Mutex(HostMetrics())
        // The detector's fresh look must not wait long on a silent old primary.
        let observeTimeout = max(.seconds(1), spec.failover.detection.window.duration)
        let env = environment ?? OperationEnvironment.live(spec: spec, baseDirectory: baseDirectory,
                                                           observeTimeout: observeTimeout, logger: logger)
        store = env.store
        let detector = FailoverDetector(env: env, prober: PrimaryProbe(spec: spec, baseDirectory: baseDirectory, logger: logger),
                                        journal: journal, logger: logger)
        self.detector = detector
        bound = spec.replication.mode == .bounded && ha == nil && rds == nil
            ? BoundEnforcer(spec: spec, env: env, journal: journal, logger: logger) : nil
        let automatic = spec.failover.mode == .automatic && ha == nil && rds == nil
        let roundNow = self.roundNow
        // A broken session to the primary: a round at once in every mode (so
        // /primary and /replica stop vouching for it), detection in automatic mode.
        watch = PrimaryWatch(spec: spec, baseDirectory: baseDirectory, logger: logger) { node, why in
            if automatic { detector.trigger(.primaryLost(node: node, why: why)) }
            roundNow.signal()
        }
        await detector.onFailover { [roundNow] in roundNow.signal() }
    }

    /// Each alarm's last journaled state, so a restart resumes where it was.
    static func lastStates(journal path: String) -> [String: AlarmState] {
        var states: [String: AlarmState] = [:]
        for entry in Journal.read(path: path) where entry.kind == .alarm {
            if let alarm = entry.alarm, let to = entry.to { states[alarm] = to }
        }
        return states
    }

    enum Child: Sendable { case dispatcher, detector, watch, quorum, backups, deadline }

    public func run() async throws {
        try await journal.append(.init(at: Date(), kind: .agentStarted,
                                       message: "watching \(rds.map { [$0.deployment.primaryID, $0.deployment.drID] } ?? spec.nodes.map(\.name))"
                                           .replacingOccurrences(of: "[", with: "").replacingOccurrences(of: "]", with: "").replacingOccurrences(of: "\"", with: "")
                                           + " every \(spec.monitoring.interval)"
                                           + (spec.failover.mode == .automatic ? " (automatic failover)" : "")))
        // In quorum mode the HA service decides; the detector and watch are for one vantage point.
        let outbox = dispatcher.resubmitOutbox()
        if outbox > 0 {
            _ = try? await journal.append(.init(at: Date(), kind: .agentStarted,
                                                message: "delivering \(outbox) notice(s) left undelivered by the previous run"))
        }
        await withTaskGroup(of: Child.self) { group in
            group.addTask { await self.dispatcher.run(); return .dispatcher }
            group.addTask { await self.detector.run(); return .detector }
            let watching = ha == nil && rds == nil
            if watching { group.addTask { await self.watch.run(); return .watch } }
            if let ha = self.ha { group.addTask { await ha.run(); return .quorum } }
            // Not waited for at shutdown: cancelled with the group.
            if let backups = self.backups { group.addTask { await backups.run(); return .backups } }
            await rounds()
            // Shutting down: close the queues, give deliveries in flight a moment.
            dispatcher.finish()
            detector.finish()
            watch.finish()
            ha?.finish()
            var pending: Set<Child> = watching ? [.dispatcher, .detector, .watch] : [.dispatcher, .detector]
            if ha != nil { pending.insert(.quorum) }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return .deadline
            }
            while let child = await group.next() {
                if child == .deadline { break }
                pending.remove(child)
                if pending.isEmpty { break }
            }
            group.cancelAll()
        }
        for link in links { await link.close() }
        _ = try? await journal.append(.init(at: Date(), kind: .agentStopped, message: "clean shutdown"))
    }

    /// Rounds on ticks aligned to the interval, until a graceful shutdown.
    func rounds() async {
        let period = Double(spec.monitoring.interval.milliseconds) / 1000
        var settle = SettleRounds()
        // A first round at once: the API, the position record and the metrics do not wait
        // up to an interval for the first tick.
        if !Task.isShuttingDownGracefully && !Task.isCancelled { await round(at: Date()) }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Ticks on multiples of the interval: one datapoint per alarm period;
            // sooner while the roles are changing (see SettleRounds).
            let now = Date().timeIntervalSince1970
            let tick = ((now / period).rounded(.down) + 1) * period
            let next = settle.next(before: Date(timeIntervalSince1970: tick), now: Date())
            let early = await waitForTick(next)
            guard let early else { break }
            let previous = await state.report
            let report = await round(at: early || next.timeIntervalSince1970 < tick ? Date() : Date(timeIntervalSince1970: tick))
            settle.observe(SettleRounds.roles(report), previous: previous.map(SettleRounds.roles))
        }
    }

    /// Waits until the tick or a request for a round now; nil on shutdown.
    func waitForTick(_ tick: Date) async -> Bool? {
        do {
            return try await cancelWhenGracefulShutdown {
                try await withThrowingTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(max(0, Int(tick.timeIntervalSinceNow * 1000))))
                        return false
                    }
                    group.addTask {
                        guard await self.roundNow.wait() else { throw CancellationError() }
                        return true
                    }
                    let early = try await group.next() ?? false
                    group.cancelAll()
                    return early
                }
            }
        } catch {
            return nil
        }
    }

    @discardableResult
    func round(at tick: Date) async -> StatusReport {
        let previous = await state.report
        var report: StatusReport
        if let rds {
            report = await rds.observe()
        } else {
            if let primary = await lastPrimaryLink() { await primary.beat(writer: "pgdr-agent") }
            let unordered = await withTaskGroup(of: (Int, NodeSample).self) { group in
                for (index, link) in links.enumerated() { group.addTask { (index, await link.sample()) } }
                var out: [(Int, NodeSample)] = []
                for await result in group { out.append(result) }
                return out.sorted { $0.0 < $1.0 }.map(\.1)
            } + (ha?.peerSamples(now: tick) ?? [])
            let order = spec.nodes.map(\.name)
            let samples = unordered.sorted { (order.firstIndex(of: $0.name) ?? 0) < (order.firstIndex(of: $1.name) ?? 0) }
            report = StatusEvaluator.evaluate(samples, thresholds: spec.monitoring.thresholds, at: tick)
        }
        if let backups { report.backups = await backups.latest }
        let hosts = hostReadings()
        let points = ClusterMetrics.datapoints(report, hosts: hosts)
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
        // What an earlier failed write left pending goes to disk now.
        if await journal.backlog > 0 {
            do { try await journal.flush() } catch { logger.error("journal still not writable", metadata: ["error": "\(error)"]) }
        }
        if ha == nil && rds == nil { recordPrimaryPosition(report, at: tick) }
        exporter.update(report: report, alarms: Array(entries.values), hosts: hosts)
        if let bound {
            await bound.enforce(report, at: tick)
            if let snapshot = await bound.snapshot {
                exporter.update(bound: snapshot)
                await state.publish(bound: snapshot)
            }
        }
        let operations = store.entries()
        let promotion = store.lastPromotion(in: operations)
        exporter.update(operations: operations)
        await state.publish(report, alarms: Array(entries.values), at: tick, lastPromotion: promotion)
        if spec.failover.mode == .automatic, let verdict = SplitBrain.judge(report, lastPromotion: promotion), let stale = verdict.stale {
            detector.trigger(.splitBrain(stale: stale))
        }
        if ha == nil && rds == nil { watchPrimary(report, previous: previous) }
        if let ha { exporter.update(quorum: ha.snapshot) }
        return report
    }

    /// Tells the watch who the primary is, and the detector when the primary
    /// the last round saw is gone; and an interrupted operation, when the
    /// lock's holder has died.
    func watchPrimary(_ report: StatusReport, previous: StatusReport?) {
        let primaries = report.nodes.filter { $0.reachable && $0.role == .primary }
        if primaries.count == 1 { watch.update(primary: primaries[0].name) }
        if primaries.isEmpty, spec.failover.mode == .automatic {
            let last = previous?.nodes.first { $0.reachable && $0.role == .primary }?.name
                ?? PrimaryPositionFile.load(directory: baseDirectory)?.node
            if let last {
                let why = report.nodes.first { $0.name == last }?.error ?? "no primary answers"
                detector.trigger(.primaryLost(node: last, why: why))
            }
        }
        if let lock = store.interrupted() { detector.trigger(.interrupted(operation: lock.operation)) }
    }

    /// Leaves the primary's position on disk every round: if the primary
    /// region is lost, failover planning knows what the replica is missing.
    func recordPrimaryPosition(_ report: StatusReport, at tick: Date) {
        let primaries = report.nodes.filter { $0.reachable && $0.role == .primary }
        var position: PrimaryPosition
        if primaries.count == 1, let primary = primaries.first, let flush = primary.flushLSN {
            position = PrimaryPosition(node: primary.name, flushLSN: flush, at: tick)
        } else if var last = PrimaryPositionFile.load(directory: baseDirectory) {
            // The primary did not answer: the last sight stands, and the agent
            // says it kept watching (the record stays evidence while it does).
            last.checkedAt = tick
            position = last
        } else {
            return
        }
        do {
            try PrimaryPositionFile.save(position, directory: baseDirectory)
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
