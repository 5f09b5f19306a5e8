import DRControl
import DRNotify
import DROrchestrator
import DRPostgres
import DRProcess
import DRRDS
import DRSpec
import DRStatus
import Foundation

/// The work behind each step, over the environment's seams. Every action is
/// safe to run again after a crash (the step machine repeats a step whose
/// end was never journaled), and says how it ended.
struct StepActions {
    let env: OperationEnvironment
    let plan: OperationPlan
    /// A planned stop waits this long for a clean shutdown (its final checkpoint).
    static let cleanStopLimit: Duration = .seconds(60)

    func perform(_ step: Step) async throws -> StepOutcome {
        if let rds = env.rds { return try await performOnRDS(step, rds) }
        switch step {
        case .fence: return try await fence(plan.from)
        case .promote: return try await promote(plan.to)
        case .verify: return try await verify(plan.to)
        case .repoint: return try await repoint(to: plan.to)
        case .notify: return await notify()
        case .stopWrites: return try await stopWrites(plan.from)
        case .waitCatchUp: return try await waitCatchUp(old: plan.from, new: plan.to)
        case .restartOldAsStandby: return try await restartAsStandby(plan.from, following: plan.to)
        case .stopNode: return try await stopNode(plan.from)
        case .resync: return try await resync(plan.from, from: plan.to)
        case .configureStandby:
            try await env.requireControl(plan.from, for: "rejoin").follow(try env.upstream(plan.to, for: plan.from))
            return .done("\(plan.from) set to follow \(plan.to)")
        case .createSlot: return try await ensureSlot(for: plan.from, on: plan.to)
        case .startStandby:
            try await env.requireControl(plan.from, for: "rejoin").start()
            return .done("\(plan.from) started")
        case .waitStreaming: return try await waitStreaming(plan.from, primary: plan.to)
        case .rebuildReplica, .waitReplica:
            throw OperationError.badInput("step \(step.rawValue) is for RDS instances (target: aws)")
        }
    }

    /// `target: aws`: the same steps through the AWS APIs.
    func performOnRDS(_ step: Step, _ rds: RDSSteps) async throws -> StepOutcome {
        switch step {
        case .fence: return await rds.fence(plan.from)
        case .promote: return try await rds.promote(plan.to)
        case .verify: return try await rds.verify(plan.to)
        case .repoint:
            // DNS only now, after promotion; then the operator's hook, if any.
            return Self.combine(await rds.repointDNS(to: plan.to), env.spec.failover.hook == nil ? nil : try await repoint(to: plan.to))
        case .notify:
            let sinks = await notify()
            let notice = "\(plan.kind.rawValue) \(plan.id): \(plan.to) is the primary of \(env.spec.resourceName(env.spec.name))"
            return Self.combine(sinks, await rds.publish(notice, subject: "pgdr \(plan.kind.rawValue): \(plan.to) is the primary", newPrimary: plan.to))
        case .rebuildReplica: return try await rds.rebuildReplica(plan.from, of: plan.to)
        case .waitReplica: return try await rds.waitReplica(plan.from, of: plan.to)
        default:
            throw OperationError.badInput("step \(step.rawValue) has no RDS equivalent")
        }
    }

    /// Two outcomes of one step as one: degraded if either is.
    static func combine(_ a: StepOutcome, _ b: StepOutcome?) -> StepOutcome {
        guard let b else { return a }
        let detail = [a.detail, b.detail].joined(separator: "; ")
        let reasons = [a.degradedReason, b.degradedReason].compactMap { $0 }
        return reasons.isEmpty ? .done(detail) : .degraded(detail, reason: reasons.joined(separator: "; "))
    }

    // MARK: failover

    /// Stops the old primary and marks it so nothing starts it writable. A
    /// node pgdr cannot stop is made read-only through SQL (a weaker fence,
    /// and said so); an unreachable one cannot be fenced at all, and the
    /// outcome says that too.
    /// The whole step gives up after `failover.fenceTimeout`: a node that can
    /// neither be stopped nor reached in that time is reported NOT fenced.
    func fence(_ node: String) async throws -> StepOutcome {
        let budget = env.spec.failover.fenceTimeout.duration
        let deadline = ContinuousClock.now + budget
        var controlFailure: String?
        if let control = env.control(node) {
            do {
                let operation = plan.id
                let report = try await withDeadline(budget * 0.7) { try await control.fence(operation: operation, within: budget * 0.6) }
                return report.weakness.map { .degraded(report.detail, reason: "weak fence: \($0)") } ?? .done(report.detail)
            } catch {
                controlFailure = error is DeadlineExceeded ? "could not stop it within \(budget * 0.7)" : "\(error)"
            }
        }
        let sqlFailure: String
        do {
            let remaining = max(.milliseconds(100), deadline - ContinuousClock.now)
            let sql = try env.sql(node)
            try await withDeadline(remaining) { try await sql.refuseWrites() }
            return .degraded("set read-only and its sessions ended through SQL",
                             reason: "weak fence: \(node) was not stopped" + (controlFailure.map { " (\($0))" } ?? " (no control: section)")
                                 + "; a session can lift read-only and a restart undoes it")
        } catch {
            sqlFailure = error is DeadlineExceeded ? "no answer within failover.fenceTimeout (\(budget))" : "\(error)"
        }
        return .degraded("NOT fenced",
                         reason: "\(node) could not be fenced: " + (controlFailure.map { "\($0); " } ?? "") + sqlFailure
                             + ". Make sure it is down or cut off from clients")
    }

