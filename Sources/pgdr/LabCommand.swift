import ArgumentParser
import DRLocal
import Foundation

struct LabOptions: ParsableArguments {
    static let defaultDirectory = "pgdr-lab"

    @Option(name: .long, help: "The lab folder.")
    var dir: String = LabOptions.defaultDirectory
}

struct LabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Run the two-region topology on this machine with real PostgreSQL servers.",
        discussion: """
            Region us-east-1 holds a primary (initdb, data checksums, WAL archiving, heartbeat table, \
            least-privileged monitoring role); region us-east-2 a standby cloned with pg_basebackup, \
            streaming through a physical replication slot, with the primary's archive as fallback. \
            Servers listen on 127.0.0.1 only, on free ports; as root they run as the unprivileged user `pgdr`.
            """,
        subcommands: [LabUp.self, LabDown.self, LabDestroy.self])
}

/// Maps a lab failure to the exit code its kind deserves.
func labFailure(_ error: any Error) -> ExitCode {
    if let exit = error as? ExitCode { return exit }
    if let local = error as? LocalError {
        return fail(local.description, code: local.kind == .badInput ? Exit.badInput : Exit.failed)
    }
    return fail(String(describing: error), code: Exit.failed)
}

struct LabUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Create the lab, or start whatever of it is stopped.",
        discussion: "Idempotent: a second run reports what is already running and starts what is stopped.")

    @OptionGroup var lab: LabOptions
    @OptionGroup var global: GlobalOptions

    @Flag(help: "Make the DR standby synchronous (replication.mode: sync). Only for a new lab.")
    var sync = false

    func run() async throws {
        let lab = Lab(directory: self.lab.dir, synchronous: sync, logger: global.makeLogger("pgdr.lab"))
        do {
            let report = try await lab.up()
            // A fenced node stays down until `pgdr rejoin`: nothing will stream yet.
            let fenced = report.nodes.contains { $0.action.hasPrefix("fenced") }
            let streaming = fenced ? true : await lab.waitForStreaming()
            print(report.created ? "lab created in \(report.layout.root)" : "lab in \(report.layout.root)")
            for node in report.nodes {
                print("  \(node.name)  \(node.region)  127.0.0.1:\(node.port)  \(node.action)")
            }
            if !streaming {
                print("warning: the standby is not streaming yet; see \(report.layout.root)/*/postgres.log")
            }
            let hosts = report.nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
            print("""

                connect (password in \(report.layout.clientPassfile), read by libpq):
                  PGPASSFILE=\(report.layout.clientPassfile) psql "postgresql://pgdr_admin@\(hosts)/postgres?target_session_attrs=read-write"
                spec:   \(report.layout.specFile)
                status: pgdr status --config \(report.layout.specFile)
                """)
        } catch {
            throw labFailure(error)
        }
    }
}

struct LabDown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop the lab's servers cleanly (fast shutdown, by the PID in postmaster.pid).")

    @OptionGroup var lab: LabOptions

    func run() async throws {
        do {
            for node in try await Lab(directory: lab.dir).down() {
                print("  \(node.name)  \(node.region)  \(node.action)")
            }
        } catch {
            throw labFailure(error)
        }
    }
}

struct LabDestroy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Stop the lab's servers and delete the lab folder.",
        discussion: "Refuses a folder without lab.json, so it never deletes something that is not a lab.")

    @OptionGroup var lab: LabOptions

    @Flag(help: "Confirm: the lab's data is deleted.")
    var yes = false

    func run() async throws {
        guard yes else {
            throw fail("this deletes \(lab.dir) and its databases; run again with --yes to confirm", code: Exit.badInput)
        }
        do {
            try await Lab(directory: lab.dir).destroy()
            print("destroyed \(lab.dir)")
        } catch {
            throw labFailure(error)
        }
    }
}
