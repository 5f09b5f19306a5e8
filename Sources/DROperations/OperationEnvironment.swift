import DRControl
import DRLocal
import DRPostgres
import DRRDS
import DRSpec
import DRStatus
import Foundation
import Logging

/// Everything an operation touches, each behind a seam: the spec and the
/// journal, a way to look at the servers, each node's SQL and process
/// control, and the clock. `live` wires the real ones; unit tests of the
/// runner wire fakes.
public struct OperationEnvironment: Sendable {
    public let spec: Spec
    public let baseDirectory: String
    public let store: OperationStore
    public let observer: any ClusterObserver
    public let clock: any OperationClock
    public let logger: Logger
    let controls: [String: any NodeControl]
    let sqlFactory: @Sendable (String) throws -> any NodeSQL
    let passwords: @Sendable (NodeSpec) throws -> Secret?
    /// `target: aws`: the steps that operate the RDS instances through the AWS APIs.
    public var rds: RDSSteps? = nil

    public init(spec: Spec, baseDirectory: String, store: OperationStore, observer: any ClusterObserver,
                controls: [String: any NodeControl], sql: @escaping @Sendable (String) throws -> any NodeSQL,
                passwords: @escaping @Sendable (NodeSpec) throws -> Secret? = { _ in nil },
                clock: any OperationClock = SystemClock(), logger: Logger = Logger(label: "pgdr.operations")) {
        self.spec = spec
        self.baseDirectory = baseDirectory
        self.store = store
        self.observer = observer
        self.controls = controls
        sqlFactory = sql
        self.passwords = passwords
        self.clock = clock
        self.logger = logger
    }

    /// The real servers, as pgdr.yaml describes them.
    /// `observeTimeout`: how long a look at the servers waits for a silent
    /// node (the agent, which must decide quickly, passes less than the default).
    ///
    /// `stateDirectory`: where the journal, lock and plans live (default: beside
    /// pgdr.yaml). `only`: control the processes of these nodes alone (an agent
    /// beside one node never controls another's).
    public static func live(spec: Spec, baseDirectory: String, stateDirectory: String? = nil, only: Set<String>? = nil,
                            observeTimeout: Duration? = nil,
                            logger: Logger = Logger(label: "pgdr.operations")) -> OperationEnvironment {
        var controls: [String: any NodeControl] = [:]
        for node in spec.nodes where only?.contains(node.name) ?? true {
            if let control = NodeControls.make(node, baseDirectory: baseDirectory) { controls[node.name] = control }
        }
        return OperationEnvironment(
            spec: spec, baseDirectory: baseDirectory, store: OperationStore(directory: stateDirectory ?? baseDirectory),
            observer: LiveObserver(spec: spec, baseDirectory: baseDirectory, timeout: observeTimeout, logger: logger),
            controls: controls,
            sql: { name in
                guard let node = spec.nodes.first(where: { $0.name == name }) else {
                    throw OperationError.badInput("no node named \(name) in the spec")
                }
                return PostgresNodeSQL(node: name, target: try AdminTarget.make(node, baseDirectory: baseDirectory), logger: logger)
            },
            passwords: { node in try PasswordResolver.resolve(node.adminPassword, baseDirectory: baseDirectory) },
            logger: logger)
    }

    /// The same servers under another spec (a drill's agent runs in automatic mode).
    public func with(spec: Spec) -> OperationEnvironment {
        var copy = OperationEnvironment(spec: spec, baseDirectory: baseDirectory, store: store, observer: observer, controls: controls,
                                        sql: sqlFactory, passwords: passwords, clock: clock, logger: logger)
        copy.rds = rds
        return copy
    }

    /// The deployment pgdr.yaml describes: self-managed servers, or RDS (`target: aws`).
    public static func make(spec: Spec, baseDirectory: String, stateDirectory: String? = nil,
                            logger: Logger = Logger(label: "pgdr.operations")) -> OperationEnvironment {
        switch spec.target {
        case .selfManaged: return live(spec: spec, baseDirectory: baseDirectory, stateDirectory: stateDirectory, logger: logger)
        case .aws: return aws(RDSDeployment.make(spec: spec, logger: logger), baseDirectory: baseDirectory,
                              stateDirectory: stateDirectory, logger: logger)
        }
    }

