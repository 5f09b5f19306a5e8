import Foundation
import Testing
@testable import DRSpec

/// `tls:` in pgdr.yaml: globally, per node, the defaults and the refusals.
@Suite struct TLSSpecTests {
    let nodes = """

        nodes:
          - {name: pg1, region: us-east-1, host: 10.0.1.5, passwordFile: p}
          - {name: pg2, region: us-east-2, host: 10.1.1.5, passwordFile: p, tls: {mode: verify-ca, ca: /etc/other-ca.pem}}
        """

    @Test func aGlobalCAMeansVerifyFullAndANodeMayHaveItsOwn() throws {
        let spec = try SpecParser.parse(yaml: minimalSpec + "\ntls: {ca: certs/ca.pem}" + nodes).spec
        #expect(spec.nodes[0].effectiveTLS == TLSSpec(mode: .verifyFull, ca: "certs/ca.pem"))
        #expect(spec.nodes[1].effectiveTLS == TLSSpec(mode: .verifyCA, ca: "/etc/other-ca.pem"))
        #expect(spec.nodes[0].effectiveTLS.caPath(resolvingAgainst: "/srv/pgdr") == "/srv/pgdr/certs/ca.pem")
        #expect(spec.nodes[0].effectiveTLS.libpqParameters(resolvingAgainst: "/srv/pgdr").map { "\($0.0)=\($0.1)" }
                == ["sslmode=verify-full", "sslrootcert=/srv/pgdr/certs/ca.pem"])
    }

    @Test func withoutTLSTheConnectionIsEncryptedUnverifiedAndValidateSaysSo() throws {
        let parsed = try SpecParser.parse(yaml: minimalSpec + """

            nodes:
              - {name: pg1, region: us-east-1, host: 10.0.1.5, passwordFile: p}
              - {name: pg2, region: us-east-2, host: 10.1.1.5, passwordFile: p}
            """)
        #expect(parsed.spec.nodes[0].effectiveTLS == TLSSpec(mode: .require))
        let warning = parsed.warnings.first { $0.path == "nodes[0]" && $0.message.contains("without verifying the server") }
        #expect(warning != nil, "\(parsed.warnings.map(\.description))")
        #expect(warning?.hint?.contains("tls: {ca: FILE}") == true)
    }

    @Test func plaintextToAnotherHostIsAllowedButWarned() throws {
        let parsed = try SpecParser.parse(yaml: minimalSpec + "\ntls: {mode: disable}" + """

            nodes:
              - {name: pg1, region: us-east-1, host: 10.0.1.5, passwordFile: p}
              - {name: pg2, region: us-east-2, host: 127.0.0.1, passwordFile: p}
            """)
        #expect(parsed.warnings.contains { $0.path == "nodes[0].tls.mode" && $0.message.contains("in the clear") })
        #expect(!parsed.warnings.contains { $0.path.hasPrefix("nodes[1]") && $0.message.contains("TLS") }, "loopback is a trusted path")
    }

    @Test func verifyingWithoutACAAndAModeThatFallsBackAreRefused() {
        let missing = errorAt("tls.mode", in: minimalSpec + "\ntls: {mode: verify-full}" + nodes)
        #expect(missing?.message.contains("needs the certificate authority") == true)
        let prefer = errorAt("tls.mode", in: minimalSpec + "\ntls: {mode: prefer, ca: x.pem}" + nodes)
        #expect(prefer?.message.contains("disable, require, verify-ca, verify-full") == true)
        _ = errorAt("nodes[0].tls.cert", in: minimalSpec + """

            nodes:
              - {name: pg1, region: us-east-1, host: h, passwordFile: p, tls: {cert: x}}
              - {name: pg2, region: us-east-2, host: h, passwordFile: p}
            """)
    }
}
