import DRSpec
import Foundation

/// Everything needed to open a session on one server. Its description names
/// the server and user, never the password.
public struct ConnectionTarget: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var password: Secret?
    public var applicationName: String
    public var connectTimeout: Duration
    /// Server-side limit for every statement, so a slow query cannot hang a probe.
    public var statementTimeout: Duration
    /// How much longer than `statementTimeout` the client waits before giving up
    /// on its own. postgres-nio does not notice a backend that died while the
    /// connection was idle (measured: the next query waited out the whole
    /// deadline), so this bound is what a dead server costs a query.
    public var clientGrace: Duration = .seconds(1)
    /// How the connection is protected; `caPath` is the CA file as an absolute path.
    public var tls: TLSSpec = .unsaid
    public var caPath: String?

    public init(host: String, port: Int, user: String, database: String = "postgres", password: Secret?,
                applicationName: String = "pgdr", connectTimeout: Duration = .seconds(3),
                statementTimeout: Duration = .seconds(5)) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.password = password
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        self.statementTimeout = statementTimeout
    }

    public init(node: NodeSpec, baseDirectory: String, applicationName: String = "pgdr") throws {
        self.init(host: node.host, port: node.port, user: node.user, database: node.database,
                  password: try PasswordResolver.resolve(node.password, baseDirectory: baseDirectory),
                  applicationName: applicationName)
        protect(like: node, baseDirectory: baseDirectory)
    }

    /// The same protection as `node` (for sessions built from parts of it).
    public mutating func protect(like node: NodeSpec, baseDirectory: String) {
        tls = node.effectiveTLS
        caPath = node.effectiveTLS.caPath(resolvingAgainst: baseDirectory)
    }

    public var description: String { "\(user)@\(host):\(port)/\(database)" }
}
