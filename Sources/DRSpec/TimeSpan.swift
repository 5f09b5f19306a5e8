import Foundation

/// A duration written in pgdr.yaml as `200ms`, `300s`, `5m`, `1h` or `1d`.
///
/// Stored as whole milliseconds: nothing pgdr schedules needs finer resolution,
/// and an integer keeps comparisons and JSON exact.
public struct TimeSpan: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(milliseconds: s * 1000) }
    public static func minutes(_ m: Int64) -> TimeSpan { .seconds(m * 60) }
    public static func hours(_ h: Int64) -> TimeSpan { .minutes(h * 60) }
    public static func days(_ d: Int64) -> TimeSpan { .hours(d * 24) }

    public var seconds: Double { Double(milliseconds) / 1000 }
    public var duration: Duration { .milliseconds(milliseconds) }

    static let units: [(suffix: String, factor: Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// Parses `300s`, `5m`, `1h`, `200ms`, `1d`. A bare number is refused on
    /// purpose: `300` could mean seconds or milliseconds, and guessing wrong
    /// in a failover timeout is worse than asking.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        guard !digits.isEmpty, let value = Int64(digits),
              let factor = Self.units.first(where: { $0.suffix == unit })?.factor,
              value <= Int64.max / factor
        else { return nil }
        self.milliseconds = value * factor
    }

    /// The shortest exact spelling: 300000 ms prints as `5m`.
    public var description: String {
        if milliseconds == 0 { return "0s" }
        for (suffix, factor) in Self.units.reversed() where milliseconds % factor == 0 {
            return "\(milliseconds / factor)\(suffix)"
        }
        return "\(milliseconds)ms"
    }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.milliseconds < b.milliseconds }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = TimeSpan(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "not a duration: \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
