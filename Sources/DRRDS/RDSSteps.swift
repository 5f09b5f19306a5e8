import DRAWS
import DRPostgres
import DROrchestrator
import DRSpec
import Foundation
import Logging

/// The work behind each step of an operation on RDS, through the AWS APIs.
/// Like the self-managed steps, each is safe to run again after a crash and
/// says how it ended; the runner, the journal, approval and resume are the
/// same.
public struct RDSSteps: Sendable {
    public let deployment: RDSDeployment
    let sleep: @Sendable (Duration) async throws -> Void

    public init(deployment: RDSDeployment, sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.deployment = deployment
        self.sleep = sleep
    }

    var spec: Spec { deployment.spec }
    var rds: RDSAPI { deployment.rds }

    // MARK: failover

    /// A reachable old primary gets the fence parameter group (read-only)
    /// and a reboot, which ends its sessions. Its region may be down: a few
    /// quick attempts, then NOT fenced, said so.
    public func fence(_ id: String) async -> StepOutcome {
        // A region that is down must not hold the failover for minutes: two quick attempts.
        let quick = RDSAPI(client: deployment.client.with(maxAttempts: 2, timeout: .seconds(5)))
        do {
            let region = try deployment.region(of: id)
            let instance = try await quick.describe(id, region: region)
            if instance.isReplica { return .done("\(id) is a read replica: it takes no writes") }
            guard let group = spec.aws.fenceParameterGroup else {
                return .degraded("NOT fenced", reason: "\(id) answers, but pgdr.yaml names no aws.fenceParameterGroup (a parameter group "
                                 + "with default_transaction_read_only = 1): it still takes writes from clients that reach it")
            }
            if instance.parameterGroup != group {
                _ = try await quick.modify(id, region: region, [("DBParameterGroupName", group)])
            }
            _ = try await rebootWhenReady(id, region: region, api: quick)
            return .done("\(id) fenced: parameter group \(group) (default_transaction_read_only) applied, and a reboot ended its sessions")
        } catch {
            return .degraded("NOT fenced", reason: "\(id) could not be fenced through the RDS API (\(error)). "
                             + "Make sure it is down or cut off from clients")
        }
    }

    /// A parameter group change puts the instance in `modifying` for a moment: the reboot waits for it (a few tries).
    func rebootWhenReady(_ id: String, region: String, api: RDSAPI) async throws -> DBInstance {
        var lastError: any Error = AWSError.timedOut("no reboot")
        for _ in 0..<6 {
            do {
                return try await api.reboot(id, region: region)
            } catch let error as AWSError where error.code == "InvalidDBInstanceState" || error.code == "InvalidDBInstanceStateFault" {
                lastError = error
                try await sleep(.seconds(5))
            }
        }
        throw lastError
    }

    /// PromoteReadReplica, then waits until RDS reports the instance
    /// standalone (no replica source) and available: RDS's own signal that
    /// the promotion finished.
    public func promote(_ id: String) async throws -> StepOutcome {
        let region = try deployment.region(of: id)
        let started = ContinuousClock.now
        let current = try await rds.describe(id, region: region)
        var calledPromote = false
        if current.isReplica {
            _ = try await rds.promote(id, region: region, backupRetentionDays: max(1, spec.backup.retentionDays))
            calledPromote = true
        }
        let timeout = spec.aws.promotionTimeout.duration
        let interval = min(Duration.seconds(5), timeout / 5)
        var last = current
        var unseen = 0
        while ContinuousClock.now - started < timeout {
            // DescribeDBInstances is eventually consistent: an instance it just changed may be
            // missing from one answer. Twice in a row, still being waited for; then it is an error.
            do {
                last = try await rds.describe(id, region: region)
                unseen = 0
            } catch let error as AWSError where ["DBInstanceNotFound", "DBInstanceNotFoundFault"].contains(error.code ?? "") && unseen < 2 {
                unseen += 1
                try await sleep(interval)
                continue
            }
            if !last.isReplica && last.isAvailable {
                let took = ContinuousClock.now - started
                return .done((calledPromote ? "PromoteReadReplica; " : "already promoted; ")
                             + "\(id) standalone and available after \(took.formatted(.units(allowed: [.seconds], width: .narrow)))")
            }
            try await sleep(interval)
        }
        let minutes = Int(timeout.components.seconds / 60) + 5
        let events = await RDSEvent.lastWords(try await rds.events(id, region: region, minutes: minutes))
        throw AWSError.timedOut("\(id) did not finish promoting within aws.promotionTimeout (\(spec.aws.promotionTimeout)): RDS reports it "
                                + "\(last.status)" + (last.replicaSource.map { ", still a replica of \($0)" } ?? "")
                                + "; \(events). Nothing else was changed: DNS still points where it did")
    }

