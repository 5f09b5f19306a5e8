import DRPostgres
import DRSpec
import DRStatus
import Foundation
import Logging

/// A long-lived session to one node. Reused across rounds (a SCRAM login per
/// node per second would cost more CPU than the probe itself); dropped on any
/// error or deadline, or as soon as the server closes it, and opened again on
/// the next round.
actor NodeLink {
    let node: NodeSpec
    let baseDirectory: String
    let deadline: Duration
    let logger: Logger
    private var session: PostgresSession?

    init(node: NodeSpec, baseDirectory: String, deadline: Duration, logger: Logger) {
        self.node = node
        self.baseDirectory = baseDirectory
        self.deadline = deadline
        self.logger = logger
    }

    private func open() async throws -> PostgresSession {
        // A session the server closed fails at once: never wait a deadline on it.
        if let session, !session.isClosed { return session }
        session = nil
        var target = try ConnectionTarget(node: node, baseDirectory: baseDirectory, applicationName: "pgdr-agent")
        target.connectTimeout = deadline
        target.statementTimeout = deadline
        // A silent server costs one deadline per round, not a second of grace on top.
        target.clientGrace = .milliseconds(100)
        let opened = try await PostgresSession.connect(target, logger: logger)
        session = opened
        return opened
    }

    private func drop() async {
        await session?.close()
        session = nil
    }

    /// Probes the node; a hung node costs at most the deadline.
    func sample() async -> NodeSample {
        var sample = NodeSample(name: node.name, region: node.region, host: node.host, port: node.port, reachable: false)
        do {
            let session = try await open()
            let start = sample
            sample = try await withDeadline(deadline, onLate: { session.abort() }) {
                try await NodeProbe.read(session, into: start)
            }
        } catch {
            sample.reachable = false
            sample.error = String(describing: PostgresFailure(error, target: ConnectionTarget(
                host: node.host, port: node.port, user: node.user, password: nil), during: "probe"))
            await drop()
        }
        return sample
    }

    /// Stamps the heartbeat (only meaningful on the primary).
    func beat(writer: String) async {
        do {
            let session = try await open()
            try await Heartbeat.beat(session, writer: writer)
        } catch {
            logger.info("heartbeat not written", metadata: ["node": "\(node.name)", "error": "\(error)"])
            await drop()
        }
    }

    func close() async { await drop() }
}
