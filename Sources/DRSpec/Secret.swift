/// A password in memory. Every way Swift has of printing a value (print,
/// string interpolation, `String(reflecting:)`, `dump`, a logger's metadata)
/// shows `<redacted>`; only `reveal()` gives the text, and only the code that
/// hands it to a server calls that.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable {
    private let value: String

    public init(_ value: String) { self.value = value }

    public func reveal() -> String { value }
    public var isEmpty: Bool { value.isEmpty }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "Secret(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
