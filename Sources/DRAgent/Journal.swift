import DRJournal
import DRMonitor
import Foundation

/// The agent's event journal (`JSONLines`): agent start and stop, alarm
/// transitions, deliveries, operations, with sequence numbers that continue
/// across restarts.
public actor Journal {
    public struct Entry: Sendable, Codable, Hashable {
        public enum Kind: String, Sendable, Codable {
            case agentStarted = "agent-started", agentStopped = "agent-stopped"
            case alarm, delivery, operation
        }

        public var seq: Int
        public var at: Date
        public var kind: Kind
        public var alarm: String?
        public var from: AlarmState?
        public var to: AlarmState?
        public var reason: String?
        /// For deliveries: the sink (`webhook https://…`), the notice id, the attempt, and the outcome.
        public var sink: String?
        public var notice: String?
        public var attempt: Int?
        public var ok: Bool?
        public var message: String?

        public init(seq: Int = 0, at: Date, kind: Kind, alarm: String? = nil, from: AlarmState? = nil,
                    to: AlarmState? = nil, reason: String? = nil, sink: String? = nil, notice: String? = nil,
                    attempt: Int? = nil, ok: Bool? = nil, message: String? = nil) {
            self.seq = seq
            self.at = at
            self.kind = kind
            self.alarm = alarm
            self.from = from
            self.to = to
            self.reason = reason
            self.sink = sink
            self.notice = notice
            self.attempt = attempt
            self.ok = ok
            self.message = message
        }
    }

    public let path: String
    private var nextSeq: Int

    public init(path: String) throws {
        self.path = path
        nextSeq = (Journal.read(path: path).last?.seq ?? 0) + 1
        // Fail at start-up, not at the first alarm, when the journal cannot be written.
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o640)
        guard fd >= 0 else {
            throw AgentError("cannot open the journal \(path): \(String(cString: strerror(errno))); check the folder exists and is writable")
        }
        close(fd)
    }

    /// The sequence number the next entry will get.
    public var sequence: Int { nextSeq }

    @discardableResult
    public func append(_ entry: Entry) throws -> Entry {
        var entry = entry
        entry.seq = nextSeq
        do {
            try JSONLines.append(entry, to: path)
        } catch {
            throw AgentError("\(error)")
        }
        nextSeq += 1
        return entry
    }

    /// Every readable entry of a journal file, oldest first.
    public static func read(path: String, since: Date? = nil) -> [Entry] {
        JSONLines.read(Entry.self, from: path).filter { entry in since.map { entry.at >= $0 } ?? true }
    }
}

public struct AgentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
