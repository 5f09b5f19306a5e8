import DRLocal
import DRPostgres
import DRSpec
import DRStatus
import Foundation
import Logging

/// Everything an operation touches: the spec, the servers (SQL for every
/// node, process control for nodes of a lab on this machine), and the store.
public struct OperationContext: Sendable {
    public let spec: Spec
    public let baseDirectory: String
    public let store: OperationStore
    /// Process control for the lab's servers; nil for servers elsewhere.
    public let lab: Lab?
    let logger: Logger

    public init(spec: Spec, baseDirectory: String, logger: Logger = Logger(label: "pgdr.operations")) {
        self.spec = spec
        self.baseDirectory = baseDirectory
        store = OperationStore(directory: baseDirectory)
        lab = FileManager.default.fileExists(atPath: "\(baseDirectory)/lab.json") ? Lab(directory: baseDirectory) : nil
        self.logger = logger
    }

    public func observe() async -> StatusReport {
        let samples = await NodeProbe.sampleAll(spec.nodes, baseDirectory: baseDirectory, logger: logger)
        return StatusEvaluator.evaluate(samples, thresholds: spec.monitoring.thresholds)
    }

    func node(_ name: String) throws -> NodeSpec {
        guard let node = spec.nodes.first(where: { $0.name == name }) else {
            throw OperationError.badInput("no node named \(name) in the spec")
        }
        return node
    }

    /// The operator session on a node (adminUser in pgdr.yaml).
    func admin(_ name: String) throws -> ConnectionTarget {
        let node = try node(name)
        guard let user = node.adminUser else {
            throw OperationError.badInput("node \(name) has no adminUser in pgdr.yaml; operations need a role that may promote and rewind")
        }
        let password: Secret?
        do {
            password = try PasswordResolver.resolve(node.adminPassword, baseDirectory: baseDirectory)
        } catch {
            throw OperationError.badInput("admin password of \(name): \(error)")
        }
        return ConnectionTarget(host: node.host, port: node.port, user: user, database: node.database,
                                password: password, applicationName: "pgdr-operation",
                                connectTimeout: .seconds(3), statementTimeout: .seconds(90))
    }

    /// Process control for a node, or a clear error when pgdr cannot reach its processes.
    func local(_ name: String) throws -> Lab {
        guard let lab, lab.hasNode(name) else {
            throw OperationError.failed("node \(name) is not a server of a lab on this machine: pgdr can only stop, start and rewind lab servers today")
        }
        return lab
    }
}
