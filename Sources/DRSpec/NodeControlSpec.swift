/// `control:` of a node in pgdr.yaml: how pgdr stops, starts, fences,
/// rewinds and rebuilds that server. pgdr runs these steps on the machine
/// where it runs, so the data directory (or the unit, or the commands) must
/// be there; a node whose server is elsewhere is controlled by the agent
/// running beside it.
public struct NodeControlSpec: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// `pg_ctl` on the node's `dataDirectory`, as the data directory's owner.
        case pgCtl = "pg_ctl"
        /// A systemd unit starts and stops the server (`postgresql@15-main`);
        /// rewind, rebuild and standby settings work on `dataDirectory`.
        case systemd
        /// Commands of your own for each action (a wrapper around your tooling).
        case commands
    }

    /// User commands, one per action; a missing one makes that action fail
    /// with an error that names the key.
    public struct Commands: Sendable, Hashable, Codable {
        public var start: [String]?
        public var stop: [String]?
        public var status: [String]?
        public var fence: [String]?
        public var unfence: [String]?
        public var follow: [String]?
        public var rewind: [String]?
        public var rebuild: [String]?
        public var controldata: [String]?
        public var kill: [String]?
        public init() {}

        public static let keys = ["start", "stop", "status", "fence", "unfence", "follow", "rewind", "rebuild",
                                  "controldata", "kill"]
    }

    public var kind: Kind
    /// Where the server programs are (`pg_ctl`, `pg_rewind`, `pg_basebackup`,
    /// `pg_controldata`); found from the data directory's PG_VERSION when absent.
    public var binDirectory: String?
    /// `pg_ctl -l`: where the server writes its log when pg_ctl starts it.
    public var logFile: String?
    /// systemd: the unit.
    public var unit: String?
    /// The role this node streams with when it is a standby.
    public var replicationUser: String = "pgdr_replicator"
    /// A libpq password file the server's own user can read, named in
    /// `primary_conninfo` (`passfile=`) and used by `pg_basebackup`.
    public var replicationPassfile: String?
    /// `restore_command` of this node as a standby (WAL from an archive when
    /// streaming cannot deliver).
    public var restoreCommand: String?
    public var commands: Commands = Commands()
    /// The longest any one action (a command, pg_ctl, pg_rewind) may take.
    public var timeout: TimeSpan = .minutes(5)
    /// A network namespace the server and its tools run in (the lab's
    /// regions are namespaces; real servers have no use for it).
    public var namespace: String?

    public init(kind: Kind) { self.kind = kind }
}
