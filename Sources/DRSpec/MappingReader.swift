import Foundation
import Yams

/// Collects every problem found while reading a document, so `validate`
/// can report them all at once instead of stopping at the first.
final class DiagnosticSink {
    private(set) var items: [Diagnostic] = []

    func add(_ path: String, at node: Node?, _ message: String, hint: String? = nil,
             severity: Diagnostic.Severity = .error) {
        items.append(Diagnostic(severity, path: path, line: node?.mark?.line,
                                column: node?.mark?.column, message: message, hint: hint))
    }
}

/// Reads one YAML mapping with key-path tracking. Every key asked for is
/// remembered, so `finish()` can flag the keys nobody asked for and suggest
/// the nearest known one.
final class MappingReader {
    let path: String
    let node: Node
    let sink: DiagnosticSink
    private var entries: [(key: String, keyNode: Node, value: Node)] = []
    private var known: [String] = []

    init?(_ node: Node, path: String, sink: DiagnosticSink) {
        guard case .mapping(let mapping) = node else {
            sink.add(path, at: node, "expected a mapping (key: value pairs)",
                     hint: "indent the keys under `\(path.isEmpty ? "the document" : path)`")
            return nil
        }
        self.node = node
        self.path = path
        self.sink = sink
        for (key, value) in mapping {
            guard let name = key.string else {
                sink.add(path, at: key, "keys must be plain strings")
                continue
            }
            entries.append((name, key, value))
        }
    }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The raw value of `key`, or nil when absent or written as null.
    func value(_ key: String) -> Node? {
        known.append(key)
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        if case .scalar(let scalar) = entry.value, scalar.tag == Tag(.null) || (scalar.string.isEmpty && scalar.style == .plain) {
            return nil
        }
        return entry.value
    }

    func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

    /// Where to point a "missing key" diagnostic: the mapping itself.
    func missing(_ key: String, hint: String) {
        sink.add(childPath(key), at: node, "required key `\(key)` is missing", hint: hint)
    }

    func scalarString(_ key: String) -> (String, Node)? {
        guard let value = value(key) else { return nil }
        guard case .scalar(let scalar) = value else {
            sink.add(childPath(key), at: value, "expected a single value, found a mapping or list")
            return nil
        }
        return (scalar.string, value)
    }

    func string(_ key: String, required hint: String? = nil) -> String? {
        if value(key) == nil {
            if let hint { missing(key, hint: hint) }
            return nil
        }
        return scalarString(key)?.0
    }

    func bool(_ key: String, default fallback: Bool) -> Bool {
        guard let (_, node) = scalarString(key) else { return fallback }
        guard let flag = node.bool else {
            sink.add(childPath(key), at: node, "expected true or false, found `\(node.string ?? "")`")
            return fallback
        }
        return flag
    }

    func int(_ key: String, default fallback: Int, range: ClosedRange<Int>, hint: String? = nil) -> Int {
        guard let (text, node) = scalarString(key) else { return fallback }
        guard let number = Int(text) else {
            sink.add(childPath(key), at: node, "expected a whole number, found `\(text)`", hint: hint)
            return fallback
        }
        guard range.contains(number) else {
            sink.add(childPath(key), at: node, "\(number) is outside \(range.lowerBound)...\(range.upperBound)", hint: hint)
            return fallback
        }
        return number
    }

    func double(_ key: String, default fallback: Double, range: ClosedRange<Double>, hint: String? = nil) -> Double {
        guard let (text, node) = scalarString(key) else { return fallback }
        let cleaned = text.hasSuffix("%") ? String(text.dropLast()) : text
        guard let number = Double(cleaned) else {
            sink.add(childPath(key), at: node, "expected a number, found `\(text)`", hint: hint)
            return fallback
        }
        guard range.contains(number) else {
            sink.add(childPath(key), at: node, "\(text) is outside \(range.lowerBound)...\(range.upperBound)", hint: hint)
            return fallback
        }
        return number
    }

