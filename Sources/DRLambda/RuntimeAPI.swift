import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One invocation as Lambda's Runtime API hands it over.
public struct Invocation: Sendable {
    public var requestID: String
    /// When Lambda ends the invocation (Lambda-Runtime-Deadline-Ms).
    public var deadline: Date
    public var functionARN: String?
    public var traceID: String?
    public var event: Data
}

/// Lambda's Runtime API (version 2018-06-01), the HTTP protocol between a
/// custom runtime (`provided.al2023`) and Lambda: ask for the next event,
/// answer it or report its error, report an initialisation error.
public struct RuntimeAPI: Sendable {
    let base: String
    let http: HTTPClient

    /// `address` is `AWS_LAMBDA_RUNTIME_API` (host:port).
    public init(address: String, http: HTTPClient = .shared) {
        base = "http://\(address)/2018-06-01/runtime"
        self.http = http
    }

    /// Waits for the next invocation (no timeout: Lambda freezes the process between events).
    public func next() async throws -> Invocation {
        let response = try await http.execute(HTTPClientRequest(url: "\(base)/invocation/next"), deadline: .distantFuture)
        let body = try await response.body.collect(upTo: Self.maxEvent)
        guard response.status == .ok else {
            throw RuntimeAPIError("GET invocation/next answered \(response.status.code): \(String(buffer: body).prefix(200))")
        }
        guard let id = response.headers.first(name: "Lambda-Runtime-Aws-Request-Id"), !id.isEmpty else {
            throw RuntimeAPIError("GET invocation/next: no Lambda-Runtime-Aws-Request-Id header")
        }
        let milliseconds = response.headers.first(name: "Lambda-Runtime-Deadline-Ms").flatMap(Double.init) ?? 0
        return Invocation(requestID: id, deadline: Date(timeIntervalSince1970: milliseconds / 1000),
                          functionARN: response.headers.first(name: "Lambda-Runtime-Invoked-Function-Arn"),
                          traceID: response.headers.first(name: "Lambda-Runtime-Trace-Id"),
                          event: Data(buffer: body))
    }

    /// The invocation's result.
    public func respond(_ id: String, _ body: Data) async throws {
        try await post("invocation/\(id)/response", body)
    }

    /// The invocation failed: Lambda reports it to the caller (and retries asynchronous events).
    public func fail(_ id: String, _ error: FunctionError) async throws {
        try await post("invocation/\(id)/error", error.body, errorType: error.type)
    }

    /// The function could not start: Lambda reports it and stops this environment.
    public func initFailed(_ error: FunctionError) async throws {
        try await post("init/error", error.body, errorType: error.type)
    }

    func post(_ path: String, _ body: Data, errorType: String? = nil) async throws {
        var request = HTTPClientRequest(url: "\(base)/\(path)")
        request.method = .POST
        request.body = .bytes(ByteBuffer(data: body))
        if let errorType { request.headers.add(name: "Lambda-Runtime-Function-Error-Type", value: errorType) }
        let response = try await http.execute(request, timeout: .seconds(10))
        let answer = try await response.body.collect(upTo: 64 * 1024)
        guard response.status.code / 100 == 2 else {
            throw RuntimeAPIError("POST \(path) answered \(response.status.code): \(String(buffer: answer).prefix(200))")
        }
    }

    /// Lambda's own limit for a synchronous event (6 MB) and then some.
    static let maxEvent = 8 * 1024 * 1024
}

/// What the Runtime API is told about a failed invocation: a type and a
/// one-line message (never a secret: the handlers' errors name servers and
/// calls, not credentials).
public struct FunctionError: Error, Sendable, CustomStringConvertible {
    public var type: String
    public var message: String

    public init(type: String, message: String) {
        self.type = type
        self.message = message
    }

    public var description: String { "\(type): \(message)" }

    var body: Data {
        (try? JSONSerialization.data(withJSONObject: ["errorType": type, "errorMessage": message, "stackTrace": [String]()],
                                     options: [.sortedKeys])) ?? Data()
    }
}

public struct RuntimeAPIError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
