import Foundation

/// The whole of pgdr.yaml as typed values. Pure data: nothing here touches a
/// server, a file or the network. Passwords are never part of it, only where
/// to read them from (`PasswordSource`).
public struct Spec: Sendable, Hashable, Codable {
    public var name: String
    public var environment: String
    public var objectives: Objectives
    public var engine: Engine
    public var primary: RegionSite
    public var dr: RegionSite
    public var backup: Backup
    public var monitoring: Monitoring
    public var failover: Failover
    public var notifications: [NotificationSink]
    public var tags: [String: String]
    public var nodes: [NodeSpec]
    /// Alarms written in pgdr.yaml (the defaults come from `DefaultAlarms`).
    public var alarms: [AlarmSpec] = []
    public var agent: AgentSettings = AgentSettings()
    public var replication: Replication = Replication()
    public var network: Network = Network()
    /// Route 53 failover records, when a hosted zone is given.
    public var dns: DNS? = nil
    /// The etcd cluster that decides who is primary (quorum mode).
    public var dcs: DCSSpec? = nil
    /// Self-managed servers (`nodes:`), or the RDS deployment (`target: aws`).
    public var target: Target = .selfManaged
    public var aws: AWSSettings = AWSSettings()
    /// `tls:` at the top level: every node's unless it has its own.
    public var tls: TLSSpec? = nil

    /// Defaults first, a user alarm of the same name replacing its default.
    public var effectiveAlarms: [AlarmSpec] {
        let userNames = Set(alarms.map(\.name))
        return (DefaultAlarms.make(monitoring) + DefaultAlarms.backups(backup, monitoring: monitoring) + DefaultAlarms.bounded(replication, monitoring: monitoring))
            .filter { !userNames.contains($0.name) } + alarms
    }

    /// The node placed in the primary region, the one expected to take writes.
    public var primaryNode: NodeSpec? { nodes.first { $0.region == primary.region } }
    /// The node placed in the DR region.
    public var drNode: NodeSpec? { nodes.first { $0.region == dr.region } }

    /// `orders-prod`: every resource name carries the environment suffix.
    public func resourceName(_ base: String) -> String { "\(base)-\(environment)" }

    public init(name: String, environment: String, objectives: Objectives, engine: Engine, primary: RegionSite, dr: RegionSite, backup: Backup, monitoring: Monitoring, failover: Failover, notifications: [NotificationSink], tags: [String: String], nodes: [NodeSpec]) {
        self.name = name
        self.environment = environment
        self.objectives = objectives
        self.engine = engine
        self.primary = primary
        self.dr = dr
        self.backup = backup
        self.monitoring = monitoring
        self.failover = failover
        self.notifications = notifications
        self.tags = tags
        self.nodes = nodes
    }
}

public struct Objectives: Sendable, Hashable, Codable {
    /// Recovery point objective: the most data (as time) a disaster may cost.
    public var rpo: TimeSpan
    /// Recovery time objective: how long until writes are taken again.
    public var rto: TimeSpan

    public init(rpo: TimeSpan, rto: TimeSpan) {
        self.rpo = rpo
        self.rto = rto
    }
}

public struct Engine: Sendable, Hashable, Codable {
    /// `15`, or `15.8` when a minor version is pinned (RDS).
    public var version: String
    public var major: Int { Int(version.split(separator: ".").first ?? "") ?? 0 }

    public init(version: String) {
        self.version = version
    }
}

/// One region's database placement (used by `synth`; the lab ignores sizing).
public struct RegionSite: Sendable, Hashable, Codable {
    public var region: String
    public var instanceClass: String
    public var multiAZ: Bool
    public var storage: ByteSize
    /// The region's VPC; the two regions' ranges must not overlap (peering).
    public var vpcCidr: String = "10.10.0.0/16"
    /// RDS deletion protection (off by default so a whole deployment can be destroyed).
    public var deletionProtection: Bool = false
    /// The DB instance's identifier (`target: aws`); nil: the name synth gives it.
    public var instanceIdentifier: String? = nil

    public init(region: String, instanceClass: String, multiAZ: Bool, storage: ByteSize) {
        self.region = region
        self.instanceClass = instanceClass
        self.multiAZ = multiAZ
        self.storage = storage
    }
}

public struct Backup: Sendable, Hashable, Codable {
    public var retentionDays: Int
    public var pointInTimeRecovery: Bool
    /// Self-managed servers: pgBackRest (nil: pgdr takes no backups).
    public var pgbackrest: PgBackRestSpec? = nil

    public init(retentionDays: Int, pointInTimeRecovery: Bool) {
        self.retentionDays = retentionDays
        self.pointInTimeRecovery = pointInTimeRecovery
    }
}

public struct Monitoring: Sendable, Hashable, Codable {
    public var interval: TimeSpan
    public var thresholds: Thresholds
    /// Re-notify while an alarm stays in ALARM this often; 0 turns reminders off.
    public var reminder: TimeSpan = .hours(1)

