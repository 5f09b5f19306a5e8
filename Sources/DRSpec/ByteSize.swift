import Foundation

/// A size written in pgdr.yaml as `16MB`, `100GB`, `512kB` or `0`.
///
/// Units are powers of 1024, exactly as PostgreSQL reads `16MB` in
/// postgresql.conf, so a value copied from one to the other means the same.
public struct ByteSize: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let bytes: Int64

    public init(bytes: Int64) { self.bytes = bytes }
    public static func megabytes(_ n: Int64) -> ByteSize { ByteSize(bytes: n << 20) }
    public static func gigabytes(_ n: Int64) -> ByteSize { ByteSize(bytes: n << 30) }

    static let units: [(suffix: String, factor: Int64)] = [
        ("B", 1), ("kB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("TB", 1 << 40),
    ]
    /// Spellings people write that mean the same unit.
    static let aliases: [String: String] = [
        "": "B", "KB": "kB", "kb": "kB", "KiB": "kB", "mb": "MB", "MiB": "MB",
        "gb": "GB", "GiB": "GB", "tb": "TB", "TiB": "TB", "b": "B",
    ]

    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        var unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        unit = Self.aliases[unit] ?? unit
        guard !digits.isEmpty, let value = Int64(digits),
              let factor = Self.units.first(where: { $0.suffix == unit })?.factor,
              value <= Int64.max / factor
        else { return nil }
        // A bare number is only accepted as zero: `0` is unambiguous, `16` is not.
        if unit == "B", trimmed == String(digits), value != 0 { return nil }
        self.bytes = value * factor
    }

    public var description: String {
        if bytes == 0 { return "0" }
        for (suffix, factor) in Self.units.reversed() where bytes % factor == 0 {
            return "\(bytes / factor)\(suffix)"
        }
        return "\(bytes)B"
    }

    /// Approximate, for people: `1.5 GB`.
    public var humanReadable: String { Self.human(Double(bytes)) }

    public static func human(_ value: Double) -> String {
        let magnitude = abs(value)
        for (suffix, factor) in units.reversed() where magnitude >= Double(factor) && factor > 1 {
            let scaled = value / Double(factor)
            return scaled >= 100 || scaled == scaled.rounded()
                ? "\(Int(scaled.rounded())) \(suffix)" : "\(((scaled * 10).rounded() / 10)) \(suffix)"
        }
        return "\(Int(value)) B"
    }

    public static func < (a: ByteSize, b: ByteSize) -> Bool { a.bytes < b.bytes }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = ByteSize(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "not a size: \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
