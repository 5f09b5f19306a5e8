import Foundation
import Subprocess
import SystemPackage

/// Runs a PostgreSQL program, as the server user when pgdr is root, and turns
/// a non-zero exit into an error that quotes the program's own last words.
public struct CommandRunner: Sendable {
    public let user: ServerUser

    public init(user: ServerUser) { self.user = user }

    public struct Result: Sendable {
        public let output: String
        public let error: String
    }

    @discardableResult
    public func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    detach: Bool = false) async throws -> Result {
        var options = PlatformOptions()
        if user.needsSwitch {
            options.userID = user.uid
            options.groupID = user.gid
            options.supplementaryGroups = [user.gid]
        }
        // A detached child (a postmaster started by pg_ctl) gets its own session,
        // so a Ctrl-C aimed at pgdr does not reach the database server.
        options.createSession = detach
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
        let program = (executable as NSString).lastPathComponent
        let stdout: String, stderr: String, status: TerminationStatus
        do {
            let outcome = try await Subprocess.run(.path(FilePath(executable)), arguments: Arguments(arguments),
                                                   environment: .inherit.updating(updates),
                                                   workingDirectory: FilePath("/"),
                                                   platformOptions: options,
                                                   output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
            stdout = outcome.standardOutput
            stderr = outcome.standardError
            status = outcome.terminationStatus
        } catch {
            throw LocalError("could not start \(program): \(error)")
        }
        guard case .exited(0) = status else {
            let said = (stderr.isEmpty ? stdout : stderr).split(separator: "\n").suffix(4).joined(separator: " | ")
            throw LocalError("\(program) failed (\(status)): \(said)")
        }
        return Result(output: stdout, error: stderr)
    }
}
