import Foundation

/// The seam at the distributed configuration store: a few key-value
/// operations with leases and one compare-and-set, which is all leader
/// election needs. Implemented on etcd's v3 API (`EtcdClient`); an in-memory
/// store stands in for unit tests of the agents' decisions.
public protocol DCS: Sendable {
    func grantLease(ttl: Duration) async throws -> LeaseID
    /// Renews a lease; its remaining time to live, or nil when it is gone.
    func keepAlive(_ lease: LeaseID) async throws -> Duration?
    func revoke(_ lease: LeaseID) async throws
    /// A lease's remaining time, or nil when it is gone.
    func timeToLive(_ lease: LeaseID) async throws -> Duration?
    /// Creates the key only when it does not exist (a transaction); false when it did.
    func create(_ key: String, value: Data, lease: LeaseID?) async throws -> Bool
    func put(_ key: String, value: Data, lease: LeaseID?) async throws
    /// Writes the key only when it was last modified at `revision` (a transaction); false when it changed since.
    func replace(_ key: String, value: Data, ifModRevision revision: Int64) async throws -> Bool
    func get(_ key: String) async throws -> KeyValue?
    func list(prefix: String) async throws -> [KeyValue]
    /// Deletes the key only when it holds `value` (nil: whatever it holds).
    func delete(_ key: String, ifValue value: Data?) async throws -> Bool
}

public struct LeaseID: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: Int64
    public init(_ value: Int64) { self.value = value }
    public var description: String { String(value, radix: 16) }
}

public struct KeyValue: Sendable, Hashable {
    public var key: String
    public var value: Data
    public var lease: LeaseID?
    public var createRevision: Int64
    public var modRevision: Int64

    public init(key: String, value: Data, lease: LeaseID?, createRevision: Int64, modRevision: Int64) {
        self.key = key
        self.value = value
        self.lease = lease
        self.createRevision = createRevision
        self.modRevision = modRevision
    }

    public func decode<T: Decodable>(_ type: T.Type) throws -> T { try DCSCoding.decoder.decode(T.self, from: value) }
}

/// Why the store could not answer. `unreachable` covers every endpoint
/// failing (a partition cuts a minority member off: it cannot serve).
public enum DCSError: Error, CustomStringConvertible, Sendable {
    case unreachable([String])
    case refused(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .unreachable(let reasons): "etcd unreachable: " + reasons.joined(separator: "; ")
        case .refused(let text): "etcd refused: \(text)"
        case .malformed(let text): "etcd answered something unreadable: \(text)"
        }
    }
}

public enum DCSCoding {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()
    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()
}
