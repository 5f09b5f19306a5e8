import Hummingbird
import NIOCore

/// The request context of the agent's API: the caller's address (journaled
/// with every approval attempt), and a small bound on request bodies (no
/// endpoint takes one: an approval is a bare POST).
public struct AgentRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    public var maxUploadSize: Int { 16 * 1024 }

    /// The caller as the journal names it: its IP address, without the port.
    public var caller: String { remoteAddress?.ipAddress ?? "unknown" }
}
