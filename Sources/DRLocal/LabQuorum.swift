import DRProcess
import Foundation

/// A lab of regions: an etcd member in each region's namespace (the two
/// regions and a witness), an agent beside each node in its namespace, and
/// the faults users and tests inject (`pgdr lab fault ...`).
extension Lab {
    static let etcdClientPort = 2379
    static let etcdPeerPort = 2380
    static let agentPort = 8008

    func etcdDirectory(_ region: String) -> String { "\(layout.regionDirectory(region))/etcd" }
    func agentDirectory(_ region: String) -> String { "\(layout.regionDirectory(region))/agent" }

    /// This executable, for starting agents.
    static var pgdrExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Starts whatever of etcd and the agents is not running, and waits until etcd is healthy.
    func startQuorum(user: ServerUser) async throws {
        var state = try loadState()
        guard var quorum = state.quorum else { return }
        let network = quorum.network
        let cluster = network.regions.map { "\($0.region)=http://\($0.address):\(Self.etcdPeerPort)" }.joined(separator: ",")
        for region in network.regions where !Daemon.isRunning(quorum.etcd[region.region]) {
            let dir = etcdDirectory(region.region)
            let fresh = !FileManager.default.fileExists(atPath: "\(dir)/member")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try user.own(layout.regionDirectory(region.region))
            try user.own(dir)
            // Client traffic (the leader key, leases) over TLS with a certificate from the lab's CA.
            var clientTLS: [String] = []
            if layout.hasTLS {
                let certificate = "\(layout.regionDirectory(region.region))/etcd.crt", key = "\(layout.regionDirectory(region.region))/etcd.key"
                if !FileManager.default.fileExists(atPath: key) {
                    try await LabCertificates(folder: layout.tls).issue(commonName: "etcd \(region.region)", names: [region.address],
                                                                        certificate: certificate, key: key, owner: user)
                }
                clientTLS = ["--cert-file", certificate, "--key-file", key]
            }
            quorum.etcd[region.region] = try await Daemon.start("/usr/bin/etcd", [
                "--name", region.region, "--data-dir", dir,
                "--listen-client-urls", "\(clientScheme)://\(region.address):\(Self.etcdClientPort)",
                "--advertise-client-urls", "\(clientScheme)://\(region.address):\(Self.etcdClientPort)",
                "--listen-peer-urls", "http://\(region.address):\(Self.etcdPeerPort)",
                "--initial-advertise-peer-urls", "http://\(region.address):\(Self.etcdPeerPort)",
                "--initial-cluster", cluster, "--initial-cluster-token", "pgdr-\(network.id)",
                "--initial-cluster-state", fresh ? "new" : "existing",
                // Pre-vote: a member coming back from a partition must not depose a healthy leader
                // (without it the election that follows a heal stalls every lease renewal).
                "--heartbeat-interval", "50", "--election-timeout", "500", "--pre-vote",
            ] + clientTLS, log: "\(layout.regionDirectory(region.region))/etcd.log", namespace: region.namespace, runAs: user.runAs,
            // The members share two cores with the servers and their load: a member starved of the CPU for an
            // election timeout deposes its leader and stalls every lease renewal. Where etcd shares a machine,
            // it gets the CPU first (as co-located production members are run at a raised priority).
            nice: -10)
        }
        state.quorum = quorum
        try state.save(layout.stateFile)
        try await waitForEtcd(network)
        for node in state.nodes where !Daemon.isRunning(quorum.agents[node.name]) {
            guard let region = network.region(node.region) else { continue }
            try FileManager.default.createDirectory(atPath: agentDirectory(node.region), withIntermediateDirectories: true)
            // Off loopback the API serves HTTPS only: a certificate per agent from the lab's CA.
            var tlsArguments: [String] = []
            if layout.hasTLS {
                let certificate = "\(agentDirectory(node.region))/agent.crt", key = "\(agentDirectory(node.region))/agent.key"
                if !FileManager.default.fileExists(atPath: key) {
                    try await LabCertificates(folder: layout.tls).issue(commonName: "\(node.name) agent", names: [region.address, node.name],
                                                                        certificate: certificate, key: key)
                }
                tlsArguments = ["--tls-certificate", certificate, "--tls-key", key]
            }
            quorum.agents[node.name] = try await Daemon.start(Self.pgdrExecutable, [
                "agent", "--config", layout.specFile, "--node", node.name,
                "--listen", "\(region.address):\(Self.agentPort)", "--state-dir", agentDirectory(node.region),
                "--log-level", "info",
            ] + tlsArguments, log: "\(layout.regionDirectory(node.region))/agent.log", namespace: region.namespace, runAs: nil)
        }
        state.quorum = quorum
        try state.save(layout.stateFile)
    }

