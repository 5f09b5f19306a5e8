import DRAWS
import DRPostgres
import DRRDS
import DRStatus
import Foundation
import Logging
import PostgresNIO

/// The lag monitor (every minute, EventBridge): finds which instance is the
/// primary and which the replica from the RDS API, stamps the heartbeat on
/// the primary, waits for the stamp on the replica, and publishes
/// `pgdr/PrimaryReachable`, `ReplicationLagSeconds` and `ReplicationLagBytes`
/// in its own region (dimension `Deployment`), which the alarms read.
public struct LagMonitor: FunctionHandler {
    let settings: FunctionSettings
    let deployment: RDSDeployment
    let logger: Logger
    /// How long the replica gets to show the stamp before the lag is read as it is.
    var replicaWait: Duration = .seconds(5)

    public init(settings: FunctionSettings, deployment: RDSDeployment, logger: Logger) {
        self.settings = settings
        self.deployment = deployment
        self.logger = logger
    }

    static let writer = "pgdr-lag-monitor"

    public func handle(_ invocation: Invocation) async throws -> Data {
        let sessions = RDSSessions(deployment: deployment, secretID: settings.secretID, caFile: settings.caFile, addresses: settings.addresses,
                                   applicationName: "pgdr-\(settings.kind.rawValue)", logger: logger)
        var instances: [DBInstance] = []
        var problems: [String] = []
        for site in deployment.instances {
            do {
                instances.append(try await deployment.rds.describe(site.id, region: site.region))
            } catch {
                problems.append("\(site.id): \(error)")
            }
        }
        let primary = instances.first { !$0.isReplica && $0.isAvailable }
        let replica = instances.first { $0.isReplica }
        let credentials = try await sessions.credentials(region: settings.region)

        var stampedAt: Date?, primaryLSN: LSN?
        if let primary {
            do {
                (stampedAt, primaryLSN) = try await sessions.with(primary, credentials) { session in
                    for statement in Heartbeat.schemaStatements { try await session.execute(PostgresQuery(unsafeSQL: statement)) }
                    let at = Date()
                    try await Heartbeat.beat(session, writer: Self.writer)
                    let text = try await session.value(String.self, "SELECT pg_current_wal_lsn()::text")
                    return (at, LSN(text))
                }
            } catch {
                problems.append("primary \(primary.identifier): \(error)")
            }
        } else {
            problems.append("no available primary instance among \(deployment.instances.map(\.id).joined(separator: ", "))")
        }

        var replayedBeatAt: Date?, replayLSN: LSN?
        if let replica {
            do {
                (replayedBeatAt, replayLSN) = try await sessions.with(replica, credentials) { session in
                    let deadline = ContinuousClock.now + replicaWait
                    while true {
                        let newest = try await Heartbeat.newest(session)
                        let replay = try await session.value(String?.self, "SELECT pg_last_wal_replay_lsn()::text")
                        let arrived = newest.map { beat in stampedAt.map { beat >= $0.addingTimeInterval(-0.001) } ?? true } ?? false
                        if arrived || ContinuousClock.now >= deadline || stampedAt == nil {
                            return (newest, replay.flatMap(LSN.init))
                        }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
            } catch {
                problems.append("replica \(replica.identifier): \(error)")
            }
        }

        let reading = LagReading.from(stampedAt: stampedAt, primaryLSN: primaryLSN, replayedBeatAt: replayedBeatAt,
                                      replayLSN: replayLSN, now: Date())
        let cloudWatch = CloudWatchAPI(client: deployment.client)
        let dimension = [("Deployment", settings.spec.resourceName(settings.spec.name))]
        for point in reading.datapoints {
            try await cloudWatch.putMetric(namespace: "pgdr", name: point.name, value: point.value, unit: point.unit,
                                           dimensions: dimension, region: settings.region)
        }
        for problem in problems { logger.warning("lag monitor", metadata: ["problem": "\(problem)"]) }
        let answer = LagAnswer(reading: reading, primary: primary?.identifier, replica: replica?.identifier, problems: problems)
        return Data(try ReportJSON.encode(answer, pretty: false).utf8)
    }
}

/// What one lag-monitor run returns (and logs).
struct LagAnswer: Codable {
    var reading: LagReading
    var primary: String?
    var replica: String?
    var problems: [String]
}
