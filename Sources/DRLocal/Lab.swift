import DRBackup
import DRControl
import DRPostgres
import DRProcess
import DRSpec
import Foundation
import Logging
import PostgresNIO

/// `pgdr lab`: the two-region topology on one machine, with real servers.
/// Region one holds a primary made by initdb; region two a standby made by
/// pg_basebackup, streaming through a physical slot, with the primary's WAL
/// archive as its fallback.
///
/// The lab is configuration, not a special case: its pgdr.yaml gives every
/// node a `control:` section (pg_ctl on the node's data directory), and every
/// verb, the lab's own `up` and `down` included, works through that.
public struct Lab: Sendable {
    public static let primaryRegion = "us-east-1"
    public static let drRegion = "us-east-2"
    public static let primaryNode = "pg1"
    public static let drNode = "pg2"

    public let layout: LabLayout
    let logger: Logger
    /// For a new lab: make the DR standby synchronous (replication.mode: sync).
    let synchronous: Bool
    /// For a new lab: regions as network namespaces, etcd, an agent per node (root only).
    let quorum: Bool
    /// For a new lab of regions: failover.mode automatic.
    let automatic: Bool
    /// For a new lab: backups through pgBackRest, a repository in each region.
    let backups: Bool
    /// Told each long step as it begins (a terminal shows it; tests ignore it).
    let progress: @Sendable (String) -> Void

    public init(directory: String, synchronous: Bool = false, quorum: Bool = false, automatic: Bool = false,
                backups: Bool = false, logger: Logger = Logger(label: "pgdr.lab"),
                progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.progress = progress
        self.layout = LabLayout(root: directory)
        self.synchronous = synchronous
        self.quorum = quorum
        self.automatic = automatic
        self.backups = backups
        self.logger = logger
    }

    /// What `up` found or did, per node, for the report.
    public struct NodeReport: Sendable {
        public var name: String
        public var region: String
        public var port: Int
        public var action: String
    }

    public struct UpReport: Sendable {
        public var created: Bool
        public var nodes: [NodeReport]
        public var layout: LabLayout
    }

    // MARK: - up

