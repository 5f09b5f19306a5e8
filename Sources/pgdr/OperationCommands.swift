import ArgumentParser
import DRAWS
import DROperations
import DRRDS
import DROrchestrator
import DRSpec
import DRStatus
import Foundation

/// Shared by the operation verbs: load the spec, build the context, map errors to exit codes.
struct OperationOptions: ParsableArguments {
    @OptionGroup var config: ConfigOption
    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print JSON.")
    var json = false

    @Option(help: "Quorum mode (a dcs: section): how many seconds to wait for the agents to carry an operation out.")
    var timeout: Int = 120

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    /// Quorum mode's verbs, when pgdr.yaml has a `dcs:` section.
    func quorum(_ env: OperationEnvironment) throws -> QuorumVerbs? {
        try QuorumVerbs(env: env, json: json, timeout: timeout)
    }

    func environment() throws -> OperationEnvironment {
        let parsed = try config.load()
        return OperationEnvironment.make(spec: parsed.spec, baseDirectory: parsed.baseDirectory,
                                         logger: global.makeLogger("pgdr.operations"))
    }
}

func operationFailure(_ error: any Error) -> ExitCode {
    if let exit = error as? ExitCode { return exit }
    if let input = error as? RDSInputError { return fail(input.description, code: Exit.badInput) }
    if let aws = error as? AWSError { return fail("\(aws)", code: Exit.failed) }
    switch error as? OperationError {
    case .refused(let refusal): return fail(refusal.description, code: Exit.refused)
    case .badInput(let text): return fail(text, code: Exit.badInput)
    case .failed, .step, .journal, nil: return fail("\(error)", code: Exit.failed)
    }
}

/// Journals a refusal and exits 3.
func refuse(_ refusal: Refusal, id: String, kind: OperationKind, env: OperationEnvironment) -> ExitCode {
    try? env.store.append(.init(operation: id, kind: kind, phase: .refused, detail: refusal.description))
    return fail(refusal.description, code: Exit.refused)
}

func printPlan(_ plan: OperationPlan) {
    print("\(plan.kind.rawValue) \(plan.id): \(plan.from) -> \(plan.to)")
    if let lsn = plan.candidateReplayLSN { print("  \(plan.to) has replayed up to \(lsn)") }
    if plan.kind == .failover, !plan.oldPrimaryReachable, let at = plan.evidenceAt {
        print("  evidence: the last sight of \(plan.from) is \(String(format: "%.1fs", max(0, Date().timeIntervalSince(at)))) old")
    }
    let bytes = plan.estimatedLossBytes.map { ByteSize.human(Double($0)) } ?? "unknown"
    let secs = plan.estimatedLossSeconds.map { String(format: "%.1fs", $0) } ?? "unknown"
    if plan.kind == .failover {
        let limit = [plan.maxDataLoss?.bytes?.description, plan.maxDataLoss?.time?.description].compactMap { $0 }
        print("  estimated data loss: \(bytes), \(secs) (limit failover.maxDataLoss: \(limit.joined(separator: ", ")))")
        print("  old primary: " + (plan.oldPrimaryReachable ? "reachable, will be fenced" : "UNREACHABLE, cannot be fenced")
              + " (the fence gives up after \(plan.fenceTimeout?.description ?? "failover.fenceTimeout"))")
        if plan.acceptedDataLoss { print("  data loss above the limit ACCEPTED by the operator (recorded)") }
    }
    for warning in plan.warnings { print("  warning: \(warning)") }
    print("  steps:")
    for (i, step) in plan.steps.enumerated() { print("    \(i + 1). \(step.summary(on: plan.target ?? .selfManaged))") }
}

