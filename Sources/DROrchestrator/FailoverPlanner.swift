import DRSpec
import DRStatus
import Foundation

/// Pure: decides whether an unplanned failover may run, and what it would cost.
///
/// The estimate of data loss is what the primary had that the DR replica has
/// not received. With the primary reachable it is measured now. With the
/// primary gone it comes from the agent's last sight of the primary
/// (`PrimaryPosition`): its flush LSN then, minus what the replica received;
/// without that evidence the loss is unknown, and unknown is refused unless
/// the operator accepts it.
public enum FailoverPlanner {
    /// `boundSuspended`: bounded mode's hold was released by an operator (or a
    /// failover) and not armed again, so its promise does not stand.
    public static func plan(report: StatusReport, spec: Spec, id: String, now: Date, acceptDataLoss: Bool,
                            lastKnownPrimary: PrimaryPosition? = nil, boundSuspended: Bool = false) -> Result<OperationPlan, Refusal> {
        guard let candidateSpec = spec.drNode ?? spec.nodes.last else {
            return .failure(Refusal("the spec names no DR node", hint: "list the DR node under `nodes:`"))
        }
        // The candidate is the reachable standby; the old primary, whichever node is not it.
        let standbys = report.nodes.filter { $0.reachable && $0.role == .standby }
        guard let candidate = standbys.first ?? report.nodes.first(where: { $0.name == candidateSpec.name }) else {
            return .failure(Refusal("no node to promote", hint: "check `pgdr status`"))
        }
        guard candidate.reachable else {
            return .failure(Refusal("the DR replica \(candidate.name) is unreachable (\(candidate.error ?? "no answer"))",
                                    hint: "a failover needs a reachable standby to promote; check `pgdr status`"))
        }
        guard candidate.role == .standby else {
            return .failure(Refusal("\(candidate.name) is not a standby (it is already a primary)",
                                    hint: "there is nothing to fail over to; check `pgdr status`"))
        }
        guard let old = report.nodes.first(where: { $0.name != candidate.name }) else {
            return .failure(Refusal("no old primary in the spec", hint: "list both nodes under `nodes:`"))
        }
        var warnings: [String] = []
        var lossBytes: Int64?
        var lossSeconds: Double?
        var pending: String?
        var evidenceAt: Date? = now
        if old.reachable, old.role == .primary {
            let lag = StatusEvaluator.measureLag(primary: old, standby: candidate)
            lossBytes = lag.lagBytes
            lossSeconds = lag.lagSeconds
            if spec.target == .aws {
                warnings.append("the primary \(old.name) is reachable: a failover fences it (aws.fenceParameterGroup, then a reboot), and "
                                + "what the replica has not received by then is lost; RDS offers no zero-loss switchover for a "
                                + "cross-region replica, so stop the application's writes first when you can")
            } else {
                warnings.append("the primary \(old.name) is reachable: a failover will stop it (prefer `pgdr switchover`, which loses nothing)")
            }
        } else {
            // Primary gone. Received-but-not-replayed WAL is not lost (promotion
            // replays it); what the replica never received is.
            let freshness = evidenceFreshness(spec)
            if let last = lastKnownPrimary, last.node == old.name, let received = candidate.receiveLSN ?? candidate.replayLSN {
                let age = max(0, now.timeIntervalSince(last.at))
                // Evidence only while the agent kept watching: its last round must be recent.
                let watched = max(0, now.timeIntervalSince(last.checkedAt ?? last.at))
                // Quorum mode: once the lease that followed the record has ended, nothing was written later.
                let final = last.writesEndBy.map { now >= $0 } ?? false
                let unseen = final ? min(age, max(0, last.writesEndBy!.timeIntervalSince(last.at))) : age
                evidenceAt = last.at
                if watched <= freshness || final {
                    lossBytes = last.flushLSN.bytesAhead(of: received)
                    // What the primary wrote after the last sight is unknown, so the
                    // time estimate is an upper bound: the gap up to then, plus the
                    // time it may have gone on writing (its age, or the lease's bound).
                    if lossBytes == 0 {
                        lossSeconds = unseen
                    } else if let beat = candidate.heartbeatAt {
                        lossSeconds = max(0, last.at.timeIntervalSince(beat)) + unseen
                    }
                    warnings.append("loss estimated from the agent's last sight of \(old.name) at \(last.flushLSN), "
                                    + String(format: "%.1fs ago", age) + "; writes after that sight are not counted in bytes")
                } else if let end = last.writesEndBy, now < end {
                    // Quorum mode: the old primary's lease may still be alive, so it may still be writing.
                    pending = "\(old.name)'s lease may still be alive: its last position becomes final evidence at "
                        + "\(end.formatted(.iso8601)), in " + String(format: "%.1fs", end.timeIntervalSince(now)) + "; plan again then"
                } else {
                    warnings.append("the last sight of \(old.name) (\(last.flushLSN)) is " + String(format: "%.0fs", age)
                                    + " old, and the agent last looked " + String(format: "%.0fs", watched)
                                    + " ago, longer than its freshness window of " + String(format: "%.0fs", freshness)
                                    + ": the primary may have written much more since (was the agent down?), so the loss is unknown")
                }
            }
            if lossBytes == nil, lossSeconds == nil, pending == nil, let lag = candidate.replicaLagSeconds, let measured = candidate.replicaLagAt {
                // RDS: CloudWatch's last ReplicaLag datapoint, plus what the primary may have written since.
                let age = max(0, now.timeIntervalSince(measured))
                lossSeconds = lag + age
                evidenceAt = measured
                warnings.append("loss estimated from CloudWatch's ReplicaLag (\(Int(lag))s at \(measured.formatted(.iso8601))) plus the "
                                + String(format: "%.0fs", age) + " since, while \(old.name) may have gone on writing")
            }
            warnings.append("the primary \(old.name) is unreachable: the fence gives up after failover.fenceTimeout (\(spec.failover.fenceTimeout)) "
                            + "and the step will say NOT fenced. If it is alive "
                            + "behind a cut link, clients that still reach it could write to two primaries; "
                            + "make sure it is down or cut off before approving")
        }
        if candidate.replayPaused == true {
            warnings.append("WAL replay is paused on \(candidate.name): promotion replays what it has received first")
        }
        if spec.replication.mode == .bounded, !boundSuspended, !(old.reachable && old.role == .primary) {
            // Bounded mode's promise: commits beyond the bound waited for the DR replica, so
            // no more than the bound (to within one agent round) was acknowledged and not received.
            let bound = spec.replication.bound(rpo: spec.objectives.rpo)
            let slack = spec.monitoring.interval.seconds
            if lossBytes == nil && lossSeconds == nil && pending == nil {
                lossBytes = bound.bytes?.bytes
                lossSeconds = bound.time.map { $0.seconds + slack }
                warnings.append("bounded mode: at most the bound (\([bound.bytes?.description, bound.time?.description].compactMap { $0 }.joined(separator: ", "))) "
                                + "plus one agent round can be lost: commits beyond it waited for \(candidate.name)")
            } else if let time = bound.time, let seconds = lossSeconds, seconds > time.seconds + slack {
                lossSeconds = time.seconds + slack
                warnings.append("bounded mode caps the time estimate at the bound (\(time)) plus one agent round")
            }
        }
        let limit = spec.failover.maxDataLoss
        let overBytes = limit.bytes.map { limitBytes in (lossBytes ?? 0) > limitBytes.bytes } ?? false
        let overTime = limit.time.map { limitTime in (lossSeconds ?? 0) > limitTime.seconds } ?? false
        let unknown = lossBytes == nil && lossSeconds == nil
        if let pending, unknown, !acceptDataLoss {
            return .failure(Refusal("the estimated data loss is not known yet: \(pending)",
                                    hint: "or pass --accept-data-loss to fail over anyway (recorded)"))
        }
        if (overBytes || overTime || unknown) && !acceptDataLoss {
            let estimate = unknown ? "unknown (no fresh record of \(old.name)'s last position: the agent records it every round)"
                : [lossBytes.map { "\(ByteSize.human(Double($0)))" }, lossSeconds.map { String(format: "%.1fs", $0) }]
                    .compactMap { $0 }.joined(separator: " / ")
            return .failure(Refusal("the estimated data loss \(estimate) exceeds failover.maxDataLoss "
                                    + "(\([limit.bytes?.description, limit.time?.description].compactMap { $0 }.joined(separator: ", ")))",
                                    hint: "wait for the replica to catch up, or pass --accept-data-loss to fail over anyway (recorded)"))
        }
        var plan = OperationPlan(
            id: id, kind: .failover, createdAt: now, expiresAt: now.addingTimeInterval(spec.failover.approvalTimeout.seconds),
            from: old.name, to: candidate.name, candidateReplayLSN: candidate.replayLSN,
            estimatedLossBytes: lossBytes, estimatedLossSeconds: lossSeconds, maxDataLoss: limit,
            acceptedDataLoss: acceptDataLoss && (overBytes || overTime || unknown),
            oldPrimaryReachable: old.reachable && old.role == .primary, warnings: warnings,
            steps: [.fence, .promote, .verify, .repoint, .notify], evidenceAt: evidenceAt)
        plan.fenceTimeout = spec.failover.fenceTimeout
        return .success(plan)
    }

    /// How old the last sight of a lost primary may be and still count as
    /// evidence: the agent's own freshness window (three rounds, at least 5 s).
    public static func evidenceFreshness(_ spec: Spec) -> TimeInterval {
        max(3 * spec.monitoring.interval.seconds, 5)
    }
}
