import DROperations
import Foundation
import Synchronization

/// Progress of long work on a terminal: one status line on standard error,
/// rewritten as each step begins (`[12s] base backup of pg1 for pg2…`) and
/// erased at the end. Silent when standard error is not a terminal or the
/// output is JSON, so logs and pipes see only the command's own lines.
final class TerminalProgress: Sendable {
    let enabled: Bool
    let started = Date()
    let shown = Mutex(false)

    init(json: Bool = false) {
        enabled = !json && isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// A step begins.
    func step(_ text: String) {
        guard enabled else { return }
        let elapsed = Int(Date().timeIntervalSince(started))
        // Carriage return and erase-line: the previous step's line is replaced, not scrolled.
        write("\r\u{1B}[2K[\(elapsed)s] \(text.replacingOccurrences(of: "\n", with: " "))…")
        shown.withLock { $0 = true }
    }

    /// The work is over: the status line goes, the command's own output follows.
    func finish() {
        guard enabled, shown.withLock({ $0 }) else { return }
        write("\r\u{1B}[2K")
        shown.withLock { $0 = false }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}


extension TerminalProgress {
    /// Runs an operation while its status line follows the steps it journals
    /// (`rejoin-1a2b3c4d: rewind`), read back every 250 ms.
    static func following<T>(_ id: String, in store: OperationStore, json: Bool,
                              _ body: () async throws -> T) async throws -> T {
        let progress = TerminalProgress(json: json)
        guard progress.enabled else { return try await body() }
        defer { progress.finish() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var shown: String?
                while !Task.isCancelled {
                    let step = store.entries(of: id).last { $0.phase == .begin }?.step?.rawValue ?? "starting"
                    if step != shown {
                        progress.step("\(id): \(step)")
                        shown = step
                    }
                    try? await Task.sleep(for: .milliseconds(250))
                }
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}
