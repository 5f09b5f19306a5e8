import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import SWXMLHash
import Synchronization

/// The few AWS wire protocols pgdr needs, signed with SigV4, with the AWS
/// SDKs' retry behaviour: throttling, 5xx and dropped connections are
/// retried with exponential backoff and full jitter; an expired temporary
/// credential is fetched again once. Every call is counted (and logged at
/// debug level), since RDS's API limits are low.
public final class AWSClient: Sendable {
    public let credentials: CredentialChain
    public let endpoints: AWSEndpoints
    let http: HTTPClient
    let logger: Logger
    let maxAttempts: Int
    let timeout: Duration
    private let counts: CallCounter

    public convenience init(credentials: CredentialChain = CredentialChain(), endpoints: AWSEndpoints = AWSEndpoints(),
                http: HTTPClient = .aws, maxAttempts: Int = 5, timeout: Duration = .seconds(20),
                logger: Logger = Logger(label: "pgdr.aws")) {
        self.init(credentials: credentials, endpoints: endpoints, http: http, maxAttempts: maxAttempts, timeout: timeout,
                  logger: logger, counts: CallCounter())
    }

    init(credentials: CredentialChain, endpoints: AWSEndpoints, http: HTTPClient, maxAttempts: Int, timeout: Duration,
         logger: Logger, counts: CallCounter) {
        self.credentials = credentials
        self.endpoints = endpoints
        self.http = http
        self.maxAttempts = maxAttempts
        self.timeout = timeout
        self.logger = logger
        self.counts = counts
    }

    /// The same client (credentials, endpoints, call counts) with other retry limits.
    public func with(maxAttempts: Int, timeout: Duration) -> AWSClient {
        AWSClient(credentials: credentials, endpoints: endpoints, http: http, maxAttempts: maxAttempts, timeout: timeout,
                  logger: logger, counts: counts)
    }

    /// Calls made so far, by `service:Action`.
    public var callCounts: [String: Int] { counts.value.withLock { $0 } }
    public var totalCalls: Int { counts.value.withLock { $0.values.reduce(0, +) } }
    /// The backoff waits taken so far, in order (what the client chose; the
    /// server sees at least these gaps between attempts).
    public var retryWaits: [Duration] { counts.waits.withLock { $0 } }

    // MARK: protocols

    /// The Query protocol (RDS, CloudWatch, SNS, STS, IAM): a form POST; the answer is XML.
    public func query(_ service: AWSService, region: String, action: String, version: String,
                      _ parameters: [(String, String)] = []) async throws -> XMLIndexer {
        let form = Self.formBody([("Action", action), ("Version", version)] + parameters)
        let data = try await send(service, region: region, action: action, method: "POST", path: "/", query: "",
                                  headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                                  body: Data(form.utf8)) { status, body in Self.queryError(status: status, body: body) }
        return XMLHash.parse(data)
    }

