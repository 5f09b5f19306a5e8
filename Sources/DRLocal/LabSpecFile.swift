import DRSpec

/// The pgdr.yaml a lab writes for itself: the same file format a real
/// deployment uses, so every runtime verb works on the lab unchanged.
enum LabSpecFile {
    /// The lab's etcd cluster: one member per region, the witness included.
    /// A short lease: the lab trades false failovers for speed.
    /// `tls`: etcd's members serve their clients over TLS with the lab's CA.
    static func dcsSection(_ quorum: LabState.Quorum, tls: Bool) -> String {
        let scheme = tls ? "https" : "http"
        let endpoints = quorum.network.regions.map { "    - \(scheme)://\($0.address):\(Lab.etcdClientPort)" }.joined(separator: "\n")
        return """
            dcs:
              prefix: lab-\(quorum.network.id)
              ttl: 2s
              requestTimeout: 300ms
              endpoints:
            \(endpoints)
            \(tls ? "  tls:\n    ca: tls/ca.crt\n" : "")

            # Agents listen in their regions, off loopback: HTTPS (a certificate per
            # agent from the lab's CA, given on their command lines) and a token.
            agent:
              tokenFile: secrets/agent.token
            \(tls ? "  peerCA: tls/ca.crt\n" : "")
            """
    }

    static func peerRegion(_ region: String) -> String { region == Lab.primaryRegion ? Lab.drRegion : Lab.primaryRegion }

    /// `pgdr lab up --backups`: a repository in each region, encrypted, the
    /// passphrase in the lab's secrets folder.
    static let backupSettings = PgBackRestSpec(stanza: "lab-lab", repositories: [
        .init(region: Lab.primaryRegion, path: "\(Lab.primaryRegion)/pgbackrest-repo"),
        .init(region: Lab.drRegion, path: "\(Lab.drRegion)/pgbackrest-repo"),
    ], passphrase: .file("secrets/backup.password"))

    static let backupSection = """
        backup:
          retentionDays: 7
          stanza: lab-lab
          passphraseFile: secrets/backup.password
          repositories:
            - {region: \(Lab.primaryRegion), path: \(Lab.primaryRegion)/pgbackrest-repo}
            - {region: \(Lab.drRegion), path: \(Lab.drRegion)/pgbackrest-repo}


        """

    /// Every session verifies the server against the lab's own CA.
    static let tlsSection = """
        tls:
          mode: verify-full
          ca: tls/ca.crt


        """

    static func text(major: Int, nodes: [LabState.Node], layout: LabLayout, synchronous: Bool = false,
                     quorum: LabState.Quorum? = nil, backups: Bool = false) -> String {
        var text = """
        # Written by `pgdr lab up`: two real PostgreSQL servers on this machine,
        # standing in for two AWS regions. `pgdr status --config \(layout.specFile)`
        name: lab
        environment: lab

        objectives:
          rpo: 1m
          rto: 5m

        engine:
          version: "\(major)"

        primary:
          region: \(Lab.primaryRegion)
          instanceClass: db.t4g.medium
          multiAZ: false
          storage: 20GB

        dr:
          region: \(Lab.drRegion)
          instanceClass: db.t4g.medium
          multiAZ: false
          storage: 20GB

        monitoring:
          interval: 2s

        replication:
          mode: \(synchronous ? "sync" : "async")

        failover:
          mode: \(quorum?.automatic == true ? "automatic" : "manual")
          maxDataLoss: 1m
          approvalTimeout: 15m

        notifications:
          - type: log
            path: events.jsonl

        tags:
          purpose: lab

        \(quorum.map { dcsSection($0, tls: layout.hasTLS) } ?? "")\(backups ? backupSection : "")\(layout.hasTLS ? tlsSection : "")
        nodes:

        """
        for node in nodes {
            text += """
              - name: \(node.name)
                region: \(node.region)
                host: \(node.address)
                port: \(node.port)
                database: postgres
                dataDirectory: \(node.region)/data
            \(backups ? "    socketDirectory: \(node.region)\n" : "")    user: \(LabConfig.monitorRole)
                passwordFile: secrets/\(LabConfig.monitorRole).password
                adminUser: \(LabConfig.adminRole)
                adminPasswordFile: secrets/\(LabConfig.adminRole).password
                control:
                  type: pg_ctl
                  logFile: \(node.region)/postgres.log
                  replicationUser: \(LabConfig.replicationRole)
                  replicationPassfile: \(node.region)/pgpass
                  restoreCommand: '\(backups ? Lab(directory: layout.root).backupConfig(node).restoreCommand : LabConfig.restoreCommand(peerArchive: layout.archive(peerRegion(node.region))))'
                  timeout: 60s
            \(quorum.flatMap { $0.network.region(node.region) }.map { "      namespace: \($0.namespace)\n" } ?? "")
            """
        }
        return text
    }
}
