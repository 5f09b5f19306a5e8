import DRMonitor
import Foundation

/// The event journal: one JSON object per line, appended and fsync'd before
/// `append` returns, so an entry that was reported written survives a crash
/// or a restart. Readers skip a torn last line (a crash mid-write).
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
    private let fd: Int32
    private var nextSeq: Int

    public init(path: String) throws {
        self.path = path
        let existing = Journal.read(path: path)
        nextSeq = (existing.last?.seq ?? 0) + 1
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o640)
        guard fd >= 0 else {
            throw AgentError("cannot open the journal \(path): \(String(cString: strerror(errno))); check the folder exists and is writable")
        }
    }

    deinit { close(fd) }

    /// The sequence number the next entry will get.
    public var sequence: Int { nextSeq }

    @discardableResult
    public func append(_ entry: Entry) throws -> Entry {
        var entry = entry
        entry.seq = nextSeq
        var line = try Journal.encoder.encode(entry)
        line.append(0x0A)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else {
            throw AgentError("cannot write the journal \(path): \(String(cString: strerror(errno)))")
        }
        nextSeq += 1
        return entry
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    /// Every readable entry of a journal file, oldest first.
    public static func read(path: String, since: Date? = nil) -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(Entry.self, from: Data($0)) }
            .filter { since == nil || $0.at >= since! }
    }
}

public struct AgentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
