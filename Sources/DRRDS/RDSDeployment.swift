import DRAWS
import DRSpec
import DRStatus
import Foundation
import Logging

/// The RDS deployment pgdr.yaml describes (`target: aws`): the two DB
/// instances (named by their identifiers, which are the "nodes" of plans
/// and journals), their regions, and the AWS calls around them.
public struct RDSDeployment: Sendable {
    public let spec: Spec
    public let client: AWSClient

    public init(spec: Spec, client: AWSClient) {
        self.spec = spec
        self.client = client
    }

    /// The client as the spec and the environment configure it.
    public static func make(spec: Spec, logger: Logger = Logger(label: "pgdr.aws")) -> RDSDeployment {
        let endpoints = AWSEndpoints(specEndpoint: spec.aws.endpoint.flatMap(URL.init(string:)))
        return RDSDeployment(spec: spec, client: AWSClient(endpoints: endpoints, logger: logger))
    }

    public var rds: RDSAPI { RDSAPI(client: client) }
    public var cloudWatch: CloudWatchAPI { CloudWatchAPI(client: client) }
    public var route53: Route53API { Route53API(client: client) }
    public var sns: SNSAPI { SNSAPI(client: client) }
    public var sts: STSAPI { STSAPI(client: client) }

    public var primaryID: String { AWSRules.instanceIdentifier(spec, dr: false) }
    public var drID: String { AWSRules.instanceIdentifier(spec, dr: true) }
    public var instances: [(id: String, region: String)] { [(primaryID, spec.primary.region), (drID, spec.dr.region)] }

    /// The region of an instance pgdr.yaml names.
    public func region(of id: String) throws -> String {
        guard let site = instances.first(where: { $0.id == id }) else {
            throw RDSInputError("no instance \(id) in pgdr.yaml (primary.instanceIdentifier: \(primaryID), dr.instanceIdentifier: \(drID))")
        }
        return site.region
    }

    public func describe(_ id: String) async throws -> DBInstance {
        try await rds.describe(id, region: try region(of: id))
    }

    /// One instance as a status sample: the API's description, and for a
    /// replica its newest `ReplicaLag` datapoint.
    public func sample(_ id: String, region: String) async -> NodeSample {
        var sample = NodeSample(name: id, region: region, host: "", port: 5432, reachable: false)
        let started = ContinuousClock.now
        do {
            let instance = try await rds.describe(id, region: region)
            sample.host = instance.endpointAddress ?? ""
            sample.port = instance.endpointPort ?? 5432
            sample.rds = details(instance)
            sample.reachable = sample.rds?.serving == true
            if !sample.reachable { sample.error = "instance status is \(instance.status)" }
            sample.role = instance.isReplica ? .standby : .primary
            sample.serverVersion = instance.engineVersion
            if instance.isReplica, let (newest, source) = try await replicaLag(id, region: region) {
                sample.replicaLagSeconds = max(0, newest.value)
                sample.replicaLagAt = newest.at
                sample.replicaLagSource = source
            }
        } catch {
            sample.error = "\(error)"
        }
        let took = ContinuousClock.now - started
        sample.probeLatencyMs = Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15
        return sample
    }

    /// The replica's lag: the lag monitor's heartbeat lag (`pgdr/ReplicationLagSeconds`, its
    /// worst in each minute) when it has published any in the last 10 minutes, else RDS's
    /// `ReplicaLag`, which counts from the last replayed commit and so reads an idle
    /// primary as lag. Both read in one GetMetricData call. Either way the point carries
    /// its time, and the RPO guard judges its age (an old point makes the loss unknown).
    func replicaLag(_ id: String, region: String) async throws -> (MetricPoint, StatusReport.Replication.LagSource)? {
        let both = try await cloudWatch.metrics([
            .init(namespace: "pgdr", name: "ReplicationLagSeconds", dimensions: [("Deployment", spec.resourceName(spec.name))], stat: "Maximum"),
            .init(namespace: "AWS/RDS", name: "ReplicaLag", dimensions: [("DBInstanceIdentifier", id)]),
        ], region: region)
        if let heartbeat = both[0].first { return (heartbeat, .heartbeatMetric) }
        return both[1].first.map { ($0, .cloudWatch) }
    }

