import Foundation

/// The one JSON style of pgdr's output: sorted keys (stable diffs),
/// ISO 8601 times with milliseconds, UTC.
public enum ReportJSON {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true)
                .timeZone(separator: .omitted)))
        }
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
