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
        subcommands: [LabUp.self, LabDown.self, LabDestroy.self, LabFault.self])
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

    @Flag(help: "failover.mode: automatic: the agents fail over by themselves, under the etcd quorum. Only for a new lab of regions.")
    var automatic = false

    @Flag(help: "Keep both servers on 127.0.0.1 (no namespaces, no etcd, no agents): the only layout without root.")
    var loopback = false

    @Flag(help: "Backups through pgBackRest: an encrypted repository in each region, WAL archived asynchronously (pgdr backup, backups, restore). Only for a new lab.")
    var backups = false

    @Flag(help: "Run HAProxy in front of the lab (pgdr config haproxy's configuration; in a loopback lab with an agent to answer its checks). Kept for later `lab up`s; `lab down` stops it.")
    var haproxy = false

    func validate() throws {
        if automatic && (loopback || geteuid() != 0) {
            throw ValidationError("--automatic needs the lab's quorum (regions as network namespaces, etcd, an agent per node), which needs root and no --loopback")
        }
    }

    func run() async throws {
        let regions = !loopback && geteuid() == 0
        if !loopback && !regions, !FileManager.default.fileExists(atPath: "\(self.lab.dir)/lab.json") {
            print("note: regions as network namespaces (for partitions) need root; this lab keeps them on 127.0.0.1")
        }
        let progress = TerminalProgress()
        let lab = Lab(directory: self.lab.dir, synchronous: sync, quorum: regions, automatic: automatic, backups: backups,
                      logger: global.makeLogger("pgdr.lab"), progress: progress.step)
        do {
            if haproxy { try Lab.checkFrontTools() }
            progress.step("preparing the lab in \(self.lab.dir)")
            let report: Lab.UpReport
            do { report = try await lab.up() } catch {
                progress.finish()
                throw error
            }
            // A fenced node stays down until `pgdr rejoin`: nothing will stream yet.
            let fenced = report.nodes.contains { $0.action.hasPrefix("fenced") }
            if !fenced { progress.step("waiting for the standby to stream") }
            let streaming = fenced ? true : await lab.waitForStreaming()
            // A lab of regions: return once an agent holds the leader key, so the primary
            // that `lab up` reports is the quorum's, not one its agent has yet to claim.
            var leader: String?
            if (try? lab.state())?.quorum != nil {
                progress.step("waiting for an agent to hold the leader key")
                leader = await LeaderWait.leader(specFile: report.layout.specFile, within: .seconds(30))
            }
            var front: LabState.Front?
            if haproxy || (try? lab.state())?.front != nil {
                progress.step("HAProxy in front of the lab")
                do { front = try await lab.startFront() } catch {
                    progress.finish()
                    throw error
                }
            }
            progress.finish()
            print(report.created ? "lab created in \(report.layout.root)" : "lab in \(report.layout.root)")
            let state = try? lab.state()
            for node in report.nodes {
                let host = state?.nodes.first { $0.name == node.name }?.address ?? "127.0.0.1"
                print("  \(node.name)  \(node.region)  \(host):\(node.port)  \(node.action)")
            }
            if let quorum = state?.quorum {
                let scheme = report.layout.hasTLS ? "https" : "http"
                print("  etcd: " + quorum.network.regions.map { "\($0.region) \(scheme)://\($0.address):2379" }.joined(separator: ", "))
                print("  agents: " + (state?.nodes ?? []).map { "\($0.name) \(scheme)://\($0.address):8008" }.joined(separator: ", ")
                      + " (failover.mode: \(quorum.automatic ? "automatic" : "manual"))"
                      + (report.layout.hasTLS ? "; TLS with \(report.layout.certificateAuthority)" : ""))
                print("  leader key: " + (leader.map { "\($0) (the primary)" } ?? "nobody holds it yet (see the agents' logs)"))
            }
            if let front {
                print("  haproxy: read-write 127.0.0.1:\(front.readWrite) (the primary), read-only 127.0.0.1:\(front.readOnly) (streaming standbys)"
                      + (front.agentPort.map { "; checks answered by the agent at http://127.0.0.1:\($0)" } ?? "; checks answered by each node's agent"))
            }
            if !streaming {
                print("warning: the standby is not streaming yet; see \(report.layout.root)/*/postgres.log")
            }
            let hosts = (state?.nodes ?? []).map { "\($0.address):\($0.port)" }.joined(separator: ",")
            // TLS, and the server verified against the lab's CA (labs made before TLS: none).
            let tls = report.layout.hasTLS ? "&sslmode=verify-full&sslrootcert=\(report.layout.certificateAuthority)" : ""
            print("""

                connect (password in \(report.layout.clientPassfile), read by libpq):
                  PGPASSFILE=\(report.layout.clientPassfile) psql "postgresql://pgdr_admin@\(hosts)/postgres?target_session_attrs=read-write\(tls)"
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

struct LabFault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault",
        abstract: "Inject faults into a lab of regions: cut a region off, heal, kill a node.",
        discussion: """
            A lab whose regions are network namespaces (`pgdr lab up` as root) only. The machine itself \
            keeps reaching every node during a fault, so a split brain can be watched from outside.
            """,
        subcommands: [Partition.self, Heal.self, Kill.self, Latency.self, StopEtcd.self])

    struct Partition: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cut a region off from the other regions (packets dropped silently).")
        @Argument(help: "us-east-1, us-east-2 or us-west-2 (the witness).") var region: String
        @OptionGroup var lab: LabOptions
        func run() async throws {
            do {
                try await Lab(directory: lab.dir).partition(region: region)
                print("\(region) is cut off from the other regions (heal with `pgdr lab fault heal`)")
            } catch { throw labFailure(error) }
        }
    }

    struct Heal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove every cut between regions.")
        @OptionGroup var lab: LabOptions
        func run() async throws {
            do {
                try await Lab(directory: lab.dir).heal()
                print("every region reaches every other again")
            } catch { throw labFailure(error) }
        }
    }

    struct Kill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Node loss: SIGKILL of a node's postmaster, its children and its agent.")
        @Argument(help: "pg1 or pg2.") var node: String
        @OptionGroup var lab: LabOptions
        func run() async throws {
            do {
                let pids = try await Lab(directory: lab.dir).killNode(node)
                print("killed \(node) (pids \(pids.map(String.init).joined(separator: ", "))); `pgdr lab up` starts what is stopped")
            } catch { throw labFailure(error) }
        }
    }

    struct Latency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Not available: this kernel has no netem queueing discipline.")
        @Argument(help: "A region.") var region: String
        @Argument(help: "A delay such as 80ms.") var delay: String
        @OptionGroup var lab: LabOptions
        func run() async throws {
            throw fail("latency injection is not available: this kernel has no netem or tbf queueing discipline, and pgdr does not "
                       + "proxy the links between regions; partitions (`pgdr lab fault partition`) are", code: Exit.badInput)
        }
    }

    struct StopEtcd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stop-etcd", abstract: "Stop one region's etcd member.")
        @Argument(help: "The region whose member stops (`pgdr lab up` starts it again).") var region: String
        @OptionGroup var lab: LabOptions
        func run() async throws {
            do {
                try await Lab(directory: lab.dir).stopEtcdMember(region: region)
                print("the etcd member in \(region) is stopped")
            } catch { throw labFailure(error) }
        }
    }
}
