import DRProcess
import Foundation

/// The lab's regions as network namespaces on one bridge: one address per
/// region, the machine itself (the root namespace) on the bridge too, so it
/// reaches every node during a fault and can watch a split brain from
/// outside. A partition is a pair of packet filters per cut link (tc, on
/// each namespace's own interface): packets to the other side are dropped
/// silently, as a cut link drops them. Nobody is told: a connection attempt
/// waits for its timeout, an open session stalls (a route to nowhere would
/// instead fail new connections at once, which no real cut does).
public struct LabNetwork: Codable, Sendable, Hashable {
    public struct Region: Codable, Sendable, Hashable {
        public var region: String
        public var namespace: String
        public var address: String
        public var hostVeth: String
    }

    public var id: String
    /// The first three octets of the lab's /24.
    public var subnet: String
    public var bridge: String
    public var regions: [Region]
    /// Regions currently cut off from the others.
    public var partitioned: [String] = []

    public var gateway: String { "\(subnet).1" }
    /// The region's end of its veth pair, inside its namespace.
    public func interface(_ region: Region) -> String {
        "pgdr\(id)p\(regions.firstIndex(of: region) ?? 0)"
    }
    public var cidr: String { "\(subnet).0/24" }
    public func region(_ name: String) -> Region? { regions.first { $0.region == name } }
}

/// Creates, cuts, heals and removes a lab's network (root only).
public enum LabNetworking {
    public static let witnessRegion = "us-west-2"

    static func ip(_ arguments: [String], namespace: String? = nil) async throws {
        do {
            try await ChildProcess.checked(.init(ChildProcess.ip, arguments, timeout: .seconds(20), namespace: namespace))
        } catch {
            throw LocalError("ip \(arguments.joined(separator: " ")): \(error)")
        }
    }

