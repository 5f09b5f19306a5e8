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

    /// `setpriv` from util-linux switches to the server user. Subprocess can
    /// switch users itself, but only through a fork-then-setgroups path that
    /// deadlocked in glibc (setxid across threads copied by fork) in one of
    /// our CI runs; a posix_spawn of setpriv cannot.
    static let setpriv = "/usr/bin/setpriv"

    @discardableResult
    public func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        var program = executable, argv = arguments
        if user.needsSwitch {
            guard FileManager.default.isExecutableFile(atPath: Self.setpriv) else {
                throw LocalError("running as root needs \(Self.setpriv) (util-linux) to start servers as \(user.name); install util-linux")
            }
            program = Self.setpriv
            argv = ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--", executable] + arguments
        }
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
        let name = (executable as NSString).lastPathComponent
        let stdout: String, stderr: String, status: TerminationStatus
        do {
            let outcome = try await Subprocess.run(.path(FilePath(program)), arguments: Arguments(argv),
                                                   environment: .inherit.updating(updates),
                                                   workingDirectory: FilePath("/"),
                                                   output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
            stdout = outcome.standardOutput
            stderr = outcome.standardError
            status = outcome.terminationStatus
        } catch {
            throw LocalError("could not start \(name): \(error)")
        }
        guard case .exited(0) = status else {
            let said = (stderr.isEmpty ? stdout : stderr).split(separator: "\n").suffix(4).joined(separator: " | ")
            throw LocalError("\(name) failed (\(status)): \(said)")
        }
        return Result(output: stdout, error: stderr)
    }
}
