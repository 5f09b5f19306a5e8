import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// `DCS` on etcd's v3 API through its JSON gateway (`/v3/kv/...`,
/// `/v3/lease/...`), over HTTP. Each call tries the endpoints in turn, the
/// last one that answered first, each within `timeout`: a member cut off
/// from the majority cannot serve, and the call moves on to the next.
public final class EtcdClient: DCS {
    let endpoints: [URL]
    let timeout: Duration
    let client: HTTPClient
    let logger: Logger
    private let preferred = PreferredEndpoint()

    public init(endpoints: [URL], timeout: Duration, client: HTTPClient = .shared,
                logger: Logger = Logger(label: "pgdr.etcd")) {
        self.endpoints = endpoints
        self.timeout = timeout
        self.client = client
        self.logger = logger
    }

    // MARK: the API

    public func grantLease(ttl: Duration) async throws -> LeaseID {
        let seconds = max(1, Int(ttl.components.seconds))
        let answer = try await call("/v3/lease/grant", ["TTL": seconds])
        guard let id = Self.int64(answer["ID"]) else { throw DCSError.malformed("lease grant without an ID") }
        return LeaseID(id)
    }

    public func keepAlive(_ lease: LeaseID) async throws -> Duration? {
        let answer = try await call("/v3/lease/keepalive", ["ID": String(lease.value)])
        let result = answer["result"] as? [String: Any] ?? answer
        guard let ttl = Self.int64(result["TTL"]), ttl > 0 else { return nil }
        return .seconds(ttl)
    }

    public func revoke(_ lease: LeaseID) async throws {
        _ = try await call("/v3/lease/revoke", ["ID": String(lease.value)])
    }

    public func timeToLive(_ lease: LeaseID) async throws -> Duration? {
        let answer = try await call("/v3/lease/timetolive", ["ID": String(lease.value)])
        guard let ttl = Self.int64(answer["TTL"]), ttl > 0 else { return nil }
        return .seconds(ttl)
    }

    public func create(_ key: String, value: Data, lease: LeaseID?) async throws -> Bool {
        var put: [String: Any] = ["key": Self.b64(key), "value": value.base64EncodedString()]
        if let lease { put["lease"] = String(lease.value) }
        let answer = try await call("/v3/kv/txn", [
            "compare": [["target": "CREATE", "key": Self.b64(key), "result": "EQUAL", "createRevision": "0"]],
            "success": [["requestPut": put]],
        ])
        return answer["succeeded"] as? Bool ?? false
    }

    public func put(_ key: String, value: Data, lease: LeaseID?) async throws {
        var body: [String: Any] = ["key": Self.b64(key), "value": value.base64EncodedString()]
        if let lease { body["lease"] = String(lease.value) }
        _ = try await call("/v3/kv/put", body)
    }

    public func replace(_ key: String, value: Data, ifModRevision revision: Int64) async throws -> Bool {
        let answer = try await call("/v3/kv/txn", [
            "compare": [["target": "MOD", "key": Self.b64(key), "result": "EQUAL", "modRevision": String(revision)]],
            "success": [["requestPut": ["key": Self.b64(key), "value": value.base64EncodedString()]]],
        ])
        return answer["succeeded"] as? Bool ?? false
    }

    public func get(_ key: String) async throws -> KeyValue? {
        try await range(["key": Self.b64(key)]).first
    }

    public func list(prefix: String) async throws -> [KeyValue] {
        try await range(["key": Self.b64(prefix), "range_end": Self.b64(Self.prefixEnd(prefix))])
    }

    public func delete(_ key: String, ifValue value: Data?) async throws -> Bool {
        guard let value else {
            let answer = try await call("/v3/kv/deleterange", ["key": Self.b64(key)])
            return (Self.int64(answer["deleted"]) ?? 0) > 0
        }
        let answer = try await call("/v3/kv/txn", [
            "compare": [["target": "VALUE", "key": Self.b64(key), "result": "EQUAL", "value": value.base64EncodedString()]],
            "success": [["requestDeleteRange": ["key": Self.b64(key)]]],
        ])
        return answer["succeeded"] as? Bool ?? false
    }

    // MARK: plumbing

    func range(_ body: [String: Any]) async throws -> [KeyValue] {
        let answer = try await call("/v3/kv/range", body)
        let kvs = answer["kvs"] as? [[String: Any]] ?? []
        return try kvs.map { kv in
            guard let key = (kv["key"] as? String).flatMap({ Data(base64Encoded: $0) }).map({ String(decoding: $0, as: UTF8.self) }) else {
                throw DCSError.malformed("a key that is not base64")
            }
            let value = (kv["value"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
            return KeyValue(key: key, value: value, lease: Self.int64(kv["lease"]).flatMap { $0 == 0 ? nil : LeaseID($0) },
                            createRevision: Self.int64(kv["create_revision"]) ?? 0, modRevision: Self.int64(kv["mod_revision"]) ?? 0)
        }
    }

    /// One JSON call, tried on every endpoint (the last good one first) until one answers.
    func call(_ path: String, _ body: [String: Any]) async throws -> [String: Any] {
        let payload = try JSONSerialization.data(withJSONObject: body)
        var reasons: [String] = []
        for endpoint in preferred.order(endpoints) {
            var request = HTTPClientRequest(url: endpoint.appendingPathComponent(path).absoluteString)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: payload))
            do {
                let milliseconds = Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
                let response = try await client.execute(request, timeout: .milliseconds(milliseconds))
                let bytes = try await response.body.collect(upTo: 4 << 20)
                guard response.status == .ok else {
                    let text = String(buffer: bytes)
                    // A member without a quorum answers errors: try the next one.
                    reasons.append("\(endpoint.host ?? "?"):\(endpoint.port ?? 0) \(response.status.code) \(text.prefix(120))")
                    continue
                }
                guard let object = try JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any] else {
                    throw DCSError.malformed("\(path) answered no JSON object")
                }
                if let error = object["error"] as? String { throw DCSError.refused(error) }
                preferred.set(endpoint)
                return object
            } catch let error as DCSError {
                throw error
            } catch {
                reasons.append("\(endpoint.host ?? "?"):\(endpoint.port ?? 0) \(Self.short(error))")
            }
        }
        throw DCSError.unreachable(reasons)
    }

    static func short(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("deadlineExceeded") || text.contains("Timeout") || text.contains("timeout") { return "no answer in time" }
        if text.contains("connectionRefused") || text.contains("refused") { return "connection refused" }
        return String(text.prefix(120))
    }

    static func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// The end of a prefix range: the prefix with its last byte incremented.
    static func prefixEnd(_ prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.removeLast()
        }
        return "\0"
    }

    /// etcd's JSON carries 64-bit integers as strings.
    static func int64(_ value: Any?) -> Int64? {
        if let text = value as? String { return Int64(text) }
        if let number = value as? NSNumber { return number.int64Value }
        return nil
    }
}

/// Which endpoint answered last: tried first next time.
final class PreferredEndpoint: Sendable {
    private let last = SynchronizedURL()
    func order(_ endpoints: [URL]) -> [URL] {
        guard let first = last.get(), endpoints.contains(first) else { return endpoints }
        return [first] + endpoints.filter { $0 != first }
    }
    func set(_ url: URL) { last.set(url) }
}

import Synchronization

final class SynchronizedURL: Sendable {
    private let value = Mutex<URL?>(nil)
    func get() -> URL? { value.withLock { $0 } }
    func set(_ url: URL) { value.withLock { $0 = url } }
}
