/// `dcs:` in pgdr.yaml: the etcd cluster that decides who is primary. With
/// it, an agent runs beside each node (`pgdr agent --node NAME`), the primary's
/// agent holds the leader key under a lease, and a node is promoted only by
/// the agent that took the key.
public struct DCSSpec: Sendable, Hashable, Codable {
    /// etcd client URLs (`http://10.0.1.5:2379`): 3 or 5 members, one of them
    /// in a third place (a witness region), so a region cut off alone is a minority.
    public var endpoints: [String]
    /// Keys live under `/pgdr/<prefix>/`: one prefix per deployment.
    public var prefix: String
    /// The leader lease's time to live. A primary that cannot renew it
    /// demotes itself before it ends; a failover waits at least this long.
    public var ttl: TimeSpan = .seconds(6)
    /// How often agents act (renew, publish, decide); at most a third of `ttl`.
    public var loopInterval: TimeSpan? = nil
    /// Each etcd request's deadline.
    public var requestTimeout: TimeSpan = TimeSpan(milliseconds: 800)
    public var tls: TLS? = nil

    public struct TLS: Sendable, Hashable, Codable {
        public var ca: String?
        public var certificate: String?
        public var key: String?
        public init() {}
    }

    public init(endpoints: [String], prefix: String) {
        self.endpoints = endpoints
        self.prefix = prefix
    }

    /// The agents' loop period: `loopInterval`, else a third of the TTL.
    public var tick: TimeSpan { loopInterval ?? TimeSpan(milliseconds: max(200, ttl.milliseconds / 3)) }

    /// How long before the lease ends a primary that could not renew starts
    /// to demote itself: enough for an immediate shutdown to finish first.
    public var demoteMargin: TimeSpan { TimeSpan(milliseconds: max(500, ttl.milliseconds / 4)) }

    public var root: String { "/pgdr/\(prefix)/" }
}
