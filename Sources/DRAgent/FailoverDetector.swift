import DRControl
import DROperations
import DROrchestrator
import DRSpec
import DRStatus
import Foundation
import Logging

/// Automatic mode's decision maker. Something says the primary may be gone
/// (its session closed, a round could not reach it); the detector then
///
/// 1. takes the operation lock (nothing else may run while it looks, and a
///    switchover in progress makes it wait for the next trigger),
/// 2. probes the primary `failover.detection.probes` times, the first at
///    once, then `interval` apart,
/// 3. looks at every node afresh,
/// 4. lets `AutomaticFailover` decide on that evidence alone (never on a
///    view older than the lock, never after another operation ran), and
/// 5. runs the failover it decided on, still holding the lock.
///
/// It also resumes an operation whose process died holding the lock.
public actor FailoverDetector {
    public enum Trigger: Sendable, Hashable {
        /// The session to the primary closed, or a probe of it failed.
        case primaryLost(node: String, why: String)
        /// A round found the operation lock held by a dead process.
        case interrupted(operation: String)
        /// A demoted primary takes writes again (a cut link healed): fence and rejoin it.
        case splitBrain(stale: String)
    }

    let env: OperationEnvironment
    let prober: any PrimaryProber
    let journal: Journal?
    let logger: Logger
    let stream: AsyncStream<Trigger>
    let continuation: AsyncStream<Trigger>.Continuation
    private var lastRefusal: String?
    /// Called after a failover ran, so the agent looks again at once.
    private var afterFailover: (@Sendable () async -> Void)?

    public init(env: OperationEnvironment, prober: any PrimaryProber, journal: Journal?, logger: Logger) {
        self.env = env
        self.prober = prober
        self.journal = journal
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: Trigger.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func onFailover(_ body: @escaping @Sendable () async -> Void) { afterFailover = body }

    /// Hands a trigger over without waiting (only the newest pending one is kept).
    public nonisolated func trigger(_ trigger: Trigger) { continuation.yield(trigger) }

    public nonisolated func finish() { continuation.finish() }

    /// Handles triggers one at a time until `finish()`.
    public func run() async {
        for await trigger in stream {
            _ = await handle(trigger)
        }
    }

    /// What a trigger led to (for tests and the journal).
    public enum Result: Sendable, Hashable {
        case ignored(String)
        case keptWatching(String)
        case refused(String)
        case failedOver(String, OperationOutcome)
        case failed(String)
        case resumed(String)
    }

    public func handle(_ trigger: Trigger) async -> Result {
        switch trigger {
        case .interrupted(let operation): return await resume(operation)
        case .splitBrain(let stale): return await reconcile(stale)
        case .primaryLost(let node, let why): return await detect(node, why: why)
        }
    }

    func detect(_ node: String, why: String) async -> Result {
        guard env.spec.failover.mode == .automatic else { return .ignored("manual mode") }
        let id = OperationStore.newID(.failover)
        do {
            try env.store.acquire(id)
        } catch {
            // Another operation runs (a switchover, an operator's failover):
            // whatever it leaves behind is looked at by the next trigger.
            return .ignored("lock held: \(error)")
        }
        var handedOver = false
        defer { if !handedOver { env.store.release(id) } }
        let generation = env.store.generation()
        let failed = await prober.consecutiveFailures(of: node, detection: env.spec.failover.detection)
        guard !Task.isCancelled else { return .ignored("the agent is stopping") }
        guard failed >= env.spec.failover.detection.probes else {
            return .keptWatching("\(node) answered a probe (\(why))")
        }
        let report = await env.observer.observe()
        // Stopping: a look cut short by cancellation is no evidence.
        guard !Task.isCancelled else { return .ignored("the agent is stopping") }
        let evidence = AutomaticFailover.Evidence(consecutiveFailedProbes: failed, gatheredUnderLock: true,
                                                  operationsSinceEvidence: env.store.generation() - generation)
        let decision = AutomaticFailover.decide(spec: env.spec, evidence: evidence, report: report,
                                                lastKnownPrimary: PrimaryPositionFile.load(directory: env.baseDirectory),
                                                id: id, now: env.clock.now())
        switch decision {
        case .keepWatching(let reason):
            return .keptWatching(reason)
        case .refuse(let refusal):
            if refusal.description != lastRefusal {
                lastRefusal = refusal.description
                logger.warning("automatic failover refused", metadata: ["reason": "\(refusal)"])
                await record("automatic failover \(refusal.description)")
                // The primary does not answer and nothing was done about it: someone must hear of it.
                await tell(id, from: node, outcome: "refused",
                           "automatic failover refused: \(node) does not answer (\(failed) failed probes), but \(refusal.reason) "
                           + "(\(refusal.hint)). Nothing was changed: look at `pgdr status`; `pgdr failover` plans it by hand")
            }
            return .refused(refusal.description)
        case .failover(let plan):
            lastRefusal = nil
            handedOver = true
            let summary = "automatic: \(plan.from) -> \(plan.to) after \(failed) failed probes (\(why))"
            do {
                try env.store.savePlan(plan)
                try env.store.append(.init(at: env.clock.now(), operation: plan.id, kind: .failover, phase: .planned, detail: summary))
                await record("automatic failover \(plan.id): \(plan.from) -> \(plan.to) after \(failed) failed probes")
                let outcome = try await OperationRunner(environment: env).execute(plan, lockHeld: true)
                await record(String(format: "automatic failover %@ %@ in %.2fs", plan.id, outcome.outcome.rawValue, outcome.totalSeconds)
                             + (outcome.degraded.isEmpty ? "" : ": " + outcome.degraded.joined(separator: "; ")))
                await afterFailover?()
                return .failedOver(plan.id, outcome.outcome)
            } catch {
                env.store.release(plan.id)
                logger.error("automatic failover failed", metadata: ["error": "\(error)"])
                await record("automatic failover \(plan.id) failed: \(error)")
                await tell(plan.id, from: plan.from, to: plan.to, outcome: OperationOutcome.failed.rawValue,
                           "automatic failover \(plan.from) -> \(plan.to) failed: \(error). `pgdr operations` shows where it stopped")
                await afterFailover?()
                return .failed("\(error)")
            }
        }
    }

    /// An operation whose process died holding the lock: in automatic mode
    /// the agent finishes it (or rolls it back) as `pgdr approve` would; in
    /// manual mode it says so once and leaves it to the operator.
    func resume(_ operation: String) async -> Result {
        guard env.store.interrupted()?.operation == operation else { return .ignored("\(operation) is not interrupted") }
        guard env.spec.failover.mode == .automatic else {
            if lastRefusal != operation {
                lastRefusal = operation
                await record("operation \(operation) was interrupted and holds the lock; resume it with `pgdr approve \(operation)`")
            }
            return .ignored("manual mode")
        }
        await record("resuming interrupted operation \(operation)")
        do {
            let outcome = try await Approval.approve(id: operation, env: env)
            await record("operation \(operation) resumed: \(outcome.outcome.rawValue)")
            await afterFailover?()
            return .resumed(outcome.outcome.rawValue)
        } catch {
            await record("operation \(operation) could not be resumed: \(error)")
            return .failed("\(error)")
        }
    }

    /// Automatic mode: a demoted primary that takes writes again is fenced at
    /// once and made a standby of the legitimate primary (its writes since the
    /// failover are discarded by pg_rewind, as Patroni's old leader's are).
    /// Like a failover, it decides only on a look taken while it holds the
    /// operation lock.
    func reconcile(_ stale: String) async -> Result {
        guard env.spec.failover.mode == .automatic else { return .ignored("manual mode") }
        let id = OperationStore.newID(.rejoin)
        do {
            try env.store.acquire(id)
        } catch {
            return .ignored("lock held: \(error)")
        }
        var handedOver = false
        defer { if !handedOver { env.store.release(id) } }
        let report = await env.observer.observe()
        guard !Task.isCancelled else { return .ignored("the agent is stopping") }
        switch RejoinPlanner.plan(node: stale, report: report, spec: env.spec, id: id, now: env.clock.now(),
                                  demotedBy: env.store.lastPromotion()) {
        case .failure(let refusal):
            return .refused(refusal.description)
        case .success(var plan):
            plan.origin = .agent
            handedOver = true
            do {
                try env.store.savePlan(plan)
                try env.store.append(.init(at: env.clock.now(), operation: plan.id, kind: .rejoin, phase: .planned,
                                           detail: "automatic: \(stale) still took writes after its demotion; fenced and rejoined"))
                await record("split brain: fencing and rejoining \(stale) (\(plan.id))")
                let outcome = try await OperationRunner(environment: env).execute(plan, lockHeld: true)
                await record("\(plan.id) \(outcome.outcome.rawValue): \(stale) follows \(plan.to)")
                await afterFailover?()
                return .resumed(outcome.outcome.rawValue)
            } catch {
                env.store.release(plan.id)
                await record("could not rejoin \(stale) after the split brain: \(error)")
                return .failed("\(error)")
            }
        }
    }

    /// Tells the notification sinks what automatic mode did instead of a failover.
    func tell(_ operation: String, from: String, to: String? = nil, outcome: String, _ message: String) async {
        let candidate = to ?? env.spec.nodes.first { $0.name != from }?.name ?? ""
        guard !env.spec.notifications.isEmpty,
              let body = OperationNotice.payload(spec: env.spec, operation: operation, type: OperationKind.failover.rawValue, from: from,
                                                 to: candidate, outcome: outcome, message: message, at: env.clock.now()) else { return }
        let sent = await OperationNotice.deliver(body, spec: env.spec, baseDirectory: env.baseDirectory)
        if !sent.failed.isEmpty { await record("the notice of \(operation) was not delivered: \(sent.failed.joined(separator: "; "))") }
    }

    func record(_ message: String) async {
        _ = try? await journal?.append(.init(at: env.clock.now(), kind: .operation, message: message))
    }
}

/// The seam at "is the primary still there": the live one opens a fresh
/// connection per probe; tests use a scripted one.
public protocol PrimaryProber: Sendable {
    /// Probes up to `detection.probes` times, the first at once and the rest
    /// `interval` apart (from the start of each); 0 at the first success,
    /// else the number of consecutive failures.
    func consecutiveFailures(of node: String, detection: Failover.Detection) async -> Int
}
