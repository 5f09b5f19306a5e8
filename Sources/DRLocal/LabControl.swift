import DRPostgres
import DRSpec
import Foundation

/// What DR operations need from servers on this machine: stop and start,
/// fence, turn a node into a standby of another, pg_rewind or a fresh
/// pg_basebackup, and read the control file. Nodes are named as in the lab's
/// pgdr.yaml.
extension Lab {
    /// The marker a fenced node carries in its data directory: `lab up` will
    /// not start it until `pgdr rejoin` has made it a standby.
    public static let fenceMarker = "pgdr.fenced"

    struct Context {
        let state: LabState
        let binaries: PostgresBinaries
        let user: ServerUser
        let runner: CommandRunner
    }

    func context() throws -> Context {
        let state = try loadState()
        let user = try ServerUser.resolve()
        return Context(state: state, binaries: PostgresBinaries(directory: state.binDirectory, major: state.postgresMajor),
                       user: user, runner: CommandRunner(user: user))
    }

    func node(_ name: String, in state: LabState) throws -> LabState.Node {
        guard let node = state.nodes.first(where: { $0.name == name }) else {
            throw LocalError.badInput("the lab has no node named \(name)")
        }
        return node
    }

    public func hasNode(_ name: String) -> Bool { (try? loadState().nodes.contains { $0.name == name }) ?? false }

    public func isFenced(node name: String) -> Bool {
        guard let state = try? loadState(), let node = try? node(name, in: state) else { return false }
        return FileManager.default.fileExists(atPath: "\(layout.dataDirectory(node.region))/\(Self.fenceMarker)")
    }

    /// Marks the node fenced (stopping it first when it runs). Returns what was done.
    public func fence(node name: String, operation: String) async throws -> String {
        let ctx = try context()
        let node = try node(name, in: ctx.state)
        let server = server(node.region, ctx.binaries, ctx.runner)
        var did = "marked fenced"
        if let pid = server.runningPID {
            do {
                try await server.stop(timeout: .seconds(20))
                did = "stopped (fast shutdown of pid \(pid)) and marked fenced"
            } catch {
                // A primary that will not shut down cleanly is stopped hard:
                // a second writable primary is worse than crash recovery later.
                try await server.stop(signal: SIGQUIT, timeout: .seconds(20))
                did = "stopped (immediate shutdown of pid \(pid)) and marked fenced"
            }
        }
        let marker = "\(layout.dataDirectory(node.region))/\(Self.fenceMarker)"
        let text = "fenced by pgdr operation \(operation) at \(Date().formatted(.iso8601))\n"
        try text.write(toFile: marker, atomically: true, encoding: .utf8)
        try ctx.user.own(marker)
        return did
    }

    /// Stops the node. When its postmaster is already dead, waits for the
    /// backends it left behind (they end once they notice) and ends any that
    /// linger, so pg_rewind or a restart does not find the data directory busy.
    public func stop(node name: String) async throws -> Bool {
        let ctx = try context()
        let server = server(try node(name, in: ctx.state).region, ctx.binaries, ctx.runner)
        guard server.isRunning else {
            await server.reapOrphans()
            return false
        }
        try await server.stop()
        return true
    }

    public func start(node name: String) async throws {
        let ctx = try context()
        let node = try node(name, in: ctx.state)
        let server = server(node.region, ctx.binaries, ctx.runner)
        guard !server.isRunning else { return }
        try await server.start()
    }

    /// The final WAL position of a cleanly stopped server: its shutdown checkpoint.
    public func checkpointLocation(node name: String) async throws -> (location: String, state: String) {
        let ctx = try context()
        let node = try node(name, in: ctx.state)
        let result = try await ctx.runner.run(ctx.binaries.path("pg_controldata"), ["-D", layout.dataDirectory(node.region)],
                                              environment: ["LC_ALL": "C"])
        func field(_ label: String) -> String? {
            result.output.split(separator: "\n").first { $0.hasPrefix(label + ":") }
                .map { $0.dropFirst(label.count + 1).trimmingCharacters(in: .whitespaces) }
        }
        guard let location = field("Latest checkpoint location"), let state = field("Database cluster state") else {
            throw LocalError("pg_controldata gave no checkpoint location for \(name)")
        }
        return (location, state)
    }

    /// Writes standby settings so `name` follows `primary`, and clears the fence.
    public func configureStandby(node name: String, following primary: String) throws {
        let ctx = try context()
        let node = try node(name, in: ctx.state)
        let leader = try self.node(primary, in: ctx.state)
        try writeNodeConfig(node, standbyOf: leader, user: ctx.user)
        try? FileManager.default.removeItem(atPath: "\(layout.dataDirectory(node.region))/\(Self.fenceMarker)")
    }

