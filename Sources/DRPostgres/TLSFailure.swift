import Foundation

/// Why a TLS connection to a server was not made, in one line that says
/// which check failed (the fix differs for each).
public enum TLSFailure: Error, CustomStringConvertible, Sendable {
    /// The server answered the SSLRequest with `N`: ssl is off there.
    case notOffered
    /// Bytes came after the server's `S` and before the handshake (an
    /// injection attempt: CVE-2021-23222).
    case unexpectedData
    case caUnreadable(path: String, cause: String)
    case expired(notAfter: Date)
    case notYetValid(notBefore: Date)
    case hostMismatch(host: String, names: [String])
    case untrusted(caPath: String)
    case handshake(String)

    public var description: String {
        switch self {
        case .notOffered:
            "the server does not offer TLS (ssl = off there); turn ssl on, or set tls.mode: disable for a trusted local path"
        case .unexpectedData:
            "the server sent data before the TLS handshake; refused (a man in the middle may be injecting it)"
        case let .caUnreadable(path, cause):
            "cannot read the CA file \(path) (tls.ca): \(cause)"
        case let .expired(notAfter):
            "the server's certificate expired on \(Self.format(notAfter)); renew it"
        case let .notYetValid(notBefore):
            "the server's certificate is not valid before \(Self.format(notBefore)); check the clocks, or the certificate"
        case let .hostMismatch(host, names):
            "host name mismatch: the server's certificate does not name \(host)"
                + (names.isEmpty ? "" : " (it names \(names.joined(separator: ", ")))")
                + "; connect by a name it carries, or reissue it"
        case let .untrusted(caPath):
            "the server's certificate is not signed by the CA in \(caPath) (wrong CA, or not the server you expect)"
        case let .handshake(cause):
            "TLS handshake failed: \(cause)"
        }
    }

    static func format(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
    }
}

/// The server asked for a login that would send the password (or an
/// unsalted-for-replay hash of it) to whoever answers: pgdr logs in with
/// SCRAM only, so it refuses and sends nothing.
public struct InsecureAuthentication: Error, CustomStringConvertible, Sendable {
    public let method: String
    public var description: String {
        "the server asked for \(method) authentication; pgdr sends passwords only through SCRAM-SHA-256 and sent nothing "
            + "(set password_encryption = scram-sha-256 and use scram-sha-256 in pg_hba.conf; if this server should already, "
            + "something else may be answering at its address)"
    }
}
