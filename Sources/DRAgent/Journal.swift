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
            /// A notice handed to a sink and not yet delivered (the outbox): a
            /// restarted agent delivers it again. `message` holds the body.
            case queued
            /// An approval attempted over HTTP: `caller`, the operation in `notice`, the outcome in `reason`.
            case approval
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
        /// Approvals over HTTP: the caller's address.
        public var caller: String?

        public init(seq: Int = 0, at: Date, kind: Kind, alarm: String? = nil, from: AlarmState? = nil,
                    to: AlarmState? = nil, reason: String? = nil, sink: String? = nil, notice: String? = nil,
                    attempt: Int? = nil, ok: Bool? = nil, message: String? = nil, caller: String? = nil) {
            self.caller = caller
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
    /// Entries not yet on disk, in order: a write that fails (a full disk, no
    /// file descriptor left) is retried with the next entry or the next
    /// round, never dropped.
    private var pending: [Entry] = []

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

    /// Entries waiting to be written after a failed write.
    public var backlog: Int { pending.count }

    /// Journals the entry. When the write fails the entry is kept and the
    /// error thrown; a later `append` or `flush` writes it, in order.
    @discardableResult
    public func append(_ entry: Entry) throws -> Entry {
        var entry = entry
        entry.seq = nextSeq
        nextSeq += 1
        pending.append(entry)
        try flush()
        return entry
    }

    /// Writes every pending entry, oldest first.
    public func flush() throws {
        while let first = pending.first {
            do {
                try JSONLines.append(first, to: path)
            } catch {
                throw AgentError("\(error) (\(pending.count) entries kept, retried with the next write)")
            }
            pending.removeFirst()
        }
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
