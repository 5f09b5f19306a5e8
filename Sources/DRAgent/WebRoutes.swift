import DROperations
import DRSpec
import DRStatus
import Foundation
import Hummingbird

/// The web page on the agent's listener: `GET /` (the page), `GET /ui/live`
/// (its refreshed part) and `GET /ui/operations/ID` (a plan's details, only
/// with the bearer token). Approving goes through `POST
/// /operations/ID/approve`, the endpoint with every server-side check.
/// Pages are never cached or framed, and run only their own script (CSP nonce).
public struct WebRoutes: Sendable {
    let spec: Spec
    let state: AgentState
    let store: OperationStore
    let approvals: ApprovalEndpoint

    public init(spec: Spec, state: AgentState, store: OperationStore, approvals: ApprovalEndpoint) {
        self.spec = spec
        self.state = state
        self.store = store
        self.approvals = approvals
    }

    func register(on router: Router<AgentRequestContext>) {
        router.get("/") { _, _ -> Response in
            let nonce = Self.nonce()
            return html(WebPage.page(await snapshot(), nonce: nonce), csp: "default-src 'none'; script-src 'nonce-\(nonce)'; "
                        + "style-src 'nonce-\(nonce)'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
        }
        router.get("/ui/live") { _, _ -> Response in
            html(WebPage.live(await snapshot()), csp: "default-src 'none'; frame-ancestors 'none'")
        }
        router.get("/ui/operations/:id") { request, context -> Response in
            switch approvals.authorize(request, caller: context.caller) {
            case .off: return HTTPAPI.text(.forbidden, "approval over HTTP is off: set agent.tokenFile in pgdr.yaml\n")
            case .limited(let wait): return HTTPAPI.text(.tooManyRequests, "too many attempts; try again in \(Int(wait.rounded(.up))) s\n")
            case .unauthorized: return HTTPAPI.text(.unauthorized, "a valid bearer token is required\n")
            case .allowed: break
            }
            guard let id = context.parameters.get("id"), OperationStore.isValidID(id), let plan = store.plan(id) else {
                return HTTPAPI.text(.notFound, "no such plan\n")
            }
            return HTTPAPI.json(.ok, try ReportJSON.encode(plan))
        }
    }

    func snapshot() async -> WebPage.Snapshot {
        let threshold = spec.effectiveAlarms.first { $0.name == "replication-lag" }?.metric?.threshold
            ?? spec.monitoring.thresholds.replicationLag.seconds
        return WebPage.Snapshot(deployment: spec.resourceName(spec.name), primaryRegion: spec.primary.region, drRegion: spec.dr.region,
                                report: await state.report, lastRound: await state.lastRound, alarms: await state.alarms,
                                history: await state.history, operations: OperationSummary.all(store: store),
                                lagThreshold: threshold, approvals: approvals.token != nil, now: Date())
    }

    func html(_ body: String, csp: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .xContentTypeOptions: "nosniff",
                                        .cacheControl: "no-store", .contentSecurityPolicy: csp,
                                        .init("Referrer-Policy")!: "no-referrer", .init("X-Frame-Options")!: "DENY"],
                 body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func nonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
