import Foundation

/// Recent datapoints per series (`CPUPercent@primary`, `StandbyStreaming`),
/// kept only as long as the longest alarm window needs them.
public struct MetricStore: Sendable {
    public struct Datapoint: Sendable, Hashable {
        public var at: Date
        public var value: Double
    }

    private(set) var series: [String: [Datapoint]] = [:]
    public let retention: TimeInterval

    public init(retention: TimeInterval) { self.retention = retention }

    public mutating func record(_ key: String, _ value: Double, at: Date) {
        var points = series[key, default: []]
        points.append(Datapoint(at: at, value: value))
        let horizon = at.addingTimeInterval(-retention)
        if let first = points.firstIndex(where: { $0.at >= horizon }), first > 0 { points.removeFirst(first) }
        series[key] = points
    }

    public mutating func record(_ values: [String: Double], at: Date) {
        for (key, value) in values { record(key, value, at: at) }
    }

    public func points(_ key: String, from start: Date, to end: Date) -> [Double] {
        (series[key] ?? []).filter { $0.at >= start && $0.at < end }.map(\.value)
    }

    public func latest(_ key: String) -> Datapoint? { series[key]?.last }
}
