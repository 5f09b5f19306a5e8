import DROperations
import DRRDS
import DRPostgres
import DRSpec
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import ServiceLifecycle

/// `pgdr agent`: the sampling loop and the HTTP API under one service group
/// that stops cleanly on SIGTERM or SIGINT (the loop finishes its round,
/// deliveries in flight are given a moment, the journal records the stop).
public enum Agent {
    /// An HTTP connection with no request for this long is closed.
    public static let idleTimeoutSeconds = 5

    /// `node`: quorum mode, the agent beside that node (needs `dcs:`).
    /// `stateDirectory`: where its journal and operation files live (default:
    /// beside pgdr.yaml; two agents on one machine need one each).
    /// `tls`: the HTTPS listener's files (absolute paths); nil serves plain
    /// HTTP, which only loopback may.
    public static func run(spec: Spec, baseDirectory: String, listen: String, node: String? = nil,
                           stateDirectory: String? = nil, tls: AgentTLS? = nil,
                           onListening: @escaping @Sendable (String, Int) -> Void, logger: Logger) async throws {
        guard let (host, port) = AgentSettings.parseListen(listen) else {
            throw AgentError("`\(listen)` is not host:port")
        }
        if let problem = AgentSettings.exposureProblem(host: host, tls: tls != nil, tokenFile: spec.agent.tokenFile != nil) {
            throw AgentError("\(problem): listen on 127.0.0.1, or give agent.tls and agent.tokenFile")
        }
        let scheme = tls == nil ? "http" : "https"
        let state_ = stateDirectory ?? baseDirectory
        try? FileManager.default.createDirectory(atPath: state_, withIntermediateDirectories: true)
        let journalPath = spec.agent.journal.hasPrefix("/") ? spec.agent.journal
            : (state_ as NSString).appendingPathComponent(spec.agent.journal)
        let journal = try Journal(path: journalPath)
        let state = AgentState(interval: spec.monitoring.interval.seconds)
        let exporter = MetricsExporter()
        var ha: HAService?
        var environment: OperationEnvironment?
        if let node {
            guard let dcs = spec.dcs else { throw AgentError("--node needs a `dcs:` section in pgdr.yaml (quorum mode)") }
            guard let me = spec.nodes.first(where: { $0.name == node }) else {
                throw AgentError("no node named \(node) in pgdr.yaml (nodes: \(spec.nodes.map(\.name).joined(separator: ", ")))")
            }
            let env = OperationEnvironment.live(spec: spec, baseDirectory: baseDirectory, stateDirectory: state_, only: [node],
                                                observeTimeout: dcs.requestTimeout.duration, logger: logger)
            environment = env
            let peerCA = spec.agent.peerCA.map { $0.hasPrefix("/") ? $0 : (baseDirectory as NSString).appendingPathComponent($0) }
            ha = HAService(spec: spec, dcs: dcs, me: me, quorum: try Quorum.etcd(dcs, baseDirectory: baseDirectory), env: env, journal: journal,
                           api: "\(scheme)://\(host):\(port)", peerClient: try PeerClient.make(peerCA: peerCA), logger: logger)
        }
        let quorumService = ha
        var rdsObserver: RDSObserver?
        if spec.target == .aws {
            let deployment = RDSDeployment.make(spec: spec, logger: logger)
            rdsObserver = RDSObserver(deployment: deployment)
            environment = OperationEnvironment.aws(deployment, baseDirectory: baseDirectory, stateDirectory: stateDirectory, logger: logger)
        }
        let loop = await AgentLoop(spec: spec, baseDirectory: baseDirectory, state: state, exporter: exporter,
                                   journal: journal, logger: logger, environment: environment, ha: quorumService, rds: rdsObserver)
        var token: Secret?
        if let file = spec.agent.tokenFile {
            do {
                token = try PasswordResolver.resolve(.file(file), baseDirectory: baseDirectory)
            } catch {
                throw AgentError("agent.tokenFile: \(error)")
            }
        }
        let approvals = ApprovalEndpoint(spec: spec, baseDirectory: baseDirectory, token: token, journal: journal, logger: logger)
        // Idle connections are closed, and connections are capped below the
        // open-file limit: a crowd of idle clients can never leave the journal,
        // the sinks or the probes without a file descriptor.
        let budget = ConnectionBudget.prepare()
        logger.info("HTTP connections capped", metadata: ["max": "\(budget.maxConnections)", "fileLimit": "\(budget.fileLimit)"])
        let app = Application(
            router: HTTPAPI.router(state: state, exporter: exporter, nodes: spec.nodes.map(\.name), approvals: approvals, ha: quorumService,
                                   web: WebRoutes(spec: spec, state: state, store: loop.store, approvals: approvals)),
            server: try AgentListener.server(tls: tls, idleTimeout: .seconds(Int64(idleTimeoutSeconds))),
            configuration: .init(address: .hostname(host, port: port), serverName: "pgdr-agent",
                                 availableConnectionsDelegate: MaximumAvailableConnections(budget.maxConnections, logger: logger)),
            services: [loop],
            onServerRunning: { channel in
                let actual = channel.localAddress?.port ?? port
                quorumService?.setAPI("\(scheme)://\(host):\(actual)")
                onListening(host, actual)
            },
            logger: logger)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
