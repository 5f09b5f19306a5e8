import Foundation
import SWXMLHash

/// One DB instance as DescribeDBInstances answers.
public struct DBInstance: Sendable, Hashable, Codable {
    public var identifier: String
    public var arn: String?
    public var status: String
    public var instanceClass: String?
    public var engine: String?
    public var engineVersion: String?
    public var multiAZ: Bool?
    public var allocatedStorageGiB: Int?
    public var storageType: String?
    public var endpointAddress: String?
    public var endpointPort: Int?
    public var backupRetentionDays: Int?
    public var latestRestorableTime: Date?
    /// Set while the instance is a read replica: its source (an ARN when cross-region).
    public var replicaSource: String?
    /// The replicas of this instance (ARNs when cross-region).
    public var replicas: [String]
    /// `read replication` status: replicating, error, stopped, terminated (RDS's StatusInfos).
    public var replicationStatus: String?
    public var replicationNormal: Bool?
    public var replicationMessage: String?
    public var parameterGroup: String?
    public var availabilityZone: String?
    public var storageEncrypted: Bool?
    public var kmsKeyID: String?
    public var subnetGroup: String?

    public var isReplica: Bool { replicaSource != nil }
    public var isAvailable: Bool { status == "available" }
}

/// An RDS event (DescribeEvents).
public struct RDSEvent: Sendable, Hashable, Codable {
    public var date: Date?
    public var message: String
    public var source: String

    public init(date: Date?, message: String, source: String) {
        self.date = date
        self.message = message
        self.source = source
    }
}

extension RDSEvent {
    /// An instance's last few events on one line, newest last, for an error
    /// that has to say what RDS was doing ("RDS events (last 3 of 5): ...");
    /// when they cannot be read, why.
    public static func lastWords(_ read: @autoclosure () async throws -> [RDSEvent], count: Int = 3) async -> String {
        do {
            let events = try await read().sorted { ($0.date ?? .distantPast) < ($1.date ?? .distantPast) }
            guard !events.isEmpty else { return "RDS recorded no events for it in that time" }
            let shown = events.suffix(count).map { event in
                (event.date.map { $0.formatted(.iso8601) + " " } ?? "") + event.message
            }
            return "RDS events (last \(shown.count) of \(events.count)): " + shown.joined(separator: "; ")
        } catch {
            return "RDS events could not be read (\(error))"
        }
    }
}

/// The RDS calls pgdr makes (Query protocol, version 2014-10-31).
public struct RDSAPI: Sendable {
    public let client: AWSClient
    static let version = "2014-10-31"

    public init(client: AWSClient) { self.client = client }

    public func describe(_ identifier: String, region: String) async throws -> DBInstance {
        let xml = try await client.query(.rds, region: region, action: "DescribeDBInstances", version: Self.version,
                                         [("DBInstanceIdentifier", identifier)])
        let list = xml["DescribeDBInstancesResponse"]["DescribeDBInstancesResult"]["DBInstances"]["DBInstance"].all
        guard let first = list.first else {
            throw AWSError.service(.init(service: "rds", region: region, action: "DescribeDBInstances"), code: "DBInstanceNotFound",
                                   message: "DBInstance \(identifier) not found", status: 404, attempts: 1)
        }
        return Self.instance(first)
    }

    /// Promotes a read replica to a standalone instance, keeping `backupRetentionDays` of backups.
    public func promote(_ identifier: String, region: String, backupRetentionDays: Int) async throws -> DBInstance {
        let xml = try await client.query(.rds, region: region, action: "PromoteReadReplica", version: Self.version,
                                         [("DBInstanceIdentifier", identifier), ("BackupRetentionPeriod", "\(backupRetentionDays)")])
        return Self.instance(xml["PromoteReadReplicaResponse"]["PromoteReadReplicaResult"]["DBInstance"])
    }

    /// Creates a cross-region read replica of `sourceARN` in `region`. The
    /// pre-signed URL that AWS needs for an encrypted cross-region source is
    /// made here, as the AWS SDKs make it from `SourceRegion`.
    public func createReplica(_ identifier: String, region: String, sourceARN: String, sourceRegion: String,
                              instanceClass: String?, kmsKeyID: String?, multiAZ: Bool?, subnetGroup: String?,
                              parameterGroup: String?) async throws -> DBInstance {
        var parameters: [(String, String)] = [("DBInstanceIdentifier", identifier), ("SourceDBInstanceIdentifier", sourceARN)]
        if let instanceClass { parameters.append(("DBInstanceClass", instanceClass)) }
        if let kmsKeyID { parameters.append(("KmsKeyId", kmsKeyID)) }
        if let multiAZ { parameters.append(("MultiAZ", multiAZ ? "true" : "false")) }
        if let subnetGroup { parameters.append(("DBSubnetGroupName", subnetGroup)) }
        if let parameterGroup { parameters.append(("DBParameterGroupName", parameterGroup)) }
        if sourceRegion != region {
            let presigned = try await client.presignedQueryURL(.rds, region: sourceRegion, action: "CreateDBInstanceReadReplica",
                                                               version: Self.version, parameters + [("DestinationRegion", region)])
            parameters.append(("PreSignedUrl", presigned))
        }
        let xml = try await client.query(.rds, region: region, action: "CreateDBInstanceReadReplica", version: Self.version, parameters)
        return Self.instance(xml["CreateDBInstanceReadReplicaResponse"]["CreateDBInstanceReadReplicaResult"]["DBInstance"])
    }

