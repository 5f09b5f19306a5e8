import Foundation
import SWXMLHash

/// The Route 53 calls pgdr makes (REST-XML, version 2013-04-01, global: signed for us-east-1).
public struct Route53API: Sendable {
    public let client: AWSClient
    static let region = "us-east-1"
    static let namespace = "https://route53.amazonaws.com/doc/2013-04-01/"

    public init(client: AWSClient) { self.client = client }

    /// One record of a failover pair.
    public struct FailoverRecord: Sendable, Hashable {
        public var name: String
        public var type: String
        public var setIdentifier: String
        /// PRIMARY or SECONDARY.
        public var failover: String
        public var ttl: Int
        public var value: String
        public var healthCheckID: String?
        public init(name: String, type: String = "CNAME", setIdentifier: String, failover: String, ttl: Int = 30, value: String,
                    healthCheckID: String? = nil) {
            self.name = name
            self.type = type
            self.setIdentifier = setIdentifier
            self.failover = failover
            self.ttl = ttl
            self.value = value
            self.healthCheckID = healthCheckID
        }
    }

    /// UPSERTs the records in one change; returns the change id (PENDING until INSYNC).
    public func upsert(_ records: [FailoverRecord], zone: String, comment: String) async throws -> String {
        let changes = records.map { r in
            """
            <Change><Action>UPSERT</Action><ResourceRecordSet><Name>\(Self.escape(r.name))</Name><Type>\(r.type)</Type>\
            <SetIdentifier>\(Self.escape(r.setIdentifier))</SetIdentifier><Failover>\(r.failover)</Failover><TTL>\(r.ttl)</TTL>\
            <ResourceRecords><ResourceRecord><Value>\(Self.escape(r.value))</Value></ResourceRecord></ResourceRecords>\
            \(r.healthCheckID.map { "<HealthCheckId>\(Self.escape($0))</HealthCheckId>" } ?? "")</ResourceRecordSet></Change>
            """
        }.joined()
        let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ChangeResourceRecordSetsRequest xmlns="\(Self.namespace)"><ChangeBatch><Comment>\(Self.escape(comment))</Comment>\
            <Changes>\(changes)</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>
            """
        let xml = try await client.restXML(.route53, region: Self.region, action: "ChangeResourceRecordSets", method: "POST",
                                           path: "/2013-04-01/hostedzone/\(Self.zoneID(zone))/rrset/", body: body)
        guard let id = xml["ChangeResourceRecordSetsResponse"]["ChangeInfo"]["Id"].element?.text else {
            throw AWSError.malformed(.init(service: "route53", region: Self.region, action: "ChangeResourceRecordSets"), "no ChangeInfo Id")
        }
        return id
    }

    /// PENDING or INSYNC.
    public func changeStatus(_ id: String) async throws -> String {
        let bare = id.split(separator: "/").last.map(String.init) ?? id
        let xml = try await client.restXML(.route53, region: Self.region, action: "GetChange", method: "GET",
                                           path: "/2013-04-01/change/\(bare)")
        return xml["GetChangeResponse"]["ChangeInfo"]["Status"].element?.text ?? "UNKNOWN"
    }

    /// Each checker's verdict on a health check ("Success: HTTP Status Code 200", "Failure: ...").
    public func healthCheckStatus(_ id: String) async throws -> [String] {
        let xml = try await client.restXML(.route53, region: Self.region, action: "GetHealthCheckStatus", method: "GET",
                                           path: "/2013-04-01/healthcheck/\(id)/status")
        return xml["GetHealthCheckStatusResponse"]["HealthCheckObservations"]["HealthCheckObservation"].all
            .compactMap { $0["StatusReport"]["Status"].element?.text }
    }

    static func zoneID(_ zone: String) -> String { zone.split(separator: "/").last.map(String.init) ?? zone }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
