import DRProcess
import DRSpec
import Foundation

/// Writes a node's pgBackRest folder (config 0600, spool, locks, logs) and
/// the repositories, owned by the server's user.
public enum PgBackRestSetup {
    public static func write(_ config: PgBackRestConfig, passphrase: Secret, s3: [Int: PgBackRestConfig.S3Credentials] = [:],
                             owner: ChildProcess.RunAs?, to path: String? = nil) throws {
        let fm = FileManager.default
        // The folder above the node's own must let the server's user through.
        let parent = (config.nodeDirectory as NSString).deletingLastPathComponent
        if !fm.fileExists(atPath: parent) {
            try? fm.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        for path in [config.nodeDirectory, config.spool, config.lock, config.log] + config.localRepositoryPaths {
            do {
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw BackupError.failed("cannot create \(path): \(error.localizedDescription)")
            }
            if let owner { chown(path, owner.uid, owner.gid) }
        }
        let target = path ?? config.file
        let temporary = target + ".pgdr-tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw BackupError.failed("cannot write \(target): \(String(cString: strerror(errno)))") }
        let bytes = Array(config.text(passphrase: passphrase.reveal(), s3: s3).utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else {
            unlink(temporary)
            throw BackupError.failed("cannot write \(target)")
        }
        if let owner { chown(temporary, owner.uid, owner.gid) }
        guard rename(temporary, target) == 0 else {
            unlink(temporary)
            throw BackupError.failed("cannot write \(target): \(String(cString: strerror(errno)))")
        }
    }
}
