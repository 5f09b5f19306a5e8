import DROperations
import DRSpec
import DRStatus
import Foundation
import Hummingbird
import Logging
import Synchronization

/// `POST /operations/ID/approve` with `Authorization: Bearer TOKEN`, the token
/// read from `agent.tokenFile` (mode 0600). Without a token file the endpoint
/// answers 403: approving a failover over HTTP must be switched on on purpose.
/// Every attempt is journaled with the caller's address and its outcome, and
/// attempts are rate-limited per caller and overall (429 beyond).
public struct ApprovalEndpoint: Sendable {
    let spec: Spec
    let baseDirectory: String
    let token: Secret?
    let logger: Logger
    let journal: Journal?
    let limiter: Limiter

    /// The limiter behind a lock, shared by every request.
    final class Limiter: Sendable {
        let state: Mutex<ApprovalLimiter>
        init(_ limiter: ApprovalLimiter) { state = Mutex(limiter) }
        func admit(_ caller: String) -> TimeInterval? { state.withLock { $0.admit(caller, at: Date()) } }
    }

    public init(spec: Spec, baseDirectory: String, token: Secret?, journal: Journal? = nil,
                limiter: ApprovalLimiter = ApprovalLimiter(), logger: Logger) {
        self.spec = spec
        self.baseDirectory = baseDirectory
        self.token = token
        self.journal = journal
        self.limiter = Limiter(limiter)
        self.logger = logger
    }

    func register(on router: Router<AgentRequestContext>) {
        router.post("/operations/:id/approve") { request, context -> Response in
            let caller = context.caller
            // Only an id of the shape pgdr makes is journaled or looked up (never echoed).
            let id = context.parameters.get("id").flatMap { $0.wholeMatch(of: /[a-z]+-[0-9a-f]{8}/) != nil ? $0 : nil }
            guard let token else {
                await record(caller, id, "refused: approval over HTTP is off", ok: false)
                return HTTPAPI.text(.forbidden, "approval over HTTP is off: set agent.tokenFile in pgdr.yaml\n")
            }
            if let wait = limiter.admit(caller) {
                await record(caller, id, "rate-limited", ok: false)
                return Response(status: .tooManyRequests, headers: [.contentType: "text/plain; charset=utf-8",
                                                                    .retryAfter: "\(Int(wait.rounded(.up)))"],
                                body: .init(byteBuffer: ByteBuffer(string: "too many approval attempts; try again in \(Int(wait.rounded(.up))) s\n")))
            }
            let header = request.headers[.authorization] ?? ""
            guard header.hasPrefix("Bearer "), Self.same(String(header.dropFirst(7)), token.reveal()) else {
                await record(caller, id, "unauthorized: no valid bearer token", ok: false)
                return HTTPAPI.text(.unauthorized, "a valid bearer token is required\n")
            }
            guard let id else {
                await record(caller, nil, "refused: not an operation id", ok: false)
                return HTTPAPI.text(.badRequest, "not an operation id (they look like failover-1a2b3c4d)\n")
            }
            let env = OperationEnvironment.live(spec: spec, baseDirectory: baseDirectory, logger: logger)
            do {
                let outcome = try await Approval.approve(id: id, env: env)
                await record(caller, id, "approved", ok: true)
                return HTTPAPI.json(.ok, try ReportJSON.encode(outcome))
            } catch OperationError.refused(let refusal) {
                await record(caller, id, "refused: \(refusal.description)", ok: false)
                return HTTPAPI.text(.conflict, refusal.description + "\n")
            } catch {
                await record(caller, id, "failed: \(error)", ok: false)
                return HTTPAPI.text(.internalServerError, "\(error)\n")
            }
        }
    }

    enum Authorization { case off, limited(TimeInterval), unauthorized, allowed }

    /// The bearer-token check for the web page's plan details (read-only):
    /// a wrong or missing token counts against the same per-caller limit as
    /// approvals, so it cannot be guessed faster there; the right one reads freely.
    func authorize(_ request: Request, caller: String) -> Authorization {
        guard let token else { return .off }
        let header = request.headers[.authorization] ?? ""
        if header.hasPrefix("Bearer ") && Self.same(String(header.dropFirst(7)), token.reveal()) { return .allowed }
        if let wait = limiter.admit(caller) { return .limited(wait) }
        return .unauthorized
    }

    /// One journal entry per attempt: who asked, for which operation, and what came of it.
    func record(_ caller: String, _ id: String?, _ outcome: String, ok: Bool) async {
        logger.notice("approval over HTTP", metadata: ["caller": "\(caller)", "operation": "\(id ?? "-")", "outcome": "\(outcome)"])
        _ = try? await journal?.append(.init(at: Date(), kind: .approval, reason: outcome, notice: id, ok: ok, caller: caller))
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