    /// https once the lab has its CA (labs made before TLS keep http).
    var clientScheme: String { layout.hasTLS ? "https" : "http" }

    func waitForEtcd(_ network: LabNetwork) async throws {
        let endpoints = network.regions.map { "\(clientScheme)://\($0.address):\(Self.etcdClientPort)" }.joined(separator: ",")
        let verify = layout.hasTLS ? ["--cacert", layout.certificateAuthority] : []
        let deadline = ContinuousClock.now + .seconds(30)
        var said = ""
        while ContinuousClock.now < deadline {
            let result = try? await ChildProcess.run(.init("/usr/bin/etcdctl", ["--endpoints", endpoints] + verify + ["endpoint", "health"],
                                                           environment: ["ETCDCTL_API": "3"], timeout: .seconds(5)))
            if result?.succeeded == true { return }
            said = result?.lastWords() ?? said
            try await Task.sleep(for: .milliseconds(200))
        }
        throw LocalError("the lab's etcd members did not become healthy within 30 s: \(said); see \(layout.root)/*/etcd.log")
    }

    func stopAgents() async {
        guard var state = try? loadState(), var quorum = state.quorum else { return }
        for (_, pid) in quorum.agents { await Daemon.stop(pid) }
        quorum.agents = [:]
        state.quorum = quorum
        try? state.save(layout.stateFile)
    }

    func stopEtcd() async {
        guard var state = try? loadState(), var quorum = state.quorum else { return }
        for (_, pid) in quorum.etcd { await Daemon.stop(pid) }
        quorum.etcd = [:]
        state.quorum = quorum
        try? state.save(layout.stateFile)
    }

    // MARK: faults

    func requireQuorum() throws -> LabState {
        let state = try loadState()
        guard state.quorum != nil else {
            throw LocalError.badInput("this lab keeps its regions on loopback: faults between regions need a lab of network namespaces (`pgdr lab up` as root, without --loopback)")
        }
        return state
    }

    /// Cuts a region off from the others (the machine itself still reaches it).
    public func partition(region: String) async throws {
        var state = try requireQuorum()
        guard var quorum = state.quorum else { return }
        quorum.network = try await LabNetworking.partition(quorum.network, region: region)
        state.quorum = quorum
        try state.save(layout.stateFile)
    }

    public func heal() async throws {
        var state = try requireQuorum()
        guard var quorum = state.quorum else { return }
        quorum.network = await LabNetworking.heal(quorum.network)
        state.quorum = quorum
        try state.save(layout.stateFile)
    }

    /// Node loss: SIGKILL of the node's postmaster, its children and its agent.
    public func killNode(_ name: String) async throws -> [Int32] {
        let state = try loadState()
        var killed: [Int32] = []
        if let pid = state.quorum?.agents[name], Daemon.isRunning(pid) {
            Foundation.kill(pid, SIGKILL)
            killed.append(pid)
        }
        if let pid = try await kill(node: name, withChildren: true) { killed.append(pid) }
        return killed
    }

    /// Restarts the agent of a node (after `killNode`), or every agent not running.
    public func startAgents() async throws {
        try await startQuorum(user: try await ServerUser.resolve())
    }

    /// Stops one region's etcd member (the witness, say).
    public func stopEtcdMember(region: String) async throws {
        var state = try requireQuorum()
        guard var quorum = state.quorum, let pid = quorum.etcd[region] else {
            throw LocalError.badInput("no etcd member runs in \(region)")
        }
        await Daemon.stop(pid)
        quorum.etcd[region] = nil
        state.quorum = quorum
        try state.save(layout.stateFile)
    }
}
