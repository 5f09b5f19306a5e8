/// A failure of a local server operation, said in one line with what to do.
public struct LocalError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case badInput, failed }
    public let kind: Kind
    public let description: String

    public init(_ description: String, kind: Kind = .failed) {
        self.kind = kind
        self.description = description
    }

    public static func badInput(_ description: String) -> LocalError { LocalError(description, kind: .badInput) }
}
