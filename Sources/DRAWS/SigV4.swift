import Crypto
import Foundation

/// AWS Signature Version 4, header signing (pure). The canonical request,
/// the string to sign and the Authorization header, as AWS specifies them
/// and as botocore computes them: checked against AWS's official test suite
/// and byte for byte against botocore's signer (tests).
public enum SigV4 {
    /// A request as it goes on the wire.
    public struct Request: Sendable, Hashable {
        public var method: String
        /// The path as sent (percent-encoded where needed), without the query.
        public var path: String
        /// The query string as sent (`a=1&b=2`), without the `?`.
        public var query: String
        /// Header name and value pairs in the order given (names in any case; repeats allowed).
        public var headers: [(String, String)]
        public var body: Data

        public init(method: String, path: String, query: String = "", headers: [(String, String)], body: Data = Data()) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }

        public static func == (a: Request, b: Request) -> Bool {
            a.method == b.method && a.path == b.path && a.query == b.query && a.body == b.body
                && a.headers.map { "\($0.0):\($0.1)" } == b.headers.map { "\($0.0):\($0.1)" }
        }
        public func hash(into hasher: inout Hasher) {
            hasher.combine(method); hasher.combine(path); hasher.combine(query); hasher.combine(body)
        }
    }

    /// What signing produced, for the request and for tests.
    public struct Signature: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var authorization: String
        /// Headers to add to the request (`X-Amz-Date`, and `X-Amz-Security-Token` with a session token).
        public var addedHeaders: [(String, String)]
    }

    /// Signs `request` (it must carry a `Host` header). `date` is the signing
    /// time; its `X-Amz-Date` is added unless the request already has one.
    public static func sign(_ request: Request, credentials: AWSCredentials, region: String, service: String,
                            date: Date, normalizePath: Bool = true) -> Signature {
        let amzDate = timestamp(date)
        var headers = request.headers
        var added: [(String, String)] = []
        if !headers.contains(where: { $0.0.lowercased() == "x-amz-date" }) {
            headers.append(("X-Amz-Date", amzDate))
            added.append(("X-Amz-Date", amzDate))
        }
        if let token = credentials.sessionToken, !headers.contains(where: { $0.0.lowercased() == "x-amz-security-token" }) {
            headers.append(("X-Amz-Security-Token", token))
            added.append(("X-Amz-Security-Token", token))
        }
        let requestDate = headers.first { $0.0.lowercased() == "x-amz-date" }?.1 ?? amzDate
        let day = String(requestDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let (canonical, signedHeaders) = canonicalRequest(Request(method: request.method, path: request.path, query: request.query,
                                                                  headers: headers, body: request.body),
                                                          normalizePath: normalizePath)
        let stringToSign = ["AWS4-HMAC-SHA256", requestDate, scope, hex(SHA256.hash(data: Data(canonical.utf8)))].joined(separator: "\n")
        let key = signingKey(secret: credentials.secretAccessKey, day: day, region: region, service: service)
        let signature = hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(canonicalRequest: canonical, stringToSign: stringToSign, authorization: authorization, addedHeaders: added)
    }

    /// A pre-signed GET URL (query-string authentication, signing `host`
    /// only, an empty payload), as botocore's SigV4QueryAuth makes them: the
    /// operation's parameters first, then the X-Amz-* ones, the signature last.
    public static func presign(scheme: String, host: String, path: String = "/", parameters: [(String, String)],
                               credentials: AWSCredentials, region: String, service: String, date: Date,
                               expires: Int = 3600) -> String {
        let amzDate = timestamp(date)
        let scope = "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
        var auth: [(String, String)] = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"),
            ("X-Amz-Date", amzDate), ("X-Amz-Expires", "\(expires)"), ("X-Amz-SignedHeaders", "host"),
        ]
        if let token = credentials.sessionToken { auth.append(("X-Amz-Security-Token", token)) }
        let query = (parameters + auth).map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        let canonical = ["GET", canonicalURI(path, normalize: true), canonicalQuery(query), "host:\(host)\n", "host",
                         hex(SHA256.hash(data: Data()))].joined(separator: "\n")
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, hex(SHA256.hash(data: Data(canonical.utf8)))].joined(separator: "\n")
        let key = signingKey(secret: credentials.secretAccessKey, day: String(amzDate.prefix(8)), region: region, service: service)
        let signature = hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        return "\(scheme)://\(host)\(path)?\(query)&X-Amz-Signature=\(signature)"
    }

    /// The canonical request and the signed-headers list.
    public static func canonicalRequest(_ r: Request, normalizePath: Bool = true) -> (String, String) {
        // Headers: lower-case names, values trimmed with inner runs of spaces
        // collapsed, repeats joined with commas in the order given, sorted by name.
        var merged: [String: [String]] = [:]
        for (name, value) in r.headers {
            let trimmed = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
                .joined(separator: " ")
            merged[name.lowercased(), default: []].append(trimmed)
        }
        let names = merged.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let payload = hex(SHA256.hash(data: r.body))
        let parts = [r.method.uppercased(), canonicalURI(r.path, normalize: normalizePath), canonicalQuery(r.query),
                     canonicalHeaders, signedHeaders, payload]
        return (parts.joined(separator: "\n"), signedHeaders)
    }

    /// The path with dot segments and empty segments removed (not for S3),
    /// each segment percent-encoded once more than on the wire.
    static func canonicalURI(_ path: String, normalize: Bool) -> String {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if normalize {
            var out: [String] = []
            for segment in segments.dropFirst() {
                switch segment {
                case "", ".": continue
                case "..": if !out.isEmpty { out.removeLast() }
                default: out.append(segment)
                }
            }
            let trailing = path.count > 1 && path.hasSuffix("/") && !out.isEmpty
            return "/" + out.map(encode).joined(separator: "/") + (trailing ? "/" : "")
        }
        if segments.first == "" { segments.removeFirst() }
        return "/" + segments.map(encode).joined(separator: "/")
    }

    /// Query parameters decoded, then encoded the AWS way, sorted by name then value.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&", omittingEmptySubsequences: true).map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(String(parts[0]))
            let value = parts.count > 1 ? decode(String(parts[1])) : ""
            return (encode(name), encode(value))
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters (A–Z a–z 0–9 - _ . ~).
    public static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// Percent-decoding (a `+` stays a `+`: SigV4 reads queries literally).
    static func decode(_ text: String) -> String {
        text.removingPercentEncoding ?? text
    }

    static func signingKey(secret: String, day: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// `20150830T123600Z`.
    public static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
