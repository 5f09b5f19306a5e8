import DRAWS
import DRPostgres
import DRSpec
import Foundation
import Logging
import Synchronization

/// SQL sessions to the RDS instances: the master user's name and password
/// from the Secrets Manager secret (the copy in the instance's own region,
/// so reaching the DR instance needs nothing from a primary region that is
/// down), TLS verified against the RDS CA bundle (verify-full), each
/// instance at the endpoint RDS reports unless an address override names
/// another. Used by the CLI and the agent (`aws.database`) and by the
/// functions (their environment).
public struct RDSSessions: Sendable {
    public let deployment: RDSDeployment
    public let secretID: String
    public let caFile: String
    public let addresses: [String: HostAndPort]
    public let applicationName: String
    public let timeout: Duration
    let logger: Logger

    public init(deployment: RDSDeployment, secretID: String, caFile: String, addresses: [String: HostAndPort],
                applicationName: String, timeout: Duration = .seconds(5), logger: Logger) {
        self.deployment = deployment
        self.secretID = secretID
        self.caFile = caFile
        self.addresses = addresses
        self.applicationName = applicationName
        self.timeout = timeout
        self.logger = logger
    }

    /// From `aws.database` in pgdr.yaml; nil when it is absent (no SQL to RDS).
    public static func configured(_ deployment: RDSDeployment, applicationName: String, logger: Logger) -> RDSSessions? {
        guard let access = deployment.spec.aws.database else { return nil }
        return RDSSessions(deployment: deployment, secretID: access.secretId ?? defaultSecretID(deployment.spec), caFile: access.caFile,
                           addresses: access.addresses, applicationName: applicationName, logger: logger)
    }

    /// The secret synth creates (`NAME-master-ENV`).
    public static func defaultSecretID(_ spec: Spec) -> String { spec.resourceName("\(spec.name)-master") }

    public struct Credentials: Sendable {
        public var user: String
        public var password: Secret
    }

    /// The secret's `username` and `password` (the JSON RDS and its rotation keep), from `region`'s copy.
    /// Kept for `cacheFor` in this process (the agent samples every few seconds; a rotated
    /// password is read again at most that much later), never written anywhere.
    public func credentials(region: String) async throws -> Credentials {
        let key = "\(region)/\(secretID)"
        if let cached = Self.cache.withLock({ $0[key] }), ContinuousClock.now - cached.at < Self.cacheFor { return cached.credentials }
        let text = try await SecretsManagerAPI(client: deployment.client).secretString(secretID, region: region)
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let user = object["username"] as? String, let password = object["password"] as? String else {
            throw RDSSessionError("secret \(secretID) in \(region) is not JSON with username and password")
        }
        let credentials = Credentials(user: user, password: Secret(password))
        Self.cache.withLock { $0[key] = (credentials, ContinuousClock.now) }
        return credentials
    }

    /// After the server refused the login: the next session reads the secret again (it
    /// may have been rotated). Other failures (a timeout, recovery) keep it cached.
    public func forgetIfRefused(_ error: any Error, region: String) {
        guard (error as? PostgresFailure)?.kind == .authentication else { return }
        _ = Self.cache.withLock { $0.removeValue(forKey: "\(region)/\(secretID)") }
    }

    static let cacheFor = Duration.seconds(60)
    static let cache = Mutex<[String: (credentials: Credentials, at: ContinuousClock.Instant)]>([:])

    public func target(_ instance: DBInstance, credentials: Credentials) throws -> ConnectionTarget {
        try target(id: instance.identifier, endpoint: instance.endpointAddress.map { HostAndPort(host: $0, port: instance.endpointPort ?? 5432) },
                   status: instance.status, credentials: credentials)
    }

    /// Where `id` is reached: its override in `addresses`, else the endpoint RDS reports.
    public func target(id: String, endpoint: HostAndPort?, status: String, credentials: Credentials) throws -> ConnectionTarget {
        guard let address = addresses[id] ?? endpoint else {
            throw RDSSessionError("\(id) has no endpoint yet (status \(status))")
        }
        var target = ConnectionTarget(host: address.host, port: address.port, user: credentials.user, database: "postgres",
                                      password: credentials.password, applicationName: applicationName,
                                      connectTimeout: timeout, statementTimeout: timeout)
        target.tls = TLSSpec(mode: .verifyFull, ca: caFile)
        target.caPath = caFile
        return target
    }

    public func with<T: Sendable>(_ instance: DBInstance, _ credentials: Credentials,
                                  _ body: (PostgresSession) async throws -> T) async throws -> T {
        try await PostgresSession.with(try target(instance, credentials: credentials), logger: logger, body)
    }
}

/// A session to an RDS instance could not be set up (the secret, the endpoint).
public struct RDSSessionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