/// Prints what an operation did, step by step with each outcome, and
/// returns the exit status it deserves: 0 done, 4 done but degraded.
@discardableResult
func printOutcome(_ outcome: OperationRunner.Outcome, json: Bool) throws -> Int32 {
    if json {
        print(try JSON.encode(outcome))
    } else {
        for step in outcome.steps {
            let name = step.step.rawValue.padding(toLength: 24, withPad: " ", startingAt: 0)
            let mark = step.outcome.degradedReason == nil ? "" : "DEGRADED  "
            print("  \(name) \(String(format: "%6.2fs", step.seconds))  \(mark)\(step.outcome.detail)")
            if let reason = step.outcome.degradedReason { print("  \(String(repeating: " ", count: 33))why: \(reason)") }
        }
        if let gap = outcome.writeGapSeconds { print(String(format: "write gap seen by clients: %.2fs", gap)) }
        print("\(outcome.kind.rawValue) \(outcome.operation) \(outcome.outcome == .degraded ? "done, DEGRADED," : "done") in \(String(format: "%.2fs", outcome.totalSeconds))")
    }
    return outcome.outcome == .degraded ? Exit.degraded : 0
}

/// Exits with the outcome's status (0, or 4 when degraded).
func finish(_ outcome: OperationRunner.Outcome, json: Bool) throws {
    let status = try printOutcome(outcome, json: json)
    if status != 0 { throw ExitCode(status) }
}

struct FailoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover",
        abstract: "Plan an unplanned failover to the DR replica; `pgdr approve ID` executes it.",
        discussion: """
            Prints both sides' state, the DR replica's replayed LSN, the estimated data loss against \
            failover.maxDataLoss, and the steps: fence the old primary, promote the DR replica, verify it \
            takes a write, repoint endpoints (failover.hook), notify. The plan gets an approval id that \
            expires after failover.approvalTimeout. Refused (exit 3, nothing changed, journaled) when the DR \
            replica is down or not a standby, or the estimated loss exceeds the limit without --accept-data-loss. \
            Quorum mode (a dcs: section): the plan is saved in etcd, and after `pgdr approve ID` the agents carry \
            it out (the old primary's agent demotes it, the DR agent takes the leader key and promotes).
            """)

    @OptionGroup var options: OperationOptions

    @Flag(help: "Show the plan and stop.")
    var dryRun = false

    @Flag(help: "Fail over even when the estimated data loss exceeds failover.maxDataLoss (recorded in the journal).")
    var acceptDataLoss = false

    func run() async throws {
        do {
            let env = try options.environment()
            if let quorum = try options.quorum(env) {
                return try await quorum.failover(acceptDataLoss: acceptDataLoss, dryRun: dryRun)
            }
            let id = OperationStore.newID(.failover)
            let report = await env.observer.observe()
            switch FailoverPlanner.plan(report: report, spec: env.spec, id: id, now: Date(), acceptDataLoss: acceptDataLoss,
                                        lastKnownPrimary: PrimaryPositionFile.load(directory: env.baseDirectory),
                                        boundSuspended: BoundLog.riskAccepted(BoundLog(directory: env.store.directory).entries())) {
            case .failure(let refusal):
                throw refuse(refusal, id: id, kind: .failover, env: env)
            case .success(var plan):
                if env.rds != nil { plan.target = .aws }
                if options.json { print(try JSON.encode(plan)) } else { printPlan(plan) }
                if dryRun { return }
                try env.store.savePlan(plan)
                try env.store.append(.init(operation: id, kind: .failover, phase: .planned,
                                           detail: "\(plan.from) -> \(plan.to)" + (plan.acceptedDataLoss ? ", data loss accepted" : "")))
                if !options.json {
                    print("\napprove with: pgdr approve \(id)   (expires \(plan.expiresAt!.formatted(.iso8601)))")
                }
            }
        } catch {
            throw operationFailure(error)
        }
    }
}

struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve a planned failover, or resume (or roll back) an interrupted operation of any kind.",
        discussion: """
            The one command that moves an operation on. A plan waiting for approval is checked against the \
            servers again first: a plan that is no longer safe is refused (exit 3). An operation whose \
            process died (its lock is held by a dead process) resumes from its journal: finished steps are \
            skipped, the interrupted one runs again; a switchover that cannot go on before its promotion is \
            rolled back (the old primary is started again, nothing lost). Exit 0 done, 4 done but degraded \
            (see the reasons), 1 failed (resumable with the same command), 3 refused. Quorum mode: a plan saved in \
            etcd is approved there (refused once expired) and followed until the agents finish it (--timeout).
            """)

    @Argument(help: "The operation id (`pgdr operations` lists them).")
    var id: String

    @OptionGroup var options: OperationOptions

    func run() async throws {
        let outcome: OperationRunner.Outcome
        do {
            let env = try options.environment()
            if let quorum = try options.quorum(env), try await quorum.approve(id: id) { return }
            if let rds = env.rds, env.store.standing(of: id) == .unknown, OperationStore.isValidID(id) {
                if try await approveFunctionPlan(rds.deployment) { return }
            }
            outcome = try await Approval.approve(id: id, env: env)
        } catch {
            throw operationFailure(error)
        }
        try finish(outcome, json: options.json)
    }
}

extension ApproveCommand {
    /// RDS: a plan the failover function made is approved in Parameter Store;
    /// the function executes it. False when no such plan exists there.
    func approveFunctionPlan(_ deployment: RDSDeployment) async throws -> Bool {
        do {
            let approved = try await FunctionApproval.approve(id: id, deployment: deployment)
            if options.json {
                print(try JSON.encode(["operation": id, "approvedBy": approved.approvedBy, "record": approved.record, "region": approved.region]))
            } else {
                print("approved \(id) (\(approved.plan.from) -> \(approved.plan.to)) as \(approved.approvedBy)")
                print("record: \(approved.record) in \(approved.region); the failover function runs the plan now and reports on SNS")
            }
            return true
        } catch FunctionApproval.Failure.notFound {
            return false
        } catch let failure as FunctionApproval.Failure {
            throw OperationError.refused(Refusal(failure.description, hint: "see the failover function's SNS messages"))
        }
    }
}

struct SwitchoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchover",
        abstract: "Planned, zero-loss role swap: the standby becomes the primary, the primary its standby.",
        discussion: """
            Stops writes on the primary (fast shutdown, which ships its last WAL), waits until the standby \
            has replayed the primary's final checkpoint, promotes it, verifies a write, restarts the old \
            primary as a standby of the new one. Reports the write gap clients saw. Refused (exit 3) when \
            the standby is not streaming or lags more than 16MB. If it fails before promotion, the old \
            primary is started again: nothing is lost. Quorum mode: the request goes through etcd and the agents \
            carry it out the same way; this command follows it until it ends (--timeout).
            """)

    @OptionGroup var options: OperationOptions

    func run() async throws {
        let outcome: OperationRunner.Outcome
        do {
            let env = try options.environment()
            if let quorum = try options.quorum(env) { return try await quorum.switchover() }
            if env.rds != nil {
                throw OperationError.badInput("""
                    RDS has no zero-loss switchover for a cross-region read replica: use `pgdr failover` (the primary, \
                    reachable, is fenced first), then `pgdr rejoin` to rebuild the old primary as the new replica
                    """)
            }
            let id = OperationStore.newID(.switchover)
            switch SwitchoverPlanner.plan(report: await env.observer.observe(), spec: env.spec, id: id, now: Date()) {
            case .failure(let refusal):
                throw refuse(refusal, id: id, kind: .switchover, env: env)
            case .success(let plan):
                if !options.json { printPlan(plan) }
                try env.store.savePlan(plan)
                try env.store.append(.init(operation: id, kind: .switchover, phase: .planned, detail: "\(plan.from) -> \(plan.to)"))
                outcome = try await OperationRunner(environment: env).execute(plan)
            }
        } catch {
            throw operationFailure(error)
        }
        try finish(outcome, json: options.json)
    }
}