    /// RDS: the observer and the steps go through the AWS APIs; there is no
    /// process control and (until TLS to RDS) no SQL session.
    public static func aws(_ deployment: RDSDeployment, baseDirectory: String, stateDirectory: String? = nil,
                           logger: Logger) -> OperationEnvironment {
        var env = OperationEnvironment(
            spec: deployment.planningSpec, baseDirectory: baseDirectory,
            store: OperationStore(directory: stateDirectory ?? baseDirectory), observer: RDSObserver(deployment: deployment),
            controls: [:],
            sql: { name in
                throw OperationError.badInput("\(name) is an RDS instance: pgdr has no SQL session to RDS yet (TLS with the RDS CA comes with the security issue)")
            },
            logger: logger)
        env.rds = RDSSteps(deployment: deployment)
        return env
    }

    public func node(_ name: String) throws -> NodeSpec {
        guard let node = spec.nodes.first(where: { $0.name == name }) else {
            throw OperationError.badInput("no node named \(name) in the spec")
        }
        return node
    }

    public func sql(_ name: String) throws -> any NodeSQL { try sqlFactory(name) }

    /// Process control of a node, or nil when pgdr.yaml gives it no `control:`.
    public func control(_ name: String) -> (any NodeControl)? { controls[name] }

    /// Process control a step cannot do without.
    func requireControl(_ name: String, for step: String) throws -> any NodeControl {
        guard let control = controls[name] else {
            throw OperationError.badInput("""
                \(step) needs to stop and start \(name), and pgdr.yaml gives it no `control:` section; \
                add one (pg_ctl, systemd or commands) and run pgdr where that server runs
                """)
        }
        return control
    }

    /// How `follower` reaches `leader`: address, slot, and the admin login pg_rewind needs.
    func upstream(_ leader: String, for follower: String) throws -> Upstream {
        let node = try node(leader)
        return Upstream(name: node.name, host: node.host, port: node.port, database: node.database,
                        slot: SlotName.forNode(follower), adminUser: node.adminUser, adminPassword: try passwords(node),
                        tlsParameters: node.effectiveTLS.libpqParameters(resolvingAgainst: baseDirectory).map { LibpqParameter($0.0, $0.1) })
    }
}

/// The admin session of a node (`adminUser` in pgdr.yaml).
public enum AdminTarget {
    public static func make(_ node: NodeSpec, baseDirectory: String) throws -> ConnectionTarget {
        guard let user = node.adminUser else {
            throw OperationError.badInput("node \(node.name) has no adminUser in pgdr.yaml; operations need a role that may promote and rewind")
        }
        let password: Secret?
        do {
            password = try PasswordResolver.resolve(node.adminPassword, baseDirectory: baseDirectory)
        } catch {
            throw OperationError.badInput("admin password of \(node.name): \(error)")
        }
        var target = ConnectionTarget(host: node.host, port: node.port, user: user, database: node.database,
                                      password: password, applicationName: "pgdr-operation",
                                      connectTimeout: .seconds(3), statementTimeout: .seconds(90))
        target.protect(like: node, baseDirectory: baseDirectory)
        return target
    }
}

/// The servers as the monitoring role sees them.
public struct LiveObserver: ClusterObserver {
    let spec: Spec
    let baseDirectory: String
    let timeout: Duration?
    let logger: Logger

    public init(spec: Spec, baseDirectory: String, timeout: Duration? = nil, logger: Logger) {
        self.spec = spec
        self.baseDirectory = baseDirectory
        self.timeout = timeout
        self.logger = logger
    }

    public func observe() async -> StatusReport {
        let samples = await NodeProbe.sampleAll(spec.nodes, baseDirectory: baseDirectory, timeout: timeout, logger: logger)
        return StatusEvaluator.evaluate(samples, thresholds: spec.monitoring.thresholds)
    }

    public func roles(of nodes: [String], timeout: Duration) async -> [String: NodeRole?] {
        await withTaskGroup(of: (String, NodeRole?).self) { group in
            for name in nodes {
                guard let node = spec.nodes.first(where: { $0.name == name }) else { continue }
                group.addTask { [baseDirectory, logger] in
                    (name, await RoleProbe.look(node, baseDirectory: baseDirectory, timeout: timeout, applicationName: "pgdr-operation",
                                                logger: logger).role)
                }
            }
            var out: [String: NodeRole?] = [:]
            for await (name, role) in group { out[name] = role }
            return out
        }
    }
}
