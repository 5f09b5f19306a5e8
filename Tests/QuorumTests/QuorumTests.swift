import Foundation
import PGDRTestSupport
import Synchronization
import Testing

/// Quorum mode on real servers, real etcd members and real network
/// namespaces (root only: without root a lab cannot have regions). A libpq
/// client outside pgdr (bench/dual_writer.py) writes to both nodes directly
/// every 10 ms, so a split brain would show as writes acknowledged by both.
@Suite(.serialized, .enabled(if: geteuid() == 0, "regions as network namespaces need root"))
struct QuorumTests {
    /// The lab's TTL and loop (pgdr lab writes dcs.ttl: 2s; the loop is a third of it).
    static let ttl = 2.0
    static let tick = 2.0 / 3

    /// Watches a node in the background and remembers whether it was ever writable.
    final class WritableWatch: Sendable {
        let seen = Mutex(false)
        let running = Mutex(true)
        func start(_ lab: RegionLab, _ node: String) -> Task<Void, Never> {
            Task {
                while self.running.withLock({ $0 }) {
                    if await lab.writable(node) { self.seen.withLock { $0 = true } }
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        func stop() { running.withLock { $0 = false } }
    }

    /// Cuts the primary's region off under the writer: the old primary stops
    /// acknowledging before the DR node acknowledges its first write, the DR
    /// node takes writes, and after the heal the old primary streams from it.
    func partitionPrimaryRegion(_ lab: RegionLab, primary: String, standby: String) async throws {
        let writer = try DualWriter(lab)
        #expect(await writer.reached(primary), "the writer never reached \(primary)")
        try await Task.sleep(for: .milliseconds(300))
        let cut = Date().timeIntervalSince1970
        #expect(try await lab.lab(["fault", "partition", lab.region(primary)]).status == 0)
        // A cut link drops packets without a word: a connection attempt across it waits for its timeout.
        let attempt = try await lab.connect(from: standby, to: primary, limit: 1)
        #expect(attempt.status == 28 && attempt.took >= 0.9, "across the cut: curl exit \(attempt.status) after \(attempt.took)s (28 after 1 s is a silent drop)")
        let promoted = await RegionLab.eventually(.seconds(30)) { await lab.writable(standby) }
        try await Task.sleep(for: .seconds(1))
        let result = try await writer.stop()
        let logs = "\(lab.agentLogTail(standby))\n--- its region's etcd member said:\n\(lab.etcdLogTail(standby))"
        #expect(promoted, "\(standby) was not promoted after \(primary)'s region was cut off; its agent said:\n\(logs)")
        let old = result.times(writer.index(primary)), new = result.times(writer.index(standby))
        #expect(old.contains { $0 < cut }, "the writer reached \(primary) before the cut")
        let firstNew = try #require(new.first, "\(standby) acknowledged no write")
        let late = old.filter { $0 >= firstNew }
        #expect(late.isEmpty, "\(primary) acknowledged \(late.count) writes after \(standby)'s first: two writable primaries")
        #expect((old.last ?? 0) < firstNew)
        // Heal: the old primary demoted itself and rejoins the new one by itself (automatic mode).
        #expect(try await lab.lab(["fault", "heal"]).status == 0)
        #expect(await RegionLab.eventually(.seconds(60)) { await lab.streams(primary) },
                "\(primary) does not stream from \(standby) after the heal")
        #expect(await !lab.writable(primary))
    }

    /// Holds a lab slot (LabSlots) for the whole test: a lab of regions is the heaviest.
    @Test func automaticModeUnderPartitionsNodeLossAndEtcdTrouble() async throws { try await LabSlots.with { try await automaticModeUnderPartitionsNodeLossAndEtcdTroubleBody() } }

    func automaticModeUnderPartitionsNodeLossAndEtcdTroubleBody() async throws {
        let lab = try await RegionLab.up(["--automatic"])
        defer { lab.destroy() }
        #expect(await RegionLab.eventually(.seconds(30)) { await lab.streams("pg2") })

        // A weak fence (read-only through SQL, as a fence falls back to) left on the key's
        // holder: its agent lifts it, rather than keep the legitimate primary read-only for good.
        try await lab.sql("pg1", "ALTER SYSTEM SET default_transaction_read_only = on")
        try await lab.sql("pg1", "SELECT pg_reload_conf()")
        #expect(await RegionLab.eventually(.seconds(15)) { await lab.writable("pg1") }, "pg1 stayed read-only while holding the key")

        // The primary's region cut off, in both directions (pg1 then pg2 primary).
        try await partitionPrimaryRegion(lab, primary: "pg1", standby: "pg2")
        try await partitionPrimaryRegion(lab, primary: "pg2", standby: "pg1")

        // The DR region cut off: no failover, writes go on, dr-at-risk fires.
        do {
            let (primary, standby) = try await lab.roles()
            // The alarm is OK first (the earlier faults raised it), so its firing is this fault's doing.
            #expect(await RegionLab.eventually(.seconds(40), every: .milliseconds(500)) {
                await lab.metrics(primary).contains("pgdr_alarm_state{alarm=\"dr-at-risk\"} 0")
            }, "dr-at-risk did not clear with both regions healthy")
            let writer = try DualWriter(lab, nodes: [primary])
            let watch = WritableWatch()
            let watching = watch.start(lab, standby)
            #expect(try await lab.lab(["fault", "partition", lab.region(standby)]).status == 0)
            let alarm = await RegionLab.eventually(.seconds(40), every: .milliseconds(500)) {
                await lab.metrics(primary).contains("pgdr_alarm_state{alarm=\"dr-at-risk\"} 1")
            }
            watch.stop()
            await watching.value
            let result = try await writer.stop()
            #expect(alarm, "dr-at-risk did not fire on \(primary)'s agent while the DR region was cut off")
            #expect(!watch.seen.withLock { $0 }, "\(standby) became writable while only the DR region was cut off")
            #expect(await lab.writable(primary), "\(primary) is not writable after the DR region was cut off; its agent said:\n\(lab.agentLogTail(primary))")
            let logs = "\(lab.agentLogTail(primary))\n--- its region's etcd member said:\n\(lab.etcdLogTail(primary))"
            #expect(result.errors[0] == 0, "\(primary) refused \(result.errors[0]) writes while the DR region was cut off; its agent said:\n\(logs)")
            #expect(try await lab.lab(["fault", "heal"]).status == 0)
            #expect(await RegionLab.eventually(.seconds(30)) { await lab.streams(standby) },
                    "\(standby) does not stream after the heal; agents said:\n\(lab.agentLogTail(primary))\n---\n\(lab.agentLogTail(standby))")
        }