    /// ModifyDBInstance with `ApplyImmediately`.
    public func modify(_ identifier: String, region: String, _ changes: [(String, String)]) async throws -> DBInstance {
        let xml = try await client.query(.rds, region: region, action: "ModifyDBInstance", version: Self.version,
                                         [("DBInstanceIdentifier", identifier), ("ApplyImmediately", "true")] + changes)
        return Self.instance(xml["ModifyDBInstanceResponse"]["ModifyDBInstanceResult"]["DBInstance"])
    }

    /// DeleteDBInstance, keeping nothing: no final snapshot, no automated backups (`pgdr destroy`).
    public func delete(_ identifier: String, region: String) async throws -> DBInstance {
        let xml = try await client.query(.rds, region: region, action: "DeleteDBInstance", version: Self.version,
                                         [("DBInstanceIdentifier", identifier), ("SkipFinalSnapshot", "true"),
                                          ("DeleteAutomatedBackups", "true")])
        return Self.instance(xml["DeleteDBInstanceResponse"]["DeleteDBInstanceResult"]["DBInstance"])
    }

    public func reboot(_ identifier: String, region: String) async throws -> DBInstance {
        let xml = try await client.query(.rds, region: region, action: "RebootDBInstance", version: Self.version,
                                         [("DBInstanceIdentifier", identifier)])
        return Self.instance(xml["RebootDBInstanceResponse"]["RebootDBInstanceResult"]["DBInstance"])
    }

    public func events(_ identifier: String, region: String, minutes: Int) async throws -> [RDSEvent] {
        let xml = try await client.query(.rds, region: region, action: "DescribeEvents", version: Self.version,
                                         [("SourceIdentifier", identifier), ("SourceType", "db-instance"), ("Duration", "\(minutes)")])
        return xml["DescribeEventsResponse"]["DescribeEventsResult"]["Events"]["Event"].all.map {
            RDSEvent(date: $0.text("Date").flatMap(ISODate.parse), message: $0.text("Message") ?? "", source: $0.text("SourceIdentifier") ?? "")
        }
    }

    static func instance(_ x: XMLIndexer) -> DBInstance {
        let info = x["StatusInfos"]["DBInstanceStatusInfo"].all.first { $0.text("StatusType") == "read replication" }
        let replicas = x["ReadReplicaDBInstanceIdentifiers"]["ReadReplicaDBInstanceIdentifier"].all.compactMap { $0.element?.text }
        return DBInstance(
            identifier: x.text("DBInstanceIdentifier") ?? "?", arn: x.text("DBInstanceArn"), status: x.text("DBInstanceStatus") ?? "unknown",
            instanceClass: x.text("DBInstanceClass"), engine: x.text("Engine"), engineVersion: x.text("EngineVersion"),
            multiAZ: x.text("MultiAZ").map { $0 == "true" }, allocatedStorageGiB: x.text("AllocatedStorage").flatMap { Int($0) },
            storageType: x.text("StorageType"), endpointAddress: x.text("Endpoint", "Address"),
            endpointPort: x.text("Endpoint", "Port").flatMap { Int($0) },
            backupRetentionDays: x.text("BackupRetentionPeriod").flatMap { Int($0) },
            latestRestorableTime: x.text("LatestRestorableTime").flatMap(ISODate.parse),
            replicaSource: x.text("ReadReplicaSourceDBInstanceIdentifier").flatMap { $0.isEmpty ? nil : $0 },
            replicas: replicas, replicationStatus: info?.text("Status"), replicationNormal: info?.text("Normal").map { $0 == "true" },
            replicationMessage: info?.text("Message"),
            parameterGroup: x["DBParameterGroups"]["DBParameterGroup"].all.first?.text("DBParameterGroupName"),
            availabilityZone: x.text("AvailabilityZone"), storageEncrypted: x.text("StorageEncrypted").map { $0 == "true" },
            kmsKeyID: x.text("KmsKeyId"), subnetGroup: x.text("DBSubnetGroup", "DBSubnetGroupName"))
    }
}

/// AWS's timestamps: ISO 8601, with or without fractional seconds.
public enum ISODate {
    public static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        // moto writes `2024-01-15T09:30:00.123456+00:00` at times: drop the micro part.
        if let dot = text.firstIndex(of: "."), let plus = text[dot...].firstIndex(where: { $0 == "+" || $0 == "Z" || $0 == "-" }) {
            return try? Date(String(text[..<dot]) + String(text[plus...]), strategy: .iso8601)
        }
        return nil
    }

    public static func format(_ date: Date) -> String { date.formatted(.iso8601) }
}
