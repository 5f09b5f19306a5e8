import DRProcess
import Foundation

/// The lab's regions as network namespaces on one bridge: one address per
/// region, the machine itself (the root namespace) on the bridge too, so it
/// reaches every node during a fault and can watch a split brain from
/// outside. A partition is a pair of blackhole routes per cut link inside
/// the namespaces: packets are dropped silently, as a cut link drops them.
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
            try await blackhole(other.address, in: cut.namespace, add: true)
            try await blackhole(cut.address, in: other.namespace, add: true)
        }
        var updated = network
        if !updated.partitioned.contains(name) { updated.partitioned.append(name) }
        return updated
    }

    /// Removes every cut.
    public static func heal(_ network: LabNetwork) async -> LabNetwork {
        for region in network.regions {
            for other in network.regions where other.region != region.region {
                try? await blackhole(other.address, in: region.namespace, add: false)
            }
        }
        var updated = network
        updated.partitioned = []
        return updated
    }

    static func blackhole(_ address: String, in namespace: String, add: Bool) async throws {
        let result = try await ChildProcess.run(.init(ChildProcess.ip, ["route", add ? "replace" : "delete", "blackhole", "\(address)/32"],
                                                      timeout: .seconds(10), namespace: namespace))
        if add, !result.succeeded { throw LocalError("cannot cut \(address) in \(namespace): \(result.lastWords())") }
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
