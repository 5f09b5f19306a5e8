import Foundation

/// What to tell people, decided from transitions: every change into or out of
/// ALARM, and into INSUFFICIENT_DATA from a known state; not the start-up
/// INSUFFICIENT_DATA → OK settling of every alarm. While an alarm stays in
/// ALARM, a reminder every `reminder` (0 turns reminders off).
public struct NotificationPolicy: Sendable {
    public struct Notice: Sendable, Hashable, Codable {
        public enum Kind: String, Sendable, Codable { case transition, reminder }
        /// Stable identity, so receivers can drop a redelivered duplicate.
        public var id: String
        public var kind: Kind
        public var transition: AlarmTransition
    }

    public let reminder: TimeInterval
    private var lastNotified: [String: Date] = [:]
    private var sequence: Int

    public init(reminder: TimeInterval, sequenceStart: Int = 0) {
        self.reminder = reminder
        self.sequence = sequenceStart
    }

    public mutating func notices(for transitions: [AlarmTransition], states: [String: AlarmEngine.Entry],
                                 now: Date) -> [Notice] {
        var out: [Notice] = []
        for transition in transitions where Self.worthTelling(transition) {
            out.append(make(.transition, transition))
            lastNotified[transition.alarm] = now
        }
        let changed = Set(transitions.map(\.alarm))
        if reminder > 0 {
            for entry in states.values.sorted(by: { $0.name < $1.name })
            where entry.state == .alarm && !changed.contains(entry.name) {
                let last = lastNotified[entry.name] ?? entry.since
                guard now.timeIntervalSince(last) >= reminder else { continue }
                out.append(make(.reminder, AlarmTransition(alarm: entry.name, summary: entry.summary, from: .alarm,
                                                           to: .alarm, reason: entry.reason, at: now)))
                lastNotified[entry.name] = now
            }
        }
        return out
    }

    static func worthTelling(_ t: AlarmTransition) -> Bool {
        t.to == .alarm || t.from == .alarm || (t.to == .insufficientData && t.from == .ok)
    }

    mutating func make(_ kind: Notice.Kind, _ transition: AlarmTransition) -> Notice {
        sequence += 1
        let stamp = Int(transition.at.timeIntervalSince1970 * 1000)
        return Notice(id: "\(transition.alarm)-\(stamp)-\(sequence)", kind: kind, transition: transition)
    }
}
