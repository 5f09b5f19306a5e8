import DRSpec
import Foundation

/// Password files: generated, written mode 0600, read back. Nothing here
/// logs or prints a password.
enum SecretFile {
    static let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")

    /// 32 characters from the system's CSPRNG (about 185 bits).
    static func generate() -> Secret {
        var generator = SystemRandomNumberGenerator()
        return Secret(String((0..<32).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }))
    }

    static func write(_ secret: Secret, to path: String, owner: ServerUser?) throws {
        try writePrivate(secret.reveal() + "\n", to: path, owner: owner)
    }

    /// A libpq password file (`host:port:database:user:password`) for the lab's hosts.
    static func writePassfile(to path: String, owner: ServerUser?, entries: [(user: String, password: Secret)]) throws {
        let text = entries.map { "*:*:*:\($0.user):\($0.password.reveal())" }.joined(separator: "\n") + "\n"
        try writePrivate(text, to: path, owner: owner)
    }

    /// Creates the file as 0600 before any byte is written, so it is never readable by others.
    static func writePrivate(_ text: String, to path: String, owner: ServerUser?) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw LocalError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        fchmod(fd, 0o600)
        let bytes = Array(text.utf8)
        guard Foundation.write(fd, bytes, bytes.count) == bytes.count else {
            throw LocalError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        if let owner { try owner.own(path) }
    }
}