    /// A /24 no interface of this machine uses yet.
    static func freeSubnet() async throws -> String {
        let used = (try? await ChildProcess.checked(.init(ChildProcess.ip, ["-o", "-4", "addr"], timeout: .seconds(10))))?.output ?? ""
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let subnet = "10.\(Int.random(in: 100...250, using: &generator)).\(Int.random(in: 0...255, using: &generator))"
            if !used.contains(" \(subnet).") { return subnet }
        }
        throw LocalError("no free 10.x.y.0/24 for the lab's regions")
    }

    public static func create(regions: [String]) async throws -> LabNetwork {
        guard geteuid() == 0 else { throw LocalError("network namespaces need root") }
        var generator = SystemRandomNumberGenerator()
        let id = String(format: "%04x", UInt16.random(in: 0...UInt16.max, using: &generator))
        let subnet = try await freeSubnet()
        var network = LabNetwork(id: id, subnet: subnet, bridge: "pgdr\(id)br", regions: [])
        do {
            try await ip(["link", "add", network.bridge, "type", "bridge"])
            try await ip(["addr", "add", "\(network.gateway)/24", "dev", network.bridge])
            try await ip(["link", "set", network.bridge, "up"])
            for (index, region) in regions.enumerated() {
                let namespace = "pgdr-\(id)-\(region)"
                let host = "pgdr\(id)h\(index)", peer = "pgdr\(id)p\(index)"
                let address = "\(subnet).\(10 + index)"
                try await ip(["netns", "add", namespace])
                try await ip(["link", "add", host, "type", "veth", "peer", "name", peer])
                try await ip(["link", "set", peer, "netns", namespace])
                try await ip(["link", "set", host, "master", network.bridge, "up"])
                try await ip(["addr", "add", "\(address)/24", "dev", peer], namespace: namespace)
                try await ip(["link", "set", peer, "up"], namespace: namespace)
                try await ip(["link", "set", "lo", "up"], namespace: namespace)
                network.regions.append(.init(region: region, namespace: namespace, address: address, hostVeth: host))
            }
        } catch {
            await destroy(network)
            throw error
        }
        return network
    }

    /// Removes the namespaces (their veth ends go with them) and the bridge.
    public static func destroy(_ network: LabNetwork) async {
        for region in network.regions {
            _ = try? await ChildProcess.run(.init(ChildProcess.ip, ["netns", "delete", region.namespace], timeout: .seconds(10)))
            _ = try? await ChildProcess.run(.init(ChildProcess.ip, ["link", "delete", region.hostVeth], timeout: .seconds(10)))
        }
        _ = try? await ChildProcess.run(.init(ChildProcess.ip, ["link", "delete", network.bridge], timeout: .seconds(10)))
    }

    /// Cuts `region` off from every other region (not from the machine itself).
    public static func partition(_ network: LabNetwork, region name: String) async throws -> LabNetwork {
        guard let cut = network.region(name) else {
            throw LocalError.badInput("the lab has no region \(name) (regions: \(network.regions.map(\.region).joined(separator: ", ")))")
        }
        for other in network.regions where other.region != name {
            try await drop(to: other.address, from: cut, network)
            try await drop(to: cut.address, from: other, network)
        }
        var updated = network
        if !updated.partitioned.contains(name) { updated.partitioned.append(name) }
        return updated
    }

    /// Removes every cut.
    public static func heal(_ network: LabNetwork) async -> LabNetwork {
        for region in network.regions {
            // The root qdisc goes, and every filter with it.
            _ = try? await ChildProcess.run(.init(ChildProcess.tc, ["qdisc", "del", "dev", network.interface(region), "root"],
                                                  timeout: .seconds(10), namespace: region.namespace))
        }
        var updated = network
        updated.partitioned = []
        return updated
    }

    /// Drops every IP packet `region` sends to `address`, silently. With
    /// only what every kernel has (no prio or netem qdisc, no tc actions
    /// needed): an HTB root on its interface whose unclassified traffic
    /// goes out directly, one class whose queue holds nothing (pfifo, limit
    /// 0), and a u32 filter per cut address into that class.
    static func drop(to address: String, from region: LabNetwork.Region, _ network: LabNetwork) async throws {
        let device = network.interface(region)
        func tc(_ arguments: [String]) async throws -> ChildProcess.Result {
            let result = try await ChildProcess.run(.init(ChildProcess.tc, arguments, timeout: .seconds(10), namespace: region.namespace))
            if !result.succeeded {
                throw LocalError("cannot cut \(address) in \(region.namespace): tc \(arguments.joined(separator: " ")): \(result.lastWords())")
            }
            return result
        }
        if !(try await tc(["qdisc", "show", "dev", device])).output.contains("qdisc htb 1:") {
            _ = try await tc(["qdisc", "add", "dev", device, "root", "handle", "1:", "htb"])
            _ = try await tc(["class", "add", "dev", device, "parent", "1:", "classid", "1:20", "htb", "rate", "10gbit", "quantum", "60000"])
            _ = try await tc(["qdisc", "add", "dev", device, "parent", "1:20", "handle", "20:", "pfifo", "limit", "0"])
        }
        _ = try await tc(["filter", "add", "dev", device, "parent", "1:", "protocol", "ip", "prio", "1",
                          "u32", "match", "ip", "dst", "\(address)/32", "flowid", "1:20"])
    }
}

/// Long-running programs of the lab (etcd members, agents): started in the
/// background with their output in a log file, known and stopped by PID.
public enum Daemon {
    /// `nice`: a CPU priority to give the program once started (negative is
    /// higher; needs root, left as it is when not permitted).
    public static func start(_ executable: String, _ arguments: [String], log: String, namespace: String?,
                             runAs: ChildProcess.RunAs?, environment: [String: String] = [:], nice: Int32? = nil) async throws -> Int32 {
        let script = "exec \"$0\" \"$@\" >> \"\(log)\" 2>&1 < /dev/null & echo $!"
        do {
            let result = try await ChildProcess.checked(.init("/bin/sh", ["-c", script, executable] + arguments, environment: environment,
                                                              timeout: .seconds(20), runAs: runAs, namespace: namespace))
            guard let pid = Int32(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw LocalError("\((executable as NSString).lastPathComponent) did not start: \(result.lastWords())")
            }
            if let nice { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(pid), nice) }
            return pid
        } catch let error as LocalError {
            throw error
        } catch {
            throw LocalError("cannot start \((executable as NSString).lastPathComponent): \(error)")
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; by PID only.
    public static func stop(_ pid: Int32, grace: Duration = .seconds(10)) async {
        guard !ProcessTable.hasExited(pid) else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while !ProcessTable.hasExited(pid), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if !ProcessTable.hasExited(pid) { kill(pid, SIGKILL) }
    }

    public static func isRunning(_ pid: Int32?) -> Bool { pid.map { !ProcessTable.hasExited($0) } ?? false }
}
