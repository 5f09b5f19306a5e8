import Foundation

/// An access key, its secret and, for temporary credentials, a session
/// token. Its description never shows the secret or the token: a
/// credential printed by mistake in a log or an error reveals nothing.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working (refreshed a few minutes before).
    public var expiration: Date?
    /// Where they came from: `environment`, `profile default`, `container`, `instance metadata`.
    public var source: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil,
                source: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }

    public var description: String {
        "access key \(accessKeyID.prefix(4))…\(accessKeyID.suffix(4)) from \(source)" + (sessionToken == nil ? "" : " (temporary)")
    }
    public var debugDescription: String { description }

    /// True when they expire within `margin`.
    public func expires(within margin: TimeInterval, now: Date = Date()) -> Bool {
        expiration.map { $0.timeIntervalSince(now) < margin } ?? false
    }
}
