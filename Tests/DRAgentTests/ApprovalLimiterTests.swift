import DRAgent
import Foundation
import Testing

@Suite struct ApprovalLimiterTests {
    @Test func fivePerCallerTwentyOverallPerWindow() {
        var limiter = ApprovalLimiter(perCaller: 5, overall: 20, window: 60)
        let start = Date(timeIntervalSince1970: 1_000_000)
        for i in 0..<5 { #expect(limiter.admit("10.0.0.1", at: start.addingTimeInterval(Double(i))) == nil) }
        let wait = limiter.admit("10.0.0.1", at: start.addingTimeInterval(10))
        #expect(wait == 50, "until the oldest attempt leaves the window")
        #expect(limiter.admit("10.0.0.2", at: start.addingTimeInterval(10)) == nil, "another caller is not held back")
        #expect(limiter.admit("10.0.0.1", at: start.addingTimeInterval(60)) == nil, "the window moved on")
        // Overall: twenty callers' worth, then everyone waits.
        var overall = ApprovalLimiter(perCaller: 5, overall: 20, window: 60)
        for i in 0..<20 { #expect(overall.admit("10.0.1.\(i)", at: start) == nil) }
        #expect(overall.admit("10.0.2.1", at: start.addingTimeInterval(1)) == 59)
    }
}
