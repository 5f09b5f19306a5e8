import DRJournal
import DROrchestrator
import DRSpec
import Foundation

/// Where operations leave their trace, beside pgdr.yaml:
/// `pgdr-operations.jsonl` (every step, before and after, fsync'd),
/// `pgdr-operation.lock` (one operation at a time), `pgdr-approvals/ID.json`
/// (plans waiting for approval).
public struct OperationStore: Sendable {
    public struct Entry: Sendable, Codable, Hashable {
        public enum Phase: String, Sendable, Codable {
            case planned, refused, approved, begin, end, failed, done, aborted
        }
        public var at: Date
        public var operation: String
        public var kind: OperationKind
        public var phase: Phase
        public var step: Step?
        public var detail: String?
        public init(at: Date = Date(), operation: String, kind: OperationKind, phase: Phase, step: Step? = nil, detail: String? = nil) {
            self.at = at
            self.operation = operation
            self.kind = kind
            self.phase = phase
            self.step = step
            self.detail = detail
        }
    }

    public let directory: String
    public init(directory: String) { self.directory = directory }

    var journalPath: String { "\(directory)/pgdr-operations.jsonl" }
    var lockPath: String { "\(directory)/pgdr-operation.lock" }
    var approvals: String { "\(directory)/pgdr-approvals" }

    /// Appends and fsyncs before returning: a step is on disk before it runs.
    public func append(_ entry: Entry) throws {
        do {
            try JSONLines.append(entry, to: journalPath)
        } catch {
            throw OperationError.failed("\(error)")
        }
    }

    public func entries() -> [Entry] { JSONLines.read(Entry.self, from: journalPath) }

    public func entries(of operation: String) -> [Entry] { entries().filter { $0.operation == operation } }

    /// Steps whose end is journaled.
    public func finishedSteps(of operation: String) -> Set<Step> {
        Set(entries(of: operation).filter { $0.phase == .end }.compactMap(\.step))
    }

    // MARK: lock

    public struct Lock: Codable, Sendable {
        public var operation: String
        public var pid: Int32
        public var since: Date
    }

    /// Takes the lock, or says who holds it. A lock left by a dead process is
    /// reported, not silently taken over: its operation stopped half-way.
    public func acquire(_ operation: String) throws {
        let fd = open(lockPath, O_WRONLY | O_CREAT | O_EXCL, 0o640)
        if fd < 0 {
            guard let holder = currentLock() else {
                throw OperationError.failed("cannot create \(lockPath): \(String(cString: strerror(errno)))")
            }
            if holder.operation == operation && !isAlive(holder.pid) {
                // Resuming our own interrupted operation: take it over.
                try? FileManager.default.removeItem(atPath: lockPath)
                return try acquire(operation)
            }
            let alive = isAlive(holder.pid)
            throw OperationError.refused(Refusal(
                alive ? "operation \(holder.operation) is running (pid \(holder.pid))"
                      : "operation \(holder.operation) was interrupted (pid \(holder.pid) is gone)",
                hint: alive ? "one operation at a time; wait for it (`pgdr operations`)"
                            : "see where it stopped with `pgdr operations`, then resume it with `pgdr approve \(holder.operation)`"))
        }
        defer { close(fd) }
        let data = try JSONLines.encoder.encode(Lock(operation: operation, pid: getpid(), since: Date()))
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
    }

    public func release(_ operation: String) {
        if currentLock()?.operation == operation { try? FileManager.default.removeItem(atPath: lockPath) }
    }

    public func currentLock() -> Lock? {
        guard let data = FileManager.default.contents(atPath: lockPath) else { return nil }
        return try? JSONLines.decoder.decode(Lock.self, from: data)
    }

    func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    // MARK: approvals

    public func saveApproval(_ plan: OperationPlan) throws {
        try FileManager.default.createDirectory(atPath: approvals, withIntermediateDirectories: true)
        try JSONLines.encoder.encode(plan).write(to: URL(fileURLWithPath: "\(approvals)/\(plan.id).json"), options: .atomic)
    }

    public func approval(_ id: String) -> OperationPlan? {
        guard id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }),
              let data = FileManager.default.contents(atPath: "\(approvals)/\(id).json") else { return nil }
        return try? JSONLines.decoder.decode(OperationPlan.self, from: data)
    }

    public func removeApproval(_ id: String) {
        try? FileManager.default.removeItem(atPath: "\(approvals)/\(id).json")
    }

    /// A short, unguessable id for a plan.
    public static func newID(_ kind: OperationKind) -> String {
        var generator = SystemRandomNumberGenerator()
        return "\(kind.rawValue)-" + String(format: "%08x", UInt32.random(in: 0...UInt32.max, using: &generator))
    }
}

public enum OperationError: Error, CustomStringConvertible, Sendable {
    case refused(Refusal)
    case failed(String)
    case badInput(String)

    public var description: String {
        switch self {
        case .refused(let refusal): refusal.description
        case .failed(let text), .badInput(let text): text
        }
    }
}
