import DROperations
import DRSpec
import DRStatus
import Foundation
import Hummingbird
import Logging

/// `POST /operations/ID/approve` with `Authorization: Bearer TOKEN`, the token
/// read from `agent.tokenFile` (mode 0600). Without a token file the endpoint
/// answers 403: approving a failover over HTTP must be switched on on purpose.
public struct ApprovalEndpoint: Sendable {
    let spec: Spec
    let baseDirectory: String
    let token: Secret?
    let logger: Logger

    public init(spec: Spec, baseDirectory: String, token: Secret?, logger: Logger) {
        self.spec = spec
        self.baseDirectory = baseDirectory
        self.token = token
        self.logger = logger
    }

    func register(on router: Router<BasicRequestContext>) {
        router.post("/operations/:id/approve") { request, context -> Response in
            guard let token else {
                return HTTPAPI.text(.forbidden, "approval over HTTP is off: set agent.tokenFile in pgdr.yaml\n")
            }
            let header = request.headers[.authorization] ?? ""
            guard header.hasPrefix("Bearer "), Self.same(String(header.dropFirst(7)), token.reveal()) else {
                return HTTPAPI.text(.unauthorized, "a valid bearer token is required\n")
            }
            guard let id = context.parameters.get("id") else { return HTTPAPI.text(.badRequest, "no operation id\n") }
            let env = OperationEnvironment.live(spec: spec, baseDirectory: baseDirectory, logger: logger)
            do {
                let outcome = try await Approval.approve(id: id, env: env)
                return HTTPAPI.json(.ok, try ReportJSON.encode(outcome))
            } catch OperationError.refused(let refusal) {
                return HTTPAPI.text(.conflict, refusal.description + "\n")
            } catch {
                return HTTPAPI.text(.internalServerError, "\(error)\n")
            }
        }
    }

    /// Constant-time comparison, so the answer time says nothing about the token.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }
}
