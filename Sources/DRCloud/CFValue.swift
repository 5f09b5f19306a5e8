/// A CloudFormation value: literals, lists, maps and the intrinsic functions
/// pgdr uses. Encoded as CloudFormation's JSON (`{"Ref": ...}`,
/// `{"Fn::GetAtt": [...]}`), with keys sorted so templates diff cleanly.
public indirect enum CFValue: Sendable, Hashable, Encodable, ExpressibleByStringLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral {
    case string(String)
    case int(Int)
    case bool(Bool)
    case list([CFValue])
    case map([String: CFValue])
    case ref(String)
    case getAtt(String, String)
    case sub(String)
    case join(String, [CFValue])
    case select(Int, CFValue)
    case getAZs(String)
    case ifCondition(String, CFValue, CFValue)
    case noValue

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: CFValue...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, CFValue)...) {
        self = .map(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    public func encode(to encoder: any Encoder) throws {
        var single = encoder.singleValueContainer()
        switch self {
        case .string(let s): try single.encode(s)
        case .int(let i): try single.encode(i)
        case .bool(let b): try single.encode(b)
        case .list(let items): try single.encode(items)
        case .map(let map): try single.encode(map)
        case .ref(let name): try single.encode(["Ref": name])
        case .getAtt(let resource, let attribute): try single.encode(["Fn::GetAtt": [resource, attribute]])
        case .sub(let text): try single.encode(["Fn::Sub": text])
        case .join(let separator, let items): try single.encode(["Fn::Join": [CFValue.string(separator), .list(items)]])
        case .select(let index, let list): try single.encode(["Fn::Select": [CFValue.int(index), list]])
        case .getAZs(let region): try single.encode(["Fn::GetAZs": region])
        case .ifCondition(let name, let yes, let no): try single.encode(["Fn::If": [CFValue.string(name), yes, no]])
        case .noValue: try single.encode(["Ref": "AWS::NoValue"])
        }
    }

    /// Every string literal inside, for checks such as "no secret in the template".
    public var literals: [String] {
        switch self {
        case .string(let s), .sub(let s): [s]
        case .list(let items), .join(_, let items): items.flatMap(\.literals)
        case .map(let map): map.values.flatMap(\.literals)
        case .select(_, let value): value.literals
        case .ifCondition(_, let a, let b): a.literals + b.literals
        default: []
        }
    }

    /// Logical ids this value refers to (Ref and GetAtt), for dependency checks.
    public var references: Set<String> {
        switch self {
        case .ref(let name): [name]
        case .getAtt(let resource, _): [resource]
        case .list(let items), .join(_, let items): items.reduce(into: []) { $0.formUnion($1.references) }
        case .map(let map): map.values.reduce(into: []) { $0.formUnion($1.references) }
        case .select(_, let value): value.references
        case .ifCondition(_, let a, let b): a.references.union(b.references)
        case .sub(let text):
            Set(text.matches(of: /\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}/).map { String($0.1) })
        default: []
        }
    }
}
