import AsyncHTTPClient
import Foundation
import NIOSSL

/// The HTTP client an agent calls its peers with: trusting `agent.peerCA`
/// when the agents serve HTTPS with certificates from a CA of their own.
enum PeerClient {
    static func make(peerCA: String?) throws -> HTTPClient {
        guard let peerCA else { return .shared }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(peerCA)) } catch {
            throw AgentError("agent.peerCA \(peerCA): not a readable PEM certificate")
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout.connect = .seconds(2)
        // Lives as long as the agent's process.
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
