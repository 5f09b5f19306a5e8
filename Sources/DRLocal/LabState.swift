import Foundation

/// `lab.json`: what `lab up` built, so a second `up`, `down` or `destroy`
/// knows the lab and never mistakes another folder for one.
public struct LabState: Codable, Sendable {
    public enum Phase: String, Codable, Sendable { case building, ready }

    public struct Node: Codable, Sendable {
        public var name: String
        public var region: String
        public var port: Int
        /// The address it listens on (its region's, in a lab of namespaces).
        public var host: String?
        public var address: String { host ?? "127.0.0.1" }
    }

    /// A lab whose regions are network namespaces, with an etcd member per
    /// region and an agent beside each node.
    public struct Quorum: Codable, Sendable {
        public var network: LabNetwork
        public var automatic: Bool
        /// PIDs of the etcd members, by region, and of the agents, by node.
        public var etcd: [String: Int32] = [:]
        public var agents: [String: Int32] = [:]
    }

    public var format: Int = 1
    public var phase: Phase
    public var postgresMajor: Int
    public var binDirectory: String
    public var serverUser: String
    public var createdAt: Date
    public var nodes: [Node]
    /// replication.mode: sync (the DR standby is synchronous).
    public var synchronous: Bool? = nil
    /// Backups through pgBackRest (`pgdr lab up --backups`).
    public var backups: Bool? = nil
    public var quorum: Quorum? = nil
    /// `pgdr lab up --haproxy`: HAProxy in front of the nodes (and, without a
    /// quorum, the one agent that answers its checks).
    public var front: Front? = nil

    public struct Front: Codable, Sendable {
        public var readWrite: Int
        public var readOnly: Int
        public var haproxy: Int32?
        /// Loopback labs: the agent HAProxy asks (quorum labs have one per node).
        public var agent: Int32?
        public var agentPort: Int?
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    public static func load(_ path: String) throws -> LabState {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(LabState.self, from: data)
    }

    public func save(_ path: String) throws {
        try LabState.encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
