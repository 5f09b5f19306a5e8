import AsyncHTTPClient
import DRSpec
import Foundation
import NIOCore

/// The HTTP call a primary makes to its peer's agent when the DCS does not
/// answer: `POST /dcs/failsafe {"leader": NAME}`; 200 means acknowledged.
enum FailsafeCall {
    /// `client`: one that trusts the peers' CA (`agent.peerCA`) when they serve HTTPS.
    static func ask(_ api: String, leader: String, ttl: TimeSpan, timeout: Duration, client: HTTPClient = .shared) async -> Bool {
        guard !api.isEmpty, let url = URL(string: api + "/dcs/failsafe") else { return false }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: "{\"leader\":\"\(leader)\"}"))
        let milliseconds = Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard let response = try? await client.execute(request, timeout: .milliseconds(milliseconds)) else { return false }
        _ = try? await response.body.collect(upTo: 4096)
        return response.status == .ok
    }
}
