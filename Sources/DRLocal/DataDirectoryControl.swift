import DRControl
import DRPostgres
import DRProcess
import DRSpec
import DRStatus
import Foundation

/// `NodeControl` for a server whose data directory is on this machine,
/// started and stopped by `pg_ctl` (as the data directory's owner) or by a
/// systemd unit. Fencing, standby settings, pg_rewind and rebuilds work on
/// the data directory in both cases.
public struct DataDirectoryControl: NodeControl {
    public enum Starter: Sendable, Hashable {
        /// `pg_ctl start -l LOG`.
        case pgCtl(logFile: String)
        /// `systemctl start|stop UNIT`.
        case systemd(unit: String)
    }

    public let node: String
    public let data: DataDirectory
    let starter: Starter
    let binDirectory: String?
    let replicationUser: String
    let replicationPassfile: String?
    let restoreCommand: String?
    let timeout: Duration
    /// The network namespace the server and its tools run in (the lab's regions).
    let namespace: String?

    public init(node: String, dataDirectory: String, starter: Starter, binDirectory: String? = nil,
                replicationUser: String = "pgdr_replicator", replicationPassfile: String? = nil,
                restoreCommand: String? = nil, timeout: Duration = .seconds(300), namespace: String? = nil) {
        self.namespace = namespace
        self.node = node
        data = DataDirectory(path: dataDirectory)
        self.starter = starter
        self.binDirectory = binDirectory
        self.replicationUser = replicationUser
        self.replicationPassfile = replicationPassfile
        self.restoreCommand = restoreCommand
        self.timeout = timeout
    }

    func binaries() throws -> PostgresBinaries {
        if let binDirectory { return PostgresBinaries(directory: binDirectory, major: data.major ?? 0) }
        return try PostgresBinaries.forDataDirectory(data)
    }

    func failure(_ action: String, _ error: any Error) -> ControlError {
        if let control = error as? ControlError { return control }
        return ControlError(node: node, action: action, "\(error)", cause: nil)
    }

    /// Runs a server program as the data directory's owner; a non-zero exit throws.
    @discardableResult
    func runTool(_ program: String, _ arguments: [String], environment: [String: String] = [:],
                 action: String) async throws -> ChildProcess.Result {
        do {
            return try await ChildProcess.checked(.init(try binaries().path(program), arguments,
                                                        environment: environment.merging(["LC_ALL": "C"]) { a, _ in a },
                                                        timeout: timeout, runAs: try data.runAs(), namespace: namespace))
        } catch {
            throw ControlError(node: node, action: action, "\(error)")
        }
    }

    // MARK: processes

    public func state() async throws -> ServerState {
        data.postmasterPID.map { .running(pid: $0) } ?? .stopped
    }

