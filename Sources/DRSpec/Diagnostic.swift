/// One problem found in pgdr.yaml: where it is, what is wrong, what to do.
public struct Diagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable { case error, warning }

    public var severity: Severity
    /// Key path in the document, e.g. `primary.instanceClass` or `nodes[1].port`.
    public var path: String
    public var line: Int?
    public var column: Int?
    public var message: String
    public var hint: String?

    public init(_ severity: Severity = .error, path: String, line: Int? = nil, column: Int? = nil,
                message: String, hint: String? = nil) {
        self.severity = severity
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint
    }

    /// `pgdr.yaml:12:3: error: primary.instanceClass: ... (hint: ...)`
    public func formatted(file: String) -> String {
        var location = file
        if let line { location += ":\(line)" + (column.map { ":\($0)" } ?? "") }
        var text = "\(location): \(severity.rawValue): \(path.isEmpty ? "" : path + ": ")\(message)"
        if let hint { text += "\n    hint: \(hint)" }
        return text
    }

    public var description: String { formatted(file: "pgdr.yaml") }
}

/// Thrown when a spec cannot be used; carries every problem found, not just the first.
public struct SpecError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let diagnostics: [Diagnostic]

    public init(file: String, diagnostics: [Diagnostic]) {
        self.file = file
        self.diagnostics = diagnostics
    }

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }

    public var description: String {
        diagnostics.map { $0.formatted(file: file) }.joined(separator: "\n")
    }
}
