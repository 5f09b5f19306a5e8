import AsyncHTTPClient
import DRControl
import DRDCS
import DROperations
import DROrchestrator
import DRPostgres
import DRSpec
import DRStatus
import Foundation
import Logging
import Synchronization

/// Quorum mode: the agent beside one node. Every `dcs.tick` it looks at its
/// own server and at the DCS, asks `HADecision` what to do, and does it to
/// its own server only (no process control across the network): renew or
/// take the leader key, demote itself before its lease can end, promote only
/// after taking the key, rejoin the leader after a demotion, and carry out
/// its part of operations requested through the DCS. It publishes what it
/// sees under its member key, with a lease of its own.
public final class HAService: Sendable {
    let spec: Spec
    let dcs: DCSSpec
    let me: NodeSpec
    let quorum: Quorum
    let env: OperationEnvironment
    let journal: Journal?
    let logger: Logger
    let peerClient: HTTPClient
    let api: Mutex<String>
    let state = Mutex(State())
    let stopped = Mutex(false)

    struct State {
        var leaderLease: LeaseID?
        /// When this primary last saved its position in etcd (renewals follow it).
        var positionSavedAt: Date?
        /// Until when my leader lease is certainly alive, on the monotonic
        /// clock (a wall-clock step must not stretch it).
        var leaseValidUntil: ContinuousClock.Instant?
        /// A takeover is under way (decided, the key not yet known to be taken): no failsafe acknowledgement.
        var takingOver = false
        /// The deadline a failsafe call was last made for (one call per deadline).
        var failsafeAskedFor: ContinuousClock.Instant?
        var memberLease: LeaseID?
        /// I promised a failsafe primary not to take the key until then (monotonic).
        var holdoffUntil: ContinuousClock.Instant?
        var lastReason: String?
        var role: NodeRole?
        var members: [String: MemberRecord] = [:]
        var leader: LeaderRecord?
        var leaderLeaseLeft: Duration?
        var dcsReachable = false
        /// The agent said etcd does not answer (said once per outage).
        var dcsWarned = false
        var lastAction: String = "starting"
    }

    /// What the agent's HTTP API and metrics show of the quorum.
    public struct Snapshot: Sendable {
        public var leader: LeaderRecord?
        public var leaseLeft: Duration?
        public var dcsReachable: Bool
        public var members: [MemberRecord]
        public var role: NodeRole?
        public var lastAction: String
    }

    public init(spec: Spec, dcs: DCSSpec, me: NodeSpec, quorum: Quorum, env: OperationEnvironment, journal: Journal?,
                api: String, peerClient: HTTPClient = .shared, logger: Logger) {
        self.peerClient = peerClient
        self.spec = spec
        self.dcs = dcs
        self.me = me
        self.quorum = quorum
        self.env = env
        self.journal = journal
        self.logger = logger
        self.api = Mutex(api)
    }

    public func setAPI(_ url: String) { api.withLock { $0 = url } }
    public func finish() { stopped.withLock { $0 = true } }

    public var snapshot: Snapshot {
        state.withLock { s in
            Snapshot(leader: s.leader, leaseLeft: s.leaderLeaseLeft, dcsReachable: s.dcsReachable,
                     members: Array(s.members.values).sorted { $0.node < $1.node }, role: s.role, lastAction: s.lastAction)
        }
    }

    /// Peers' samples from their member records (stale ones count as unreachable).
    public func peerSamples(now: Date) -> [NodeSample] {
        let stale = max(3 * dcs.ttl.seconds, 3)
        return spec.nodes.filter { $0.name != me.name }.map { node in
            if let record = state.withLock({ $0.members[node.name] }), now.timeIntervalSince(record.at) <= stale {
                return record.sample
            }
            return NodeSample(name: node.name, region: node.region, host: node.host, port: node.port, reachable: false,
                              error: "no member record from its agent (agent down, or its region cut off)")
        }
    }