    public func up() async throws -> UpReport {
        try LabConfig.checkPath(layout.root)
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: layout.root, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw LocalError.badInput("\(layout.root) is a file, not a folder; choose a new or empty folder with --dir")
        }
        if fm.fileExists(atPath: layout.stateFile) {
            return try await resume()
        }
        if let contents = try? fm.contentsOfDirectory(atPath: layout.root), !contents.isEmpty {
            throw LocalError.badInput("""
                \(layout.root) is not empty and holds no lab (no lab.json); nothing was changed. \
                Choose an empty or new folder with --dir
                """)
        }
        return try await create()
    }

    /// The control of one lab node, as the lab's pgdr.yaml describes it.
    public func control(_ node: LabState.Node) -> DataDirectoryControl {
        DataDirectoryControl(node: node.name, dataDirectory: layout.dataDirectory(node.region),
                             starter: .pgCtl(logFile: layout.logFile(node.region)),
                             replicationUser: LabConfig.replicationRole,
                             replicationPassfile: layout.serverPassfile(node.region),
                             restoreCommand: (try? loadState())?.backups == true ? backupConfig(node).restoreCommand
                                : LabConfig.restoreCommand(peerArchive: layout.archive(peer(of: node).region)),
                             timeout: .seconds(60),
                             namespace: (try? loadState())?.quorum?.network.region(node.region)?.namespace)
    }

    /// The control of a lab node by name.
    public func control(node name: String) throws -> DataDirectoryControl {
        control(try self.node(name))
    }

    func peer(of node: LabState.Node) -> LabState.Node {
        let regions = [Self.primaryRegion, Self.drRegion]
        let other = regions.first { $0 != node.region } ?? Self.drRegion
        return LabState.Node(name: other == Self.primaryRegion ? Self.primaryNode : Self.drNode, region: other, port: 0)
    }

    func node(_ name: String) throws -> LabState.Node {
        guard let node = try loadState().nodes.first(where: { $0.name == name }) else {
            throw LocalError.badInput("the lab has no node named \(name)")
        }
        return node
    }

    func create() async throws -> UpReport {
        let binaries = try await PostgresBinaries.discover()
        let user = try await ServerUser.resolve()
        let fm = FileManager.default
        var nodes: [LabState.Node]
        var network: LabNetwork?
        if quorum {
            guard geteuid() == 0 else {
                throw LocalError.badInput("regions as network namespaces need root; run as root, or use --loopback")
            }
            let created = try await LabNetworking.create(regions: [Self.primaryRegion, Self.drRegion, LabNetworking.witnessRegion])
            network = created
            // Each node alone in its region's namespace: the same port for both is fine.
            nodes = [Self.primaryNode, Self.drNode].enumerated().map { index, name in
                let region = index == 0 ? Self.primaryRegion : Self.drRegion
                return LabState.Node(name: name, region: region, port: 5432, host: created.region(region)?.address)
            }
        } else {
            let primaryPort = try FreePort.pick()
            var standbyPort = try FreePort.pick()
            while standbyPort == primaryPort { standbyPort = try FreePort.pick() }
            nodes = [
                LabState.Node(name: Self.primaryNode, region: Self.primaryRegion, port: primaryPort),
                LabState.Node(name: Self.drNode, region: Self.drRegion, port: standbyPort),
            ]
        }
        try fm.createDirectory(atPath: layout.root, withIntermediateDirectories: true,
                               attributes: [.posixPermissions: 0o755])
        var state = LabState(phase: .building, postgresMajor: binaries.major, binDirectory: binaries.directory,
                             serverUser: user.name, createdAt: Date(), nodes: nodes)
        state.quorum = network.map { LabState.Quorum(network: $0, automatic: automatic) }
        state.backups = backups ? true : nil
        try state.save(layout.stateFile)

        // Passwords: generated here, kept in files only the invoking user can read.
        try fm.createDirectory(atPath: layout.secrets, withIntermediateDirectories: true,
                               attributes: [.posixPermissions: 0o700])
        var passwords: [String: Secret] = [:]
        for role in [LabConfig.adminRole, LabConfig.replicationRole, LabConfig.monitorRole] {
            let secret = SecretFile.generate()
            try SecretFile.write(secret, to: layout.secret(role), owner: nil)
            passwords[role] = secret
        }
        if network != nil {
            // The agents' API token (their approve endpoint; pgdr.yaml names the file).
            try SecretFile.write(SecretFile.generate(), to: "\(layout.secrets)/agent.token", owner: nil)
        }
        guard let admin = passwords[LabConfig.adminRole], let replication = passwords[LabConfig.replicationRole],
              let monitor = passwords[LabConfig.monitorRole] else { throw LocalError("lab passwords were not generated") }
        try SecretFile.writePassfile(to: layout.clientPassfile, owner: nil, entries: [
            (LabConfig.adminRole, admin), (LabConfig.monitorRole, monitor),
        ])

        for node in nodes {
            let dir = layout.regionDirectory(node.region)
            for path in [dir, layout.archive(node.region)] {
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true,
                                       attributes: [.posixPermissions: 0o700])
                try user.own(path)
            }
            try SecretFile.writePassfile(to: layout.serverPassfile(node.region), owner: user,
                                         entries: [(LabConfig.replicationRole, replication)])
        }
        try await checkReachable(by: user)
        // TLS on every server: the lab's own CA, a certificate per node naming its address.
        let certificates = LabCertificates(folder: layout.tls)
        progress("certificates for TLS")
        try await certificates.makeAuthority()
        for node in nodes {
            try await certificates.issue(commonName: node.name, names: [node.address, "localhost", node.name],
                                         certificate: layout.serverCertificate(node.region), key: layout.serverKey(node.region),
                                         owner: user)
        }
        if backups {
            // Before the first server starts: its archive_command goes through pgBackRest.
            let passphrase = SecretFile.generate()
            try SecretFile.write(passphrase, to: layout.secret("backup"), owner: nil)
            for node in nodes { try PgBackRestSetup.write(backupConfig(node), passphrase: passphrase, owner: user.runAs) }
        }

        progress("initdb \(nodes[0].name)")
        try await initPrimary(nodes[0], binaries: binaries, user: user, admin: admin)
        if backups {
            // The stanza before the first archive-push: the server is not running yet.
            try await PgBackRest(config: backupConfig(nodes[0]), runAs: user.runAs).stanzaCreate(online: false)
        }
        progress("starting \(nodes[0].name) (primary)")
        try await startNew(0, nodes: &nodes, state: &state, user: user)
        let primary = nodes[0]
        try await bootstrapRoles(host: primary.address, port: primary.port, passwords: passwords, standby: nodes[1].name)
        progress("base backup of \(nodes[0].name) for \(nodes[1].name)")
        try await cloneStandby(nodes[1], from: primary, binaries: binaries, user: user)
        progress("starting \(nodes[1].name) (standby)")
        try await startNew(1, nodes: &nodes, state: &state, user: user)
        let standby = nodes[1]
        if synchronous {
            // Only now: with a synchronous standby named before one exists, the
            // bootstrap's own commits would wait forever.
            state.synchronous = true
            try state.save(layout.stateFile)
            for node in nodes { try writeServerSettings(node, user: user) }
            try await PostgresSession.with(adminTarget(host: primary.address, port: primary.port, password: admin),
                                           logger: logger) { _ = try await $0.rows("SELECT pg_reload_conf()") }
        }

        if backups {
            progress("pgBackRest check of both repositories")
            try await PgBackRest(config: backupConfig(primary), runAs: user.runAs).run(["check"], timeout: .seconds(120))
        }
        try LabSpecFile.text(major: binaries.major, nodes: nodes, layout: layout, synchronous: synchronous, quorum: state.quorum,
                             backups: backups)
            .write(toFile: layout.specFile, atomically: true, encoding: .utf8)
        if state.quorum != nil {
            progress("etcd and an agent per region")
            try await startQuorum(user: user)
        }
        state = try loadState()
        state.phase = .ready
        try state.save(layout.stateFile)
        return UpReport(created: true, nodes: [
            NodeReport(name: primary.name, region: primary.region, port: primary.port, action: "created primary"),
            NodeReport(name: standby.name, region: standby.region, port: standby.port,
                       action: "created standby (pg_basebackup, slot \(LabConfig.slotName(for: standby.name)))"),
        ], layout: layout)
    }

    /// Starts a node of a lab being created. Its port was picked free, but
    /// seconds of initdb and pg_basebackup pass before the server binds it,
    /// and another program may take it meanwhile: the lab has published no
    /// port yet, so it picks another and tries again (loopback labs only; in a
    /// region's namespace the port is the node's own).
    func startNew(_ index: Int, nodes: inout [LabState.Node], state: inout LabState, user: ServerUser) async throws {
        for attempt in 1...3 {
            do {
                try await control(nodes[index]).start()
                return
            } catch where attempt < 3 && state.quorum == nil && "\(error)".contains("Address already in use") {
                var port = try FreePort.pick()
                while nodes.contains(where: { $0.port == port }) { port = try FreePort.pick() }
                logger.notice("port taken before the server could bind it: moving to another",
                              metadata: ["node": "\(nodes[index].name)", "from": "\(nodes[index].port)", "to": "\(port)"])
                nodes[index].port = port
                state.nodes = nodes
                try state.save(layout.stateFile)
                try writeServerSettings(nodes[index], user: user)
                if state.backups == true,
                   let passphrase = try PasswordResolver.resolve(.file(layout.secret("backup")), baseDirectory: "/") {
                    try PgBackRestSetup.write(backupConfig(nodes[index]), passphrase: passphrase, owner: user.runAs)
                }
            }
        }
    }

    /// The servers run as another user when pgdr is root: every folder above
    /// the lab must let that user through (a lab under /root would not).
    func checkReachable(by user: ServerUser) async throws {
        guard let runAs = user.runAs else { return }
        let result = try? await ChildProcess.run(.init("/usr/bin/test", ["-w", layout.regionDirectory(Self.primaryRegion)],
                                                      timeout: .seconds(10), runAs: runAs))
        guard result?.succeeded == true else {
            throw LocalError.badInput("""
                the server user \(user.name) cannot reach \(layout.root): a folder above it is closed \
                to other users. Choose a lab folder under /tmp or /srv with --dir
                """)
        }
    }

    func initPrimary(_ node: LabState.Node, binaries: PostgresBinaries, user: ServerUser, admin: Secret) async throws {
        let data = layout.dataDirectory(node.region)
        // initdb reads the superuser's password from a file, never from its arguments.
        let pwfile = "\(layout.regionDirectory(node.region))/initdb.pw"
        try SecretFile.write(admin, to: pwfile, owner: user)
        defer { try? FileManager.default.removeItem(atPath: pwfile) }
        try await tool(binaries.path("initdb"), [
            "-D", data, "-U", LabConfig.adminRole, "--pwfile", pwfile, "--auth=scram-sha-256",
            "--data-checksums", "--encoding=UTF8", "--locale=C",
        ], user: user)
        let conf = "\(data)/postgresql.conf"
        let existing = try String(contentsOfFile: conf, encoding: .utf8)
        try (existing + "\ninclude_if_exists = 'pgdr.conf'\n").write(toFile: conf, atomically: false, encoding: .utf8)
        try writeServerSettings(node, user: user)
    }

    func tool(_ program: String, _ arguments: [String], environment: [String: String] = [:], user: ServerUser,
              namespace: String? = nil) async throws {
        do {
            try await ChildProcess.checked(.init(program, arguments, environment: environment.merging(["LC_ALL": "C"]) { a, _ in a },
                                                 timeout: .seconds(300), runAs: user.runAs, namespace: namespace))
        } catch {
            throw LocalError("\(error)")
        }
    }

    /// `pgdr.conf` and `pg_hba.conf` of a node: the settings that are its own
    /// (port, name, archive). Standby settings live in postgresql.auto.conf,
    /// written by `NodeControl.follow`.
    func writeServerSettings(_ node: LabState.Node, user: ServerUser) throws {
        let data = layout.dataDirectory(node.region)
        let state = try? loadState()
        let peers = (state?.nodes ?? []).map(\.name).filter { $0 != node.name }
        let backup = state?.backups == true ? backupConfig(node) : nil
        let tls = layout.hasTLS ? (certificate: layout.serverCertificate(node.region), key: layout.serverKey(node.region)) : nil
        let settings = LabConfig.serverSettings(port: node.port, archive: layout.archive(node.region), node: node.name,
                                                sync: state?.synchronous ?? false, peers: peers, address: node.address, backup: backup,
                                                tls: tls)
        let hba = LabConfig.hba(network: state?.quorum?.network.cidr ?? "127.0.0.1/32", backups: backup != nil, tls: tls != nil)
        var files = [("pgdr.conf", settings), ("pg_hba.conf", hba)]
        if backup != nil {
            files.append(("pg_ident.conf", "# Written by pgdr lab: the server's user may connect as \(LabConfig.adminRole) through the socket.\npgdr \(user.name) \(LabConfig.adminRole)\n"))
        }
        for (file, text) in files {
            let path = "\(data)/\(file)"
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            try user.own(path)
            chmod(path, 0o600)
        }
    }

    /// A lab node's pgBackRest configuration: the same one `BackupNodes`
    /// derives from the lab's pgdr.yaml (a test holds them equal).
    public func backupConfig(_ node: LabState.Node) -> PgBackRestConfig {
        PgBackRestConfig(settings: LabSpecFile.backupSettings, repositoryPaths: [Self.primaryRegion, Self.drRegion].map { "\(layout.root)/\($0)/pgbackrest-repo" },
                         retentionDays: 7, nodeDirectory: "\(layout.root)/pgbackrest/\(node.name)",
                         dataDirectory: layout.dataDirectory(node.region), port: node.port,
                         socketDirectory: layout.regionDirectory(node.region), user: LabConfig.adminRole)
    }

    /// The superuser session on one lab node, for operations and tests.
    public func adminTarget(node name: String) throws -> ConnectionTarget {
        let node = try node(name)
        guard let password = try PasswordResolver.resolve(.file(layout.secret(LabConfig.adminRole)), baseDirectory: "/") else {
            throw LocalError("the lab's admin password file is missing")
        }
        return adminTarget(host: node.address, port: node.port, password: password)
    }

    func adminTarget(host: String, port: Int, password: Secret) -> ConnectionTarget {
        var target = ConnectionTarget(host: host, port: port, user: LabConfig.adminRole, password: password,
                                      applicationName: "pgdr-lab")
        if layout.hasTLS {
            target.tls = TLSSpec(mode: .verifyFull, ca: layout.certificateAuthority)
            target.caPath = layout.certificateAuthority
        }
        return target
    }

    /// libpq's TLS keywords for connections between the lab's servers (and its tools).
    var libpqTLS: [LibpqParameter] {
        layout.hasTLS ? [LibpqParameter("sslmode", "verify-full"), LibpqParameter("sslrootcert", layout.certificateAuthority)] : []
    }

    /// Roles, the heartbeat table and the standby's slot. Role passwords are
    /// passed as bind parameters, so they never appear in SQL text or logs.
    func bootstrapRoles(host: String, port: Int, passwords: [String: Secret], standby: String) async throws {
        guard let adminPassword = passwords[LabConfig.adminRole] else { throw LocalError("no admin password") }
        let admin = adminTarget(host: host, port: port, password: adminPassword)
        try await PostgresSession.with(admin, logger: logger) { session in
            for (role, options) in [(LabConfig.replicationRole, "LOGIN REPLICATION"),
                                    (LabConfig.monitorRole, "LOGIN IN ROLE pg_monitor")] {
                guard let password = passwords[role] else { throw LocalError("no password for \(role)") }
                try await session.execute("SELECT set_config('pgdr.new_password', \(password.reveal()), false)")
                try await session.execute(PostgresQuery(unsafeSQL: """
                    DO $$ BEGIN
                      EXECUTE format('CREATE ROLE %I \(options) PASSWORD %L', '\(role)', current_setting('pgdr.new_password'));
                    END $$
                    """))
            }
            try await session.execute("SELECT set_config('pgdr.new_password', '', false)")
            for statement in Heartbeat.schemaStatements + [
                // The monitor may write the heartbeat and nothing else.
                "GRANT USAGE ON SCHEMA pgdr TO \(LabConfig.monitorRole)",
                "GRANT SELECT, INSERT, UPDATE ON pgdr.heartbeat TO \(LabConfig.monitorRole)",
                "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
                "SELECT pg_create_physical_replication_slot('\(LabConfig.slotName(for: standby))', true)",
            ] {
                try await session.execute(PostgresQuery(unsafeSQL: statement))
            }
        }
    }

    func cloneStandby(_ node: LabState.Node, from primary: LabState.Node, binaries: PostgresBinaries,
                      user: ServerUser) async throws {
        try await tool(binaries.path("pg_basebackup"), [
            "-h", primary.address, "-p", "\(primary.port)", "-U", LabConfig.replicationRole, "--no-password",
            "-D", layout.dataDirectory(node.region), "--wal-method=stream",
            "--slot=\(LabConfig.slotName(for: node.name))", "--checkpoint=fast",
        ], environment: ["PGPASSFILE": layout.serverPassfile(node.region)]
            .merging(libpqTLS.compactMap { p in p.environmentName.map { ($0, p.value) } }) { a, _ in a }, user: user,
           namespace: (try? loadState())?.quorum?.network.region(node.region)?.namespace)
        try writeServerSettings(node, user: user)
        try await control(node).follow(Upstream(name: primary.name, host: primary.address, port: primary.port,
                                                database: "postgres", slot: LabConfig.slotName(for: node.name),
                                                tlsParameters: libpqTLS))
    }

    /// Waits until a standby of the lab streams from its primary, so `up` returns
    /// a working topology and not one still connecting. Returns false on timeout.
    public func waitForStreaming(timeout: Duration = .seconds(30)) async -> Bool {
        guard let state = try? loadState(),
              let password = try? PasswordResolver.resolve(.file(layout.secret(LabConfig.adminRole)), baseDirectory: "/")
        else { return false }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for node in state.nodes {
                let streaming = try? await PostgresSession.with(adminTarget(host: node.address, port: node.port, password: password),
                                                                logger: logger) { session in
                    try await session.rows("SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'").count > 0
                }
                if streaming == true { return true }
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    // MARK: - resume, down, destroy

    func loadState() throws -> LabState {
        do {
            return try LabState.load(layout.stateFile)
        } catch {
            throw LocalError.badInput("\(layout.stateFile) cannot be read (\(error)); it is not a lab pgdr can manage")
        }
    }

    /// A second `up`: report what runs, start what is stopped.
    func resume() async throws -> UpReport {
        let state = try loadState()
        guard state.phase == .ready else {
            throw LocalError("""
                a previous `pgdr lab up` in \(layout.root) stopped half-way; remove it with \
                `pgdr lab destroy --dir \(layout.root) --yes` and run `pgdr lab up` again
                """)
        }
        var reports: [NodeReport] = []
        for node in state.nodes {
            let control = control(node)
            if state.quorum != nil {
                // The agent beside each node decides how its server comes back
                // (primary only while it holds the leader key).
                reports.append(NodeReport(name: node.name, region: node.region, port: node.port,
                                          action: control.data.postmasterPID.map { "already running (pid \($0))" }
                                              ?? "stopped; its agent starts it as the leader key says"))
                continue
            }
            guard control.data.exists else {
                throw LocalError("the data directory of \(node.name) (\(control.data.path)) is missing; destroy and recreate the lab")
            }
            if let pid = control.data.postmasterPID {
                reports.append(NodeReport(name: node.name, region: node.region, port: node.port,
                                          action: "already running (pid \(pid))"))
                continue
            }
            // A fenced node stays down until an operation (`pgdr rejoin`, or
            // `pgdr approve` resuming one) says what it is: starting it on a
            // guess could give clients a second writable primary.
            if try await control.isFenced() {
                reports.append(NodeReport(name: node.name, region: node.region, port: node.port,
                                          action: "fenced, not started (run `pgdr rejoin \(node.name)` to bring it back as a standby, or see `pgdr operations`)"))
                continue
            }
            guard state.quorum != nil || FreePort.isFree(node.port) else {
                throw LocalError("port \(node.port) on 127.0.0.1, which \(node.name) uses, is taken by another process; stop that process and run `pgdr lab up` again")
            }
            try await control.start()
            reports.append(NodeReport(name: node.name, region: node.region, port: node.port, action: "started"))
        }
        if state.quorum != nil { try await startQuorum(user: try await ServerUser.resolve()) }
        return UpReport(created: false, nodes: reports, layout: layout)
    }

    /// Stops every server of the lab, standby first, so the primary's final
    /// WAL has somewhere to go until the end. Returns what it did per node.
    public func down() async throws -> [NodeReport] {
        let state = try loadState()
        // HAProxy and agents first (they would act on servers going down), etcd last.
        await stopFront()
        await stopAgents()
        var reports: [NodeReport] = []
        for node in state.nodes.reversed() {
            let control = control(node)
            if let pid = control.data.postmasterPID {
                try await control.stop(.fast)
                reports.append(NodeReport(name: node.name, region: node.region, port: node.port, action: "stopped (pid \(pid))"))
            } else {
                await control.data.reapOrphans(grace: .seconds(1))
                reports.append(NodeReport(name: node.name, region: node.region, port: node.port, action: "was not running"))
            }
        }
        await stopEtcd()
        return reports.reversed()
    }

    /// Stops the servers and removes the lab folder; refuses anything that
    /// does not look like a lab pgdr made, before deleting a single file.
    public func destroy() async throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: layout.root, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else {
            throw LocalError.badInput("\(layout.root) is a file, not a lab folder; pgdr will not delete it")
        }
        guard fm.fileExists(atPath: layout.stateFile) else {
            throw LocalError.badInput("\(layout.root) holds no lab.json: it is not a lab, and pgdr will not delete it")
        }
        let state: LabState
        do {
            state = try LabState.load(layout.stateFile)
        } catch {
            throw LocalError.badInput("\(layout.stateFile) is not a lab's state (\(error)); pgdr will not delete \(layout.root)")
        }
        // A lab has a folder per region of its nodes, and its secrets: a copied
        // lab.json alone does not make a folder a lab.
        let expected = Set(state.nodes.map(\.region))
        let missing = expected.filter { !fm.fileExists(atPath: layout.regionDirectory($0)) }
            + (fm.fileExists(atPath: layout.secrets) ? [] : ["secrets"])
        guard missing.isEmpty, !state.nodes.isEmpty else {
            throw LocalError.badInput("\(layout.root) has a lab.json but not a lab's layout (missing \(missing.sorted().joined(separator: ", "))); pgdr will not delete it")
        }
        _ = try await down()
        await stopEtcd()
        if let network = state.quorum?.network { await LabNetworking.destroy(network) }
        try fm.removeItem(atPath: layout.root)
    }

    /// The lab's state, for commands that act on its servers.
    public func state() throws -> LabState { try loadState() }

    /// SIGKILL of a node's postmaster alone, or of it and every child (drills, tests).
    public func kill(node name: String, withChildren: Bool) async throws -> Int32? {
        try await control(node: name).kill(withChildren: withChildren)
    }

    public func isFenced(node name: String) -> Bool {
        guard let control = try? control(node: name) else { return false }
        return FileManager.default.fileExists(atPath: control.data.fenceFile)
    }
}
