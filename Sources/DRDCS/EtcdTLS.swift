import AsyncHTTPClient
import Foundation
import NIOSSL
import Synchronization

/// The files of `dcs.tls`, as absolute paths.
public struct EtcdTLSFiles: Sendable, Hashable {
    public var ca: String?
    public var certificate: String?
    public var key: String?
    public init(ca: String?, certificate: String? = nil, key: String? = nil) {
        self.ca = ca
        self.certificate = certificate
        self.key = key
    }
}

/// A `dcs.tls` file pgdr cannot use.
public struct EtcdTLSError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// One HTTPS client per set of files, for the life of the process: etcd's
/// members verified against `ca` (and named in their certificates), with a
/// client certificate when etcd asks for one (`--client-cert-auth`).
enum EtcdTLSClients {
    private static let clients = Mutex<[EtcdTLSFiles: HTTPClient]>([:])

    static func client(_ files: EtcdTLSFiles) throws -> HTTPClient {
        if let existing = clients.withLock({ $0[files] }) { return existing }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let ca = files.ca {
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) } catch {
                throw EtcdTLSError("cannot read the CA file \(ca) (dcs.tls.ca): not a readable PEM certificate")
            }
        }
        if let certificate = files.certificate, let key = files.key {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw EtcdTLSError("cannot read the client certificate \(certificate) or its key \(key) (dcs.tls)")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout.connect = .seconds(2)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        return clients.withLock { cached in
            if let existing = cached[files] {
                try? client.syncShutdown()
                return existing
            }
            cached[files] = client
            return client
        }
    }
}

extension EtcdClient {
    /// A client for members that serve HTTPS, verified against `tls`.
    public static func secured(endpoints: [URL], timeout: Duration, tls: EtcdTLSFiles) throws -> EtcdClient {
        EtcdClient(endpoints: endpoints, timeout: timeout, client: try EtcdTLSClients.client(tls))
    }
}
