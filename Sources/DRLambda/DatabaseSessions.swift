import DRAWS
import DRPostgres
import DRRDS
import DRSpec
import Foundation
import Logging

/// Sessions from a function to the two RDS instances: the master
/// credentials from Secrets Manager (this region's copy), TLS checked
/// against the RDS CA bundle (verify-full), each instance at the endpoint
/// RDS reports unless an address override names it.
struct DatabaseSessions: Sendable {
    let settings: FunctionSettings
    let deployment: RDSDeployment
    let logger: Logger

    struct Credentials: Sendable {
        var user: String
        var password: Secret
    }

    /// The secret's `username` and `password` (the JSON RDS and the rotation function keep).
    func credentials() async throws -> Credentials {
        let text = try await SecretsManagerAPI(client: deployment.client).secretString(settings.secretID, region: settings.region)
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let user = object["username"] as? String, let password = object["password"] as? String else {
            throw FunctionError(type: "pgdr.Secret", message: "secret \(settings.secretID) is not JSON with username and password")
        }
        return Credentials(user: user, password: Secret(password))
    }

    func target(_ instance: DBInstance, credentials: Credentials) throws -> ConnectionTarget {
        let address = settings.addresses[instance.identifier]
            ?? instance.endpointAddress.map { ($0, instance.endpointPort ?? 5432) }
        guard let address else {
            throw FunctionError(type: "pgdr.Endpoint", message: "\(instance.identifier) has no endpoint yet (status \(instance.status))")
        }
        var target = ConnectionTarget(host: address.host, port: address.port, user: credentials.user, database: "postgres",
                                      password: credentials.password, applicationName: "pgdr-\(settings.kind.rawValue)",
                                      connectTimeout: .seconds(5), statementTimeout: .seconds(5))
        target.tls = TLSSpec(mode: .verifyFull, ca: settings.caFile)
        target.caPath = settings.caFile
        return target
    }

    func with<T: Sendable>(_ instance: DBInstance, _ credentials: Credentials,
                           _ body: (PostgresSession) async throws -> T) async throws -> T {
        try await PostgresSession.with(try target(instance, credentials: credentials), logger: logger, body)
    }
}
