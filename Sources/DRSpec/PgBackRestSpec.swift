import Foundation

/// `backup:` for self-managed servers: pgBackRest with a repository in each
/// region. pgdr writes each node's pgbackrest.conf and runs pgBackRest; it
/// never copies a file itself. The passphrase comes from a file (mode 0600)
/// or an environment variable, never from pgdr.yaml or a command line.
public struct PgBackRestSpec: Sendable, Hashable, Codable {
    /// A repository in one region: a folder (posix), or a path in an S3
    /// bucket when `s3` is given.
    public struct Repository: Sendable, Hashable, Codable {
        public var region: String
        public var path: String
        public var s3: S3? = nil
        public init(region: String, path: String, s3: S3? = nil) {
            self.region = region
            self.path = path
            self.s3 = s3
        }
    }

    /// An S3 repository (pgBackRest speaks S3 over TLS only). Credentials from
    /// files (mode 0600) or environment variables, never pgdr.yaml; without
    /// them pgBackRest takes the instance's or task's role (`key-type=auto`).
    public struct S3: Sendable, Hashable, Codable {
        public enum URIStyle: String, Sendable, Hashable, Codable, CaseIterable { case host, path }
        public var bucket: String
        /// The bucket's region (the request signature's).
        public var region: String
        /// `s3.REGION.amazonaws.com` unless overridden (a VPC endpoint, moto_server behind TLS).
        public var endpoint: String
        public var port: Int? = nil
        public var uriStyle: URIStyle = .host
        /// A CA bundle to verify the endpoint with (relative to pgdr.yaml).
        public var caFile: String? = nil
        public var key: PasswordSource? = nil
        public var secret: PasswordSource? = nil

        public init(bucket: String, region: String, endpoint: String) {
            self.bucket = bucket
            self.region = region
            self.endpoint = endpoint
        }
    }

    public enum Compression: String, Sendable, Hashable, Codable, CaseIterable {
        case lz4, zst, gz, bz2, none
    }

    /// pgBackRest's stanza: one per deployment (both nodes share it, so a
    /// promoted DR node archives into the same history, on a new timeline).
    public var stanza: String
    /// repo1, repo2, … in this order (the first in the primary's region).
    public var repositories: [Repository]
    /// aes-256-cbc passphrase for every repository.
    public var passphrase: PasswordSource
    /// Asynchronous archive-push drops WAL (and says so) rather than queue
    /// more than this on the primary's disk when a repository fails.
    public var archiveQueueMax: ByteSize = .gigabytes(1)
    public var compression: Compression = .lz4
    /// Keep this many full backups (pgBackRest `retention-full-type=count`)
    /// instead of counting `backup.retentionDays`; nil: by days.
    public var retentionFullBackups: Int? = nil
    /// The `backup-too-old` alarm: a repository whose newest backup is older
    /// than this (a daily schedule with two hours of slack by default).
    public var maxAge: TimeSpan = .hours(26)
    /// Where pgdr writes each node's pgbackrest.conf, spool, locks and logs
    /// (`DIR/NODE/`); relative to pgdr.yaml.
    public var directory: String = "pgbackrest"

    public init(stanza: String, repositories: [Repository], passphrase: PasswordSource) {
        self.stanza = stanza
        self.repositories = repositories
        self.passphrase = passphrase
    }
}