    /// pg_rewind from the primary; throws when rewind is impossible.
    public func rewind(node name: String, from primary: String) async throws -> String {
        let ctx = try context()
        let node = try node(name, in: ctx.state)
        let leader = try self.node(primary, in: ctx.state)
        let passfile = "\(layout.regionDirectory(node.region))/rewind.pgpass"
        let admin = try PasswordResolver.resolve(.file(layout.secret(LabConfig.adminRole)), baseDirectory: "/")!
        try SecretFile.writePassfile(to: passfile, owner: ctx.user, entries: [(LabConfig.adminRole, admin)])
        defer { try? FileManager.default.removeItem(atPath: passfile) }
        let result = try await ctx.runner.run(ctx.binaries.path("pg_rewind"), [
            "--target-pgdata=\(layout.dataDirectory(node.region))",
            "--source-server=host=127.0.0.1 port=\(leader.port) user=\(LabConfig.adminRole) dbname=postgres",
        ], environment: ["PGPASSFILE": passfile])
        return (result.output + result.error).split(separator: "\n").last.map(String.init) ?? "pg_rewind done"
    }

    /// A fresh copy from the primary. The old data directory is kept beside
    /// it (`data.replaced-<time>`), never deleted.
    public func rebuild(node name: String, from primary: String) async throws -> String {
        let ctx = try context()
        let node = try node(name, in: ctx.state)
        let leader = try self.node(primary, in: ctx.state)
        let data = layout.dataDirectory(node.region)
        let kept = "\(data).replaced-\(Int(Date().timeIntervalSince1970))"
        if FileManager.default.fileExists(atPath: data) { try FileManager.default.moveItem(atPath: data, toPath: kept) }
        try await ctx.runner.run(ctx.binaries.path("pg_basebackup"), [
            "-h", "127.0.0.1", "-p", "\(leader.port)", "-U", LabConfig.replicationRole, "--no-password",
            "-D", data, "--wal-method=stream", "--checkpoint=fast",
        ], environment: ["PGPASSFILE": layout.serverPassfile(node.region)])
        return "fresh pg_basebackup from \(primary); the old data directory is kept at \(kept)"
    }

    /// SIGKILL of a node's postmaster alone, or of it and every child (drills).
    public func kill(node name: String, withChildren: Bool) throws -> pid_t? {
        let ctx = try context()
        let server = server(try node(name, in: ctx.state).region, ctx.binaries, ctx.runner)
        guard let pid = server.runningPID else { return nil }
        let children = withChildren ? LocalServer.children(of: pid) : []
        Foundation.kill(pid, SIGKILL)
        for child in children { Foundation.kill(child, SIGKILL) }
        return pid
    }
}

extension LocalServer {
    /// Processes working in this data directory (a postgres backend's current
    /// directory is its data directory), found through /proc.
    public func processesInDataDirectory() -> [pid_t] {
        let target = URL(fileURLWithPath: dataDirectory).resolvingSymlinksInPath().path
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
        return pids.filter { pid in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) == target
                && !LocalServer.hasExited(pid)
        }
    }

    /// After a postmaster died: give its orphaned backends a moment to exit,
    /// then SIGKILL the stragglers (identified by their data directory).
    public func reapOrphans(grace: Duration = .seconds(5)) async {
        let deadline = ContinuousClock.now + grace
        while !processesInDataDirectory().isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for pid in processesInDataDirectory() { Foundation.kill(pid, SIGKILL) }
        let settle = ContinuousClock.now + .seconds(2)
        while !processesInDataDirectory().isEmpty && ContinuousClock.now < settle {
            try? await Task.sleep(for: .milliseconds(20))
        }
        // A killed postmaster can linger as a zombie until its parent (init)
        // reaps it, and PostgreSQL reads a zombie PID in postmaster.pid as a
        // live server ("lock file already exists"). With every process of the
        // data directory gone, that lock file is stale: remove it.
        let lock = "\(dataDirectory)/postmaster.pid"
        if processesInDataDirectory().isEmpty,
           let text = try? String(contentsOfFile: lock, encoding: .utf8),
           let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) }), LocalServer.hasExited(pid) {
            try? FileManager.default.removeItem(atPath: lock)
        }
    }

    /// Direct children of a process, from /proc (a postmaster's backends).
    public static func children(of parent: pid_t) -> [pid_t] {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
        return pids.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent
        }
    }
}