        // The witness region cut off, then one etcd member stopped (the primary's own): nothing changes.
        do {
            let (primary, standby) = try await lab.roles()
            let writer = try DualWriter(lab, nodes: [primary])
            let watch = WritableWatch()
            let watching = watch.start(lab, standby)
            #expect(try await lab.lab(["fault", "partition", "us-west-2"]).status == 0)
            try await Task.sleep(for: .seconds(3 * Self.ttl + 1))
            #expect(try await lab.lab(["fault", "heal"]).status == 0)
            #expect(try await lab.lab(["fault", "stop-etcd", lab.region(primary)]).status == 0)
            try await Task.sleep(for: .seconds(3 * Self.ttl + 1))
            watch.stop()
            await watching.value
            let result = try await writer.stop()
            #expect(!watch.seen.withLock { $0 }, "\(standby) became writable during etcd trouble alone")
            let gaps = zip(result.times(0).dropFirst(), result.times(0)).map { $0 - $1 }
            #expect((gaps.max() ?? 99) < 1.5, "\(primary) stopped taking writes for \(gaps.max() ?? 99)s during etcd trouble")
            #expect(result.errors[0] == 0, "\(primary) refused \(result.errors[0]) writes during etcd trouble")
            #expect(try await lab.lab(["up"]).status == 0, "lab up starts the stopped etcd member again")
            #expect(await RegionLab.eventually(.seconds(30)) { await lab.streams(standby) })
        }

