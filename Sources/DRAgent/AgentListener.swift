import DRSpec
import Foundation
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOSSL

/// The HTTP server the agent's API runs on: HTTP/1.1 with an idle timeout,
/// wrapped in TLS when `agent.tls` is given.
enum AgentListener {
    static func server(tls: AgentTLS?, idleTimeout: TimeAmount) throws -> HTTPServerBuilder {
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: idleTimeout))
        guard let tls else { return http1 }
        try checkKey(tls.key)
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certificate)
        } catch {
            throw AgentError("agent.tls.certificate \(tls.certificate): not a readable PEM certificate")
        }
        do {
            key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
        } catch {
            throw AgentError("agent.tls.key \(tls.key): not a readable PEM private key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                     privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return try .tls(http1, tlsConfiguration: configuration)
    }

    /// A private key others can read is refused, as password files are.
    static func checkKey(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw AgentError("agent.tls.key \(path): no such file") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw AgentError("agent.tls.key \(path): not a regular file (a symbolic link is refused; give the file itself)")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw AgentError("agent.tls.key \(path) can be read by others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
    }
}
