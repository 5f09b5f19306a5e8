import ArgumentParser
import DRDrill
import DROperations
import Foundation

extension Drill.Scenario: ExpressibleByArgument {}

struct DrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Prove it on the lab: inject a failure under write load and measure RTO and RPO.",
        discussion: """
            A built-in writer inserts sequential ids in autocommit to whichever node takes writes and \
            records every acknowledged commit, while the agent's own loop runs beside it in automatic mode \
            (the same detection and failover as `pgdr agent`). node-loss: SIGKILL of the primary's \
            postmaster and all its children; postgres-crash: SIGKILL of the postmaster only; switchover: a \
            planned switchover with the agent watching. The drill measures RTO (fault to the first write acknowledged by the new primary) and RPO (acknowledged \
            ids missing there, and how long before the fault the oldest was acknowledged), then rejoins the \
            old primary and switches back. Reports min / median / max over the runs. \
            restore: with backup.repositories, takes a full backup into the DR region's repository under \
            the writer, marks a moment, restores to it from that repository alone (as if the primary \
            region were gone) into a temporary folder, and checks the copy holds exactly the rows \
            committed before the moment; reports backup and restore times and the archive lag.
            """)

    @OptionGroup var options: OperationOptions

    @Option(help: "node-loss, postgres-crash, switchover or restore.")
    var scenario: Drill.Scenario = .nodeLoss

    @Option(help: "How many runs.")
    var runs: Int = 1

    func run() async throws {
        guard (1...100).contains(runs) else { throw fail("--runs must be 1 to 100", code: Exit.badInput) }
        if scenario == .restore { return try await runRestore() }
        do {
            let env = try options.environment()
            let drill = Drill(environment: env, logger: options.global.makeLogger("pgdr.drill"))
            // Bounded mode promises that acknowledged commits a failover loses span at most the bound and one round.
            let promise = env.spec.replication.mode == .bounded
                ? env.spec.replication.bound(rpo: env.spec.objectives.rpo).time.map { $0.seconds + env.spec.monitoring.interval.seconds } : nil
            var broken = 0
            var results: [Drill.Run] = []
            let progress = TerminalProgress(json: options.json)
            for index in 1...runs {
                progress.step("run \(index) of \(runs): \(scenario.rawValue) (fault, detection, promotion, rejoin)")
                let run: Drill.Run
                do { run = try await drill.run(scenario) } catch { progress.finish(); throw error }
                progress.finish()
                results.append(run)
                if !options.json {
                    print("run \(index): \(run.from) -> \(run.to)  RTO \(fmt(run.rtoSeconds))  write gap \(fmt(run.writeGapSeconds))  "
                          + "acked \(run.acknowledged), lost \(run.lost)"
                          + (run.outcome.map { "  outcome \($0.rawValue)" } ?? "")
                          + (run.unexpectedOperations > 0 ? "  UNEXPECTED OPERATIONS \(run.unexpectedOperations)" : "") + (run.lost > 0 ? String(format: " (oldest %.0f ms before the fault)", run.rpoSeconds * 1000) : "")
                          + (run.rejoinSeconds.map { "  rejoin \(fmt($0)) via \(run.rejoinMethod ?? "?")" } ?? "")
                          + (promise.map { run.lost == 0 || run.rpoSeconds <= $0 ? "  within the RPO bound" : "  RPO BOUND BROKEN" } ?? ""))
                }
                if let promise, run.lost > 0, run.rpoSeconds > promise { broken += 1 }
            }
            let summary = Summary(results)
            if options.json {
                print(try JSON.encode(Report(scenario: scenario, runs: results, summary: summary)))
            } else {
                print("\(scenario.rawValue), \(runs) run\(runs == 1 ? "" : "s") (min / median / max):")
                for (name, stats) in summary.rows { print("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(stats)") }
            }
            if broken > 0 {
                throw fail("\(broken) run(s) lost commits older than bounded mode's promise (the bound plus one agent round)", code: Exit.failed)
            }
        } catch {
            throw operationFailure(error)
        }
    }

    func runRestore() async throws {
        do {
            let drill = RestoreDrill(environment: try options.environment(), logger: options.global.makeLogger("pgdr.drill"))
            var results: [RestoreDrill.Run] = []
            let progress = TerminalProgress(json: options.json)
            for index in 1...runs {
                progress.step("run \(index) of \(runs): backup, then a restore to a moment")
                let run: RestoreDrill.Run
                do { run = try await drill.run() } catch { progress.finish(); throw error }
                progress.finish()
                results.append(run)
                if !options.json {
                    print("run \(index): backup \(fmt(run.backupSeconds)) into repo\(run.repository), restore to \(run.moment) "
                          + "\(fmt(run.restoreSeconds)): \(run.restored) rows (acked before the moment \(run.acknowledgedBefore), "
                          + "at most \(run.possiblyBefore)) \(run.exact ? "exact" : "NOT EXACT")  archive lag \(fmt(run.archiveLagSeconds))")
                }
            }
            if options.json {
                print(try JSON.encode(results))
            } else {
                print("restore, \(runs) run\(runs == 1 ? "" : "s") (min / median / max):")
                for (name, values) in [("backup (s)", results.map(\.backupSeconds)), ("restore (s)", results.map(\.restoreSeconds)),
                                       ("archive lag (s)", results.compactMap(\.archiveLagSeconds))] {
                    if let stats = Stats(values) { print("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(stats)") }
                }
            }
            if results.contains(where: { !$0.exact }) {
                throw fail("a restored copy did not hold exactly the rows committed before its moment", code: Exit.failed)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw operationFailure(error)
        }
    }

    struct Report: Encodable {
        var scenario: Drill.Scenario
        var runs: [Drill.Run]
        var summary: Summary
    }

    struct Summary: Encodable {
        var rtoSeconds: Stats?
        var writeGapSeconds: Stats?
        var lost: Stats?
        var rpoSeconds: Stats?
        var rejoinSeconds: Stats?

        init(_ runs: [Drill.Run]) {
            rtoSeconds = Stats(runs.compactMap(\.rtoSeconds))
            writeGapSeconds = Stats(runs.compactMap(\.writeGapSeconds))
            lost = Stats(runs.map { Double($0.lost) })
            rpoSeconds = Stats(runs.map(\.rpoSeconds))
            rejoinSeconds = Stats(runs.compactMap(\.rejoinSeconds))
        }

        var rows: [(String, String)] {
            [("RTO (s)", rtoSeconds), ("client write gap (s)", writeGapSeconds), ("lost acked writes", lost),
             ("RPO (s)", rpoSeconds), ("rejoin (s)", rejoinSeconds)].compactMap { name, stats in stats.map { (name, $0.description) } }
        }
    }

    struct Stats: Encodable, CustomStringConvertible {
        var min: Double
        var median: Double
        var max: Double

        init?(_ values: [Double]) {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            min = sorted[0]
            max = sorted[sorted.count - 1]
            median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }

        var description: String { String(format: "%.2f / %.2f / %.2f", min, median, max) }
    }
}

func fmt(_ seconds: Double?) -> String { seconds.map { String(format: "%.2fs", $0) } ?? "-" }