        // Node loss: the primary's postmaster, its children and its agent SIGKILLed.
        do {
            let (primary, standby) = try await lab.roles()
            let writer = try DualWriter(lab)
            #expect(await writer.reached(primary), "the writer never reached \(primary)")
            try await Task.sleep(for: .milliseconds(300))
            let killed = Date().timeIntervalSince1970
            #expect(try await lab.lab(["fault", "kill", primary]).status == 0)
            let promoted = await RegionLab.eventually(.seconds(30)) { await lab.writable(standby) }
            try await Task.sleep(for: .milliseconds(500))
            let result = try await writer.stop()
            #expect(promoted, "\(standby) was not promoted after \(primary)'s loss; its agent said:\n\(lab.agentLogTail(standby))")
            let first = try #require(result.times(writer.index(standby)).first, "\(standby) acknowledged no write")
            // The lease was renewed at most one loop before the kill: the key could not be free earlier.
            #expect(first >= killed + Self.ttl - Self.tick - 0.2,
                    "\(standby) took a write \(first - killed)s after the kill, before \(primary)'s lease could have ended")
            // The lost node comes back (lab up starts its agent; the agent rewinds it into a standby).
            #expect(try await lab.lab(["up"]).status == 0)
            #expect(await RegionLab.eventually(.seconds(60)) { await lab.streams(primary) }, "\(primary) did not rejoin after coming back")

