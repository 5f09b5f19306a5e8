import DRSpec
import Foundation
import Testing
import Yams

/// docs/spec.md against the parser: every key of the example `pgdr init`
/// writes is documented, and every documented key is one the parser knows.
@Suite struct SpecDocumentationTests {
    static let page: String = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/spec.md")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }()

    /// The first column of every table row: `` `nodes[].control.type` ``.
    static let documented: [String] = page.split(separator: "\n").compactMap { line in
        guard line.hasPrefix("| `"), let match = line.firstMatch(of: /^\| `([A-Za-z0-9_.\[\]]+)`/) else { return nil }
        return String(match.1)
    }

    /// Every key path of a YAML tree, lists written `[]`.
    static func paths(_ node: Node, prefix: String = "") -> [String] {
        switch node {
        case .mapping(let mapping):
            return mapping.flatMap { key, value -> [String] in
                let path = prefix.isEmpty ? (key.string ?? "") : "\(prefix).\(key.string ?? "")"
                if case .mapping = value { return paths(value, prefix: path) }
                if case .sequence(let items) = value, items.contains(where: { if case .mapping = $0 { true } else { false } }) {
                    return items.flatMap { paths($0, prefix: path + "[]") }
                }
                return [path]
            }
        default:
            return []
        }
    }

    @Test func everyKeyOfTheExampleIsDocumented() throws {
        #expect(!Self.documented.isEmpty, "docs/spec.md has no key table")
        let example = try #require(try Yams.compose(yaml: ExampleSpec.text))
        // `tags` is a free map: its keys are the user's.
        let missing = Set(Self.paths(example).filter { !$0.hasPrefix("tags.") }).subtracting(Self.documented)
        #expect(missing.isEmpty, "keys of the example that docs/spec.md does not list: \(missing.sorted())")
    }

    /// Keys whose parent reads them only in some shapes (a webhook's url, a
    /// systemd unit): each is tried under every shape its parent can take.
    static let shapes: [String: [[String: String]]] = [
        "notifications[]": [["type": "log"], ["type": "webhook"], ["type": "command"]],
        "nodes[].control": [["type": "pg_ctl"], ["type": "systemd"], ["type": "commands"]],
        "alarms[]": [["metric": "CPUPercent"], ["rule": "ALARM(x)"]],
    ]

    /// A YAML document holding `path` (and its parent's shape).
    static func document(for path: String, shape: (parent: String, keys: [String: String])?) -> String {
        func build(_ parts: ArraySlice<String>, walked: String) -> Any {
            guard let part = parts.first else { return "x" }
            let isList = part.hasSuffix("[]")
            let key = isList ? String(part.dropLast(2)) : part
            let here = walked.isEmpty ? part : "\(walked).\(part)"
            var inner: Any = build(parts.dropFirst(), walked: here)
            if var mapping = inner as? [String: Any], let shape, shape.parent == here {
                for (k, v) in shape.keys where mapping[k] == nil { mapping[k] = v }
                inner = mapping
            }
            return [key: isList ? [inner] : inner]
        }
        let tree = build(ArraySlice(path.split(separator: ".").map(String.init)), walked: "")
        return (try? Yams.dump(object: tree)) ?? ""
    }

    @Test func everyDocumentedKeyIsKnownToTheParser() {
        var unknown: [String] = []
        for path in Self.documented {
            let parent = Self.shapes.keys.filter { path.hasPrefix($0 + ".") }.max { $0.count < $1.count }
            let variants: [(String, [String: String])?] = parent.map { p in Self.shapes[p]!.map { (p, $0) } } ?? [nil]
            let last = String(path.split(separator: ".").last ?? "")
            let known = variants.contains { variant in
                let yaml = Self.document(for: path, shape: variant)
                do {
                    _ = try SpecParser.parse(yaml: yaml)
                    return true
                } catch let error as SpecError {
                    return !error.diagnostics.contains { $0.message == "unknown key `\(last)`" }
                } catch {
                    return false
                }
            }
            if !known { unknown.append(path) }
        }
        #expect(unknown.isEmpty, "docs/spec.md lists keys the parser does not know: \(unknown)")
    }

    @Test func theCheckCatchesAKeyTheParserDoesNotKnow() {
        let yaml = Self.document(for: "failover.hookTimeoutt", shape: nil)
        let error = #expect(throws: SpecError.self) { try SpecParser.parse(yaml: yaml) }
        #expect(error?.diagnostics.contains { $0.message == "unknown key `hookTimeoutt`" } == true)
    }
}