    /// The new primary as RDS sees it and, with `aws.database`, a write it
    /// took: the heartbeat, over SQL, retried until `writeTimeout` (the
    /// endpoint's DNS and the server's end of recovery can trail the API's
    /// `available`). Without a write the step fails and DNS is not changed.
    public func verify(_ id: String) async throws -> StepOutcome {
        let instance = try await rds.describe(id, region: try deployment.region(of: id))
        guard !instance.isReplica, instance.isAvailable else {
            throw AWSError.timedOut("\(id) is \(instance.status)" + (instance.isReplica ? ", still a replica" : "") + ": not verified")
        }
        guard let sessions = RDSSessions.configured(deployment, applicationName: "pgdr-verify", logger: Logger(label: "pgdr.rds")),
              let access = spec.aws.database else {
            return .degraded("\(id) is available and standalone (RDS API)",
                             reason: "no write was tried: pgdr.yaml has no aws.database (SQL to the instances), so nothing proved the new primary takes writes")
        }
        let started = ContinuousClock.now
        var lastError: any Error = RDSSessionError("no attempt")
        var attempts = 0
        while attempts == 0 || ContinuousClock.now - started < access.writeTimeout.duration {
            attempts += 1
            do {
                let credentials = try await sessions.credentials(region: try deployment.region(of: id))
                let lsn = try await sessions.with(instance, credentials) { session -> String in
                    guard try await session.value(Bool.self, "SELECT NOT pg_is_in_recovery()") else {
                        throw RDSSessionError("the server is still in recovery")
                    }
                    try await sessions.stamp(session, writer: "pgdr-verify")
                    return try await session.value(String.self, "SELECT pg_current_wal_flush_lsn()::text")
                }
                return .done("\(id) is available and standalone (RDS API) and took a write over SQL (heartbeat, flushed to \(lsn))")
            } catch {
                lastError = error
                if let region = try? deployment.region(of: id) { sessions.forgetIfRefused(error, region: region) }
                try await sleep(.seconds(2))
            }
        }
        throw RDSSessionError("\(id) took no write within aws.database.writeTimeout (\(access.writeTimeout), \(attempts) attempts): \(lastError). "
                              + "DNS still points where it did; check that this machine reaches \(id) over SQL (aws.database)")
    }

    /// Points both Route 53 failover records at the new primary's endpoint,
    /// then waits until the change is INSYNC (up to two minutes).
    public func repointDNS(to id: String) async -> StepOutcome {
        guard let dns = spec.dns else {
            return .done("no dns: section; clients reach \(id) by its own endpoint")
        }
        do {
            let instance = try await rds.describe(id, region: try deployment.region(of: id))
            guard let address = instance.endpointAddress else {
                return .degraded("DNS not changed", reason: "RDS gives \(id) no endpoint address yet")
            }
            let records = [("PRIMARY", "primary"), ("SECONDARY", "secondary")].map { failover, role in
                Route53API.FailoverRecord(name: dns.recordName, setIdentifier: "\(spec.name)-\(role)-\(spec.environment)",
                                          failover: failover, value: address)
            }
            let change = try await deployment.route53.upsert(records, zone: dns.hostedZoneId, comment: "pgdr: \(id) is the primary")
            let deadline = ContinuousClock.now + .seconds(120)
            var status = "PENDING"
            var lastError: String?
            while ContinuousClock.now < deadline {
                do {
                    status = try await deployment.route53.changeStatus(change)
                    if status == "INSYNC" { break }
                } catch {
                    lastError = "\(error)"
                    break
                }
                try await sleep(.seconds(5))
            }
            let detail = "\(dns.recordName) (PRIMARY and SECONDARY) -> \(address), change \(change)"
            if status == "INSYNC" { return .done(detail + " INSYNC") }
            return .degraded(detail, reason: "Route 53 accepted the change but pgdr could not see it INSYNC"
                             + (lastError.map { " (\($0))" } ?? " within 2 minutes"))
        } catch {
            return .degraded("DNS not changed", reason: "\(error)")
        }
    }