    public init(interval: TimeSpan, thresholds: Thresholds, reminder: TimeSpan = .hours(1)) {
        self.reminder = reminder
        self.interval = interval
        self.thresholds = thresholds
    }
}

public struct Thresholds: Sendable, Hashable, Codable {
    public var replicationLag: TimeSpan
    public var cpuPercent: Double
    public var freeStorage: ByteSize
    public var connectionsPercent: Double
    public var latency: TimeSpan
    /// Alarm when a replication slot can take less WAL than this before
    /// PostgreSQL invalidates it (`max_slot_wal_keep_size`).
    public var slotSafeWAL: ByteSize = .megabytes(256)

    public init(replicationLag: TimeSpan, cpuPercent: Double, freeStorage: ByteSize, connectionsPercent: Double, latency: TimeSpan) {
        self.replicationLag = replicationLag
        self.cpuPercent = cpuPercent
        self.freeStorage = freeStorage
        self.connectionsPercent = connectionsPercent
        self.latency = latency
    }
}

public struct Failover: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable { case manual, automatic }
    public var mode: Mode
    public var maxDataLoss: DataLossLimit
    /// Automatic mode: how many failed probes, how far apart, before the
    /// primary counts as lost.
    public var detection: Detection = Detection()
    /// How long an approval id stays valid.
    public var approvalTimeout: TimeSpan = .minutes(15)
    /// Run after a promotion to repoint clients (DNS, a proxy); gets
    /// PGDR_NEW_PRIMARY_{NAME,HOST,PORT} in its environment.
    public var hook: [String]? = nil
    /// How long the hook may run before it is killed and the step fails.
    public var hookTimeout: TimeSpan = .seconds(60)
    /// The most a fence may take: a node that cannot be stopped or reached
    /// within it is reported NOT fenced (the plan says so before approval).
    public var fenceTimeout: TimeSpan = .seconds(5)

    public init(mode: Mode, maxDataLoss: DataLossLimit) {
        self.mode = mode
        self.maxDataLoss = maxDataLoss
    }

    public struct Detection: Sendable, Hashable, Codable {
        public var probes: Int = 5
        public var interval: TimeSpan = TimeSpan(milliseconds: 200)
        public init(probes: Int = 5, interval: TimeSpan = TimeSpan(milliseconds: 200)) {
            self.probes = probes
            self.interval = interval
        }
        public var window: TimeSpan { TimeSpan(milliseconds: interval.milliseconds * Int64(probes)) }
    }
}

/// Streaming replication between the regions.
public struct Replication: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable { case async, sync, bounded }
    /// `sync`: the DR replica is a synchronous standby (no acknowledged commit
    /// is lost by a failover, at the price of a cross-region round trip per commit).
    /// `bounded`: asynchronous while the WAL the DR replica has not received
    /// stays under `maxLag`; at the bound the agent makes commits wait for it
    /// (synchronous), and lets them go again once it is back under half the bound.
    public var mode: Mode = .async
    /// The bound of `bounded` mode; nil: `objectives.rpo` (see `bound(rpo:)`).
    public var maxLag: DataLossLimit? = nil
    public init(mode: Mode = .async) { self.mode = mode }

    /// The bound in force: `maxLag`, else the RPO as time.
    public func bound(rpo: TimeSpan) -> DataLossLimit { maxLag ?? DataLossLimit(bytes: nil, time: rpo) }
}

/// How much data a failover may give up: as WAL bytes, as time, or both.
public struct DataLossLimit: Sendable, Hashable, Codable {
    public var bytes: ByteSize?
    public var time: TimeSpan?

    public init(bytes: ByteSize? = nil, time: TimeSpan? = nil) {
        self.bytes = bytes
        self.time = time
    }
}

/// One place notices go. Each kind carries exactly what it needs, so a spec
/// built in code cannot describe a webhook without a URL.
public enum NotificationSink: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable { case log, webhook, command }

    public struct Delivery: Sendable, Hashable, Codable {
        public var timeout: TimeSpan
        public var retries: Int
        public init(timeout: TimeSpan = .seconds(5), retries: Int = 3) {
            self.timeout = timeout
            self.retries = retries
        }
    }

    /// JSON lines appended to a file (relative to pgdr.yaml), or to standard error when nil.
    case log(path: String?, Delivery)
    /// An HTTP(S) POST of the JSON notice.
    case webhook(url: URL, Delivery)
    /// A program and its arguments; the notice arrives on standard input.
    case command(program: String, arguments: [String], Delivery)

    public var kind: Kind {
        switch self {
        case .log: .log
        case .webhook: .webhook
        case .command: .command
        }
    }

    public var delivery: Delivery {
        switch self {
        case .log(_, let d), .webhook(_, let d), .command(_, _, let d): d
        }
    }
}

