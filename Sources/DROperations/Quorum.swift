import DRDCS
import DROrchestrator
import DRSpec
import Foundation

/// The DCS as pgdr uses it: the leader key, the members, and operations
/// requested through it. Shared by the agents and the CLI.
public struct Quorum: Sendable {
    public let dcs: any DCS
    public let spec: DCSSpec

    public init(dcs: any DCS, spec: DCSSpec) {
        self.dcs = dcs
        self.spec = spec
    }

    /// The etcd client for a spec's `dcs:` section.
    public static func etcd(_ spec: DCSSpec) throws -> Quorum {
        let urls = spec.endpoints.compactMap(URL.init(string:))
        guard !urls.isEmpty else { throw OperationError.badInput("dcs.endpoints names no usable URL") }
        return Quorum(dcs: EtcdClient(endpoints: urls, timeout: spec.requestTimeout.duration), spec: spec)
    }

    public var leaderKey: String { spec.root + "leader" }
    public func memberKey(_ node: String) -> String { spec.root + "members/" + node }
    public var membersPrefix: String { spec.root + "members/" }
    public func operationKey(_ id: String) -> String { spec.root + "operations/" + id }
    public var operationsPrefix: String { spec.root + "operations/" }

    public func leader() async throws -> (record: LeaderRecord, lease: LeaseID?)? {
        guard let kv = try await dcs.get(leaderKey) else { return nil }
        return (try kv.decode(LeaderRecord.self), kv.lease)
    }

    public func members() async throws -> [MemberRecord] {
        try await dcs.list(prefix: membersPrefix).compactMap { try? $0.decode(MemberRecord.self) }
    }

    public func operations() async throws -> [OperationRecord] {
        try await dcs.list(prefix: operationsPrefix).compactMap { try? $0.decode(OperationRecord.self) }
            .sorted { $0.plan.createdAt < $1.plan.createdAt }
    }

    public func operation(_ id: String) async throws -> OperationRecord? {
        try await dcs.get(operationKey(id)).map { try $0.decode(OperationRecord.self) }
    }

    public func save(_ record: OperationRecord) async throws {
        try await dcs.put(operationKey(record.plan.id), value: try DCSCoding.encoder.encode(record), lease: nil)
    }

    /// The operation the agents act on now: approved, not finished, not expired.
    public func active(now: Date) async throws -> OperationRecord? {
        try await operations().last { record in
            [.approved, .writesStopped, .promoted].contains(record.state)
                && (record.state != .approved || (record.plan.expiresAt.map { $0 > now } ?? true))
        }
    }
}
