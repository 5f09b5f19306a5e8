import DRSpec
import Foundation

/// Reads a node's password from where pgdr.yaml says it is. The password
/// itself never appears in an error: only the source's name does.
public enum PasswordResolver {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public static func resolve(_ source: PasswordSource?, baseDirectory: String,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Secret? {
        switch source {
        case nil:
            return nil
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                throw Failure(description: "environment variable \(name) is not set; export it before running pgdr")
            }
            return Secret(value)
        case .file(let path):
            let full = path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path)
            if let outside = symlinkOutside(full, folder: baseDirectory) {
                throw Failure(description: """
                    password file \(full) is a symbolic link to \(outside), outside the deployment folder \(baseDirectory); \
                    give the file itself (a link could be repointed at any file pgdr can read)
                    """)
            }
            var info = stat()
            guard stat(full, &info) == 0 else {
                throw Failure(description: "password file \(full) does not exist or cannot be read")
            }
            let mode = info.st_mode & 0o777
            guard mode & 0o077 == 0 else {
                throw Failure(description: "password file \(full) is readable by others (mode \(String(mode, radix: 8))); run chmod 600 \(full)")
            }
            guard let text = try? String(contentsOfFile: full, encoding: .utf8) else {
                throw Failure(description: "password file \(full) cannot be read as text")
            }
            let password = text.trimmingCharacters(in: .newlines)
            guard !password.isEmpty else { throw Failure(description: "password file \(full) is empty") }
            return Secret(password)
        }
    }

    /// Where a symbolic link at `path` leads when that is outside `folder`;
    /// nil for a plain file or a link that stays inside (as Kubernetes'
    /// mounted secrets do).
    static func symlinkOutside(_ path: String, folder: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else { return nil }
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let root = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
        let prefix = root.hasSuffix("/") ? root : root + "/"
        return target.hasPrefix(prefix) ? nil : target
    }
}
