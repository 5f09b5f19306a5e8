import DRProcess
import Foundation

/// The lab's own certificate authority and one server certificate per node,
/// made with `openssl` (elliptic-curve P-256 keys). The CA's key stays in the
/// lab folder (mode 0600): it is a lab. A real deployment brings its own CA
/// and gives its certificate as `tls.ca` in pgdr.yaml.
public struct LabCertificates: Sendable {
    public let folder: String

    public init(folder: String) { self.folder = folder }

    public var authority: String { "\(folder)/ca.crt" }
    var authorityKey: String { "\(folder)/ca.key" }

    /// A new CA in `folder` (created 0700); its certificate is readable by all, its key by its owner only.
    public func makeAuthority(name: String = "pgdr lab CA", days: Int = 3650) async throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try await Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                "-keyout", authorityKey, "-out", authority, "-days", "\(days)", "-subj", "/CN=\(name)",
                                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        chmod(authorityKey, 0o600)
        chmod(authority, 0o644)
    }

    /// A server certificate for `names` (IP addresses and DNS names), signed
    /// by this CA, valid for `days` (negative: already expired, for tests).
    /// The key is written 0600 and given to `owner` (the server's user).
    public func issue(commonName: String, names: [String], certificate: String, key: String, days: Int = 825,
                      owner: ServerUser? = nil) async throws {
        let request = "\(key).csr", extensions = "\(key).ext"
        defer {
            try? FileManager.default.removeItem(atPath: request)
            try? FileManager.default.removeItem(atPath: extensions)
        }
        let alternatives = names.map { LabCertificates.isIPAddress($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
        try """
            subjectAltName=\(alternatives)
            extendedKeyUsage=serverAuth
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature,keyEncipherment

            """.write(toFile: extensions, atomically: true, encoding: .utf8)
        try await Self.openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                "-keyout", key, "-out", request, "-subj", "/CN=\(commonName)"])
        chmod(key, 0o600)
        let serial = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255) & 0x7f) }.joined()
        try await Self.openssl(["x509", "-req", "-in", request, "-CA", authority, "-CAkey", authorityKey, "-set_serial", "0x\(serial)",
                                "-days", "\(days)", "-extfile", extensions, "-out", certificate])
        chmod(certificate, 0o644)
        if let owner {
            try owner.own(key)
            try owner.own(certificate)
        }
    }

    static func openssl(_ arguments: [String]) async throws {
        do {
            _ = try await ChildProcess.checked(.init("/usr/bin/openssl", arguments, timeout: .seconds(60)))
        } catch {
            throw LocalError("openssl \(arguments.first ?? "") failed: \(error); is the openssl package installed?")
        }
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}
