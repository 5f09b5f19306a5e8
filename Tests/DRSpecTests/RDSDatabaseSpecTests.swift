import Foundation
import Testing
@testable import DRSpec

/// `aws.database`: SQL to the RDS instances.
@Suite struct RDSDatabaseSpecTests {
    @Test func readsEveryKey() throws {
        let spec = try SpecParser.parse(yaml: minimalSpec + """

            target: aws
            aws:
              database:
                caFile: /etc/pgdr/global-bundle.pem
                secretId: orders-master-prod
                addresses: {orders-db-prod: "127.0.0.1:15432", orders-replica-prod: "[::1]:15433"}
                writeTimeout: 30s
            """).spec
        let access = try #require(spec.aws.database)
        #expect(access.caFile == "/etc/pgdr/global-bundle.pem")
        #expect(access.secretId == "orders-master-prod")
        #expect(access.addresses["orders-db-prod"] == HostAndPort(host: "127.0.0.1", port: 15432))
        #expect(access.addresses["orders-replica-prod"] == HostAndPort(host: "::1", port: 15433))
        #expect(access.writeTimeout == .seconds(30))
        #expect(try SpecParser.parse(yaml: minimalSpec + "\ntarget: aws\n").spec.aws.database == nil, "no SQL unless asked for")
    }

    @Test func badInputIsNamedWhereItIs() {
        let base = minimalSpec + "\ntarget: aws\naws:\n  database:\n"
        #expect(errorAt("aws.database.caFile", in: base + "    secretId: x\n")?.hint?.contains("global-bundle.pem") == true)
        #expect(errorAt("aws.database.addresses.orders-db-prod", in: base + "    caFile: /ca.pem\n    addresses: {orders-db-prod: nowhere}\n")?
            .message.contains("not HOST:PORT") == true)
        #expect(errorAt("aws.database.addresses.orders-db-pord", in: base + "    caFile: /ca.pem\n    addresses: {orders-db-pord: \"h:5432\"}\n")?
            .hint?.contains("orders-db-prod and orders-replica-prod") == true)
        #expect(errorAt("aws.database.writeTimeout", in: base + "    caFile: /ca.pem\n    writeTimeout: 1s\n") != nil)
        #expect(errorAt("aws.database.caFlie", in: base + "    caFile: /ca.pem\n    caFlie: x\n")?.hint?.contains("caFile") == true)
    }

    @Test func theHealthCheckStatusReportsOn() throws {
        let dns = "\ndns:\n  hostedZoneId: Z0123456789ABC\n  recordName: db.example.com\n"
        let spec = try SpecParser.parse(yaml: minimalSpec + dns + "  healthCheckId: 0f2c7e51-0a6d-4b1c-9a8e-3d5f6a7b8c9d\n").spec
        #expect(spec.dns?.healthCheckId == "0f2c7e51-0a6d-4b1c-9a8e-3d5f6a7b8c9d")
        #expect(try SpecParser.parse(yaml: minimalSpec + dns).spec.dns?.healthCheckId == nil, "optional")
        #expect(errorAt("dns.healthCheckId", in: minimalSpec + dns + "  healthCheckId: PrimaryHealthCheck\n")?.hint?.contains("36 characters") == true)
    }

    @Test func hostAndPort() {
        #expect(HostAndPort("db.example.com:5432") == HostAndPort(host: "db.example.com", port: 5432))
        #expect(HostAndPort("db.example.com") == nil)
        #expect(HostAndPort(":5432") == nil)
        #expect(HostAndPort("h:70000") == nil)
        #expect(HostAndPort(host: "::1", port: 5432).description == "[::1]:5432")
    }
}