    /// Publishes the notice to the SNS topic of the new primary's region.
    public func publish(_ notice: String, subject: String, newPrimary: String) async -> StepOutcome {
        do {
            let region = try deployment.region(of: newPrimary)
            let topic = try await deployment.topicARN(region: region)
            let id = try await deployment.sns.publish(topicARN: topic, subject: subject, message: notice)
            return .done("published to \(topic) (message \(id))")
        } catch {
            return .degraded("not published to SNS", reason: "\(error)")
        }
    }

    // MARK: rejoin

    /// RDS cannot rewind an instance: the old primary is renamed aside (its
    /// data kept until you delete it) and created again, under its own name,
    /// as a cross-region read replica of the new primary.
    public func rebuildReplica(_ id: String, of primary: String, now: Date = Date()) async throws -> StepOutcome {
        let region = try deployment.region(of: id)
        let primaryRegion = try deployment.region(of: primary)
        let source = try await rds.describe(primary, region: primaryRegion)
        guard let sourceARN = source.arn else { throw AWSError.malformed(.init(service: "rds", region: primaryRegion, action: "DescribeDBInstances"), "no DBInstanceArn for \(primary)") }
        var renamed: String?
        var old: DBInstance?
        do {
            old = try await rds.describe(id, region: region)
        } catch let error as AWSError where error.code == "DBInstanceNotFound" || error.code == "DBInstanceNotFoundFault" {
            old = nil  // renamed by an earlier run of this step
        }
        if let current = old {
            if current.isReplica, current.replicaSource == sourceARN || current.replicaSource == primary {
                return .done("\(id) is already a read replica of \(primary)")
            }
            let stamp = SigV4.timestamp(now).prefix(13).replacingOccurrences(of: "T", with: "")
            let aside = String("\(id.prefix(40))-pre-rejoin-\(stamp)".prefix(63))
            _ = try await rds.modify(id, region: region, [("NewDBInstanceIdentifier", aside)])
            renamed = aside
            try await waitGone(id, region: region)
        }
        let template = old
        let parameterGroup = template?.parameterGroup.flatMap { $0 == spec.aws.fenceParameterGroup || $0.hasPrefix("default.") ? nil : $0 }
        _ = try await rds.createReplica(id, region: region, sourceARN: sourceARN, sourceRegion: primaryRegion,
                                        instanceClass: template?.instanceClass ?? site(of: id).instanceClass,
                                        kmsKeyID: template?.kmsKeyID, multiAZ: template?.multiAZ ?? site(of: id).multiAZ,
                                        subnetGroup: template?.subnetGroup, parameterGroup: parameterGroup)
        return .done((renamed.map { "renamed the old instance to \($0) (kept with its data: delete it when you no longer need it); " } ?? "")
                     + "creating \(id) as a read replica of \(primary) (a cross-region replica takes tens of minutes to hours, with the size of the database)")
    }

    func site(of id: String) -> RegionSite { id == deployment.drID ? spec.dr : spec.primary }

    /// After a rename, the old name is free once DescribeDBInstances no longer finds it.
    func waitGone(_ id: String, region: String) async throws {
        for _ in 0..<60 {
            do {
                _ = try await rds.describe(id, region: region)
            } catch let error as AWSError where error.code == "DBInstanceNotFound" || error.code == "DBInstanceNotFoundFault" {
                return
            }
            try await sleep(.seconds(5))
        }
        throw AWSError.timedOut("the rename of \(id) did not finish within 5 minutes")
    }

    public func waitReplica(_ id: String, of primary: String) async throws -> StepOutcome {
        let region = try deployment.region(of: id)
        let started = ContinuousClock.now
        let timeout = spec.aws.replicaTimeout.duration
        let interval = min(Duration.seconds(30), timeout / 5)
        var last: DBInstance?
        while ContinuousClock.now - started < timeout {
            last = try await rds.describe(id, region: region)
            if let last, last.isReplica, last.isAvailable {
                let took = ContinuousClock.now - started
                return .done("\(id) is an available read replica of \(primary) after \(took.formatted(.units(allowed: [.hours, .minutes, .seconds], width: .narrow)))")
            }
            try await sleep(interval)
        }
        throw AWSError.timedOut("\(id) is not an available replica after aws.replicaTimeout (\(spec.aws.replicaTimeout)); RDS reports it "
                                + (last?.status ?? "missing") + ". It may still be copying: `pgdr approve ID` follows it again")
    }
}
