import ArgumentParser
import DROperations
import DRRDS
import DROrchestrator
import DRPostgres
import DRSpec
import DRStatus
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the live truth from every node: roles, timelines, LSNs, lag, slots, archiver.",
        discussion: """
            Lag in bytes is the primary's flush LSN minus the standby's replay LSN. Lag in seconds is 0 \
            when the standby has replayed everything, otherwise the primary's clock minus the newest \
            heartbeat the standby has replayed; an idle primary never shows false lag. \
            Quorum mode (a dcs: section): also the leader key, its holder and lease time left, and \
            what each node's agent last published. \
            target: aws: both instances from the RDS API, the lag from CloudWatch (and over SQL with \
            aws.database), the deployment's CloudWatch alarms in both regions and, with \
            dns.healthCheckId, Route 53's health check; the alarms and the check are shown, not judged. \
            Exit 0 when both sides are healthy and streaming, 1 when something is wrong (each problem \
            is listed), 2 for bad input.
            """)

    @OptionGroup var config: ConfigOption
    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print stable JSON instead of the table.")
    var json = false

    @Flag(help: "Refresh every monitoring interval until interrupted.")
    var watch = false

    func run() async throws {
        let parsed = try config.load()
        if parsed.spec.target == .aws { return try await runOnRDS(parsed.spec) }
        guard !parsed.spec.nodes.isEmpty else {
            throw fail("the spec lists no nodes; add them under `nodes:` to use runtime verbs", code: Exit.badInput)
        }
        let logger = global.makeLogger("pgdr.status")
        repeat {
            let samples = await NodeProbe.sampleAll(parsed.spec.nodes, baseDirectory: parsed.baseDirectory, logger: logger)
            var report = StatusEvaluator.evaluate(samples, thresholds: parsed.spec.monitoring.thresholds)
            // Two writable primaries: say which one the journal made primary, and what to do.
            if let verdict = SplitBrain.judge(report, lastPromotion: OperationStore(directory: parsed.baseDirectory).lastPromotion()) {
                report.problems.append(.init(node: verdict.stale, message: verdict.advice))
            }
            if parsed.spec.replication.mode == .bounded {
                report.bound = BoundStatus.from(report, bound: parsed.spec.replication.bound(rpo: parsed.spec.objectives.rpo))
                if report.bound?.held == true {
                    report.problems.append(.init(node: nil, message: "commits are held: the DR replica fell behind the RPO bound "
                                                 + "(they flow again once it catches up; `pgdr release-commits --accept-risk` lets them through now)"))
                    report.healthy = false
                }
            }
            if let dcs = parsed.spec.dcs, let quorum = try? Quorum.etcd(dcs, baseDirectory: parsed.baseDirectory) {
                let (view, problems) = await quorum.view(report: report)
                report.quorum = view
                report.problems += problems
                report.healthy = report.problems.isEmpty
            }
            if watch && !json { print("\u{1B}[H\u{1B}[2J", terminator: "") }
            print(json ? try JSON.encode(report) : StatusTable.render(report))
            if !watch {
                if !report.healthy { throw ExitCode(Exit.failed) }
                return
            }
            try await Task.sleep(for: parsed.spec.monitoring.interval.duration)
        } while true
    }

    /// `target: aws`: both instances from the RDS API, the lag from CloudWatch
    /// (and SQL with `aws.database`), the deployment's CloudWatch alarms and,
    /// with `dns.healthCheckId`, Route 53's health check.
    func runOnRDS(_ spec: Spec) async throws {
        let logger = global.makeLogger("pgdr.status")
        let deployment = RDSDeployment.make(spec: spec, logger: logger)
        repeat {
            async let alarms = deployment.cloudAlarms()
            async let check = deployment.healthCheck()
            var report = await RDSObserver(deployment: deployment).observe()
            report.cloudAlarms = await alarms
            report.healthCheck = await check
            if watch && !json { print("\u{1B}[H\u{1B}[2J", terminator: "") }
            print(json ? try JSON.encode(report) : StatusTable.render(report))
            logger.debug("aws calls", metadata: ["calls": "\(deployment.client.totalCalls)"])
            if !watch {
                if !report.healthy { throw ExitCode(Exit.failed) }
                return
            }
            try await Task.sleep(for: spec.monitoring.interval.duration)
        } while true
    }
}