    func promote(_ node: String) async throws -> StepOutcome {
        let started = ContinuousClock.now
        try await env.sql(node).promote(timeout: .seconds(60))
        // A weak fence of an earlier demotion may sit in its settings (copied by a rewind or a
        // base backup): the node an operation promotes takes writes. Should this fail, the
        // verify step that follows says so (it writes through an ordinary session).
        try? await env.sql(node).allowWrites()
        let took = ContinuousClock.now - started
        return .done("\(node) promoted in \(took.formatted(.units(allowed: [.milliseconds], width: .narrow)))")
    }

    /// Waits until the node takes a write (up to 30 s). In synchronous mode a
    /// new primary with no standby would block every commit: like Patroni's
    /// non-strict synchronous mode, replication is relaxed until one streams.
    func verify(_ node: String) async throws -> StepOutcome {
        var relaxed: String?
        if env.spec.replication.mode == .sync {
            try await env.sql(node).setSynchronousStandbys(relaxed: true)
            relaxed = "synchronous replication relaxed on \(node) until a standby streams"
        }
        if env.spec.replication.mode == .bounded {
            // The new primary starts asynchronous (a hold copied from the old one by a base
            // backup or a rewind would wait for nobody), and the bound is armed again once
            // its DR replica is back under half of it.
            try await env.sql(node).holdCommits(for: nil)
            try? BoundLog(directory: env.store.directory).append(.init(
                event: .acceptRisk, reason: "\(plan.kind.rawValue) \(plan.id): \(node) is the new primary and has no DR replica in sync yet",
                primary: node, by: "operation \(plan.id)"))
            relaxed = "\(node) starts asynchronous; bounded mode arms again once its DR replica catches up"
        }
        let deadline = ContinuousClock.now + .seconds(30)
        var lastError: any Error = OperationError.failed("no answer")
        while ContinuousClock.now < deadline {
            do {
                let lsn = try await env.sql(node).writeProbe()
                return .done(([relaxed].compactMap { $0 } + ["\(node) took a write at \(lsn)"]).joined(separator: "; "))
            } catch {
                lastError = error
                try await env.clock.sleep(for: .milliseconds(100))
            }
        }
        throw OperationError.failed("\(node) did not take a write within 30 s: \(lastError)")
    }

    /// Runs failover.hook with the new primary in its environment, bounded by
    /// failover.hookTimeout.
    func repoint(to node: String) async throws -> StepOutcome {
        guard let hook = env.spec.failover.hook, let program = hook.first else {
            return .done("no failover.hook configured; the agent's /primary?node=\(node) answers 200 now, and libpq multi-host strings with target_session_attrs=read-write find \(node)")
        }
        let spec = try env.node(node)
        let result = try await ChildProcess.checked(.init(program, Array(hook.dropFirst()), environment: [
            "PGDR_NEW_PRIMARY_NAME": node, "PGDR_NEW_PRIMARY_HOST": spec.host, "PGDR_NEW_PRIMARY_PORT": "\(spec.port)",
            "PGDR_OPERATION": plan.id,
        ], timeout: env.spec.failover.hookTimeout.duration, outputLimit: 4096))
        let said = result.output.split(separator: "\n").last.map { ": \($0)" } ?? ""
        return .done("ran \(program)\(said)")
    }

    /// Tells the notification sinks. A failed delivery does not fail the
    /// operation, but the outcome says which sink did not hear it.
    func notify() async -> StepOutcome {
        let degraded = env.store.entries(of: plan.id).compactMap(\.reason)
        guard let body = OperationNotice.payload(
            spec: env.spec, operation: plan.id, type: plan.kind.rawValue, from: plan.from, to: plan.to,
            outcome: degraded.isEmpty ? OperationOutcome.done.rawValue : OperationOutcome.degraded.rawValue, degraded: degraded,
            message: "\(plan.kind.rawValue): \(plan.to) is the primary" + (plan.acceptedDataLoss ? " (data loss accepted)" : "")
                + (degraded.isEmpty ? "" : " (DEGRADED: \(degraded.joined(separator: "; ")))"),
            at: env.clock.now()) else {
            return .degraded("no notification sent", reason: "the notice could not be encoded")
        }
        let sent = await OperationNotice.deliver(body, spec: env.spec, baseDirectory: env.baseDirectory)
        let delivered = sent.delivered, failed = sent.failed
        if env.spec.notifications.isEmpty { return .done("no notification sinks") }
        let detail = "delivered to " + (delivered.isEmpty ? "none" : delivered.joined(separator: ", "))
        return failed.isEmpty ? .done(detail) : .degraded(detail, reason: "not delivered: " + failed.joined(separator: "; "))
    }

