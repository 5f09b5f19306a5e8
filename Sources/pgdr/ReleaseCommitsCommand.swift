import ArgumentParser
import DROperations
import DRSpec
import DRStatus
import Foundation

/// `pgdr release-commits --accept-risk`: bounded mode's way out when the DR
/// replica is behind for long or gone for good.
struct ReleaseCommitsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release-commits",
        abstract: "Let commits through that bounded mode holds for a DR replica that is behind or gone, accepting the risk.",
        discussion: """
            In replication.mode: bounded, commits wait for the DR replica once the WAL it has not \
            received reaches replication.maxLag, and keep waiting while it stays behind, even when \
            the agent is not running (the hold is a server setting). When the DR region is gone for \
            good, or an outage must not stop the application, this command makes the primary \
            asynchronous at once and records it (pgdr-rpo-bound.jsonl, with the lag at that moment \
            and --reason). From then on a failover may lose more than the bound. The agent does not \
            hold commits again until the DR replica is back under half the bound; then bounded mode \
            is armed again by itself. Works without the agent.
            """)

    @OptionGroup var options: OperationOptions

    @Flag(help: "Required: you accept that a failover may lose more than the bound until the DR replica catches up.")
    var acceptRisk = false

    @Option(help: "Why, for the journal (e.g. an incident number).")
    var reason: String?

    func run() async throws {
        guard acceptRisk else {
            throw fail("releasing held commits gives up the RPO bound until the DR replica catches up: pass --accept-risk "
                       + "(nothing was changed)", code: Exit.badInput)
        }
        do {
            let env = try options.environment()
            guard env.spec.replication.mode == .bounded else {
                throw fail("replication.mode is \(env.spec.replication.mode.rawValue), not bounded: pgdr holds no commits "
                           + "(nothing was changed)", code: Exit.badInput)
            }
            let report = await env.observer.observe()
            let primaries = report.nodes.filter { $0.reachable && $0.role == .primary }
            guard primaries.count == 1, let primary = primaries.first else {
                throw fail("no single writable primary answers (\(primaries.map(\.name).joined(separator: ", "))); nothing was changed",
                           code: Exit.failed)
            }
            let status = BoundStatus.from(report, bound: env.spec.replication.bound(rpo: env.spec.objectives.rpo))
            let wasHeld = status?.held == true
            try await env.sql(primary.name).holdCommits(for: nil)
            let log = BoundLog(directory: env.store.directory)
            let since = BoundLog.heldSince(log.entries())
            try log.append(.init(event: .acceptRisk, reason: "operator accepted the risk: \(reason ?? "no reason given")",
                                 primary: primary.name, standby: report.nodes.first { $0.name != primary.name }?.name,
                                 unreceivedBytes: status?.unreceivedBytes, unreceivedSeconds: status?.unreceivedSecondsAtMost,
                                 heldSeconds: wasHeld ? since.map { Date().timeIntervalSince($0) } : nil, by: "operator"))
            print((wasHeld ? "commits released on \(primary.name)" : "commits were not held on \(primary.name); holding is suspended")
                  + ": bounded mode is suspended until the DR replica is back under half the bound, then the agent arms it again"
                  + (status?.unreceivedBytes.map { " (unreceived now: \(ByteSize.human(Double($0))))" } ?? ""))
        } catch {
            throw operationFailure(error)
        }
    }
}