/// A PostgreSQL server pgdr talks to (self-managed or lab).
public struct NodeSpec: Sendable, Hashable, Codable {
    public var name: String
    public var region: String
    public var host: String
    public var port: Int
    public var database: String
    /// Data directory, only for servers on this machine (lab, self-managed).
    public var dataDirectory: String?
    /// The server's Unix socket folder (pgBackRest connects through it).
    public var socketDirectory: String = "/var/run/postgresql"
    /// The role pgdr logs in as: least privilege, member of `pg_monitor`.
    public var user: String
    public var password: PasswordSource?
    /// The role DR operations use (promote, fence, rewind): a superuser or a
    /// role granted pg_promote and the pg_rewind functions. Optional: without
    /// it the node can be watched but not operated on.
    public var adminUser: String? = nil
    public var adminPassword: PasswordSource? = nil
    /// How pgdr reaches this server's processes (stop, start, fence, rewind,
    /// rebuild). Nil: pgdr can watch the node and run SQL on it, nothing more.
    public var control: NodeControlSpec? = nil
    /// How pgdr's sessions protect the connection (this node's `tls:`, else
    /// the global one); nil when neither says.
    public var tls: TLSSpec? = nil
    /// The protection in force: what pgdr.yaml says, else TLS without verification.
    public var effectiveTLS: TLSSpec { tls ?? .unsaid }

    public init(name: String, region: String, host: String, port: Int, database: String, dataDirectory: String? = nil, user: String, password: PasswordSource? = nil) {
        self.name = name
        self.region = region
        self.host = host
        self.port = port
        self.database = database
        self.dataDirectory = dataDirectory
        self.user = user
        self.password = password
    }
}

/// Where a password is read from. pgdr.yaml never holds the password itself.
public enum PasswordSource: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A file, mode 0600; a relative path is relative to pgdr.yaml.
    case file(String)
    /// An environment variable's name.
    case environment(String)

    public var description: String {
        switch self {
        case .file(let path): "file \(path)"
        case .environment(let name): "environment variable \(name)"
        }
    }
}


/// Where the agent listens and keeps its journal.
public struct AgentSettings: Sendable, Hashable, Codable {
    /// `host:port` of the HTTP API; loopback by default.
    public var listen: String = "127.0.0.1:8008"
    /// The event journal (JSON lines, fsync'd); relative to pgdr.yaml.
    public var journal: String = "pgdr-journal.jsonl"
    /// File holding the bearer token for `POST /operations/ID/approve` (mode 0600).
    public var tokenFile: String? = nil
    /// The API's certificate and key (PEM files, the key mode 0600): HTTPS.
    /// Required, with `tokenFile`, to listen anywhere but loopback.
    public var tls: AgentTLS? = nil
    /// The CA the other agents' certificates come from: the failsafe call
    /// between agents (quorum mode) verifies the peer against it.
    public var peerCA: String? = nil
    public init(listen: String = "127.0.0.1:8008", journal: String = "pgdr-journal.jsonl") {
        self.listen = listen
        self.journal = journal
    }
}

/// `agent.tls`: the files the agent's HTTPS listener serves.
public struct AgentTLS: Sendable, Hashable, Codable {
    public var certificate: String
    public var key: String
    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }
}

extension AgentSettings {
    /// Why the API may not listen on `host` as configured, or nil when it may:
    /// off loopback it needs TLS and the token file.
    public static func exposureProblem(host: String, tls: Bool, tokenFile: Bool) -> String? {
        guard !isLoopback(host) else { return nil }
        let missing = [tls ? nil : "agent.tls (certificate and key)", tokenFile ? nil : "agent.tokenFile"].compactMap { $0 }
        guard !missing.isEmpty else { return nil }
        return "the agent's API on \(host) would be reachable from the network without \(missing.joined(separator: " and "))"
    }

    /// 127.0.0.0/8, ::1 and localhost: addresses only this machine reaches.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// `127.0.0.1:8008` → ("127.0.0.1", 8008); port 0 asks for a free port.
    public static func parseListen(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = String(text[..<colon]), portText = text[text.index(after: colon)...]
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        return (host, port)
    }
}

public struct Network: Sendable, Hashable, Codable {
    /// Where the application connects from: the only range, besides the peer
    /// region's VPC, allowed to reach PostgreSQL.
    public var applicationCidr: String = "10.0.0.0/8"
    /// NAT gateways cost an Elastic IP each (and accounts have few); the
    /// functions reach AWS APIs through VPC endpoints instead.
    public var natGateways: Bool = false
    public init() {}
}

public struct DNS: Sendable, Hashable, Codable {
    public var hostedZoneId: String
    public var recordName: String
    /// `target: aws`: the Route 53 health check `pgdr status` reports on
    /// (the DR stack's, on the primary-unreachable alarm); optional.
    public var healthCheckId: String?
    public init(hostedZoneId: String, recordName: String, healthCheckId: String? = nil) {
        self.hostedZoneId = hostedZoneId
        self.recordName = recordName
        self.healthCheckId = healthCheckId
    }
}
