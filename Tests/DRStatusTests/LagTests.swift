import DRSpec
import Foundation
import Testing
@testable import DRStatus

func primary(flush: String, at now: Date = Date(timeIntervalSince1970: 1_000_000)) -> NodeSample {
    var s = NodeSample(name: "pg1", region: "us-east-1", host: "127.0.0.1", port: 1, reachable: true)
    s.role = .primary
    s.flushLSN = LSN(flush)
    s.currentLSN = LSN(flush)
    s.serverTime = now
    return s
}

func standby(replay: String, heartbeat: Date? = nil, receiver: String = "streaming") -> NodeSample {
    var s = NodeSample(name: "pg2", region: "us-east-2", host: "127.0.0.1", port: 2, reachable: true)
    s.role = .standby
    s.replayLSN = LSN(replay)
    s.receiveLSN = LSN(replay)
    s.heartbeatAt = heartbeat
    s.replayPaused = false
    s.walReceiver = .init(status: WalReceiverState(receiver), senderHost: "127.0.0.1", senderPort: 1, slotName: "pgdr_pg2", lastMessageAt: nil)
    return s
}

let thresholds = Thresholds(replicationLag: .seconds(300), cpuPercent: 80, freeStorage: .gigabytes(10),
                            connectionsPercent: 80, latency: TimeSpan(milliseconds: 200))

@Suite struct LSNTests {
    @Test func roundTrips() {
        #expect(LSN("16/B374D848")?.value == 0x16_B374_D848)
        #expect(LSN("16/B374D848")?.description == "16/B374D848")
        #expect(LSN("0/0")?.value == 0)
        #expect(LSN("nope") == nil)
        #expect(LSN("1/2/3") == nil)
        #expect(LSN("100000000/0") == nil)
    }

    @Test func differenceIsClampedAtZero() {
        #expect(LSN("0/3000100")!.bytesAhead(of: LSN("0/3000000")!) == 256)
        #expect(LSN("0/3000000")!.bytesAhead(of: LSN("0/3000100")!) == 0)
        #expect(LSN("1/0")!.bytesAhead(of: LSN("0/FFFFFFFF")!) == 1)
    }
}

@Suite struct LagMeasurementTests {
    @Test func caughtUpIsZeroEvenWithAnOldHeartbeat() {
        // Idle primary: the last heartbeat is an hour old but nothing is missing.
        let now = Date(timeIntervalSince1970: 1_000_000)
        let lag = StatusEvaluator.measureLag(primary: primary(flush: "0/5000000", at: now),
                                             standby: standby(replay: "0/5000000", heartbeat: now - 3600))
        #expect(lag.lagBytes == 0)
        #expect(lag.lagSeconds == 0)
        #expect(lag.lagSource == .caughtUp)
    }

    @Test func behindUsesTheReplayedHeartbeat() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let lag = StatusEvaluator.measureLag(primary: primary(flush: "0/5001000", at: now),
                                             standby: standby(replay: "0/5000000", heartbeat: now - 7))
        #expect(lag.lagBytes == 4096)
        #expect(lag.lagSeconds == 7)
        #expect(lag.lagSource == .heartbeat)
    }

    @Test func behindWithoutHeartbeatIsUnknownNotZero() {
        let lag = StatusEvaluator.measureLag(primary: primary(flush: "0/5001000"), standby: standby(replay: "0/5000000"))
        #expect(lag.lagSeconds == nil)
        #expect(lag.lagSource == .unknown)
    }

    @Test func standbyAheadOfAnEarlierPrimarySampleIsZero() {
        let lag = StatusEvaluator.measureLag(primary: primary(flush: "0/5000000"), standby: standby(replay: "0/5000100"))
        #expect(lag.lagBytes == 0)
    }
}

@Suite struct StatusVerdictTests {
    @Test func healthyPair() {
        let report = StatusEvaluator.evaluate([primary(flush: "0/1"), standby(replay: "0/1")], thresholds: thresholds)
        #expect(report.healthy)
        #expect(report.problems.isEmpty)
        #expect(report.replication?.streaming == true)
    }

    @Test func unreachableStandbyIsNamed() {
        let down = NodeSample(name: "pg2", region: "us-east-2", host: "127.0.0.1", port: 2, reachable: false,
                              error: "connection refused")
        let report = StatusEvaluator.evaluate([primary(flush: "0/1"), down], thresholds: thresholds)
        #expect(!report.healthy)
        #expect(report.problems.contains { $0.node == "pg2" && $0.message.contains("connection refused") })
        #expect(report.problems.contains { $0.message.contains("no reachable standby") })
    }

    @Test func twoPrimariesIsSplitBrain() {
        var other = primary(flush: "0/1")
        other.name = "pg2"
        let report = StatusEvaluator.evaluate([primary(flush: "0/1"), other], thresholds: thresholds)
        #expect(report.problems.contains { $0.message.contains("split brain") })
    }

    @Test func notStreamingPausedAndArchiverFailing() {
        var p = primary(flush: "0/1")
        p.archiver = .init(archivedCount: 3, lastArchivedWAL: "A", lastArchivedAt: Date(timeIntervalSince1970: 10),
                           failedCount: 1, lastFailedWAL: "B", lastFailedAt: Date(timeIntervalSince1970: 20))
        p.slots = [.init(name: "pgdr_old", type: "physical", active: false, retainedBytes: 1 << 30, walStatus: "extended")]
        var s = standby(replay: "0/1", receiver: "waiting")
        s.replayPaused = true
        let report = StatusEvaluator.evaluate([p, s], thresholds: thresholds)
        let messages = report.problems.map(\.description)
        #expect(messages.contains { $0.contains("pg2") && $0.contains("not streaming (WAL receiver: waiting)") })
        #expect(messages.contains { $0.contains("replay is paused") })
        #expect(messages.contains { $0.contains("archiving is failing (last failed: B)") })
        #expect(messages.contains { $0.contains("pgdr_old is inactive and retains 1 GB") })
    }

    @Test func lagOverThresholdOnlyWithByteEvidence() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let behind = StatusEvaluator.evaluate([primary(flush: "0/5001000", at: now),
                                               standby(replay: "0/5000000", heartbeat: now - 400)], thresholds: thresholds)
        #expect(behind.problems.contains { $0.message.contains("over the 5m threshold") })
        let idle = StatusEvaluator.evaluate([primary(flush: "0/5000000", at: now),
                                             standby(replay: "0/5000000", heartbeat: now - 400)], thresholds: thresholds)
        #expect(idle.healthy)
    }

    @Test func connectionsNearTheLimit() {
        var p = primary(flush: "0/1")
        p.connections = .init(used: 45, max: 50)
        let report = StatusEvaluator.evaluate([p, standby(replay: "0/1")], thresholds: thresholds)
        #expect(report.problems.contains { $0.message == "45 of 50 connections in use" })
    }

    @Test func tableNamesTheDownNodeAndTheProblem() {
        let down = NodeSample(name: "pg2", region: "us-east-2", host: "127.0.0.1", port: 2, reachable: false, error: "x")
        let text = StatusTable.render(StatusEvaluator.evaluate([primary(flush: "0/1"), down], thresholds: thresholds))
        #expect(text.contains("pg2   us-east-2  127.0.0.1:2  DOWN"))
        #expect(text.contains("PROBLEM pg2: unreachable: x"))
    }
}