            // Status shows the leader key, its holder and every agent's view.
            // Each agent publishes what its own round saw: the rejoined node's record
            // says standby from its next round on.
            var status = try await lab.pgdr(["status"])
            let settled = await RegionLab.eventually(.seconds(10)) {
                status = (try? await lab.pgdr(["status"])) ?? status
                return status.stdout.contains("agent \(primary): standby")
            }
            #expect(status.stdout.contains("quorum: leader key held by \(standby)"), "\(status.stdout)")
            // With what etcd says is left of the holder's lease: renewed every loop, never more than the TTL.
            let leaseLeft = status.stdout.firstMatch(of: /leader key held by [a-z0-9-]+, lease (\d+)s left/).flatMap { Double($0.1) }
            #expect(leaseLeft.map { $0 <= Self.ttl } == true, "\(status.stdout)")
            #expect(settled, "\(status.stdout)")
            // The agent exports on its monitoring rounds: within a few of them.
            var metrics = ""
            let exported = await RegionLab.eventually(.seconds(15)) {
                metrics = await lab.metrics(standby)
                return metrics.contains("pgdr_dcs_leader{node=\"\(standby)\"} 1")
            }
            #expect(metrics.contains("pgdr_dcs_reachable 1"))
            #expect(exported, "\(metrics.split(separator: "\n").filter { $0.contains("dcs") || $0.contains("is_primary") })")
        }
    }

    /// Holds a lab slot (LabSlots) for the whole test: a lab of regions is the heaviest.
    @Test func manualModeApprovesThroughEtcdAndRefusesAnExpiredPlan() async throws { try await LabSlots.with { try await manualModeApprovesThroughEtcdAndRefusesAnExpiredPlanBody() } }

    func manualModeApprovesThroughEtcdAndRefusesAnExpiredPlanBody() async throws {
        let lab = try await RegionLab.up()
        defer { lab.destroy() }
        #expect(await RegionLab.eventually(.seconds(30)) { await lab.streams("pg2") })
        // A copy of the spec whose approvals expire after 10 s (the shortest allowed).
        let short = "\(lab.dir)/pgdr-short.yaml"
        try String(contentsOfFile: lab.config, encoding: .utf8).replacingOccurrences(of: "approvalTimeout: 15m", with: "approvalTimeout: 10s")
            .write(toFile: short, atomically: true, encoding: .utf8)
        // pg1's agent saves its position before it takes (and each time it renews) the key:
        // without one, the plan below would rightly be refused as an unknown loss.
        #expect(await RegionLab.eventually(.seconds(30)) {
            (try? await lab.pgdr(["status"]))?.stdout.contains("leader key held by pg1") == true
        }, "pg1 never took the leader key")

        #expect(try await lab.lab(["fault", "kill", "pg1"]).status == 0)
        // While pg1's lease may be alive its last position is not final: the plan is refused (exit 3) with when to retry.
        var planned = try await CLI.run(["failover", "--config", short])
        if planned.status == 3 { #expect(planned.stderr.contains("plan again"), "\(planned.stderr)") }
        #expect(await RegionLab.eventually(.seconds(20)) {
            (try? await lab.pgdr(["status"]))?.stdout.contains("leader key FREE") == true
        }, "pg1's lease did not end after its loss")
        try await Task.sleep(for: .seconds(1))
        planned = try await CLI.run(["failover", "--config", short])
        #expect(planned.status == 0, "\(planned.stdout)\(planned.stderr)")
        #expect(planned.stdout.contains("plan saved in etcd"))
        let expired = try #require(planned.stdout.firstMatch(of: /failover-[0-9a-f]{8}/).map { String($0.output) })
        // Manual mode: the key is free, yet nothing is promoted without an approval.
        let watch = WritableWatch()
        let watching = watch.start(lab, "pg2")
        try await Task.sleep(for: .seconds(10.5))
        watch.stop()
        await watching.value
        #expect(!watch.seen.withLock { $0 }, "manual mode promoted pg2 without an approval")
        let late = try await CLI.run(["approve", expired, "--config", short])
        #expect(late.status == 3, "an expired plan must be refused: \(late.stdout)\(late.stderr)")
        #expect(late.stderr.contains("expired"))
        #expect(await !lab.writable("pg2"))

        // A fresh plan, approved through etcd: the DR agent takes the key and promotes.
        let plan = try await lab.pgdr(["failover"])
        #expect(plan.stdout.contains("the leader key is free"), "\(plan.stdout)")
        let id = try #require(plan.stdout.firstMatch(of: /failover-[0-9a-f]{8}/).map { String($0.output) }, "\(plan.stdout)\(plan.stderr)")
        let approved = try await lab.pgdr(["approve", id])
        #expect(approved.status == 0, "\(approved.stdout)\(approved.stderr)")
        #expect(approved.stdout.contains("approved in etcd"))
        #expect(await lab.writable("pg2"))
        let again = try await lab.pgdr(["approve", id])
        #expect(again.status == 3, "an approval is used once")
        let operations = try await lab.pgdr(["operations"])
        #expect(operations.stdout.contains("\(id)  failover  done"), "\(operations.stdout)")

        // pg1 comes back fenced and waits for `pgdr rejoin` (manual mode).
        #expect(try await lab.lab(["up"]).status == 0)
        try await Task.sleep(for: .seconds(3 * Self.tick + 0.5))
        #expect(await !lab.writable("pg1"), "pg1 must not come back writable")
        #expect(await !lab.streams("pg1"), "manual mode: pg1 waits for `pgdr rejoin`")
        let rejoin = try await lab.pgdr(["rejoin", "pg1"])
        #expect(rejoin.status == 0, "\(rejoin.stdout)\(rejoin.stderr)")
        #expect(await RegionLab.eventually(.seconds(20)) { await lab.streams("pg1") })

        // Switchover through etcd: zero loss, roles swapped, both healthy.
        let writer = try DualWriter(lab)
        let switchover = try await lab.pgdr(["switchover"])
        let result = try await writer.stop()
        #expect(switchover.status == 0, "\(switchover.stdout)\(switchover.stderr)")
        #expect(await lab.writable("pg1"))
        // pg2 stopped its writes once and waited for pg1 to take the key (it once took its role
        // back as the last primary and stopped again, in a loop that outran pg1's replay).
        let switchoverID = switchover.stdout.firstMatch(of: /switchover-[0-9a-f]{8}/).map { String($0.output) } ?? "?"
        let stops = lab.agentLogTail("pg2", lines: 2000).split(separator: "\n").filter {
            $0.contains(" notice ") && $0.contains("switchover \(switchoverID): writes stopped at")
        }
        #expect(stops.count == 1, "\(lab.agentLogTail("pg2"))")
        #expect(await RegionLab.eventually(.seconds(20)) { await lab.streams("pg2") })
        let present = try await lab.ids(on: "pg1")
        let lost = Set(result.acks.map(\.id)).subtracting(present)
        #expect(lost.isEmpty, "switchover lost \(lost.count) acknowledged writes")
        let firstNew = result.times(0).first { t in result.times(1).contains { $0 < t } } ?? .infinity
        #expect(!result.times(1).contains { $0 > firstNew }, "pg2 and pg1 both acknowledged writes")
    }

    /// Every etcd member down: the primary's agent keeps it writable only
    /// because its peer acknowledges it (failsafe), a call between agents
    /// that serve HTTPS, verified against the lab's CA (`agent.peerCA`).
    /// Holds a lab slot (LabSlots) for the whole test: a lab of regions is the heaviest.
    @Test func withEveryEtcdMemberDownThePeersAcknowledgeEachOtherOverHTTPS() async throws { try await LabSlots.with { try await withEveryEtcdMemberDownThePeersAcknowledgeEachOtherOverHTTPSBody() } }

    func withEveryEtcdMemberDownThePeersAcknowledgeEachOtherOverHTTPSBody() async throws {
        let lab = try await RegionLab.up(["--automatic"])
        defer { lab.destroy() }
        #expect(await RegionLab.eventually(.seconds(30)) { await lab.streams("pg2") })
        #expect(await RegionLab.eventually(.seconds(30)) {
            (try? await lab.pgdr(["status"]))?.stdout.contains("leader key held by pg1") == true
        }, "pg1 never took the leader key")
        for region in ["us-east-1", "us-east-2", "us-west-2"] {
            #expect(try await lab.lab(["fault", "stop-etcd", region]).status == 0)
        }
        try await Task.sleep(for: .seconds(3 * Self.ttl + 1))
        #expect(await lab.writable("pg1"), "the primary kept taking writes on its peer's acknowledgement")
        #expect(!(await lab.writable("pg2")))
        let log = (try? String(contentsOfFile: "\(lab.dir)/us-east-1/agent.log", encoding: .utf8)) ?? ""
        #expect(log.contains("pg2's agent acknowledged this primary (failsafe)"), "\(log.suffix(600))")
        #expect(try await lab.lab(["up"]).status == 0, "lab up starts the etcd members again")
    }

    /// Holds a lab slot (LabSlots) for the whole test: a lab of regions is the heaviest.
    @Test func synchronousModeLosesNothingWhenThePrimaryRegionIsCutOff() async throws { try await LabSlots.with { try await synchronousModeLosesNothingWhenThePrimaryRegionIsCutOffBody() } }

    func synchronousModeLosesNothingWhenThePrimaryRegionIsCutOffBody() async throws {
        let lab = try await RegionLab.up(["--automatic", "--sync"])
        defer { lab.destroy() }
        #expect(await RegionLab.eventually(.seconds(30)) { await lab.streams("pg2") })
        let writer = try DualWriter(lab)
        #expect(await writer.reached("pg1"), "the writer never reached pg1")
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await lab.lab(["fault", "partition", lab.region("pg1")]).status == 0)
        let promoted = await RegionLab.eventually(.seconds(30)) { await lab.writable("pg2") }
        try await Task.sleep(for: .seconds(1))
        let result = try await writer.stop()
        #expect(promoted)
        let acknowledged = Set(result.acks.map(\.id))
        #expect(!result.ids(0).isEmpty && !result.ids(1).isEmpty, "writes on both sides of the failover")
        let present = try await lab.ids(on: "pg2")
        let lost = acknowledged.subtracting(present)
        #expect(lost.isEmpty, "\(lost.count) acknowledged commits lost: \(lost.sorted().prefix(10))")
        let firstNew = try #require(result.times(1).first)
        #expect(!result.times(0).contains { $0 >= firstNew })
        #expect(try await lab.lab(["fault", "heal"]).status == 0)
        #expect(await RegionLab.eventually(.seconds(60)) { await lab.streams("pg1") })
    }
}
