import DRSpec
import DRStatus

/// The seam at a node's processes: everything an operation does to a server
/// that is not SQL. Implemented for a data directory driven by `pg_ctl`, a
/// systemd unit, and commands of the operator's own; a fake stands in for
/// unit tests of the operation runner.
///
/// Every method is safe to call again after a crash (an interrupted step is
/// repeated on resume).
public protocol NodeControl: Sendable {
    var node: String { get }

    /// Whether the server's postmaster runs.
    func state() async throws -> ServerState
    /// Starts the server and waits until it accepts connections.
    func start() async throws
    /// Stops the server; returns false when it was not running. A postmaster
    /// that is already dead leaves backends behind: those are reaped too.
    @discardableResult
    func stop(_ mode: StopMode) async throws -> Bool
    /// Makes the node unable to start as a writable primary (a standby
    /// signal and a fence mark in its data directory), then stops it, within
    /// `limit` (a server that will not stop is killed). From here on, whoever
    /// starts it gets a read-only server.
    /// `urgent`: no fast shutdown first (a primary that lost its lease must
    /// stop taking writes now, not after a checkpoint).
    func fence(operation: String, within limit: Duration, urgent: Bool) async throws -> FenceReport
    /// Lifts the fence. `asPrimary`: the node will start writable again (a
    /// switchover rolled back); otherwise it stays a standby.
    func unfence(asPrimary: Bool) async throws
    func isFenced() async throws -> Bool
    /// `pg_controldata` of the stopped server: its final checkpoint and state.
    func controlData() async throws -> ControlData
    /// Writes the settings that make the node a standby of `upstream`.
    func follow(_ upstream: Upstream) async throws
    /// `pg_rewind` from `upstream`; throws when rewinding is impossible.
    func rewind(from upstream: Upstream) async throws -> String
    /// A fresh base backup from `upstream`; the old data directory is kept aside.
    func rebuild(from upstream: Upstream) async throws -> String
    /// SIGKILL of the postmaster (and its children): drills only.
    func kill(withChildren: Bool) async throws -> Int32?
}

extension NodeControl {
    public func fence(operation: String, within limit: Duration) async throws -> FenceReport {
        try await fence(operation: operation, within: limit, urgent: false)
    }
}

/// What a fence did, and what it could not guarantee (`weakness`): a step
/// whose fence has a weakness is degraded, never done.
public struct FenceReport: Sendable, Hashable, CustomStringConvertible {
    public var detail: String
    public var weakness: String?
    public init(_ detail: String, weakness: String? = nil) {
        self.detail = detail
        self.weakness = weakness
    }
    public var description: String { detail + (weakness.map { " (\($0))" } ?? "") }
}

public enum ServerState: Sendable, Hashable, CustomStringConvertible {
    case running(pid: Int32?)
    case stopped
    public var isRunning: Bool { if case .running = self { true } else { false } }
    public var description: String {
        switch self {
        case .running(let pid): "running" + (pid.map { " (pid \($0))" } ?? "")
        case .stopped: "stopped"
        }
    }
}

public enum StopMode: String, Sendable, Hashable {
    /// SIGINT: sessions end, a final checkpoint is written, WAL is shipped to standbys.
    case fast
    /// SIGQUIT: no checkpoint; crash recovery at the next start.
    case immediate
}

/// What `pg_controldata` says about a stopped server.
public struct ControlData: Sendable, Hashable {
    /// `Latest checkpoint location`: for a cleanly stopped primary, its last WAL record.
    public var checkpoint: LSN
    /// `Database cluster state`: `shut down`, `shut down in recovery`, `in production`, …
    public var state: String
    public var timeline: Int?
    public init(checkpoint: LSN, state: String, timeline: Int?) {
        self.checkpoint = checkpoint
        self.state = state
        self.timeline = timeline
    }
    public var shutDownCleanly: Bool { state == "shut down" || state == "shut down in recovery" }
}

/// The node another one follows, rewinds from or copies from.
public struct Upstream: Sendable, Hashable {
    public var name: String
    public var host: String
    public var port: Int
    public var database: String
    /// The slot the follower streams through, on the upstream.
    public var slot: String
    /// For pg_rewind, which needs a superuser-like session on the upstream.
    public var adminUser: String?
    public var adminPassword: Secret?
    /// libpq's TLS keywords for connections to the upstream (`sslmode`,
    /// `sslrootcert`): streaming replication, pg_rewind, pg_basebackup.
    public var tlsParameters: [LibpqParameter]

    public init(name: String, host: String, port: Int, database: String, slot: String,
                adminUser: String? = nil, adminPassword: Secret? = nil, tlsParameters: [LibpqParameter] = []) {
        self.tlsParameters = tlsParameters
        self.name = name
        self.host = host
        self.port = port
        self.database = database
        self.slot = slot
        self.adminUser = adminUser
        self.adminPassword = adminPassword
    }
}

/// One libpq connection keyword and its value.
public struct LibpqParameter: Sendable, Hashable {
    public var keyword: String
    public var value: String
    public init(_ keyword: String, _ value: String) {
        self.keyword = keyword
        self.value = value
    }

    /// `keyword='value'` with libpq's quoting (backslash before `'` and `\`).
    public var conninfo: String {
        "\(keyword)='\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'"))'"
    }

    /// The environment variable libpq reads for the keyword, for tools given only a host and port.
    public var environmentName: String? {
        ["sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT"][keyword]
    }
}

/// A control action that cannot be done, with its cause kept.
public struct ControlError: Error, CustomStringConvertible, Sendable {
    public var node: String
    public var action: String
    public var message: String
    public var cause: (any Error)?

    public init(node: String, action: String, _ message: String, cause: (any Error)? = nil) {
        self.node = node
        self.action = action
        self.message = message
        self.cause = cause
    }

    public var description: String {
        "\(node): \(action): \(message)" + (cause.map { " (\($0))" } ?? "")
    }
}