    public func start() async throws {
        guard data.postmasterPID == nil else { return }
        await data.reapOrphans(grace: .seconds(1))
        switch starter {
        case .pgCtl(let logFile):
            let seconds = max(1, Int(timeout.components.seconds))
            do {
                try await runTool("pg_ctl", ["-D", data.path, "-l", logFile, "-w", "-t", "\(seconds)", "start"], action: "start")
            } catch let error as ControlError {
                // The server's own last words (a port taken, a bad setting) say why.
                let last = ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "")
                    .split(separator: "\n").filter { $0.contains("FATAL") || $0.contains("LOG:  could not") || $0.contains("ERROR") }
                    .suffix(2).joined(separator: " | ")
                throw ControlError(node: node, action: "start", "\(error.message)\(last.isEmpty ? "" : " (\(last))"); the server log is \(logFile)")
            }
        case .systemd(let unit):
            try await systemctl(["start", unit], action: "start")
        }
    }

    @discardableResult
    public func stop(_ mode: StopMode) async throws -> Bool {
        guard let pid = data.postmasterPID else {
            await data.reapOrphans()
            return false
        }
        switch (starter, mode) {
        case (.systemd(let unit), .fast):
            try await systemctl(["stop", unit], action: "stop")
        default:
            // pg_ctl's own stop modes are signals to the postmaster: send them by its PID.
            guard Foundation.kill(pid, mode == .fast ? SIGINT : SIGQUIT) == 0 else {
                throw ControlError(node: node, action: "stop", "cannot signal postmaster \(pid): \(String(cString: strerror(errno)))")
            }
        }
        let deadline = ContinuousClock.now + timeout
        while !ProcessTable.hasExited(pid) {
            guard ContinuousClock.now < deadline else {
                throw ControlError(node: node, action: "stop", "postmaster \(pid) did not stop within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    func systemctl(_ arguments: [String], action: String) async throws {
        do {
            try await ChildProcess.checked(.init(Self.systemctlPath, arguments, timeout: timeout))
        } catch {
            throw ControlError(node: node, action: action, "\(error)")
        }
    }

    static var systemctlPath: String {
        ProcessInfo.processInfo.environment["PGDR_SYSTEMCTL"] ?? "/usr/bin/systemctl"
    }

    public func kill(withChildren: Bool) async throws -> Int32? {
        guard let pid = data.postmasterPID else { return nil }
        let children = withChildren ? ProcessTable.children(of: pid) : []
        Foundation.kill(pid, SIGKILL)
        for child in children { Foundation.kill(child, SIGKILL) }
        return pid
    }

    // MARK: fencing

    public func fence(operation: String, within limit: Duration, urgent: Bool) async throws -> FenceReport {
        do {
            // The mark and the standby signal first: from this instant on, a
            // restart by anyone (a supervisor, an operator, `lab up`) gives a
            // read-only server, never a second writable primary.
            try data.writeOwned("fenced by pgdr operation \(operation) at \(Date().formatted(.iso8601))\n", to: data.fenceFile)
            try data.writeOwned("", to: data.standbySignal)
        } catch {
            throw failure("fence", error)
        }
        guard let pid = data.postmasterPID else {
            // A dead postmaster leaves backends and a lock file behind: clear them.
            await data.reapOrphans()
            return FenceReport("not running; marked fenced (it can only start read-only)")
        }
        // Fast (through the unit, for systemd), then immediate, then SIGKILL: a
        // primary that will not stop (hung, or stopped by a signal) is killed,
        // because a second writable primary is worse than crash recovery later.
        if !urgent, (try? await withDeadline(limit / 2, { try await self.stop(.fast) })) != nil, ProcessTable.hasExited(pid) {
            return FenceReport("stopped (fast shutdown of pid \(pid)) and marked fenced")
        }
        if await signalAndWait(pid, SIGQUIT, within: limit / 4) {
            return FenceReport("stopped (immediate shutdown of pid \(pid); the fast one did not finish within \(limit / 2)) and marked fenced")
        }
        let children = ProcessTable.children(of: pid)
        Foundation.kill(pid, SIGKILL)
        for child in children { Foundation.kill(child, SIGKILL) }
        if await signalAndWait(pid, 0, within: limit / 4) {
            await data.reapOrphans(grace: .milliseconds(200))
            return FenceReport("killed (pid \(pid) did not shut down within \(limit * 3 / 4)) and marked fenced")
        }
        throw ControlError(node: node, action: "fence", "pid \(pid) survived SIGKILL for \(limit / 4); it is marked fenced, so it can only restart read-only")
    }

    /// Sends `signal` (0: none) and waits until the process has exited, at most `limit`.
    func signalAndWait(_ pid: pid_t, _ signal: Int32, within limit: Duration) async -> Bool {
        if signal != 0 { Foundation.kill(pid, signal) }
        let deadline = ContinuousClock.now + limit
        while !ProcessTable.hasExited(pid) {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    public func unfence(asPrimary: Bool) async throws {
        do {
            if asPrimary { try data.remove(data.standbySignal) }
            try data.remove(data.fenceFile)
        } catch {
            throw failure("unfence", error)
        }
    }

    public func isFenced() async throws -> Bool { FileManager.default.fileExists(atPath: data.fenceFile) }

    // MARK: data directory work

    public func controlData() async throws -> ControlData {
        let result = try await runTool("pg_controldata", ["-D", data.path], action: "controldata")
        return try ControlDataParser.parse(result.output, node: node)
    }

    public func follow(_ upstream: Upstream) async throws {
        var conninfo = "host=\(upstream.host) port=\(upstream.port) user=\(replicationUser) application_name=\(node)"
        for parameter in upstream.tlsParameters { conninfo += " \(parameter.conninfo)" }
        if let passfile = replicationPassfile { conninfo += " passfile='\(passfile.replacingOccurrences(of: "'", with: "\\'"))'" }
        do {
            try data.setAutoSettings([
                ("primary_conninfo", conninfo),
                ("primary_slot_name", upstream.slot),
                ("restore_command", restoreCommand),
            ])
            try data.writeOwned("", to: data.standbySignal)
        } catch {
            throw failure("follow", error)
        }
        // A running standby takes new primary_conninfo on a reload (PostgreSQL 13+).
        if let pid = data.postmasterPID { Foundation.kill(pid, SIGHUP) }
    }

    public func rewind(from upstream: Upstream) async throws -> String {
        guard let user = upstream.adminUser else {
            throw ControlError(node: node, action: "rewind", "\(upstream.name) has no adminUser in pgdr.yaml; pg_rewind needs one")
        }
        guard data.postmasterPID == nil else {
            throw ControlError(node: node, action: "rewind", "the server runs; it must be stopped first")
        }
        await data.reapOrphans(grace: .seconds(2))
        // Single-user crash recovery (which pg_rewind runs on an unclean data
        // directory) refuses a standby signal; put it back at once afterwards.
        try? data.remove(data.standbySignal)
        defer { try? data.writeOwned("", to: data.standbySignal) }
        let passfile = try TemporaryPassfile(entries: [(upstream.host, upstream.port, user, upstream.adminPassword)],
                                             owner: try data.runAs())
        defer { passfile.remove() }
        // pg_rewind copies the upstream's configuration files too: keep this node's own.
        let saved = try OwnFiles.save(from: data)
        defer { saved.discard() }
        let result = try await runTool("pg_rewind", [
            "--target-pgdata=\(data.path)",
            "--source-server=host=\(upstream.host) port=\(upstream.port) user=\(user) dbname=\(upstream.database) "
                + upstream.tlsParameters.map(\.conninfo).joined(separator: " "),
        ], environment: ["PGPASSFILE": passfile.path], action: "rewind")
        try saved.restore(into: data)
        return (result.output + result.error).split(separator: "\n").last.map(String.init) ?? "pg_rewind done"
    }

    public func rebuild(from upstream: Upstream) async throws -> String {
        let fm = FileManager.default
        let kept = "\(data.path).replaced-\(Int(Date().timeIntervalSince1970))"
        let saved = try OwnFiles.save(from: data)
        defer { saved.discard() }
        if fm.fileExists(atPath: data.path) {
            do { try fm.moveItem(atPath: data.path, toPath: kept) } catch { throw failure("rebuild", error) }
        }
        var environment: [String: String] = [:]
        if let replicationPassfile { environment["PGPASSFILE"] = replicationPassfile }
        for parameter in upstream.tlsParameters {
            if let name = parameter.environmentName { environment[name] = parameter.value }
        }
        do {
            try await runTool("pg_basebackup", [
                "-h", upstream.host, "-p", "\(upstream.port)", "-U", replicationUser, "--no-password",
                "-D", data.path, "--wal-method=stream", "--checkpoint=fast",
            ], environment: environment, action: "rebuild")
            // The node's own configuration (its port, its name) is not the upstream's.
            try saved.restore(into: data)
            try await follow(upstream)
        } catch {
            // A copy cut short (its source lost, the disk full) is no data directory at all:
            // the old one goes back, so the node can still start as it was.
            throw putBack(kept, after: error)
        }
        return "fresh pg_basebackup from \(upstream.name); the old data directory is kept at \(kept)"
    }

    /// Removes a partial copy and moves the kept data directory back in its place.
    func putBack(_ kept: String, after error: any Error) -> ControlError {
        let fm = FileManager.default
        var failed = failure("rebuild", error)
        guard fm.fileExists(atPath: kept) else { return failed }
        do {
            if fm.fileExists(atPath: data.path) { try fm.removeItem(atPath: data.path) }
            try fm.moveItem(atPath: kept, toPath: data.path)
            failed.message += "; the old data directory was put back"
        } catch {
            failed.message += "; the old data directory could not be put back from \(kept) (\(error))"
        }
        return failed
    }
}

/// The configuration files that belong to a node, not to the copy it is
/// made from: pg_rewind and pg_basebackup bring the upstream's, so these are
/// saved before and put back after.
struct OwnFiles {
    static let names = ["postgresql.conf", "pg_hba.conf", "pg_ident.conf", "postgresql.auto.conf"]
    let folder: String
    let files: [String]

    static func save(from data: DataDirectory) throws -> OwnFiles {
        let fm = FileManager.default
        let present = ((try? fm.contentsOfDirectory(atPath: data.path)) ?? [])
            .filter { names.contains($0) || ($0.hasPrefix("pgdr") && $0.hasSuffix(".conf")) }
        let folder = "\(data.path).pgdr-own-\(getpid())"
        try? fm.removeItem(atPath: folder)
        do {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            for file in present { try fm.copyItem(atPath: "\(data.path)/\(file)", toPath: "\(folder)/\(file)") }
        } catch {
            throw LocalError("cannot keep \(data.path)'s own configuration files aside in \(folder): \(error)")
        }
        return OwnFiles(folder: folder, files: present)
    }

    func restore(into data: DataDirectory) throws {
        let owner = try data.owner()
        for file in files {
            let target = "\(data.path)/\(file)"
            try? FileManager.default.removeItem(atPath: target)
            do { try FileManager.default.copyItem(atPath: "\(folder)/\(file)", toPath: target) } catch {
                throw LocalError("cannot put \(file) back into \(data.path): \(error); a copy is in \(folder)")
            }
            chown(target, owner.uid, owner.gid)
            chmod(target, 0o600)
        }
    }

    func discard() { try? FileManager.default.removeItem(atPath: folder) }
}

/// Reads `pg_controldata` output (run with LC_ALL=C).
public enum ControlDataParser {
    public static func parse(_ text: String, node: String) throws -> ControlData {
        func field(_ label: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix(label + ":") }
                .map { $0.dropFirst(label.count + 1).trimmingCharacters(in: .whitespaces) }
        }
        guard let location = field("Latest checkpoint location").flatMap(LSN.init),
              let state = field("Database cluster state") else {
            throw ControlError(node: node, action: "controldata", "pg_controldata gave no checkpoint location")
        }
        return ControlData(checkpoint: location, state: state,
                           timeline: field("Latest checkpoint's TimeLineID").flatMap { Int($0) })
    }
}

/// A libpq password file that exists only while a program needs it, in a
/// private folder, readable only by the user that program runs as.
struct TemporaryPassfile {
    let folder: String
    var path: String { "\(folder)/pgpass" }

    init(entries: [(host: String, port: Int, user: String, password: Secret?)], owner: ChildProcess.RunAs?) throws {
        var template = Array("/tmp/pgdr-pass-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw LocalError("cannot create a private folder in /tmp: \(String(cString: strerror(errno)))")
        }
        folder = String(cString: made)
        let escape = { (text: String) in text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ":", with: "\\:") }
        let text = entries.map { "\(escape($0.host)):\($0.port):*:\(escape($0.user)):\(escape($0.password?.reveal() ?? ""))" }
            .joined(separator: "\n") + "\n"
        let fd = open("\(folder)/pgpass", O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw LocalError("cannot write a password file in \(folder)") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else { throw LocalError("cannot write a password file in \(folder)") }
        if let owner {
            chown(folder, owner.uid, owner.gid)
            chown("\(folder)/pgpass", owner.uid, owner.gid)
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: folder) }
}
