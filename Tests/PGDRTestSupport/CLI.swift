import Foundation
import Synchronization

/// Runs the built `pgdr` binary, as a user would.
public enum CLI {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    public static let binary = PGDRBinary.path

    /// `environment`: added to the test's own environment for this run.
    ///
    /// Async, and the waiting happens on a Dispatch thread: a test blocked in
    /// `waitUntilExit` would hold one of the few threads of Swift's cooperative
    /// pool (two on this machine), and tests running beside it would see their
    /// timers and deadlines fire seconds late.
    public static func run(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Blocking.run {
                do {
                    continuation.resume(returning: try runBlocking(arguments, in: directory, environment: environment))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Blocking: only for clean-up in a `defer`, where nothing can be awaited.
    public static func runBlocking(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]) throws -> Result {
        try runProgram(binary, arguments, in: directory, environment: environment)
    }

    /// Any program (cfn-lint, a shell), awaited without holding a cooperative thread.
    /// `stdin`: written to its standard input, then closed (a secret stays out of argv).
    /// `environment`: added to the test's own (a password for psql goes here, not in argv).
    public static func program(_ executable: String, _ arguments: [String], stdin: Data? = nil,
                               environment: [String: String] = [:]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Blocking.run {
                do {
                    continuation.resume(returning: try runProgram(executable, arguments, in: nil, environment: environment, stdin: stdin))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    public static func runProgram(_ executable: String, _ arguments: [String], in directory: String?,
                           environment: [String: String], stdin: Data? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = stdin.map { _ in Pipe() }
        if let input { process.standardInput = input }
        try process.run()
        if let input, let stdin {
            Blocking.run {
                try? input.fileHandleForWriting.write(contentsOf: stdin)
                try? input.fileHandleForWriting.close()
            }
        }
        // Read both pipes before waiting, so a chatty child never blocks on a full pipe.
        let group = DispatchGroup()
        let errBox = DataBox()
        group.enter()
        Blocking.run { errBox.set(err.fileHandleForReading.readDataToEndOfFile()); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.get()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    final class DataBox: Sendable {
        private let data = Mutex(Data())
        func set(_ value: Data) { data.withLock { $0 = value } }
        func get() -> Data { data.withLock { $0 } }
    }

    /// A fresh folder, removed with everything in it when the test process exits
    /// (the servers a test starts in it are stopped by then, by their PIDs).
    public static func tempDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "pgdr-cli-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        TempFolders.remember(dir)
        return dir
    }
}


/// Blocking waits (a child's exit, its pipes) on threads of their own. On
/// Linux, Swift concurrency's cooperative pool and libdispatch's global
/// queues share worker threads, about one per core: a test that blocks a
/// global-queue thread for a child's lifetime (checkov runs for seconds)
/// stalls every async test in the process.
public enum Blocking {
    public static func run(_ work: @escaping @Sendable () -> Void) {
        let thread = Thread { work() }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// The folders `CLI.tempDirectory()` made, removed at exit.
enum TempFolders {
    private static let made = Mutex<[String]>([])
    private static let removeAtExit: Void = { atexit { TempFolders.removeAll() } }()

    static func remember(_ dir: String) {
        _ = removeAtExit
        made.withLock { $0.append(dir) }
    }

    static func removeAll() {
        for dir in made.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: dir) }
    }
}
