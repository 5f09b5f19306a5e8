import Foundation
import Subprocess
import SystemPackage

/// The one way pgdr runs another program: always with a timeout, with its
/// output captured but bounded, in a process group of its own (so a timeout
/// ends its children too), and with a small environment of our choosing.
///
/// The environment is not inherited: a password that reached pgdr through
/// `passwordEnv` must not reach a hook, a notifier or a restarted postmaster.
/// Children get `PATH`, `LANG`, `LC_ALL`, `TZ`, `TMPDIR` and `HOME` from
/// pgdr's own environment, plus exactly what the caller adds.
public enum ChildProcess {
    public struct Request: Sendable {
        public var executable: String
        public var arguments: [String]
        /// Added to the minimal environment (and winning over it).
        public var environment: [String: String]
        public var timeout: Duration
        /// Bytes of standard output and of standard error kept (the last ones).
        public var outputLimit: Int
        public var input: [UInt8]
        /// Run as this user (through util-linux `setpriv`), when pgdr is root.
        public var runAs: RunAs?
        /// Run inside this network namespace (`ip netns exec`; the lab's regions).
        public var namespace: String?
        public var workingDirectory: String

        public init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:],
                    timeout: Duration, outputLimit: Int = 64 << 10, input: [UInt8] = [], runAs: RunAs? = nil,
                    namespace: String? = nil, workingDirectory: String = "/") {
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
            self.timeout = timeout
            self.outputLimit = outputLimit
            self.input = input
            self.runAs = runAs
            self.namespace = namespace
            self.workingDirectory = workingDirectory
        }

        /// The program's file name, for messages.
        public var name: String { (executable as NSString).lastPathComponent }
    }

    public struct RunAs: Sendable, Hashable {
        public var uid: uid_t
        public var gid: gid_t
        public init(uid: uid_t, gid: gid_t) {
            self.uid = uid
            self.gid = gid
        }
    }

    public enum Termination: Sendable, Hashable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        public var description: String {
            switch self {
            case .exited(let code): "exit status \(code)"
            case .signalled(let signal): "signal \(signal)"
            }
        }
    }

    public struct Result: Sendable {
        public var termination: Termination
        public var output: String
        public var error: String
        /// True when more output came than `outputLimit` (the first part was dropped).
        public var truncated: Bool
        public var succeeded: Bool { termination == .exited(0) }

        /// The last few lines the program wrote (standard error first), for a one-line error.
        public func lastWords(_ lines: Int = 4) -> String {
            let text = error.isEmpty ? output : error
            return text.split(separator: "\n").suffix(lines).joined(separator: " | ")
        }
    }

    /// The child could not start, or did not finish in time.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public enum Kind: Sendable { case couldNotStart, timedOut, failed }
        public var kind: Kind
        public var program: String
        public var detail: String
        public var result: Result?
        public var description: String {
            switch kind {
            case .couldNotStart: "could not start \(program): \(detail)"
            case .timedOut: "\(program) did not finish within \(detail) and was killed"
            case .failed: "\(program) failed (\(detail))"
            }
        }
    }

    static let setpriv = "/usr/bin/setpriv"
    public static let ip = "/bin/ip"
    public static let tc = "/sbin/tc"
    static let passedThrough = ["PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "HOME"]
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// A user's home folder from the password database.
    static func home(of uid: uid_t) -> String? {
        guard let entry = getpwuid(uid), let directory = entry.pointee.pw_dir else { return nil }
        return String(cString: directory)
    }

    /// The environment a child starts with before the caller's additions.
    public static func baseEnvironment(_ parent: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var base: [String: String] = [:]
        for key in passedThrough { if let value = parent[key] { base[key] = value } }
        if base["PATH"] == nil { base["PATH"] = defaultPath }
        return base
    }

    /// Runs the program to its end or its timeout. A non-zero exit is not an
    /// error here (see `checked`); not starting, or a timeout, is.
    public static func run(_ request: Request) async throws(Failure) -> Result {
        var program = request.executable, argv = request.arguments
        if let user = request.runAs {
            guard FileManager.default.isExecutableFile(atPath: setpriv) else {
                throw Failure(kind: .couldNotStart, program: request.name,
                              detail: "running it as uid \(user.uid) needs \(setpriv) (util-linux); install util-linux")
            }
            // Not Subprocess's own user switch: its fork-then-setgroups path
            // deadlocked in glibc in one of our CI runs; setpriv is exec'd.
            program = setpriv
            argv = ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--", request.executable] + request.arguments
        }
        if let namespace = request.namespace {
            argv = ["netns", "exec", namespace, program] + argv
            program = Self.ip
        }
        var base = baseEnvironment()
        // A child that runs as another user gets that user's home, not ours:
        // libpq looks there for client certificates (~/.postgresql), and a
        // server started with root's HOME fails on files it may not read.
        if let user = request.runAs { base["HOME"] = Self.home(of: user.uid) ?? "/nonexistent" }
        var environment: [Environment.Key: String] = [:]
        for (key, value) in base.merging(request.environment, uniquingKeysWith: { $1 }) {
            environment[Environment.Key(stringLiteral: key)] = value
        }
        var options = PlatformOptions()
        options.createSession = true
        let limit = request.outputLimit, timeout = request.timeout
        let outcome: ExecutionResult<Captured, SequenceOutput, SequenceOutput>
        do {
            outcome = try await Subprocess.run(
                .path(FilePath(program)), arguments: Arguments(argv), environment: .custom(environment),
                workingDirectory: FilePath(request.workingDirectory), platformOptions: options,
                input: .array(request.input), output: .sequence, error: .sequence
            ) { execution in
                try await withThrowingTaskGroup(of: Part.self) { group in
                    let pid = execution.processIdentifier.value
                    group.addTask { .output(try await Tail.collect(execution.standardOutput, limit: limit)) }
                    group.addTask { .error(try await Tail.collect(execution.standardError, limit: limit)) }
                    // Its output may close long before it ends (a daemonising hook): the
                    // timeout covers the process itself, not only its pipes.
                    group.addTask {
                        while !ProcessTable.hasExited(pid) { try await Task.sleep(for: .milliseconds(10)) }
                        return .exited
                    }
                    group.addTask {
                        try await Task.sleep(for: timeout)
                        return .timeout
                    }
                    var captured = Captured()
                    var exited = false
                    while let part = try await group.next() {
                        switch part {
                        case .output(let tail): captured.output = tail
                        case .error(let tail): captured.error = tail
                        case .exited: exited = true
                        case .timeout:
                            captured.timedOut = true
                            // The whole group: a hook's own children end with it. A child
                            // forked while the signal was on its way escapes one kill, so
                            // the group is killed again until its output closes.
                            try? execution.send(signal: .kill)
                            group.addTask {
                                while !Task.isCancelled {
                                    try? execution.send(signal: .kill, toProcessGroup: true)
                                    try await Task.sleep(for: .milliseconds(50))
                                }
                                return .reaped
                            }
                        case .reaped:
                            break
                        }
                        if captured.output != nil && captured.error != nil && (exited || captured.timedOut) { break }
                    }
                    group.cancelAll()
                    return captured
                }
            }
        } catch {
            throw Failure(kind: .couldNotStart, program: request.name, detail: "\(error)")
        }
        let captured = outcome.closureResult
        let termination: Termination
        switch outcome.terminationStatus {
        case .exited(let code): termination = .exited(code)
        case .signaled(let signal): termination = .signalled(signal)
        }
        let result = Result(termination: termination, output: captured.output?.text ?? "", error: captured.error?.text ?? "",
                            truncated: (captured.output?.dropped ?? false) || (captured.error?.dropped ?? false))
        if captured.timedOut {
            throw Failure(kind: .timedOut, program: request.name, detail: "\(timeout)", result: result)
        }
        return result
    }

    /// Like `run`, and a non-zero exit is an error that quotes the program's last words.
    @discardableResult
    public static func checked(_ request: Request) async throws(Failure) -> Result {
        let result = try await run(request)
        guard result.succeeded else {
            throw Failure(kind: .failed, program: request.name,
                          detail: "\(result.termination): \(result.lastWords())", result: result)
        }
        return result
    }

    struct Captured: Sendable {
        var output: Tail?
        var error: Tail?
        var timedOut = false
    }

    enum Part: Sendable {
        case output(Tail), error(Tail), exited, timeout, reaped
    }
}

/// The last `limit` bytes of a stream.
struct Tail: Sendable {
    var bytes: [UInt8] = []
    var dropped = false
    var text: String { String(decoding: bytes, as: UTF8.self) }

    static func collect(_ stream: SubprocessOutputSequence, limit: Int) async throws -> Tail {
        var tail = Tail()
        for try await buffer in stream {
            buffer.withUnsafeBytes { tail.bytes.append(contentsOf: $0) }
            if tail.bytes.count > limit {
                tail.bytes.removeFirst(tail.bytes.count - limit)
                tail.dropped = true
            }
        }
        return tail
    }
}
