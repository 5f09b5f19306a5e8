import DRProcess
import Foundation

/// A PostgreSQL data directory on this machine: who owns it, which server
/// version made it, whether its postmaster runs, and the files pgdr writes
/// into it (the fence mark, the standby signal, standby settings). Programs
/// that touch it run as its owner when pgdr is root.
public struct DataDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    public static let fenceMarker = "pgdr.fenced"
    public var fenceFile: String { "\(path)/\(Self.fenceMarker)" }
    public var standbySignal: String { "\(path)/standby.signal" }
    public var autoConf: String { "\(path)/postgresql.auto.conf" }
    public var exists: Bool { FileManager.default.fileExists(atPath: "\(path)/PG_VERSION") }

    /// The owner's uid and gid (PostgreSQL insists the data directory is its
    /// own). While a rebuild has moved the directory aside, its parent's owner.
    public func owner() throws -> ChildProcess.RunAs {
        var info = stat()
        let parent = (path as NSString).deletingLastPathComponent
        guard stat(path, &info) == 0 || (errno == ENOENT && stat(parent, &info) == 0) else {
            throw LocalError("the data directory \(path) does not exist or cannot be read: \(String(cString: strerror(errno)))")
        }
        return ChildProcess.RunAs(uid: info.st_uid, gid: info.st_gid)
    }

    /// Who server programs run as: the owner, switched to when pgdr is root;
    /// pgdr itself otherwise (and then it must be the owner).
    public func runAs() throws -> ChildProcess.RunAs? {
        let owner = try owner()
        let euid = geteuid()
        if euid == 0 { return owner.uid == 0 ? nil : owner }
        guard euid == owner.uid else {
            throw LocalError("the data directory \(path) belongs to uid \(owner.uid): run pgdr as that user (or as root) to control this server")
        }
        return nil
    }

    /// `PG_VERSION`: the major version that made the data directory (or,
    /// while a rebuild has moved it aside, the copy kept beside it).
    public var major: Int? {
        let read = { (dir: String) in
            (try? String(contentsOfFile: "\(dir)/PG_VERSION", encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        if let major = read(path) { return major }
        let parent = (path as NSString).deletingLastPathComponent, name = (path as NSString).lastPathComponent
        let kept = ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [])
            .filter { $0.hasPrefix(name + ".replaced-") }.sorted().last
        return kept.flatMap { read("\(parent)/\($0)") }
    }

    /// The postmaster's PID, when `postmaster.pid` names a live postgres process.
    public var postmasterPID: pid_t? {
        guard let text = try? String(contentsOfFile: "\(path)/postmaster.pid", encoding: .utf8),
              let first = text.split(separator: "\n").first, let pid = pid_t(first), pid > 0,
              !ProcessTable.hasExited(pid)
        else { return nil }
        // A stale file can name a PID that now belongs to something else.
        let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        return command.contains("postgres") ? pid : nil
    }

    /// Writes a small file as the data directory's owner, mode 0600.
    public func writeOwned(_ text: String, to file: String) throws {
        let temporary = file + ".pgdr-tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw LocalError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else {
            unlink(temporary)
            throw LocalError("cannot write \(file): \(String(cString: strerror(errno)))")
        }
        if geteuid() == 0, let owner = try? owner() { chown(temporary, owner.uid, owner.gid) }
        guard rename(temporary, file) == 0 else {
            unlink(temporary)
            throw LocalError("cannot replace \(file): \(String(cString: strerror(errno)))")
        }
    }

    public func remove(_ file: String) throws {
        guard unlink(file) == 0 || errno == ENOENT else {
            throw LocalError("cannot remove \(file): \(String(cString: strerror(errno)))")
        }
    }

    /// Settings PostgreSQL reads last (`postgresql.auto.conf`, as ALTER SYSTEM
    /// and `pg_basebackup -R` write them): each key given replaces any earlier
    /// line for it; a nil value removes the key.
    public func setAutoSettings(_ settings: [(key: String, value: String?)]) throws {
        let existing = (try? String(contentsOfFile: autoConf, encoding: .utf8)) ?? "# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n"
        let keys = Set(settings.map(\.key))
        var lines = existing.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { line in
            let key = line.split(separator: "=", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces) ?? ""
            return !keys.contains(key)
        }
        while lines.last == "" { lines.removeLast() }
        for (key, value) in settings {
            guard let value else { continue }
            lines.append("\(key) = '\(value.replacingOccurrences(of: "'", with: "''"))'")
        }
        try writeOwned(lines.joined(separator: "\n") + "\n", to: autoConf)
    }

    /// Processes working in this data directory (a postgres backend's
    /// current directory is its data directory), from /proc.
    public func processes() -> [pid_t] {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return ProcessTable.all().filter { pid in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) == target
                && !ProcessTable.hasExited(pid)
        }
    }

    /// After a postmaster died: give its orphaned backends a moment to exit,
    /// SIGKILL the stragglers (identified by their data directory), and
    /// remove a lock file that names a dead (or zombie) postmaster.
    public func reapOrphans(grace: Duration = .seconds(5)) async {
        let deadline = ContinuousClock.now + grace
        while !processes().isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for pid in processes() { Foundation.kill(pid, SIGKILL) }
        let settle = ContinuousClock.now + .seconds(2)
        while !processes().isEmpty && ContinuousClock.now < settle {
            try? await Task.sleep(for: .milliseconds(20))
        }
        // PID 1 can be slow to reap a killed postmaster, and PostgreSQL reads
        // a zombie's PID as a live server ("lock file already exists").
        let lock = "\(path)/postmaster.pid"
        if processes().isEmpty, let text = try? String(contentsOfFile: lock, encoding: .utf8),
           let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) }), ProcessTable.hasExited(pid) {
            try? FileManager.default.removeItem(atPath: lock)
        }
    }
}