    // MARK: switchover

    /// Fences the primary (from here on it can only start read-only), then a
    /// fast shutdown, which ships its last WAL to the standby.
    func stopWrites(_ node: String) async throws -> StepOutcome {
        let control = try env.requireControl(node, for: "a switchover")
        _ = try await control.fence(operation: plan.id, within: Self.cleanStopLimit)
        let final = try await control.controlData()
        guard final.shutDownCleanly else {
            throw OperationError.failed("\(node) did not shut down cleanly (\(final.state))")
        }
        return .done("writes stopped; final checkpoint at \(final.checkpoint)")
    }

    func waitCatchUp(old: String, new: String) async throws -> StepOutcome {
        let final = try await env.requireControl(old, for: "a switchover").controlData().checkpoint
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            // Replay past the start of the shutdown checkpoint record means the
            // record, the primary's last, has been replayed.
            if let replay = try? await env.sql(new).replayLSN(), replay > final {
                return .done("\(new) replayed to \(replay), past \(old)'s final checkpoint \(final): nothing is lost")
            }
            try await env.clock.sleep(for: .milliseconds(10))
        }
        throw OperationError.failed("\(new) did not replay \(old)'s final WAL (\(final)) within 30 s")
    }

    func restartAsStandby(_ node: String, following primary: String) async throws -> StepOutcome {
        let control = try env.requireControl(node, for: "a switchover")
        let slot = try await ensureSlot(for: node, on: primary)
        try await control.follow(try env.upstream(primary, for: node))
        try await control.start()
        let streaming = try await waitStreaming(node, primary: primary)
        return .done([slot.detail, streaming.detail].joined(separator: "; "))
    }

    /// A switchover that cannot finish before promotion gives the primary back.
    func rollBackSwitchover() async -> String {
        let roles = await env.observer.roles(of: [plan.to], timeout: .seconds(2))
        if case let role?? = roles[plan.to], role.isPrimary {
            return "\(plan.to) is already a primary: not rolling back; resume with `pgdr approve \(plan.id)`"
        }
        guard let control = env.control(plan.from) else { return "\(plan.from) has no control: section; start it yourself" }
        do {
            try await control.unfence(asPrimary: true)
            try await control.start()
            return "\(plan.from) restarted as the primary; nothing was lost"
        } catch {
            return "could not restart \(plan.from) as the primary: \(error); its data is intact, start it once the cause is fixed"
        }
    }

    // MARK: rejoin

    func stopNode(_ node: String) async throws -> StepOutcome {
        let control = try env.requireControl(node, for: "rejoin")
        // Fenced first: until it follows its new primary, it must not start writable.
        _ = try await control.fence(operation: plan.id, within: Self.cleanStopLimit)
        return .done("\(node) stopped and fenced")
    }

    /// pg_rewind from the new primary, or a fresh base backup when rewinding is impossible.
    func resync(_ node: String, from primary: String) async throws -> StepOutcome {
        let control = try env.requireControl(node, for: "rejoin")
        // A just-promoted primary's control file still names the old timeline
        // until its first checkpoint; pg_rewind reads the timeline from there.
        try await env.sql(primary).checkpoint()
        let upstream = try env.upstream(primary, for: node)
        do {
            return .done("pg_rewind: \(try await control.rewind(from: upstream))")
        } catch let rewindError {
            env.logger.warning("pg_rewind failed; rebuilding", metadata: ["node": "\(node)", "error": "\(rewindError)"])
            do {
                let rebuilt = try await control.rebuild(from: upstream)
                return .degraded(rebuilt, reason: "pg_rewind was impossible (\(rewindError)); \(node) was copied whole instead")
            } catch {
                throw OperationError.failed("pg_rewind failed (\(rewindError)), and so did a fresh base backup (\(error))")
            }
        }
    }

    func ensureSlot(for node: String, on primary: String) async throws -> StepOutcome {
        let slot = SlotName.forNode(node)
        return .done(try await env.sql(primary).ensureSlot(slot) ? "created slot \(slot) on \(primary)" : "slot \(slot) already on \(primary)")
    }

    /// Waits until the node streams, lifts its fence mark (it stays a standby),
    /// drops slots it kept from its time as a primary, and puts synchronous
    /// replication back on the primary.
    func waitStreaming(_ node: String, primary: String) async throws -> StepOutcome {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if (try? await env.sql(node).isStreaming()) == true {
                var parts = ["\(node) streams"]
                try await env.control(node)?.unfence(asPrimary: false)
                if let dropped = try? await env.sql(node).dropInactiveSlots(), !dropped.isEmpty {
                    parts.append("dropped its stale slots \(dropped.joined(separator: ", "))")
                }
                if env.spec.replication.mode == .sync {
                    try await env.sql(primary).setSynchronousStandbys(relaxed: false)
                    parts.append("synchronous replication restored on \(primary)")
                }
                return .done(parts.joined(separator: "; "))
            }
            try await env.clock.sleep(for: .milliseconds(50))
        }
        throw OperationError.failed("\(node) did not start streaming within 60 s; see its server log")
    }
}
