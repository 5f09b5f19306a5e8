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

    /// The etcd client for a spec's `dcs:` section (over TLS with `dcs.tls`;
    /// its files relative to `baseDirectory`, the folder of pgdr.yaml).
    public static func etcd(_ spec: DCSSpec, baseDirectory: String) throws -> Quorum {
        let urls = spec.endpoints.compactMap(URL.init(string:))
        guard !urls.isEmpty else { throw OperationError.badInput("dcs.endpoints names no usable URL") }
        guard let tls = spec.tls else {
            return Quorum(dcs: EtcdClient(endpoints: urls, timeout: spec.requestTimeout.duration), spec: spec)
        }
        func absolute(_ path: String?) -> String? {
            path.map { $0.hasPrefix("/") ? $0 : (baseDirectory as NSString).appendingPathComponent($0) }
        }
        do {
            let files = EtcdTLSFiles(ca: absolute(tls.ca), certificate: absolute(tls.certificate), key: absolute(tls.key))
            return Quorum(dcs: try EtcdClient.secured(endpoints: urls, timeout: spec.requestTimeout.duration, tls: files), spec: spec)
        } catch {
            throw OperationError.badInput("dcs.tls: \(error)")
        }
    }

    public var leaderKey: String { spec.root + "leader" }
    /// The primary's last published flush position (no lease: it outlives its writer).
    public var positionKey: String { spec.root + "last-primary" }
    public func memberKey(_ node: String) -> String { spec.root + "members/" + node }
    public var membersPrefix: String { spec.root + "members/" }
    public func operationKey(_ id: String) -> String { spec.root + "operations/" + id }
    public var operationsPrefix: String { spec.root + "operations/" }

    public func leader() async throws -> (record: LeaderRecord, lease: LeaseID?)? {
        guard let kv = try await dcs.get(leaderKey) else { return nil }
        return (try kv.decode(LeaderRecord.self), kv.lease)
    }

    public func position() async throws -> PrimaryPosition? {
        try await dcs.get(positionKey).map { try $0.decode(PrimaryPosition.self) }
    }

    public func savePosition(_ position: PrimaryPosition) async throws {
        try await dcs.put(positionKey, value: try DCSCoding.encoder.encode(position), lease: nil)
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

    /// Creates an operation's record; false when one with that id exists.
    public func create(_ record: OperationRecord) async throws -> Bool {
        try await dcs.create(operationKey(record.plan.id), value: try DCSCoding.encoder.encode(record), lease: nil)
    }

    /// Changes an operation's record only from the version it read (a
    /// transaction), read again and retried when another writer came
    /// between; nil when there is no such record. `change` may throw to stop.
    @discardableResult
    public func update(_ id: String, _ change: (inout OperationRecord) throws -> Void) async throws -> OperationRecord? {
        for _ in 0..<5 {
            guard let kv = try await dcs.get(operationKey(id)) else { return nil }
            var record = try kv.decode(OperationRecord.self)
            try change(&record)
            if try await dcs.replace(operationKey(id), value: try DCSCoding.encoder.encode(record), ifModRevision: kv.modRevision) {
                return record
            }
        }
        throw OperationError.failed("operation \(id) kept changing in etcd while pgdr tried to update it")
    }

    /// The operation the agents act on now: approved, not finished, not expired.
    public func active(now: Date) async throws -> OperationRecord? {
        try await operations().last { record in
            [.approved, .writesStopped, .promoted].contains(record.state)
                && (record.state != .approved || (record.plan.expiresAt.map { $0 > now } ?? true))
        }
    }
}
