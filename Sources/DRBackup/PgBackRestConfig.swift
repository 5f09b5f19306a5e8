import DRSpec
import Foundation

/// One node's pgBackRest configuration and the commands PostgreSQL runs
/// through it. Pure text: the caller writes the file (mode 0600, owned by
/// the server's user, since it holds the repositories' passphrase).
public struct PgBackRestConfig: Sendable {
    public var settings: PgBackRestSpec
    /// Absolute repository paths, in settings.repositories' order.
    public var repositoryPaths: [String]
    public var retentionDays: Int
    /// This node's folder for the config, spool, locks and logs.
    public var nodeDirectory: String
    public var dataDirectory: String
    public var port: Int
    public var socketDirectory: String
    /// The role pgBackRest connects as (through the socket, peer-mapped).
    public var user: String

    public init(settings: PgBackRestSpec, repositoryPaths: [String], retentionDays: Int, nodeDirectory: String,
                dataDirectory: String, port: Int, socketDirectory: String, user: String) {
        self.settings = settings
        self.repositoryPaths = repositoryPaths
        self.retentionDays = retentionDays
        self.nodeDirectory = nodeDirectory
        self.dataDirectory = dataDirectory
        self.port = port
        self.socketDirectory = socketDirectory
        self.user = user
    }

    /// An S3 repository's access key, resolved from its file or variable.
    public struct S3Credentials: Sendable {
        public var key: String
        public var secret: String
        public init(key: String, secret: String) {
            self.key = key
            self.secret = secret
        }
    }

    /// The posix repositories' folders (an S3 repository has none here).
    public var localRepositoryPaths: [String] {
        repositoryPaths.enumerated().filter { settings.repositories.indices.contains($0.offset) ? settings.repositories[$0.offset].s3 == nil : true }
            .map(\.element)
    }

    public var file: String { "\(nodeDirectory)/pgbackrest.conf" }
    public var spool: String { "\(nodeDirectory)/spool" }
    public var lock: String { "\(nodeDirectory)/lock" }
    public var log: String { "\(nodeDirectory)/log" }

    /// The `[global]` and stanza sections. Retention counts full backups by
    /// time: a full backup older than `retentionDays` goes when a newer one
    /// covers the window, with the WAL only it needed; or, with
    /// `retentionFullBackups`, by count: the oldest beyond that many go.
    /// `s3`: the credentials of S3 repositories, by their number (1-based).
    public func text(passphrase: String, s3 credentials: [Int: S3Credentials] = [:]) -> String {
        var lines = [
            "# Written by pgdr from pgdr.yaml (backup:). Holds the repositories' passphrase: mode 0600.",
            "[global]",
        ]
        for (index, path) in repositoryPaths.enumerated() {
            let repo = "repo\(index + 1)"
            if index < settings.repositories.count, let s3 = settings.repositories[index].s3 {
                lines += [
                    "\(repo)-type=s3",
                    "\(repo)-s3-bucket=\(s3.bucket)",
                    "\(repo)-s3-endpoint=\(s3.endpoint)",
                    "\(repo)-s3-region=\(s3.region)",
                    "\(repo)-s3-uri-style=\(s3.uriStyle.rawValue)",
                ]
                if let port = s3.port { lines.append("\(repo)-storage-port=\(port)") }
                if let ca = s3.caFile { lines.append("\(repo)-storage-ca-file=\(ca)") }
                if let credential = credentials[index + 1] {
                    lines += ["\(repo)-s3-key=\(credential.key)", "\(repo)-s3-key-secret=\(credential.secret)"]
                } else {
                    lines.append("\(repo)-s3-key-type=auto")  // the instance's or task's role
                }
            }
            lines += [
                "\(repo)-path=\(path)",
                "\(repo)-cipher-type=aes-256-cbc",
                "\(repo)-cipher-pass=\(passphrase)",
                "\(repo)-retention-full-type=\(settings.retentionFullBackups == nil ? "time" : "count")",
                "\(repo)-retention-full=\(settings.retentionFullBackups ?? max(1, retentionDays))",
            ]
        }
        lines += [
            "compress-type=\(settings.compression.rawValue)",
            "archive-async=y",
            // A failing repository must never fill the primary's disk: past
            // this, archive-push drops WAL (and logs it) instead of queueing.
            "archive-push-queue-max=\(settings.archiveQueueMax.bytes)",
            "spool-path=\(spool)",
            "lock-path=\(lock)",
            "log-path=\(log)",
            "log-level-console=warn",
            "log-level-file=info",
            "start-fast=y",
            "",
            "[\(settings.stanza)]",
            "pg1-path=\(dataDirectory)",
            "pg1-port=\(port)",
            "pg1-socket-path=\(socketDirectory)",
            "pg1-user=\(user)",
            "",
        ]
        return lines.joined(separator: "\n")
    }

    /// `archive_command`: asynchronous push through the bounded spool.
    public var archiveCommand: String {
        "pgbackrest --config=\(file) --stanza=\(settings.stanza) archive-push %p"
    }

    /// `restore_command`: WAL from the repositories, in order.
    public var restoreCommand: String {
        "pgbackrest --config=\(file) --stanza=\(settings.stanza) archive-get %f \"%p\""
    }
}