    /// A duration with a default: the default when absent or wrong (the error recorded).
    func timeSpan(_ key: String, default fallback: TimeSpan, range: ClosedRange<TimeSpan>? = nil) -> TimeSpan {
        optionalTimeSpan(key, default: fallback, range: range) ?? fallback
    }

    /// A duration that may be absent (nil unless `fallback` is given).
    func optionalTimeSpan(_ key: String, default fallback: TimeSpan? = nil, range: ClosedRange<TimeSpan>? = nil) -> TimeSpan? {
        guard let (text, node) = scalarString(key) else { return fallback }
        guard let span = TimeSpan(parsing: text) else {
            sink.add(childPath(key), at: node, "`\(text)` is not a duration",
                     hint: "write a number with a unit: 200ms, 30s, 5m, 1h or 1d")
            return fallback
        }
        if let range, !range.contains(span) {
            sink.add(childPath(key), at: node, "\(span) is outside \(range.lowerBound)...\(range.upperBound)")
            return fallback
        }
        return span
    }

    func byteSize(_ key: String, default fallback: ByteSize, range: ClosedRange<ByteSize>? = nil) -> ByteSize {
        guard let (text, node) = scalarString(key) else { return fallback }
        guard let size = ByteSize(parsing: text) else {
            sink.add(childPath(key), at: node, "`\(text)` is not a size",
                     hint: "write a number with a unit: 512kB, 16MB, 100GB, 1TB")
            return fallback
        }
        if let range, !range.contains(size) {
            sink.add(childPath(key), at: node, "\(size) is outside \(range.lowerBound)...\(range.upperBound)")
            return fallback
        }
        return size
    }

    func oneOf<T: RawRepresentable & CaseIterable>(_ key: String, default fallback: T) -> T where T.RawValue == String {
        guard let (text, node) = scalarString(key) else { return fallback }
        guard let choice = T(rawValue: text) else {
            let choices = T.allCases.map(\.rawValue)
            let near = EditDistance.nearest(to: text, in: choices).map { "did you mean `\($0)`? " } ?? ""
            sink.add(childPath(key), at: node, "`\(text)` is not one of \(choices.joined(separator: ", "))",
                     hint: "\(near)choose one of \(choices.joined(separator: ", "))")
            return fallback
        }
        return choice
    }

    func mapping(_ key: String) -> MappingReader? {
        guard let value = value(key) else { return nil }
        return MappingReader(value, path: childPath(key), sink: sink)
    }

    /// The items of a list, each with its own key path (`nodes[0]`).
    func list(_ key: String) -> [(path: String, node: Node)] {
        guard let value = value(key) else { return [] }
        guard case .sequence(let sequence) = value else {
            sink.add(childPath(key), at: value, "expected a list (lines starting with `- `)")
            return []
        }
        return sequence.enumerated().map { ("\(childPath(key))[\($0.offset)]", $0.element) }
    }

    /// All entries as strings (for free-form maps such as `tags`).
    func stringPairs() -> [(key: String, value: String, node: Node)] {
        entries.compactMap { entry in
            guard case .scalar(let scalar) = entry.value else {
                sink.add(childPath(entry.key), at: entry.value, "expected a single value")
                return nil
            }
            return (entry.key, scalar.string, entry.value)
        }
    }

    /// Declares keys this mapping may hold even when a reader stops early
    /// (a missing name, an unknown metric): they are then never reported as
    /// unknown, only the real problem is.
    func accepts(_ keys: [String]) {
        for key in keys where !known.contains(key) { known.append(key) }
    }

    /// Flags every key that no reader asked for, suggesting the nearest known key.
    func finish() {
        for entry in entries where !known.contains(entry.key) {
            let near = EditDistance.nearest(to: entry.key, in: known)
            sink.add(childPath(entry.key), at: entry.keyNode, "unknown key `\(entry.key)`",
                     hint: near.map { "did you mean `\($0)`?" }
                        ?? "known keys here: \(known.joined(separator: ", "))")
        }
    }
}
