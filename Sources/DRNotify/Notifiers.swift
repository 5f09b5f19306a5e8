import AsyncHTTPClient
import DRProcess
import DRSpec
import Foundation
import NIOCore
import NIOFoundationCompat

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
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "pgdr-agent")
        request.body = .bytes(ByteBuffer(data: body))
        let status: UInt
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            _ = try await response.body.collect(upTo: 64 * 1024)
            status = response.status.code
        } catch {
            // The error names at most the host and port, never the path or query (which may carry a token).
            var reason = "\(error)"
            if let query = url.query, !query.isEmpty { reason = reason.replacingOccurrences(of: query, with: "…") }
            throw NotifyError("POST failed: \(reason)")
        }
        guard (200..<300).contains(status) else { throw NotifyError("POST answered HTTP \(status)") }
    }
}

/// Runs a program with the notice on standard input; exit 0 is success.
public struct CommandNotifier: Notifier {
    let program: String
    let arguments: [String]
    let timeout: Duration
    public var label: String { "command \(program)" }

    public func deliver(_ body: Data) async throws {
        do {
            try await ChildProcess.checked(.init(program, arguments, timeout: timeout, outputLimit: 4096, input: Array(body)))
        } catch {
            throw NotifyError("\(error)")
        }
    }
}

public enum NotifierFactory {
    public static func make(_ sink: NotificationSink, baseDirectory: String) -> any Notifier {
        switch sink {
        case .log(let path, _):
            return LogNotifier(path: path.map { $0.hasPrefix("/") ? $0 : (baseDirectory as NSString).appendingPathComponent($0) })
        case .webhook(let url, let delivery):
            return WebhookNotifier(url: url, timeout: delivery.timeout.seconds)
        case .command(let program, let arguments, let delivery):
            return CommandNotifier(program: program, arguments: arguments, timeout: delivery.timeout.duration)
        }
    }
}
