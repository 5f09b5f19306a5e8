import DRMonitor
import DRSpec
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What a sink receives for each notice: one JSON object.
public struct NoticePayload: Sendable, Codable {
    public var id: String
    public var kind: String
    public var deployment: String
    public var alarm: String
    public var summary: String
    public var from: String
    public var to: String
    public var reason: String
    public var at: Date

    public init(_ notice: NotificationPolicy.Notice, deployment: String) {
        id = notice.id
        kind = notice.kind.rawValue
        self.deployment = deployment
        alarm = notice.transition.alarm
        summary = notice.transition.summary
        from = notice.transition.from.rawValue
        to = notice.transition.to.rawValue
        reason = notice.transition.reason
        at = notice.transition.at
    }

    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }
}

/// One delivery attempt to one sink; throws with a one-line reason on failure.
public protocol Notifier: Sendable {
    var label: String { get }
    func deliver(_ body: Data) async throws
}

/// JSON lines to a file (appended) or to standard error.
struct LogNotifier: Notifier {
    let path: String?
    var label: String { "log \(path ?? "stderr")" }

    func deliver(_ body: Data) async throws {
        var line = body
        line.append(0x0A)
        guard let path else {
            FileHandle.standardError.write(line)
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o640)
        guard fd >= 0 else { throw AgentError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw AgentError("cannot append to \(path)") }
    }
}

/// HTTP POST with a JSON body; any 2xx is success.
struct WebhookNotifier: Notifier {
    let url: URL
    let timeout: TimeInterval
    /// The URL without query or user info, which may carry a token.
    var label: String {
        var parts = URLComponents(url: url, resolvingAgainstBaseURL: false)
        parts?.query = nil
        parts?.user = nil
        parts?.password = nil
        return "webhook \(parts?.string ?? url.host ?? "?")"
    }

    func deliver(_ body: Data) async throws {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("pgdr-agent", forHTTPHeaderField: "User-Agent")
        request.httpBody = body
        let response: URLResponse
        do {
            (_, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw AgentError("POST failed: \((error as NSError).localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else { throw AgentError("POST answered HTTP \(status)") }
    }
}

/// Runs a program with the notice on standard input; exit 0 is success.
struct CommandNotifier: Notifier {
    let command: [String]
    let timeout: TimeInterval
    var label: String { "command \(command.first ?? "?")" }

    func deliver(_ body: Data) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: AgentError("cannot run \(command[0]): \(error.localizedDescription)"))
                return
            }
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                // Still running past its timeout: end it (by its own PID).
                if process.isRunning { kill(pid, SIGKILL) }
            }
            input.fileHandleForWriting.write(body)
            try? input.fileHandleForWriting.close()
        }
        guard status == 0 else { throw AgentError("\(command[0]) exited with status \(status)") }
    }
}

public enum NotifierFactory {
    public static func make(_ sink: NotificationSink, baseDirectory: String) -> any Notifier {
        switch sink.type {
        case .log:
            let path = sink.path.map { $0.hasPrefix("/") ? $0 : (baseDirectory as NSString).appendingPathComponent($0) }
            return LogNotifier(path: path)
        case .webhook:
            return WebhookNotifier(url: URL(string: sink.url!)!, timeout: sink.timeout.seconds)
        case .command:
            return CommandNotifier(command: sink.command!, timeout: sink.timeout.seconds)
        }
    }
}
