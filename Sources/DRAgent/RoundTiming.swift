import Foundation

/// Where a round's time went, step by step (for the slow-round warning).
struct RoundTiming: CustomStringConvertible {
    private let started = ContinuousClock.now
    private var last = ContinuousClock.now
    private var steps: [(String, Duration)] = []

    mutating func mark(_ step: String) {
        let now = ContinuousClock.now
        steps.append((step, now - last))
        last = now
    }

    var total: Duration { last - started }

    var description: String {
        steps.map { "\($0.0) \(Self.milliseconds($0.1)) ms" }.joined(separator: ", ")
    }

    static func milliseconds(_ d: Duration) -> Int {
        Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
    }
}
