@testable import DRAgent
import Foundation
import Testing

/// When the agent samples again sooner than its tick: only while the roles change.
@Suite struct SettleRoundsTests {
    let tick = Date(timeIntervalSince1970: 1000)
    let now = Date(timeIntervalSince1970: 998)

    @Test func aSteadyPairWaitsForTheTick() {
        var settle = SettleRounds()
        let roles = ["pg1": "primary", "pg2": "standby"]
        settle.observe(roles, previous: roles)
        #expect(settle.next(before: tick, now: now) == tick)
        settle.observe(roles, previous: nil)
        #expect(settle.next(before: tick, now: now) == tick, "the first round has nothing to compare with")
    }

    @Test func aChangeSamplesEveryStepUntilOnePrimaryHoldsStill() {
        var settle = SettleRounds()
        settle.observe(["pg1": "unreachable", "pg2": "standby"], previous: ["pg1": "primary", "pg2": "standby"])
        #expect(settle.next(before: tick, now: now) == now.addingTimeInterval(0.25))
        settle.observe(["pg1": "unreachable", "pg2": "primary"], previous: ["pg1": "unreachable", "pg2": "standby"])
        #expect(settle.next(before: tick, now: now) == now.addingTimeInterval(0.25), "a change: one more look")
        settle.observe(["pg1": "unreachable", "pg2": "primary"], previous: ["pg1": "unreachable", "pg2": "primary"])
        #expect(settle.next(before: tick, now: now) == tick, "one primary, unchanged: settled")
    }

    @Test func noPrimaryForLongStopsAfterTheLimit() {
        var settle = SettleRounds(step: 0.25, limit: 3)
        let gone = ["pg1": "unreachable", "pg2": "standby"]
        settle.observe(gone, previous: ["pg1": "primary", "pg2": "standby"])
        for _ in 0..<3 {
            #expect(settle.next(before: tick, now: now) < tick)
            settle.observe(gone, previous: gone)
        }
        #expect(settle.next(before: tick, now: now) == tick, "bounded: back to the tick")
        #expect(settle.next(before: now.addingTimeInterval(0.1), now: now) == now.addingTimeInterval(0.1))
    }
}
