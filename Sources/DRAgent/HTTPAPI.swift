import DROrchestrator
import DRSpec
import DRStatus
import Foundation
import Hummingbird

/// The agent's HTTP API: Prometheus metrics, the status report, the agent's
/// own health, and load-balancer checks in the style of Patroni's
/// (`/primary`, `/replica`): 200 only while the answer is yes, 503 otherwise,
/// including when the agent's newest round is stale.
public enum HTTPAPI {
    /// `nodes`: the names in pgdr.yaml; a query naming another node is not echoed back.
    public static func router(state: AgentState, exporter: MetricsExporter, nodes: [String],
                              approvals: ApprovalEndpoint? = nil, ha: HAService? = nil, web: WebRoutes? = nil) -> Router<AgentRequestContext> {
        let router = Router(context: AgentRequestContext.self)
        let known = Set(nodes)
        approvals?.register(on: router)
        web?.register(on: router)
        if let ha { register(ha, on: router) }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: exporter.render())))
        }
        router.get("/status") { _, _ -> Response in
            guard let report = await state.report else {
                return text(.serviceUnavailable, "no round completed yet\n")
            }
            return json(report.healthy ? .ok : .serviceUnavailable, try ReportJSON.encode(report))
        }
        router.get("/health") { _, _ -> Response in
            let fresh = await state.freshReport() != nil
            let body = try ReportJSON.encode(Health(status: fresh ? "ok" : "stale", rounds: await state.rounds,
                                                    lastRound: await state.lastRound))
            return json(fresh ? .ok : .serviceUnavailable, body)
        }
        router.get("/primary") { request, _ -> Response in
            guard let name = request.uri.queryParameters.get("node").map({ value in String(value) }) else {
                return text(.badRequest, "give the node: /primary?node=NAME\n")
            }
            guard known.contains(name) else { return text(.notFound, "no such node in pgdr.yaml\n") }
            guard let report = await state.freshReport() else { return text(.serviceUnavailable, "no fresh round\n") }
            if let ha {
                // Quorum mode: the primary is the holder of the leader key, if it takes writes.
                let view = ha.snapshot
                guard let leader = view.leader?.node else { return text(.serviceUnavailable, "nobody holds the leader key\n") }
                let writable = report.nodes.contains { $0.name == leader && $0.reachable && $0.role == .primary }
                let yes = leader == name && writable
                return text(yes ? .ok : .serviceUnavailable, yes ? "\(name) is the primary (it holds the leader key)\n"
                                                             : "\(name) is not the primary (the leader key: \(leader))\n")
            }
            let writable = report.nodes.filter { $0.reachable && $0.role == .primary }
            if writable.count == 1 {
                let isPrimary = writable[0].name == name
                return text(isPrimary ? .ok : .serviceUnavailable, isPrimary ? "\(name) is the primary\n" : "\(name) is not the primary\n")
            }
            // Two writable primaries: the journal's last promotion names the legitimate one.
            if let verdict = SplitBrain.judge(report, lastPromotion: await state.lastPromotion), let legitimate = verdict.legitimate {
                return text(legitimate == name ? .ok : .serviceUnavailable,
                            legitimate == name ? "\(name) is the primary (\(verdict.stale ?? "another node") is a demoted primary that still takes writes)\n"
                                               : "\(name) is not the primary: \(verdict.advice)\n")
            }
            return text(.serviceUnavailable, writable.isEmpty ? "no writable primary\n" : "\(name): more than one writable primary and no record of which is legitimate\n")
        }
        router.get("/replica") { request, _ -> Response in
            guard let name = request.uri.queryParameters.get("node").map({ value in String(value) }) else {
                return text(.badRequest, "give the node: /replica?node=NAME[&lag=16MB]\n")
            }
            guard known.contains(name) else { return text(.notFound, "no such node in pgdr.yaml\n") }
            var limit: Int64?
            if let lag = request.uri.queryParameters.get("lag") {
                guard let size = ByteSize(parsing: lag) else { return text(.badRequest, "lag must be a size such as 16MB\n") }
                limit = size.bytes
            }
            guard let report = await state.freshReport() else { return text(.serviceUnavailable, "no fresh round\n") }
            guard let node = report.nodes.first(where: { $0.name == name }), node.reachable, node.role == .standby,
                  node.isStreaming else {
                return text(.serviceUnavailable, "\(name) is not a streaming standby\n")
            }
            if let limit, let lag = report.replication?.lagBytes, report.replication?.standby == name, lag > limit {
                return text(.serviceUnavailable, "\(name) lags \(lag) bytes, over \(limit)\n")
            }
            return text(.ok, "\(name) is a streaming standby\n")
        }
        return router
    }

    /// Quorum mode: `POST /dcs/failsafe` (a primary that cannot reach the DCS
    /// asks to be acknowledged) and `GET /dcs` (this agent's view).
    static func register(_ ha: HAService, on router: Router<AgentRequestContext>) {
        router.post("/dcs/failsafe") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 4096)
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any]
            guard let leader = object?["leader"] as? String else { return text(.badRequest, "give the leader: {\"leader\": NAME}\n") }
            return ha.acknowledgeFailsafe(from: leader) ? text(.ok, "acknowledged \(leader)\n")
                                                         : text(.conflict, "not acknowledged: this node is not a standby or holds the key\n")
        }
        router.get("/dcs") { _, _ -> Response in
            let view = ha.snapshot
            let object: [String: Any] = [
                "leader": view.leader?.node ?? NSNull(), "dcsReachable": view.dcsReachable,
                "leaseSecondsLeft": view.leaseLeft.map { Int($0.components.seconds) } ?? NSNull(),
                "role": view.role.map { "\($0)" } ?? NSNull(), "state": view.lastAction,
                "members": view.members.map { ["node": $0.node, "at": $0.at.timeIntervalSince1970, "fenced": $0.fenced,
                                               "role": $0.sample.role?.rawValue ?? "unreachable"] as [String: Any] },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            return json(.ok, String(decoding: data, as: UTF8.self))
        }
    }

    struct Health: Encodable {
        var status: String
        var rounds: Int
        var lastRound: Date?
    }

    /// Plain text, never sniffed as anything else by a browser.
    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8", .xContentTypeOptions: "nosniff"],
                 body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: body + "\n")))
    }
}