struct RejoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rejoin",
        abstract: "Turn an old primary into a standby of the current primary (pg_rewind, else a fresh base backup).",
        discussion: """
            Refused (exit 3) while the node is still a writable primary. Says whether it rewound or rebuilt. \
            Quorum mode: the node's agent does it (fencing it first if it still takes writes), following the \
            holder of the leader key.
            """)

    @Argument(help: "The node to bring back.")
    var node: String

    @OptionGroup var options: OperationOptions

    func run() async throws {
        let outcome: OperationRunner.Outcome
        do {
            let env = try options.environment()
            if let quorum = try options.quorum(env) { return try await quorum.rejoin(node: node) }
            let id = OperationStore.newID(.rejoin)
            switch RejoinPlanner.plan(node: node, report: await env.observer.observe(), spec: env.spec, id: id, now: Date(),
                                      demotedBy: env.store.lastPromotion()) {
            case .failure(let refusal):
                throw refuse(refusal, id: id, kind: .rejoin, env: env)
            case .success(var plan):
                if env.rds != nil {
                    // RDS cannot rewind: the old instance is set aside and rebuilt as a replica.
                    plan.target = .aws
                    plan.steps = [.rebuildReplica, .waitReplica]
                    plan.warnings.append("RDS cannot rewind an instance: \(plan.from) is renamed aside (kept until you delete it) and "
                                         + "created again as a read replica of \(plan.to); a cross-region copy takes tens of minutes to hours")
                }
                if !options.json { printPlan(plan) }
                try env.store.savePlan(plan)
                try env.store.append(.init(operation: id, kind: .rejoin, phase: .planned, detail: "\(plan.from) follows \(plan.to)"))
                outcome = try await TerminalProgress.following(id, in: env.store, json: options.json) {
                    try await OperationRunner(environment: env).execute(plan)
                }
            }
        } catch {
            throw operationFailure(error)
        }
        try finish(outcome, json: options.json)
    }
}

struct OperationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operations",
        abstract: "List DR operations and where each stands (done, refused, awaiting approval, interrupted at a step).",
        discussion: """
            From the journal beside pgdr.yaml; in quorum mode (a dcs: section) also the operations requested \
            through etcd, with the state the agents have brought them to.
            """)

    @OptionGroup var options: OperationOptions

    func run() async throws {
        let env = try options.environment()
        let summaries = OperationSummary.all(store: env.store)
        var records: [OperationRecord] = []
        var etcdError: String?
        if let dcs = env.spec.dcs {
            do { records = try await Quorum.etcd(dcs, baseDirectory: env.baseDirectory).operations() } catch { etcdError = "\(error)" }
        }
        if options.json {
            // Without a dcs: section the journal's list alone, as before; with one, both sources.
            if env.spec.dcs == nil { print(try JSON.encode(summaries)) } else {
                print(try JSON.encode(OperationsListing(operations: summaries, etcd: records.map(QuorumOutcome.init), etcdError: etcdError)))
            }
            return
        }
        if summaries.isEmpty && records.isEmpty { print("no operations yet") }
        for s in summaries {
            print("\(s.operation)  \(s.kind.rawValue)  \(s.state)  \(s.startedAt.formatted(.iso8601))"
                  + (s.detail.map { "\n    \($0)" } ?? ""))
            for reason in s.degraded { print("    degraded: \(reason)") }
            if let next = s.next { print("    next: \(next)") }
        }
        if let etcdError { print("etcd: UNREACHABLE (\(etcdError))") }
        if !records.isEmpty { print("in etcd:") }
        for r in records {
            print("  \(r.plan.id)  \(r.plan.kind.rawValue)  \(r.state.rawValue)\(r.outcome.map { " (\($0.rawValue))" } ?? "")  "
                  + "\(r.plan.from) -> \(r.plan.to)  \(r.updatedAt.formatted(.iso8601))" + (r.detail.map { "\n      \($0)" } ?? ""))
            if r.state == .planned { print("      next: pgdr approve \(r.plan.id)" + (r.plan.expiresAt.map { " (expires \($0.formatted(.iso8601)))" } ?? "")) }
        }
    }
}

/// `pgdr operations --json` in quorum mode: `operations` from the journal on disk, `etcd` from the DCS.
struct OperationsListing: Encodable {
    var operations: [OperationSummary]
    var etcd: [QuorumOutcome]?
    var etcdError: String?
}
