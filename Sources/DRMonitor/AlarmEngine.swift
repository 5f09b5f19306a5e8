import DRSpec
import Foundation

/// Holds every alarm's state and moves it on each evaluation. Metric alarms
/// first, then composites in dependency order (validation rejects cycles),
/// so a composite sees its inputs' new states in the same round.
public struct AlarmEngine: Sendable {
    public struct Entry: Sendable, Hashable, Codable {
        public var name: String
        public var summary: String
        public var state: AlarmState
        public var reason: String
        public var since: Date

        public init(name: String, summary: String, state: AlarmState, reason: String, since: Date) {
            self.name = name
            self.summary = summary
            self.state = state
            self.reason = reason
            self.since = since
        }
    }

    public let alarms: [AlarmSpec]
    public private(set) var store: MetricStore
    public private(set) var entries: [String: Entry] = [:]
    private let order: [AlarmSpec]

    /// `restored` carries states from a previous run (the journal), so a
    /// restart does not announce again what was already announced.
    public init(alarms: [AlarmSpec], now: Date = Date(), restored: [String: AlarmState] = [:]) {
        self.alarms = alarms
        let longest = alarms.compactMap(\.metric).map { Double($0.period.milliseconds) / 1000 * Double($0.evaluationPeriods) }.max() ?? 60
        self.store = MetricStore(retention: longest * 2 + 60)
        self.order = AlarmEngine.evaluationOrder(alarms)
        for alarm in alarms {
            entries[alarm.name] = Entry(name: alarm.name, summary: alarm.summary,
                                        state: restored[alarm.name] ?? .insufficientData,
                                        reason: restored[alarm.name] == nil ? "not evaluated yet" : "restored from the journal",
                                        since: now)
        }
    }

    public mutating func record(_ values: [String: Double], at: Date) { store.record(values, at: at) }

    /// Evaluates every alarm at `now` and returns the transitions.
    public mutating func evaluate(now: Date) -> [AlarmTransition] {
        var transitions: [AlarmTransition] = []
        for alarm in order {
            guard let current = entries[alarm.name] else { continue }
            let outcome: MetricAlarmEvaluator.Outcome
            switch alarm.kind {
            case .metric(let metric):
                outcome = MetricAlarmEvaluator.evaluate(metric, store: store, now: now, current: current.state)
            case .composite(let rule):
                outcome = CompositeEvaluator.evaluate(rule, states: entries.mapValues(\.state))
            }
            if outcome.state != current.state {
                transitions.append(AlarmTransition(alarm: alarm.name, summary: alarm.summary, from: current.state,
                                                   to: outcome.state, reason: outcome.reason, at: now))
                entries[alarm.name] = Entry(name: alarm.name, summary: alarm.summary, state: outcome.state,
                                            reason: outcome.reason, since: now)
            } else {
                entries[alarm.name]?.reason = outcome.reason
            }
        }
        return transitions
    }

    public func state(_ name: String) -> AlarmState? { entries[name]?.state }

    /// Metric alarms, then composites so that each follows the alarms it names.
    static func evaluationOrder(_ alarms: [AlarmSpec]) -> [AlarmSpec] {
        var ordered = alarms.filter { $0.metric != nil }
        var placed = Set(ordered.map(\.name))
        var pending = alarms.filter { $0.rule != nil }
        while !pending.isEmpty {
            let ready = pending.filter { ($0.rule?.references ?? []).allSatisfy { placed.contains($0) || !pending.map(\.name).contains($0) } }
            // A cycle cannot pass validation; place the rest as they are rather than loop.
            let next = ready.isEmpty ? pending : ready
            ordered += next
            placed.formUnion(next.map(\.name))
            pending.removeAll { placed.contains($0.name) }
        }
        return ordered
    }
}
