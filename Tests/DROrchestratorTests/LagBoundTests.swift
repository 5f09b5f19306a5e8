import DROrchestrator
import DRSpec
import DRStatus
import Foundation
import Testing

/// Bounded mode's measure and decision, without servers (BoundedModeTests
/// runs them against real ones).
@Suite struct LagBoundTests {
    let t0 = Date(timeIntervalSince1970: 1_000_000)
    func at(_ s: Double) -> Date { t0.addingTimeInterval(s) }

    @Test func aStreamingReplicaLacksOnlyTheNewestRoundAndPostgresMeasuresIt() {
        var lag = UnreceivedLag(keep: 600)
        for i in 0..<5 { lag.record(primary: LSN(UInt64(1000 + i * 100)), standby: LSN(UInt64(1000 + i * 100)), at: at(Double(i))) }
        lag.record(primary: LSN(1500), standby: LSN(1400), at: at(5))
        let reading = lag.reading(now: at(5.2), flushLag: 0.004)
        #expect(reading.bytes == 100 && reading.seconds == 0.004)
    }

    @Test func aStoppedReplicaLagsFromTheLastRoundItHas() {
        var lag = UnreceivedLag(keep: 600)
        lag.record(primary: LSN(1000), standby: LSN(1000), at: at(0))
        lag.record(primary: LSN(1100), standby: nil, at: at(1))  // the replica stopped before receiving this
        lag.record(primary: LSN(1200), standby: nil, at: at(2))
        lag.record(primary: LSN(1300), standby: nil, at: at(3))
        let reading = lag.reading(now: at(3))
        #expect(reading.bytes == 300)
        #expect(reading.seconds == 3, "from the last round whose WAL it has: an upper bound")
    }

    @Test func historyShorterThanTheLagFallsBackToTheHeartbeat() {
        var lag = UnreceivedLag(keep: 600)
        lag.record(primary: LSN(5000), standby: LSN(1000), at: at(0))
        #expect(lag.reading(now: at(1), fallbackSeconds: 40).seconds == 40)
        #expect(UnreceivedLag(keep: 600).reading(now: at(0)).known == false)
    }

    @Test func holdsAtTheBoundReleasesUnderHalfAndFailsClosed() {
        let bound = DataLossLimit(bytes: .megabytes(16), time: .seconds(10))
        func reading(_ bytes: Int64?, _ seconds: Double?) -> UnreceivedLag.Reading {
            UnreceivedLag.Reading(bytes: bytes, seconds: seconds)
        }
        #expect(LagBound.decide(reading(100, 9.9), bound: bound, holding: false, riskAccepted: false) == .keep)
        guard case .hold = LagBound.decide(reading(100, 10), bound: bound, holding: false, riskAccepted: false) else {
            Issue.record("at the time bound: hold"); return
        }
        guard case .hold = LagBound.decide(reading(16 << 20, 0), bound: bound, holding: false, riskAccepted: false) else {
            Issue.record("at the size bound: hold"); return
        }
        guard case .hold(let why) = LagBound.decide(reading(nil, nil), bound: bound, holding: false, riskAccepted: false) else {
            Issue.record("unknown: hold (fail closed)"); return
        }
        #expect(why.contains("fail closed"))
        #expect(LagBound.decide(reading(100, 6), bound: bound, holding: true, riskAccepted: false) == .keep, "hysteresis")
        guard case .release = LagBound.decide(reading(100, 5), bound: bound, holding: true, riskAccepted: false) else {
            Issue.record("under half: release"); return
        }
        #expect(LagBound.decide(reading(9 << 20, 1), bound: bound, holding: true, riskAccepted: false) == .keep, "bytes over half")
    }

    @Test func anAcceptedRiskSuspendsHoldingUntilTheReplicaIsBackInside() {
        let bound = DataLossLimit(bytes: nil, time: .seconds(10))
        #expect(LagBound.decide(.init(bytes: 1 << 30, seconds: 500), bound: bound, holding: false, riskAccepted: true) == .keep)
        guard case .release = LagBound.decide(.init(bytes: 1 << 30, seconds: 500), bound: bound, holding: true, riskAccepted: true) else {
            Issue.record("a hold left in place is released"); return
        }
        guard case .rearm = LagBound.decide(.init(bytes: 10, seconds: 1), bound: bound, holding: false, riskAccepted: true) else {
            Issue.record("back inside: armed again"); return
        }
    }
}