    /// The JSON 1.1 protocol (Secrets Manager): `X-Amz-Target: PREFIX.Action`.
    public func json(_ service: AWSService, region: String, target: String, _ body: [String: Any]) async throws -> [String: Any] {
        let payload = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        let action = String(target.split(separator: ".").last ?? Substring(target))
        let data = try await send(service, region: region, action: action, method: "POST", path: "/", query: "",
                                  headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", target)],
                                  body: payload) { status, body in Self.jsonError(status: status, body: body) }
        // Some actions (CloudWatch Logs DeleteLogGroup) answer 200 with no body at all.
        if data.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") }) { return [:] }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw AWSError.malformed(.init(service: service.signingName, region: region, action: action), "not a JSON object")
        }
        return object
    }

    /// The REST-XML protocol (Route 53).
    public func restXML(_ service: AWSService, region: String, action: String, method: String, path: String,
                        query: String = "", body: String? = nil) async throws -> XMLIndexer {
        let headers: [(String, String)] = body == nil ? [] : [("Content-Type", "application/xml")]
        let data = try await send(service, region: region, action: action, method: method, path: path, query: query,
                                  headers: headers, body: Data((body ?? "").utf8)) { status, body in
            Self.queryError(status: status, body: body)
        }
        return XMLHash.parse(data)
    }

    /// S3's REST protocol: virtual-hosted addressing (`BUCKET.s3.REGION.amazonaws.com/KEY`) on AWS,
    /// path-style (`/BUCKET/KEY`) on an overridden endpoint; the payload's SHA-256 in
    /// `x-amz-content-sha256`, and the key signed as it is (S3 does not normalise paths).
    /// The answer's body (empty for HEAD and PUT).
    public func s3(region: String, action: String, method: String, bucket: String, key: String = "", query: String = "",
                   headers extra: [(String, String)] = [], body: Data = Data()) async throws -> Data {
        let payload = SigV4.hex(SHA256.hash(data: body))
        let objectPath = key.isEmpty ? "" : "/" + key
        let address: S3Address = endpoints.isOverridden(.s3)
            ? S3Address(hostPrefix: "", path: "/\(bucket)\(objectPath)")
            : S3Address(hostPrefix: "\(bucket).", path: objectPath.isEmpty ? "/" : objectPath)
        return try await send(.s3, region: region, action: action, method: method, path: address.path, query: query,
                              headers: [("x-amz-content-sha256", payload)] + extra, body: body, s3: address) { status, body in
            Self.queryError(status: status, body: body)
        }
    }

    /// Where an S3 request goes: a host prefix (the bucket, virtual-hosted) and the unencoded path.
    struct S3Address: Sendable {
        var hostPrefix: String
        var path: String
    }

    /// A pre-signed URL for a Query-protocol action in `region` (RDS needs
    /// one, made in the source region, to copy an encrypted instance across regions).
    public func presignedQueryURL(_ service: AWSService, region: String, action: String, version: String,
                                  _ parameters: [(String, String)]) async throws -> String {
        let base = endpoints.url(service, region: region)
        var host = base.host ?? ""
        if let port = base.port, !((base.scheme == "https" && port == 443) || (base.scheme == "http" && port == 80)) { host += ":\(port)" }
        return SigV4.presign(scheme: base.scheme ?? "https", host: host, path: base.path.isEmpty ? "/" : base.path,
                             parameters: [("Action", action), ("Version", version)] + parameters,
                             credentials: try await credentials.credentials(), region: endpoints.signingRegion(service, region: region),
                             service: service.signingName, date: Date())
    }

    /// `application/x-www-form-urlencoded` as botocore writes it (Python's
    /// `urlencode`): unreserved characters as they are, a space as `+`,
    /// everything else `%XX`.
    public static func formBody(_ parameters: [(String, String)]) -> String {
        func encode(_ text: String) -> String { SigV4.encode(text).replacingOccurrences(of: "%20", with: "+") }
        return parameters.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    // MARK: sending

    typealias ErrorReader = @Sendable (Int, Data) -> (code: String, message: String)

    /// A request ready to go: its URL and every header, Authorization included.
    public struct Prepared: Sendable {
        public var url: String
        public var method: String
        public var headers: [(String, String)]
        public var signature: SigV4.Signature
    }

    /// Builds and signs one request exactly as `send` sends it (pure; the tests compare it with botocore).
    public func prepare(_ service: AWSService, region: String, method: String, path: String, query: String,
                        headers extra: [(String, String)], body: Data, credentials creds: AWSCredentials, date: Date) -> Prepared {
        prepare(service, region: region, method: method, path: path, query: query, headers: extra, body: body, credentials: creds,
                date: date, s3: nil)
    }

    func prepare(_ service: AWSService, region: String, method: String, path: String, query: String,
                 headers extra: [(String, String)], body: Data, credentials creds: AWSCredentials, date: Date,
                 s3: S3Address?) -> Prepared {
        let base = endpoints.url(service, region: region)
        let basePath = base.path == "/" ? "" : base.path
        let fullPath = basePath + path
        var host = (s3?.hostPrefix ?? "") + (base.host ?? "")
        if let port = base.port, !((base.scheme == "https" && port == 443) || (base.scheme == "http" && port == 80)) {
            host += ":\(port)"
        }
        let headers = [("Host", host)] + extra
        let signed = SigV4.sign(.init(method: method, path: fullPath, query: query, headers: headers, body: body),
                                credentials: creds, region: endpoints.signingRegion(service, region: region),
                                service: service.signingName, date: date, normalizePath: s3 == nil)
        // S3 signs the path encoded once (SigV4.canonicalURI): the wire carries that same encoding.
        let wirePath = s3 == nil ? fullPath : SigV4.canonicalURI(fullPath, normalize: false)
        let url = "\(base.scheme ?? "https")://\(host)\(wirePath)" + (query.isEmpty ? "" : "?\(query)")
        return Prepared(url: url, method: method, headers: headers + signed.addedHeaders + [("Authorization", signed.authorization)],
                        signature: signed)
    }

    func send(_ service: AWSService, region: String, action: String, method: String, path: String, query: String,
              headers extra: [(String, String)], body: Data, s3: S3Address? = nil, readError: ErrorReader) async throws -> Data {
        let call = AWSError.Call(service: service.signingName, region: region, action: action)
        var refreshed = false
        var attempt = 0
        while true {
            attempt += 1
            counts.value.withLock { $0["\(service.signingName):\(action)", default: 0] += 1 }
            logger.debug("aws call", metadata: ["service": "\(service.signingName)", "action": "\(action)", "region": "\(region)",
                                                "attempt": "\(attempt)"])
            let prepared = prepare(service, region: region, method: method, path: path, query: query, headers: extra, body: body,
                                   credentials: try await credentials.credentials(), date: Date(), s3: s3)
            var request = HTTPClientRequest(url: prepared.url)
            request.method = HTTPMethod(rawValue: method)
            for (name, value) in prepared.headers where name != "Host" { request.headers.add(name: name, value: value) }
            request.headers.add(name: "User-Agent", value: "pgdr")
            if !body.isEmpty || method == "POST" || method == "PUT" { request.body = .bytes(ByteBuffer(data: body)) }
            do {
                let response = try await http.execute(request, timeout: .seconds(timeout.components.seconds))
                let data = Data(buffer: try await response.body.collect(upTo: 16 << 20))
                let status = Int(response.status.code)
                if (200..<300).contains(status) { return data }
                let (code, message) = readError(status, data)
                if Self.expired(code) && !refreshed {
                    refreshed = true
                    credentials.invalidate()
                    continue
                }
                if (Self.throttled(code) || status >= 500 || status == 429) && attempt < maxAttempts {
                    try await backoff(attempt, call)
                    continue
                }
                throw AWSError.service(call, code: code, message: message, status: status, attempts: attempt)
            } catch let error as AWSError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if attempt < maxAttempts {
                    try await backoff(attempt, call)
                    continue
                }
                throw AWSError.transport(call, Self.short(error), attempts: attempt)
            }
        }
    }

    /// The most a wait after `attempt` failed attempts may be: min(5 s, 200 ms × 2^attempt).
    public static func backoffCap(_ attempt: Int) -> Duration {
        .milliseconds(Int(min(5.0, 0.2 * pow(2.0, Double(max(0, min(attempt, 30))))) * 1000))
    }

    /// Full jitter: a uniformly random wait from zero up to the cap (pure; `unit` in 0...1).
    public static func backoffDelay(_ attempt: Int, unit: Double) -> Duration {
        let capMilliseconds = Double(backoffCap(attempt).components.seconds * 1000)
            + Double(backoffCap(attempt).components.attoseconds) / 1e15
        return .milliseconds(Int((capMilliseconds * min(1, max(0, unit))).rounded(.down)))
    }

    private func backoff(_ attempt: Int, _ call: AWSError.Call) async throws {
        let wait = Self.backoffDelay(attempt, unit: Double.random(in: 0...1))
        counts.waits.withLock { $0.append(wait) }
        logger.debug("aws retry", metadata: ["service": "\(call.service)", "action": "\(call.action)", "attempt": "\(attempt)",
                                             "wait": "\(wait)"])
        try await Task.sleep(for: wait)
    }

    static func throttled(_ code: String) -> Bool {
        ["Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
         "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
         "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
         "EC2ThrottledException"].contains(code)
    }

    static func expired(_ code: String) -> Bool {
        ["ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"].contains(code)
    }

    static func short(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("connectTimeout") || text.contains("deadlineExceeded") || text.contains("Timeout") { return "timed out" }
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        return String(text.prefix(160))
    }

    /// `<ErrorResponse><Error><Code>…</Code><Message>…</Message></Error></ErrorResponse>` (Query and REST-XML).
    static func queryError(status: Int, body: Data) -> (code: String, message: String) {
        let xml = XMLHash.parse(body)
        // AWS: <ErrorResponse><Error>; EC2-style and moto: <Response|ErrorResponse><Errors><Error>; S3-style: <Error>.
        let candidates = [xml["ErrorResponse"]["Error"], xml["ErrorResponse"]["Errors"]["Error"], xml["Response"]["Errors"]["Error"], xml["Error"]]
        let error = candidates.first { $0["Code"].element != nil } ?? xml["Error"]
        let code = error["Code"].element?.text ?? "HTTP\(status)"
        let message = error["Message"].element?.text ?? String(decoding: body.prefix(200), as: UTF8.self)
        return (code, message)
    }

    /// `{"__type": "...#Code", "message": "..."}` (JSON protocols).
    static func jsonError(status: Int, body: Data) -> (code: String, message: String) {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        let type = (object["__type"] as? String ?? object["code"] as? String ?? "HTTP\(status)")
        let code = String(type.split(separator: "#").last ?? Substring(type))
        let message = object["message"] as? String ?? object["Message"] as? String ?? ""
        return (code, message)
    }
}

/// Calls made, by `service:Action`, shared by a client and its variants.
final class CallCounter: Sendable {
    let value = Mutex<[String: Int]>([:])
    let waits = Mutex<[Duration]>([])
}

extension XMLIndexer {
    /// The text of a child path, or nil.
    public func text(_ names: String...) -> String? {
        var node = self
        for name in names { node = node[name] }
        return node.element?.text
    }
}
