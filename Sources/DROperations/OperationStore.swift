import DRJournal
import DROrchestrator
import DRProcess
import DRSpec
import Foundation

/// Where operations leave their trace, beside pgdr.yaml:
/// `pgdr-operations.jsonl` (every step, before and after, fsync'd),
/// `pgdr-operation.lock` (one operation at a time), and
/// `pgdr-plans/ID.json` (every operation's plan, so any of them can be
/// approved, resumed or rolled back by id).
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
        /// `end` and `done`: done or degraded.
        public var outcome: OperationOutcome?
        /// Why a step or an operation is degraded.
        public var reason: String?

        public init(at: Date = Date(), operation: String, kind: OperationKind, phase: Phase, step: Step? = nil,
                    detail: String? = nil, outcome: OperationOutcome? = nil, reason: String? = nil) {
            self.at = at
            self.operation = operation
            self.kind = kind
            self.phase = phase
            self.step = step
            self.detail = detail
            self.outcome = outcome
            self.reason = reason
        }
    }

    public let directory: String
    public init(directory: String) { self.directory = directory }

    var journalPath: String { "\(directory)/pgdr-operations.jsonl" }
    var lockPath: String { "\(directory)/pgdr-operation.lock" }
    var plans: String { "\(directory)/pgdr-plans" }

    /// Appends and fsyncs before returning: a step is on disk before it runs.
    public func append(_ entry: Entry) throws {
        do {
            try JSONLines.append(entry, to: journalPath)
        } catch {
            throw OperationError.journal(error)
        }
    }

    public func entries() -> [Entry] { JSONLines.read(Entry.self, from: journalPath) }

    public func entries(of operation: String) -> [Entry] { entries().filter { $0.operation == operation } }

    /// Steps whose end is journaled, with their outcome.
    public func finishedSteps(of operation: String) -> Set<Step> {
        Set(entries(of: operation).filter { $0.phase == .end }.compactMap(\.step))
    }

    /// How many operations have been journaled as started: evidence gathered
    /// at one generation is stale at the next.
    public func generation() -> Int {
        entries().filter { $0.phase == .approved }.count
    }

    // MARK: lock

    /// Who holds the lock: the operation, its process, and that process's
    /// identity (boot and start time), so a PID reused by another program
    /// after a crash is never mistaken for the holder.
    public struct Lock: Codable, Sendable, Hashable {
        public var operation: String
        public var pid: Int32
        public var bootID: String?
        public var startTicks: UInt64?
        public var since: Date

        /// The process that took the lock still runs.
        public var holderAlive: Bool {
            guard let bootID, bootID == ProcessTable.bootID else { return false }
            guard !ProcessTable.hasExited(pid) else { return false }
            return startTicks == nil || ProcessTable.startTicks(pid) == startTicks
        }
    }

    /// Takes the lock, or says who holds it. A lock left by a dead process is
    /// taken over only by the same operation (resuming it); any other is
    /// refused and told how to resume or roll it back.
    public func acquire(_ operation: String) throws {
        let fd = open(lockPath, O_WRONLY | O_CREAT | O_EXCL, 0o640)
        if fd < 0 {
            guard errno == EEXIST else {
                throw OperationError.failed("cannot create \(lockPath): \(String(cString: strerror(errno)))")
            }
            guard let holder = currentLock() else {
                // A lock file that cannot be read was torn by a crash while being written.
                try? FileManager.default.removeItem(atPath: lockPath)
                return try acquire(operation)
            }
            if !holder.holderAlive, holder.operation == operation {
                try? FileManager.default.removeItem(atPath: lockPath)
                return try acquire(operation)
            }
            if holder.holderAlive {
                throw OperationError.refused(Refusal("operation \(holder.operation) is running (pid \(holder.pid))",
                                                     hint: "one operation at a time; wait for it (`pgdr operations`)"))
            }
            throw OperationError.refused(Refusal(
                "operation \(holder.operation) was interrupted (pid \(holder.pid) is gone) and still holds the lock",
                hint: "`pgdr operations` shows where it stopped; `pgdr approve \(holder.operation)` resumes it or rolls it back"))
        }
        defer { close(fd) }
        let lock = Lock(operation: operation, pid: getpid(), bootID: ProcessTable.bootID,
                        startTicks: ProcessTable.startTicks(getpid()), since: Date())
        let data = try JSONLines.encoder.encode(lock)
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(fd) == 0 else {
            unlink(lockPath)
            throw OperationError.failed("cannot write \(lockPath): \(String(cString: strerror(errno)))")
        }
    }

    public func release(_ operation: String) {
        if currentLock()?.operation == operation { try? FileManager.default.removeItem(atPath: lockPath) }
    }

    public func currentLock() -> Lock? {
        guard let data = FileManager.default.contents(atPath: lockPath) else { return nil }
        return try? JSONLines.decoder.decode(Lock.self, from: data)
    }

    /// The operation holding the lock whose process is gone, if any.
    public func interrupted() -> Lock? {
        guard let lock = currentLock(), !lock.holderAlive else { return nil }
        return lock
    }

    // MARK: plans

    public func savePlan(_ plan: OperationPlan) throws {
        do {
            try FileManager.default.createDirectory(atPath: plans, withIntermediateDirectories: true)
            try JSONLines.encoder.encode(plan).write(to: URL(fileURLWithPath: "\(plans)/\(plan.id).json"), options: .atomic)
        } catch {
            throw OperationError.journal(error)
        }
    }

    public func plan(_ id: String) -> OperationPlan? {
        guard Self.isValidID(id), let data = FileManager.default.contents(atPath: "\(plans)/\(id).json") else { return nil }
        return try? JSONLines.decoder.decode(OperationPlan.self, from: data)
    }

    /// An id is `kind-` and eight hex digits; nothing else is looked up on disk.
    public static func isValidID(_ id: String) -> Bool {
        id.wholeMatch(of: /(failover|switchover|rejoin)-[0-9a-f]{8}/) != nil
    }

    /// A short, unguessable id for a plan.
    public static func newID(_ kind: OperationKind) -> String {
        var generator = SystemRandomNumberGenerator()
        return "\(kind.rawValue)-" + String(format: "%08x", UInt32.random(in: 0...UInt32.max, using: &generator))
    }

    /// The last finished failover or switchover: who holds the primary role
    /// by the journal's account.
    public func lastPromotion() -> Promotion? { lastPromotion(in: entries()) }

    /// The same, from entries already read (the agent reads the journal once a round).
    public func lastPromotion(in entries: [Entry]) -> Promotion? {
        guard let done = entries.last(where: { $0.phase == .done && ($0.kind == .failover || $0.kind == .switchover) }),
              let plan = plan(done.operation) else { return nil }
        return Promotion(operation: done.operation, from: plan.from, to: plan.to, at: done.at)
    }

    // MARK: where an operation stands

    public enum Standing: Sendable, Hashable {
        case unknown
        /// Planned, not yet approved.
        case pending
        /// Approved and begun, not ended: resumable.
        case started
        case finished(OperationOutcome)
        case refused
    }

    public func standing(of id: String) -> Standing {
        let history = entries(of: id)
        if history.contains(where: { $0.phase == .done }) {
            return .finished(history.last { $0.phase == .done }?.outcome ?? .done)
        }
        if history.contains(where: { $0.phase == .aborted }) { return .finished(.aborted) }
        if history.contains(where: { $0.phase == .approved }) { return .started }
        if history.contains(where: { $0.phase == .planned }) { return .pending }
        if history.contains(where: { $0.phase == .refused }) { return .refused }
        return .unknown
    }
}

/// Why an operation did not happen or did not finish. Each case keeps what
/// caused it; `description` is the one line the operator sees.
public enum OperationError: Error, CustomStringConvertible, Sendable {
    case refused(Refusal)
    case badInput(String)
    case failed(String)
    /// A step failed; the cause is kept.
    case step(operation: String, step: Step, cause: any Error, next: String)
    /// The journal could not be written: nothing may run unjournaled.
    case journal(any Error)

    public var description: String {
        switch self {
        case .refused(let refusal): refusal.description
        case .failed(let text), .badInput(let text): text
        case .step(let operation, let step, let cause, let next): "\(operation) failed at \(step.rawValue): \(cause). \(next)"
        case .journal(let cause): "the operations journal cannot be written (\(cause)); nothing was done unjournaled"
        }
    }
}
