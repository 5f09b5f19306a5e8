import Foundation

/// `backup:` for self-managed servers: pgBackRest with a repository in each
/// region. pgdr writes each node's pgbackrest.conf and runs pgBackRest; it
/// never copies a file itself. The passphrase comes from a file (mode 0600)
/// or an environment variable, never from pgdr.yaml or a command line.
public struct PgBackRestSpec: Sendable, Hashable, Codable {
    /// A repository: a folder (posix) in one region.
    public struct Repository: Sendable, Hashable, Codable {
        public var region: String
        public var path: String
        public init(region: String, path: String) {
            self.region = region
            self.path = path
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
