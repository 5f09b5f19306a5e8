/// `pg_stat_wal_receiver.status`: what a standby's WAL receiver is doing.
public enum WalReceiverState: Sendable, Hashable, Codable, CustomStringConvertible {
    case streaming, starting, waiting, restarting, stopping, stopped
    /// A state a newer PostgreSQL reports that pgdr does not know.
    case other(String)

    public init(_ text: String) {
        switch text {
        case "streaming": self = .streaming
        case "starting": self = .starting
        case "waiting": self = .waiting
        case "restarting": self = .restarting
        case "stopping": self = .stopping
        case "stopped": self = .stopped
        default: self = .other(text)
        }
    }

    public var description: String {
        switch self {
        case .streaming: "streaming"
        case .starting: "starting"
        case .waiting: "waiting"
        case .restarting: "restarting"
        case .stopping: "stopping"
        case .stopped: "stopped"
        case .other(let text): text
        }
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
