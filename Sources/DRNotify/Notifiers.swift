import DRSpec
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

public struct NotifyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One delivery attempt to one sink; throws with a one-line reason on failure.
public protocol Notifier: Sendable {
    var label: String { get }
    func deliver(_ body: Data) async throws
}

/// JSON lines to a file (appended) or to standard error.
public struct LogNotifier: Notifier {
    let path: String?
    public var label: String { "log \(path ?? "stderr")" }

    public func deliver(_ body: Data) async throws {
        var line = body
        line.append(0x0A)
        guard let path else {
            FileHandle.standardError.write(line)
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o640)
        guard fd >= 0 else { throw NotifyError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw NotifyError("cannot append to \(path)") }
    }
}

/// HTTP POST with a JSON body; any 2xx is success.
public struct WebhookNotifier: Notifier {
    let url: URL
    let timeout: TimeInterval
    /// The URL without query or user info, which may carry a token.
    public var label: String {
        var parts = URLComponents(url: url, resolvingAgainstBaseURL: false)
        parts?.query = nil
        parts?.user = nil
        parts?.password = nil
        return "webhook \(parts?.string ?? url.host ?? "?")"
    }

    public func deliver(_ body: Data) async throws {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("pgdr-agent", forHTTPHeaderField: "User-Agent")
        request.httpBody = body
        let response: URLResponse
        do {
            (_, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw NotifyError("POST failed: \((error as NSError).localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else { throw NotifyError("POST answered HTTP \(status)") }
    }
}

/// Runs a program with the notice on standard input; exit 0 is success.
public struct CommandNotifier: Notifier {
    let command: [String]
    let timeout: TimeInterval
    public var label: String { "command \(command.first ?? "?")" }

    public func deliver(_ body: Data) async throws {
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
                continuation.resume(throwing: NotifyError("cannot run \(command[0]): \(error.localizedDescription)"))
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
        guard status == 0 else { throw NotifyError("\(command[0]) exited with status \(status)") }
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