    /// Both instances, described at once (one DescribeDBInstances per region, one GetMetricData for the
    /// replica), and with `aws.database` what SQL adds (RDSSessions.overlay: positions, the heartbeat).
    public func samples() async -> [NodeSample] {
        let described = await describedSamples()
        guard let sessions = RDSSessions.configured(self, applicationName: "pgdr", logger: Logger(label: "pgdr.rds")) else { return described }
        return await sessions.overlay(described, writer: "pgdr")
    }

    func describedSamples() async -> [NodeSample] {
        await withTaskGroup(of: (Int, NodeSample).self) { group in
            for (index, site) in instances.enumerated() {
                group.addTask { (index, await self.sample(site.id, region: site.region)) }
            }
            var out: [(Int, NodeSample)] = []
            for await item in group { out.append(item) }
            return out.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// The deployment's CloudWatch alarms (NAME-…-ENV) in each region, one
    /// DescribeAlarms per region, at once; a region that cannot be read says why.
    public func cloudAlarms() async -> CloudAlarmsView {
        let prefix = "\(spec.name)-", suffix = "-\(spec.environment)"
        let regions = Array(Set(instances.map(\.region))).sorted()
        return await withTaskGroup(of: (String, Result<[AlarmState], any Error>).self) { group in
            for region in regions {
                group.addTask {
                    do { return (region, .success(try await cloudWatch.alarms(prefix: prefix, region: region))) } catch { return (region, .failure(error)) }
                }
            }
            var alarms: [CloudAlarmsView.Alarm] = []
            var unreadable: [String: String] = [:]
            for await (region, result) in group {
                switch result {
                case .success(let states):
                    alarms += states.filter { $0.name.hasSuffix(suffix) }.map {
                        .init(name: $0.name, region: region, state: $0.state, reason: $0.reason, since: $0.updatedAt)
                    }
                case .failure(let error):
                    unreadable[region] = "\(error)"
                }
            }
            return CloudAlarmsView(pattern: "\(prefix)*\(suffix)", alarms: alarms, unreadable: unreadable)
        }
    }

    /// With `dns.healthCheckId`: Route 53's checkers on it (GetHealthCheckStatus, one call).
    public func healthCheck() async -> HealthCheckView? {
        guard let id = spec.dns?.healthCheckId else { return nil }
        do {
            return HealthCheckView(id: id, observations: try await route53.healthCheckStatus(id))
        } catch {
            return HealthCheckView(id: id, observations: [], error: "\(error)")
        }
    }

    func details(_ i: DBInstance) -> RDSDetails {
        RDSDetails(status: i.status, instanceClass: i.instanceClass, multiAZ: i.multiAZ, allocatedStorageGiB: i.allocatedStorageGiB,
                   engineVersion: i.engineVersion, backupRetentionDays: i.backupRetentionDays,
                   latestRestorableTime: i.latestRestorableTime, replicaSource: i.replicaSource,
                   replicationStatus: i.replicationStatus, replicationMessage: i.replicationMessage,
                   parameterGroup: i.parameterGroup,
                   fenced: spec.aws.fenceParameterGroup != nil && i.parameterGroup == spec.aws.fenceParameterGroup)
    }

    /// Where failover notices go: `aws.snsTopicArn`, else the topic synth
    /// creates in `region` (`NAME-alerts-ENV`, in the caller's account).
    public func topicARN(region: String) async throws -> String {
        if let given = spec.aws.snsTopicArn { return given }
        let account = try await sts.callerIdentity(region: region).account
        return "arn:aws:sns:\(region):\(account):\(spec.name)-alerts-\(spec.environment)"
    }
}

/// Bad input about the RDS deployment (an instance pgdr.yaml does not name): exit 2.
public struct RDSInputError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension RDSDeployment {
    /// The spec as the planners read it: the two instances as its nodes
    /// (named by their identifiers; their endpoints come from the API).
    public var planningSpec: Spec {
        var copy = spec
        copy.nodes = instances.map { site in
            NodeSpec(name: site.id, region: site.region, host: "", port: 5432, database: "postgres", user: "pgdr_monitor")
        }
        return copy
    }
}
