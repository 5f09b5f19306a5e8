import AsyncHTTPClient
import NIOCore

extension HTTPClient {
    /// The client the AWS calls go through: one retry layer only, pgdr's own
    /// (backoff with full jitter, as the AWS SDKs do). async-http-client's
    /// pool would otherwise retry a refused connection on its own until the
    /// request's deadline, and each of pgdr's attempts would take the whole
    /// deadline (a refused endpoint cost `status` 105 s).
    public static let aws: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