    public func run() async {
        // The rounds, and beside them the lease watchdog: a round can take
        // longer than planned (every etcd endpoint timing out in a partition),
        // the watchdog does not wait for it.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.watchdog() }
            group.addTask {
                while !Task.isCancelled && !self.stopped.withLock({ $0 }) {
                    let started = ContinuousClock.now
                    await self.tick()
                    try? await Task.sleep(until: started + self.nextRoundAfter(), clock: .continuous)
                }
            }
            await group.next()
            group.cancelAll()
        }
        // Leaving cleanly: a primary keeps its key until its lease ends (a
        // restarted agent renews it); the member record goes with its lease.
    }

    /// Fences this node the moment its lease could be about to end
    /// (`demoteMargin` before), unless a renewal or the peer's failsafe
    /// acknowledgement moved that moment on first. It checks every 20 ms.
    func watchdog() async {
        while !Task.isCancelled && !stopped.withLock({ $0 }) {
            let valid = state.withLock { s -> ContinuousClock.Instant? in
                guard s.leaderLease != nil || s.role?.isPrimary == true else { return nil }
                return s.leaseValidUntil
            }
            if let valid {
                let due = valid - dcs.demoteMargin.duration
                let now = ContinuousClock.now
                if now >= due {
                    // Whatever the round is doing, writes stop now.
                    state.withLock { $0.leaseValidUntil = nil }
                    await demote("the leader lease could not be renewed in time (the DCS does not answer) and the peer did not acknowledge this primary",
                                 operation: nil)
                    continue
                }
                // Renewals have stalled (an etcd election, a slow round): ask the peer while there is still time.
                let askAt = due - dcs.requestTimeout.duration - .milliseconds(50)
                if now >= askAt, state.withLock({ $0.failsafeAskedFor != valid }) {
                    state.withLock { $0.failsafeAskedFor = valid }
                    _ = await askPeerForFailsafe(sent: ContinuousClock.now)
                    continue
                }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// A full tick between rounds, but while this node holds a live lease that
    /// the DCS did not renew (an etcd election after a member was cut off, a
    /// slow member) the next try comes after `retryStep`: the lease gets
    /// several chances before the watchdog's deadline rather than one.
    func nextRoundAfter() -> Duration {
        let retrying = state.withLock { !$0.dcsReachable && $0.leaseValidUntil != nil }
        return retrying ? min(dcs.tick.duration, Self.retryStep) : dcs.tick.duration
    }

    static let retryStep = Duration.milliseconds(100)

    // MARK: one round

    func tick() async {
        let now = Date()
        var timing = RoundTiming()
        let own = await RoleProbe.look(me, baseDirectory: env.baseDirectory, timeout: dcs.requestTimeout.duration,
                                       applicationName: "pgdr-agent", logger: logger)
        let role = own.role
        let fenced = (try? await env.control(me.name)?.isFenced()) ?? false
        // A primary renews on the quick look; its full sample waits until after the renewal.
        var early: NodeSample?
        if role?.isPrimary != true {
            early = await NodeSamples.sample(me, baseDirectory: env.baseDirectory, timeout: dcs.requestTimeout.duration)
        }
        timing.mark("own server")
        var leader: LeaderRecord?
        var reachable = true
        var active: OperationRecord?
        do {
            let found = try await quorum.leader()
            leader = found?.record
            if let lease = found?.lease {
                let left = try? await quorum.dcs.timeToLive(lease)
                state.withLock { $0.leaderLeaseLeft = left ?? nil }
            } else {
                state.withLock { $0.leaderLeaseLeft = nil }
            }
            active = try await quorum.active(now: now)
            let members = try await quorum.members()
            state.withLock { s in
                for record in members { s.members[record.node] = record }
            }
        } catch {
            reachable = false
            let first = state.withLock { s in defer { s.dcsWarned = true }; return !s.dcsWarned }
            if first {
                logger.error("etcd unreachable; the agent keeps retrying every \(dcs.tick)",
                             metadata: ["endpoints": "\(dcs.endpoints.joined(separator: ","))", "error": "\(error)"])
            }
        }
        timing.mark("etcd reads")
        if reachable, state.withLock({ s in defer { s.dcsWarned = false }; return s.dcsWarned }) {
            logger.notice("etcd answers again", metadata: ["endpoints": "\(dcs.endpoints.joined(separator: ","))"])
        }
        // The primary saves its position before renewing its lease: the RPO
        // guard's evidence, final once the lease that follows it has ended.
        if reachable, role?.isPrimary == true, leader == nil || leader?.node == me.name, let flush = own.flushLSN {
            let at = Date()
            let bound = at.addingTimeInterval(dcs.ttl.seconds + 2 * dcs.requestTimeout.seconds)
            do {
                try await quorum.savePosition(PrimaryPosition(node: me.name, flushLSN: flush, at: at, checkedAt: at, writesEndBy: bound))
                state.withLock { $0.positionSavedAt = at }
            } catch {
                reachable = false
            }
            timing.mark("position saved")
        }
        state.withLock { s in
            s.role = role
            s.leader = reachable ? leader : s.leader
            s.dcsReachable = reachable
        }
        var takeoverRefusal: String?
        if role == .standby, reachable, leader == nil, let early { takeoverRefusal = await self.takeoverRefusal(own: early, now: now) }
        // Only the approved operations that concern this node.
        let mine = active.flatMap { $0.plan.from == me.name || $0.plan.to == me.name ? $0 : nil }
        var view = HADecision.View(
            me: me.name, mode: spec.failover.mode, role: role, fenced: fenced, dcsReachable: reachable, leader: leader,
            leaseValidUntil: leaseDeadline(), now: Date(), margin: dcs.demoteMargin.seconds,
            holdoffUntil: state.withLock { $0.holdoffUntil }.map { Date().addingTimeInterval(Self.seconds($0 - ContinuousClock.now)) },
            approved: mine,
            takeoverRefusal: takeoverRefusal,
            newerTimelineOn: role != .standby && reachable && leader == nil ? await newerTimeline() : nil,
            lastPrimary: reachable && leader == nil ? (try? await quorum.position())?.node : nil,
            leaderIsPrimary: leader.map { leader in
                state.withLock { $0.members[leader.node] }.map { $0.sample.reachable && $0.sample.role == .primary } ?? false
            } ?? false)
        // A renewal that fails turns into the DCS-unreachable path in the same round.
        for _ in 0..<3 {
            // Decide on the time of deciding, not of the round's start: reads may have taken long.
            view.now = Date()
            view.leaseValidUntil = leaseDeadline()
            let action = HADecision.next(view)
            guard let retry = await perform(action, view: view, operation: mine) else { break }
            view = retry
        }
        timing.mark("decided and acted")
        let sample: NodeSample
        if let early {
            sample = early
        } else {
            sample = await NodeSamples.sample(me, baseDirectory: env.baseDirectory, timeout: dcs.requestTimeout.duration)
            timing.mark("own server sampled")
        }
        await publish(sample, fenced: fenced, reachable: reachable)
        timing.mark("published")
        // A round that takes a good part of the lease is how a primary comes to demote itself
        // with etcd healthy: say where its time went.
        if timing.total > dcs.ttl.duration / 3 {
            logger.warning("slow quorum round", metadata: ["node": "\(me.name)", "took": "\(timing.total)", "steps": "\(timing)"])
        }
    }

    /// Performs the action; returns a new view to decide on again, or nil.
    func perform(_ action: HADecision.Action, view: HADecision.View, operation: OperationRecord?) async -> HADecision.View? {
        switch action {
        case .renew:
            // The position record bounds the primary's writes only if the renewal follows it closely.
            let saved = state.withLock { $0.positionSavedAt }
            guard let saved, Date().timeIntervalSince(saved) < 2 * dcs.requestTimeout.seconds else {
                note("primary: lease not renewed this round (its position was not saved just before)")
                return nil
            }
            guard let lease = state.withLock({ $0.leaderLease }) else {
                // The key names me but I lost my lease id (a restart): take a new lease.
                return await acquire(view, replacing: true)
            }
            let sent = ContinuousClock.now
            do {
                if let left = try await quorum.dcs.keepAlive(lease) {
                    state.withLock { $0.leaseValidUntil = sent + min(left, dcs.ttl.duration) }
                    note("primary: leader lease renewed")
                    return nil
                }
                // The lease is gone (it ended, or the watchdog gave it up): the key went
                // with it. The next round decides on a fresh look whether to take it again.
                state.withLock { s in
                    s.leaderLease = nil
                    s.leaseValidUntil = nil
                }
                note("primary: the leader lease had ended")
                return nil
            } catch {
                // Seen by nextRoundAfter: the renewal is tried again soon.
                state.withLock { $0.dcsReachable = false }
                var next = view
                next.dcsReachable = false
                return next
            }
        case .allowWrites(let reason):
            do {
                try await env.sql(me.name).allowWrites()
                await record("writes allowed again: \(reason)")
            } catch {
                note("could not lift the read-only setting: \(error)")
            }
            return nil
        case .acquire:
            return await acquire(view, replacing: false)
        case .askPeer:
            var next = view
            next.peerAcknowledged = await askPeerForFailsafe(sent: ContinuousClock.now)
            return next
        case .demote(let reason):
            await demote(reason, operation: operation)
            return nil
        case .takeOver(let reason):
            await takeOver(reason, operation: operation)
            return nil
        case .promote(let reason):
            await promote(reason, operation: operation)
            return nil
        case .release(let reason):
            await release(reason)
            return nil
        case .rejoin(let reason):
            await rejoin(reason, leader: view.leader, operation: operation)
            return nil
        case .start(let reason):
            await startServer(reason)
            return nil
        case .reclaim(let reason):
            await reclaim(reason, operation: operation)
            return nil
        case .stopWritesForSwitchover:
            if let operation { await stopWritesForSwitchover(operation) }
            return nil
        case .wait(let reason):
            note(reason)
            return nil
        }
    }

    // MARK: actions

    func acquire(_ view: HADecision.View, replacing: Bool) async -> HADecision.View? {
        let sent = ContinuousClock.now
        let sentAt = Date()
        do {
            let lease = try await quorum.dcs.grantLease(ttl: dcs.ttl.duration)
            let record = LeaderRecord(node: me.name, since: sentAt)
            let value = try DCSCoding.encoder.encode(record)
            if replacing {
                // The key is mine by name but under a lease I no longer know: rewrite it under the new one.
                try await quorum.dcs.put(quorum.leaderKey, value: value, lease: lease)
            } else if try await !quorum.dcs.create(quorum.leaderKey, value: value, lease: lease) {
                try? await quorum.dcs.revoke(lease)
                return nil
            }
            state.withLock { s in
                s.leaderLease = lease
                s.leaseValidUntil = sent + dcs.ttl.duration
                s.leader = record
            }
            await self.record("took the leader key (lease \(lease))")
            return nil
        } catch {
            var next = view
            next.dcsReachable = false
            return next
        }
    }

    /// Failsafe: the DCS does not answer; the peer's agent acknowledges this
    /// primary (and then holds off taking the key for a lease's length).
    func askPeerForFailsafe(sent: ContinuousClock.Instant) async -> Bool {
        let peers = state.withLock { Array($0.members.values) }.filter { $0.node != me.name }
        for peer in peers {
            if await FailsafeCall.ask(peer.api, leader: me.name, ttl: dcs.ttl, timeout: dcs.requestTimeout.duration,
                                          client: peerClient) {
                state.withLock { $0.leaseValidUntil = sent + dcs.ttl.duration }
                note("the DCS does not answer; \(peer.node)'s agent acknowledged this primary (failsafe)")
                return true
            }
        }
        return false
    }

    /// The peer's side of failsafe: acknowledge a primary that cannot reach
    /// the DCS, unless this node is itself a primary or holds the key.
    public func acknowledgeFailsafe(from leader: String) -> Bool {
        state.withLock { s in
            // A standby, or a server that is down: either way not a primary, not the key's holder,
            // and not in the middle of taking the key.
            guard leader != me.name, s.role?.isPrimary != true, s.leader?.node != me.name, s.leaderLease == nil,
                  !s.takingOver else { return false }
            s.holdoffUntil = ContinuousClock.now + dcs.ttl.duration
            return true
        }
    }

    func demote(_ reason: String, operation: OperationRecord?) async {
        guard let control = env.control(me.name) else {
            // Without process control, refuse writes through SQL (weaker, said so).
            try? await env.sql(me.name).refuseWrites()
            await record("demoted (read-only through SQL, no control: section): \(reason)")
            return
        }
        let id = operation?.plan.id ?? "lease-\(me.name)"
        do {
            let did = try await control.fence(operation: id, within: dcs.demoteMargin.duration, urgent: true)
            await record("demoted: \(reason); \(did)")
        } catch {
            await record("demotion failed: \(reason); \(error)")
        }
        // A key this node still holds is given up, so the other can take it now.
        await giveUpKey()
    }

    func giveUpKey() async {
        let lease = state.withLock { s -> LeaseID? in
            defer { s.leaderLease = nil; s.leaseValidUntil = nil }
            return s.leaderLease
        }
        if let value = try? DCSCoding.encoder.encode(state.withLock { $0.leader }), state.withLock({ $0.leader?.node }) == me.name {
            _ = try? await quorum.dcs.delete(quorum.leaderKey, ifValue: value)
        }
        if let lease { try? await quorum.dcs.revoke(lease) }
    }

    /// Starts this node's server; one that will not start gives its key up.
    func startServer(_ reason: String) async {
        guard let control = env.control(me.name) else { return note("the server does not answer and pgdr has no control of it") }
        do {
            try await control.start()
            await record("started the server: \(reason)")
        } catch {
            await record("the server does not start (\(error))")
            if state.withLock({ $0.leader?.node }) == me.name { await release("the server does not start") }
        }
    }

    /// The last primary, demoted by its own lease, comes back: the key
    /// first (nobody else may hold it meanwhile), then the fence lifted and
    /// the server started as the primary.
    func reclaim(_ reason: String, operation: OperationRecord?) async {
        guard let control = env.control(me.name) else { return note("cannot reclaim: no control: section for \(me.name)") }
        _ = await acquire(HADecision.View(me: me.name, mode: spec.failover.mode, role: nil, fenced: true, dcsReachable: true,
                                          leader: nil, leaseValidUntil: nil, now: Date(), margin: 0), replacing: false)
        guard state.withLock({ $0.leaderLease }) != nil else { return note("could not take the leader key back (another agent was first)") }
        // A switchover handed over here that the new primary did not take: it ends, failed,
        // before this node starts (else its next round would stop writes for it again).
        // One approved but not yet begun stays as it is: this node carries it out once back.
        if let operation, operation.plan.kind == .switchover, operation.plan.from == me.name, operation.state == .writesStopped {
            do {
                guard try await quorum.update(operation.plan.id, { r in
                    guard r.state == .writesStopped else { return }
                    r.state = .failed
                    r.detail = reason
                    r.updatedAt = Date()
                })?.state == .failed else { throw OperationError.failed("its record changed meanwhile") }
            } catch {
                await giveUpKey()
                return note("switchover \(operation.plan.id) could not be ended (\(error)); the key is given back and nothing started")
            }
        }
        do {
            try await control.unfence(asPrimary: true)
            try await control.start()
            await record("reclaimed the primary role: \(reason)")
        } catch {
            await record("could not start again as the primary (\(error)); giving the key up")
            await giveUpKey()
        }
    }

    func release(_ reason: String) async {
        if let control = env.control(me.name) {
            _ = try? await control.fence(operation: "release-\(me.name)", within: dcs.demoteMargin.duration, urgent: true)
        }
        await giveUpKey()
        await record("gave up the leader key: \(reason)")
    }

    func takeOver(_ reason: String, operation: OperationRecord?) async {
        // Under the lock: an acknowledgement given since the decision cancels the takeover.
        let promised = state.withLock { s -> Bool in
            if let holdoff = s.holdoffUntil, ContinuousClock.now < holdoff { return true }
            s.takingOver = true
            return false
        }
        if promised { return note("a failsafe acknowledgement was given since the decision: no takeover") }
        defer { state.withLock { $0.takingOver = false } }
        // A switchover: the key is taken only once this node has replayed the old primary's
        // final checkpoint; if it cannot, the switchover ends here, failed, and nothing was
        // taken (the old primary, still the last primary on record, takes its role back).
        if let operation, operation.plan.kind == .switchover, let final = operation.finalCheckpoint,
           await !replayedPast(final, within: .seconds(30)) {
            return await record(await abandon(operation, short: final))
        }
        let before = state.withLock { $0.leaderLease }
        _ = await acquire(HADecision.View(me: me.name, mode: spec.failover.mode, role: .standby, fenced: false,
                                          dcsReachable: true, leader: nil, leaseValidUntil: nil, now: Date(), margin: 0),
                          replacing: false)
        guard state.withLock({ $0.leaderLease }) != before, state.withLock({ $0.leaderLease }) != nil else {
            note("could not take the leader key (another agent was first)")
            return
        }
        // Name this node the last primary before it takes a write, so the
        // old primary never reclaims the role over writes made here.
        let at = Date()
        do {
            guard let position = try await env.sql(me.name).replayLSN() else { throw OperationError.failed("no replay position") }
            try await quorum.savePosition(PrimaryPosition(node: me.name, flushLSN: position, at: at, checkedAt: at,
                                                          writesEndBy: at.addingTimeInterval(dcs.ttl.seconds + 2 * dcs.requestTimeout.seconds)))
        } catch {
            await giveUpKey()
            return note("took the key but could not record this node as the last primary (\(error)); gave the key up")
        }
        await promote(reason, operation: operation)
    }

    /// Whether this node's replay passes `final` (an old primary's final checkpoint) within `limit`.
    func replayedPast(_ final: LSN, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        repeat {
            if let replay = try? await env.sql(me.name).replayLSN(), replay > final { return true }
            try? await Task.sleep(for: .milliseconds(10))
        } while ContinuousClock.now < deadline
        return false
    }

    /// A switchover this node cannot finish without losing writes (its replay did not
    /// pass the old primary's final checkpoint): the operation ends failed, and the old
    /// primary, still the last primary on record, takes its role back. Returns what to record.
    func abandon(_ operation: OperationRecord, short final: LSN) async -> String {
        let why = "\(me.name) did not replay past \(operation.plan.from)'s final checkpoint \(final) within 30 s: not promoted"
        await update(operation.plan.id) { r in
            guard r.state == .writesStopped else { return }
            r.state = .failed
            r.detail = why + "; \(operation.plan.from) takes the primary role back"
        }
        return "switchover \(operation.plan.id): \(why)"
    }

    /// Promotes this node (it holds the key), renewing the lease meanwhile.
    func promote(_ reason: String, operation: OperationRecord?) async {
        let from = spec.nodes.first { $0.name != me.name }?.name ?? "?"
        if let operation, operation.plan.kind == .switchover, let final = operation.finalCheckpoint {
            // Nothing is lost: replay past the old primary's final checkpoint first, or do not promote.
            guard await replayedPast(final, within: .seconds(30)) else {
                let said = await abandon(operation, short: final)
                await giveUpKey()
                return await record(said + "; leader key released")
            }
        }
        var plan = OperationPlan(id: operation?.plan.id ?? OperationStore.newID(.failover), kind: .failover, createdAt: Date(),
                                 from: from, to: me.name, oldPrimaryReachable: false,
                                 warnings: ["quorum mode: \(from) fences itself when its lease ends; this node took the leader key first"],
                                 steps: [.promote, .verify, .repoint, .notify])
        plan.origin = .agent
        let runID = operation?.plan.kind == .switchover ? "\(plan.id.replacingOccurrences(of: "switchover", with: "failover"))" : plan.id
        plan.id = OperationStore.isValidID(runID) ? runID : OperationStore.newID(.failover)
        do {
            try env.store.savePlan(plan)
            try env.store.append(.init(operation: plan.id, kind: .failover, phase: .planned, detail: "quorum: \(reason)"))
            let run = plan
            let outcome = try await withRenewal { try await OperationRunner(environment: self.env).execute(run) }
            state.withLock { $0.leader = LeaderRecord(node: me.name, since: Date(), operation: operation?.plan.id) }
            if let operation {
                await update(operation.plan.id) { r in
                    r.state = r.plan.kind == .switchover ? .promoted : .done
                    r.outcome = outcome.outcome
                    r.detail = "\(self.me.name) promoted: \(outcome.outcome.rawValue) in \(String(format: "%.2fs", outcome.totalSeconds))"
                }
            }
            await record("promoted \(me.name) (\(reason)): \(outcome.outcome.rawValue) in \(String(format: "%.2fs", outcome.totalSeconds))")
        } catch {
            await record("promotion failed: \(error)")
            if let operation {
                await update(operation.plan.id) { r in
                    r.state = .failed
                    r.detail = "promotion of \(self.me.name) failed: \(error)"
                }
            }
        }
    }

    /// Runs `body` while renewing the leader lease every tick.
    func withRenewal<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    if let lease = self.state.withLock({ $0.leaderLease }) {
                        let sent = ContinuousClock.now
                        if let left = try? await self.quorum.dcs.keepAlive(lease) {
                            self.state.withLock { $0.leaseValidUntil = sent + min(left, self.dcs.ttl.duration) }
                        }
                    }
                    try await Task.sleep(for: self.dcs.tick.duration)
                }
                return nil
            }
            group.addTask { try await body() }
            while let result = try await group.next() {
                if let value = result {
                    group.cancelAll()
                    return value
                }
            }
            throw CancellationError()
        }
    }

    /// Becomes a standby of the leader: a rejoin run by this node's agent.
    func rejoin(_ reason: String, leader: LeaderRecord?, operation: OperationRecord?) async {
        guard let leader else { return }
        let plan = OperationPlan(id: OperationStore.newID(.rejoin), kind: .rejoin, createdAt: Date(), from: me.name, to: leader.node,
                                 oldPrimaryReachable: false,
                                 steps: [.stopNode, .resync, .configureStandby, .createSlot, .startStandby, .waitStreaming])
        do {
            try env.store.savePlan(plan)
            try env.store.append(.init(operation: plan.id, kind: .rejoin, phase: .planned, detail: "quorum: \(reason)"))
            let outcome = try await OperationRunner(environment: env).execute(plan)
            await record("rejoined \(leader.node) as its standby: \(outcome.outcome.rawValue)")
            if let operation, operation.plan.from == me.name {
                await update(operation.plan.id) { r in
                    r.state = .done
                    // A switchover's outcome is its worse half.
                    if r.outcome != .degraded { r.outcome = outcome.outcome }
                    r.detail = [r.detail, "\(self.me.name) rejoined \(leader.node): \(outcome.outcome.rawValue)"].compactMap { $0 }.joined(separator: "; ")
                }
            }
        } catch {
            await record("rejoin of \(leader.node) failed: \(error)")
            if let operation, operation.plan.from == me.name {
                await update(operation.plan.id) { r in
                    r.state = .failed
                    r.detail = "rejoin of \(self.me.name) failed: \(error)"
                }
            }
        }
    }

    /// Switchover, old primary: fence and stop cleanly (the walsender ships
    /// the last WAL), publish the final checkpoint, give the key up.
    func stopWritesForSwitchover(_ operation: OperationRecord) async {
        guard let control = env.control(me.name) else {
            await record("switchover \(operation.plan.id): \(me.name) has no control: section; it cannot stop writes")
            return
        }
        do {
            _ = try await control.fence(operation: operation.plan.id, within: .seconds(60))
            let final = try await control.controlData()
            guard final.shutDownCleanly else { throw OperationError.failed("\(me.name) did not shut down cleanly (\(final.state))") }
            guard let _ = try await quorum.update(operation.plan.id, { r in
                r.state = .writesStopped
                r.finalCheckpoint = final.checkpoint
                r.updatedAt = Date()
            }) else { throw OperationError.failed("the operation's record is gone from etcd") }
            await giveUpKey()
            await record("switchover \(operation.plan.id): writes stopped at \(final.checkpoint); leader key released")
        } catch {
            // Nothing moved yet: this node stays the primary (it still holds the key), writable again.
            try? await control.unfence(asPrimary: true)
            try? await control.start()
            await record("switchover \(operation.plan.id) could not stop writes (\(error)); \(me.name) stays the primary")
            await update(operation.plan.id) { r in
                r.state = .failed
                r.detail = "\(self.me.name) could not stop writes: \(error); it stays the primary"
            }
        }
    }

    /// Updates an operation's record in the DCS (best effort: the journal on disk has the truth of this node's part).
    func update(_ id: String, _ change: @escaping (inout OperationRecord) -> Void) async {
        do {
            try await quorum.update(id) { r in
                change(&r)
                r.updatedAt = Date()
            }
        } catch {
            logger.warning("operation record not updated in etcd", metadata: ["operation": "\(id)", "error": "\(error)"])
        }
    }

    /// The lease deadline as a date, for the pure decision (computed now from the monotonic one).
    func leaseDeadline() -> Date? {
        state.withLock { $0.leaseValidUntil }.map { Date().addingTimeInterval(Self.seconds($0 - ContinuousClock.now)) }
    }

    static func seconds(_ d: Duration) -> TimeInterval {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    // MARK: member record, notes

    func publish(_ sample: NodeSample, fenced: Bool, reachable: Bool) async {
        guard reachable else { return }
        let record = MemberRecord(node: me.name, api: api.withLock { $0 }, sample: sample, fenced: fenced,
                                  decision: state.withLock { $0.lastAction }, at: Date())
        do {
            var lease = state.withLock { $0.memberLease }
            if let current = lease, (try await quorum.dcs.keepAlive(current)) == nil { lease = nil }
            if lease == nil {
                lease = try await quorum.dcs.grantLease(ttl: .seconds(max(3, Int64(dcs.ttl.seconds * 2))))
                state.withLock { $0.memberLease = lease }
            }
            try await quorum.dcs.put(quorum.memberKey(me.name), value: try DCSCoding.encoder.encode(record), lease: lease)
            state.withLock { $0.members[me.name] = record }
        } catch {
            logger.info("member record not published", metadata: ["error": "\(error)"])
        }
    }

    func note(_ reason: String) {
        let changed = state.withLock { s -> Bool in
            s.lastAction = reason
            defer { s.lastReason = reason }
            return s.lastReason != reason
        }
        if changed { logger.info("quorum", metadata: ["node": "\(me.name)", "state": "\(reason)"]) }
    }

    func record(_ message: String) async {
        note(message)
        logger.notice("quorum: \(message)", metadata: ["node": "\(me.name)"])
        _ = try? await journal?.append(.init(at: Date(), kind: .operation, message: "\(me.name): \(message)"))
    }

    /// A peer whose agent published a newer timeline than my server's.
    func newerTimeline() async -> String? {
        let members = state.withLock { $0.members }
        guard let mine = members[me.name]?.sample.timeline else { return nil }
        return members.values
            .first { $0.node != me.name && ($0.sample.timeline ?? 0) > mine }?.node
    }

    /// Automatic mode, a standby looking at a free key: the RPO guard, on
    /// the position the old primary saved before its last renewal.
    func takeoverRefusal(own: NodeSample, now: Date) async -> String? {
        let position: PrimaryPosition?
        do { position = try await quorum.position() } catch { return "etcd did not answer for the old primary's position" }
        var report = StatusEvaluator.evaluate([own] + spec.nodes.filter { $0.name != me.name }.map {
            NodeSample(name: $0.name, region: $0.region, host: $0.host, port: $0.port, reachable: false)
        }, thresholds: spec.monitoring.thresholds, at: now)
        report.nodes.sort { $0.name < $1.name }
        switch FailoverPlanner.plan(report: report, spec: spec, id: OperationStore.newID(.failover), now: now,
                                    acceptDataLoss: false, lastKnownPrimary: position) {
        case .failure(let refusal): return refusal.description
        case .success: return nil
        }
    }
}
