import Foundation

/// The DR standby's lag over the last hour, one point per agent round, kept
/// in memory for the web page's chart (Prometheus keeps the long history).
/// Pure and bounded: points older than the window, or beyond `capacity`, go.
public struct LagHistory: Sendable, Hashable {
    public struct Point: Sendable, Hashable {
        public var at: Date
        /// nil: the lag was unknown that round (drawn as a gap, never as 0).
        public var seconds: Double?
        public var bytes: Int64?

        public init(at: Date, seconds: Double?, bytes: Int64?) {
            self.at = at
            self.seconds = seconds
            self.bytes = bytes
        }
    }

    public let window: TimeInterval
    public let capacity: Int
    public private(set) var points: [Point] = []

    public init(window: TimeInterval = 3600, capacity: Int = 3600) {
        self.window = window
        self.capacity = capacity
    }

    public mutating func record(_ point: Point) {
        points.append(point)
        let oldest = point.at.addingTimeInterval(-window)
        if let keep = points.firstIndex(where: { $0.at >= oldest }), keep > 0 { points.removeFirst(keep) }
        if points.count > capacity { points.removeFirst(points.count - capacity) }
    }
}
