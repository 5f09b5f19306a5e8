import DRMonitor
import DROrchestrator
import DRStatus
import Foundation

/// The newest round's results, shared between the sampling loop and the HTTP API.
public actor AgentState {
    public private(set) var report: StatusReport?
    public private(set) var alarms: [AlarmEngine.Entry] = []
    public private(set) var lastRound: Date?
    public private(set) var rounds = 0
    /// The last failover or switchover, by the operations journal: with two
    /// writable primaries it says which one clients must use.
    public private(set) var lastPromotion: Promotion?
    /// The DR standby's lag over the last hour (the web page's chart).
    public private(set) var history = LagHistory()
    /// Bounded mode's newest measure and state (nil in other modes).
    private(set) var bound: BoundEnforcer.Snapshot?
    /// How old a round may be before the API stops vouching for it.
    public let staleAfter: TimeInterval

    public init(interval: TimeInterval) { staleAfter = max(3 * interval, 5) }

    func publish(_ report: StatusReport, alarms: [AlarmEngine.Entry], at: Date, lastPromotion: Promotion? = nil) {
        self.lastPromotion = lastPromotion
        self.report = report
        self.alarms = alarms.sorted { $0.name < $1.name }
        lastRound = at
        history.record(.init(at: at, seconds: report.replication?.lagSeconds, bytes: report.replication?.lagBytes))
        rounds += 1
    }

    func publish(bound: BoundEnforcer.Snapshot) { self.bound = bound }

    /// The report, if fresh enough to answer a load balancer with.
    public func freshReport(now: Date = Date()) -> StatusReport? {
        guard let report, let lastRound, now.timeIntervalSince(lastRound) <= staleAfter else { return nil }
        return report
    }
}
