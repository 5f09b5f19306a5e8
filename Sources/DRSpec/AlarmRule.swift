/// A composite alarm rule in CloudWatch's syntax:
/// `ALARM(a) AND NOT (OK(b) OR INSUFFICIENT_DATA(c))`, plus `TRUE` / `FALSE`.
public indirect enum AlarmRule: Sendable, Hashable, CustomStringConvertible {
    public enum StateName: String, Sendable, Hashable, CaseIterable {
        case alarm = "ALARM", ok = "OK", insufficientData = "INSUFFICIENT_DATA"
    }

    case state(StateName, String)
    case constant(Bool)
    case not(AlarmRule)
    case and(AlarmRule, AlarmRule)
    case or(AlarmRule, AlarmRule)

    /// Every alarm name the rule refers to.
    public var references: [String] {
        switch self {
        case .state(_, let name): [name]
        case .constant: []
        case .not(let inner): inner.references
        case .and(let a, let b), .or(let a, let b): a.references + b.references
        }
    }

    public var description: String {
        switch self {
        case .state(let state, let name): "\(state.rawValue)(\(name))"
        case .constant(let value): value ? "TRUE" : "FALSE"
        case .not(let inner): "NOT \(inner.parenthesised)"
        case .and(let a, let b): "\(a.parenthesised) AND \(b.parenthesised)"
        case .or(let a, let b): "\(a.parenthesised) OR \(b.parenthesised)"
        }
    }

    var parenthesised: String {
        switch self {
        case .and, .or: "(\(description))"
        default: description
        }
    }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let offset: Int
        public let message: String
        public var description: String { "at character \(offset + 1): \(message)" }
    }

    /// Precedence as in CloudWatch: NOT binds tightest, then AND, then OR.
    public static func parse(_ text: String) throws(ParseError) -> AlarmRule {
        var parser = RuleParser(tokens: try RuleParser.tokenize(text))
        let rule = try parser.parseOr()
        if let extra = parser.peek {
            throw ParseError(offset: extra.offset, message: "unexpected `\(extra.text)`")
        }
        return rule
    }
}

struct RuleParser {
    struct Token {
        let text: String
        let offset: Int
    }

    var tokens: [Token]
    var position = 0

    var peek: Token? { position < tokens.count ? tokens[position] : nil }

    static func tokenize(_ text: String) throws(AlarmRule.ParseError) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace {
                i += 1
            } else if c == "(" || c == ")" {
                tokens.append(Token(text: String(c), offset: i))
                i += 1
            } else if c.isLetter || c.isNumber || c == "_" || c == "-" || c == "." || c == "\"" {
                let start = i
                if c == "\"" {
                    i += 1
                    while i < chars.count && chars[i] != "\"" { i += 1 }
                    guard i < chars.count else { throw .init(offset: start, message: "unclosed quote") }
                    tokens.append(Token(text: String(chars[(start + 1)..<i]), offset: start))
                    i += 1
                    continue
                }
                while i < chars.count && (chars[i].isLetter || chars[i].isNumber || "_-.:/".contains(chars[i])) { i += 1 }
                tokens.append(Token(text: String(chars[start..<i]), offset: start))
            } else {
                throw .init(offset: i, message: "unexpected character `\(c)`")
            }
        }
        return tokens
    }

    mutating func next() -> Token? {
        defer { position += 1 }
        return peek
    }

    mutating func expect(_ text: String, after: String) throws(AlarmRule.ParseError) {
        guard let token = next(), token.text == text else {
            throw .init(offset: tokens.last.map { $0.offset + $0.text.count } ?? 0,
                        message: "expected `\(text)` after \(after)")
        }
    }

    mutating func parseOr() throws(AlarmRule.ParseError) -> AlarmRule {
        var left = try parseAnd()
        while peek?.text.uppercased() == "OR" {
            position += 1
            left = .or(left, try parseAnd())
        }
        return left
    }

    mutating func parseAnd() throws(AlarmRule.ParseError) -> AlarmRule {
        var left = try parseNot()
        while peek?.text.uppercased() == "AND" {
            position += 1
            left = .and(left, try parseNot())
        }
        return left
    }

    mutating func parseNot() throws(AlarmRule.ParseError) -> AlarmRule {
        if peek?.text.uppercased() == "NOT" {
            position += 1
            return .not(try parseNot())
        }
        return try parseAtom()
    }

    mutating func parseAtom() throws(AlarmRule.ParseError) -> AlarmRule {
        guard let token = next() else {
            throw .init(offset: tokens.last.map { $0.offset + $0.text.count } ?? 0, message: "the rule ends too early")
        }
        switch token.text.uppercased() {
        case "(":
            let inner = try parseOr()
            try expect(")", after: "a parenthesised rule")
            return inner
        case "TRUE": return .constant(true)
        case "FALSE": return .constant(false)
        default:
            guard let state = AlarmRule.StateName(rawValue: token.text.uppercased()) else {
                throw .init(offset: token.offset,
                            message: "expected ALARM(name), OK(name), INSUFFICIENT_DATA(name), NOT, TRUE, FALSE or `(`, found `\(token.text)`")
            }
            try expect("(", after: state.rawValue)
            guard let name = next(), name.text != ")", name.text != "(" else {
                throw .init(offset: token.offset, message: "\(state.rawValue)( needs an alarm name")
            }
            try expect(")", after: "the alarm name")
            return .state(state, name.text)
        }
    }
}

extension AlarmRule: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try AlarmRule.parse(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
