import DRProcess
import Foundation

/// The account the lab's servers run as. PostgreSQL refuses to run as root,
/// so when pgdr itself runs as root (CI does) the servers run as an
/// unprivileged system user, `pgdr`, created on first use.
public struct ServerUser: Sendable {
    public let name: String
    public let uid: uid_t
    public let gid: gid_t
    /// True when pgdr must switch to this user to run server programs.
    public let needsSwitch: Bool

    public static let defaultName = "pgdr"

    public var runAs: ChildProcess.RunAs? { needsSwitch ? ChildProcess.RunAs(uid: uid, gid: gid) : nil }

    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> ServerUser {
        let euid = geteuid()
        if euid != 0 {
            let name = getpwuid(euid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(euid)"
            return ServerUser(name: name, uid: euid, gid: getegid(), needsSwitch: false)
        }
        let name = environment["PGDR_LAB_USER"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultName
        if let existing = lookup(name) { return existing }
        _ = try? await ChildProcess.run(.init("/usr/sbin/useradd", [
            "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name,
        ], timeout: .seconds(30)))
        guard let created = lookup(name) else {
            throw LocalError("""
                running as root, and PostgreSQL refuses root: the servers need an unprivileged user, \
                but `useradd --system \(name)` failed; create a user yourself and set PGDR_LAB_USER to its name
                """)
        }
        return created
    }

    static func lookup(_ name: String) -> ServerUser? {
        guard let entry = getpwnam(name) else { return nil }
        return ServerUser(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid, needsSwitch: true)
    }

    /// Gives a path to the server user (no-op when no switch is needed).
    public func own(_ path: String) throws {
        guard needsSwitch else { return }
        guard chown(path, uid, gid) == 0 else {
            throw LocalError("cannot hand \(path) to user \(name): \(String(cString: strerror(errno)))")
        }
    }
}
