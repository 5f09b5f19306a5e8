import Foundation
import Yams

/// A spec that parsed without errors, with the warnings worth showing.
public struct ParsedSpec: Sendable {
    public var spec: Spec
    public var warnings: [Diagnostic]
    /// The folder pgdr.yaml is in: relative paths in it (password files,
    /// data directories) are read from here.
    public var baseDirectory: String = "."
}

/// Turns pgdr.yaml text into a `Spec`, reporting every problem at once with
/// its key path, line and column. Defaults live here, in one place.
public enum SpecParser {
    public static let supportedMajors = 13...18
    /// One node in the primary region, one in the DR region.
    public static let maxNodes = 2

    public static func parse(yaml: String, file: String = "pgdr.yaml") throws(SpecError) -> ParsedSpec {
        let sink = DiagnosticSink()
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: yaml) else {
                throw SpecError(file: file, diagnostics: [Diagnostic(path: "", line: 1, column: 1,
                    message: "the file is empty", hint: "run `pgdr init` to write a commented example")])
            }
            root = composed
        } catch let error as SpecError {
            throw error
        } catch {
            throw SpecError(file: file, diagnostics: [yamlSyntaxDiagnostic(error)])
        }
        guard let reader = MappingReader(root, path: "", sink: sink) else {
            throw SpecError(file: file, diagnostics: sink.items)
        }
        let spec = readSpec(reader)
        SpecRules.check(spec, sink: sink, root: reader)
        let errors = sink.items.filter { $0.severity == .error }
        guard errors.isEmpty, let spec else {
            throw SpecError(file: file, diagnostics: sink.items)
        }
        return ParsedSpec(spec: spec, warnings: sink.items.filter { $0.severity == .warning })
    }

    public static func load(path: String) throws(SpecError) -> ParsedSpec {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let exists = FileManager.default.fileExists(atPath: path)
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw SpecError(file: path, diagnostics: [Diagnostic(path: "",
                message: !exists ? "no such file" : isDirectory.boolValue ? "this is a folder, not a file" : "cannot read the file",
                hint: !exists ? "run `pgdr init \(path)` to write one, or pass --config"
                    : isDirectory.boolValue ? "pass the pgdr.yaml inside it" : "check its permissions")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            let offset = Self.firstInvalidUTF8(data)
            throw SpecError(file: path, diagnostics: [Diagnostic(path: "",
                message: "the file is not UTF-8 text (invalid byte at offset \(offset))",
                hint: "save it as UTF-8; pgdr.yaml is YAML, which is UTF-8")])
        }
        var parsed = try parse(yaml: text, file: path)
        let folder = (path as NSString).deletingLastPathComponent
        parsed.baseDirectory = folder.isEmpty ? "." : folder
        return parsed
    }

    /// The offset of the first byte that does not decode as UTF-8.
    static func firstInvalidUTF8(_ data: Data) -> Int {
        var decoder = UTF8()
        var iterator = data.makeIterator()
        var offset = 0
        var consumed = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                consumed += UTF8.width(scalar)
                offset = consumed
            case .emptyInput:
                return offset
            case .error:
                return offset
            }
        }
    }

    static func yamlSyntaxDiagnostic(_ error: any Error) -> Diagnostic {
        if let yaml = error as? YamlError {
            switch yaml {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                 .composer(_, let problem, let mark, _):
                return Diagnostic(path: "", line: mark.line, column: mark.column,
                                  message: "YAML syntax: \(problem)",
                                  hint: "check indentation and quoting near this line")
            case .duplicatedKeysInMapping(let duplicates, _):
                return Diagnostic(path: "", message: "duplicate keys: \(duplicates.joined(separator: ", "))",
                                  hint: "each key may appear once per mapping")
            default:
                break
            }
        }
        return Diagnostic(path: "", message: "YAML syntax: \(error)")
    }

    // MARK: - sections

    static func readSpec(_ r: MappingReader) -> Spec? {
        let name = r.string("name", required: "a short lowercase name for the database, e.g. `orders`")
        let environment = r.string("environment", required: "the suffix every resource name carries, e.g. `prod`")
        let objectives = readObjectives(r)
        let engine = readEngine(r)
        let primary = readSite(r, key: "primary", region: "us-east-1", multiAZ: true)
        let dr = readSite(r, key: "dr", region: "us-east-2", multiAZ: false)
        let backup = readBackup(r, name: name, environment: environment)
        let monitoring = readMonitoring(r)
        let failover = readFailover(r, rpo: objectives?.rpo)
        let notifications = r.list("notifications").compactMap { readSink($0.node, path: $0.path, sink: r.sink) }
        let tags = r.mapping("tags").map { tagsReader -> [String: String] in
            Dictionary(tagsReader.stringPairs().map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        } ?? [:]
        // One server per region: two nodes. A longer list is said at once, and only
        // its first entries are read (20,000 entries must not take half a minute).
        let nodeItems = r.list("nodes")
        if nodeItems.count > maxNodes {
            r.sink.add("nodes", at: r.value("nodes"),
                       "\(nodeItems.count) nodes listed; a deployment has \(maxNodes), one in the primary region and one in the DR region",
                       hint: "list the primary's server and the DR replica's; only the first \(maxNodes) entries were checked")
        }
        let globalTLS = readTLS(r)
        let nodes = nodeItems.prefix(maxNodes).compactMap { readNode($0.node, path: $0.path, sink: r.sink) }
            .map { node -> NodeSpec in
                var node = node
                if node.tls == nil { node.tls = globalTLS }
                return node
            }
        let alarms = r.list("alarms").compactMap {
            AlarmParser.read($0.node, path: $0.path, sink: r.sink, period: monitoring.interval)
        }
        let agent = readAgent(r)
        var network = Network()
        if let n = r.mapping("network") {
            network.applicationCidr = n.string("applicationCidr") ?? network.applicationCidr
            network.natGateways = n.bool("natGateways", default: false)
            if network.natGateways {
                n.sink.add("network.natGateways", at: n.value("natGateways"),
                           "NAT gateways are not generated yet: the functions reach AWS through VPC endpoints",
                           hint: "remove natGateways (or set it to false); each NAT gateway would also cost an Elastic IP")
            }
            n.finish()
        }
        var dns: DNS?
        if let d = r.mapping("dns") {
            let zone = d.string("hostedZoneId", required: "the Route 53 hosted zone id, e.g. Z0123456789ABC")
            let record = d.string("recordName", required: "the name clients use, e.g. db.example.com")
            var healthCheck: String?
            if let (id, node) = d.scalarString("healthCheckId") {
                if id.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/) != nil {
                    healthCheck = id
                } else {
                    d.sink.add(d.childPath("healthCheckId"), at: node, "`\(id)` is not a Route 53 health check id",
                               hint: "the id is 36 characters, lower-case hex and dashes, e.g. 0f2c7e51-0a6d-4b1c-9a8e-3d5f6a7b8c9d (the DR stack's PrimaryHealthCheck)")
                }
            }
            if let zone, let record { dns = DNS(hostedZoneId: zone, recordName: record, healthCheckId: healthCheck) }
            d.finish()
        }
        let dcs = readDCS(r, name: name, environment: environment)
        let target = r.oneOf("target", default: Target.selfManaged)
        let aws = readAWS(r)
        var replication = Replication()
        if let rep = r.mapping("replication") {
            rep.accepts(["mode", "maxLag"])
            replication.mode = rep.oneOf("mode", default: Replication.Mode.async)
            replication.maxLag = readDataLoss(rep, key: "maxLag")
            if replication.maxLag != nil && replication.mode != .bounded {
                rep.sink.add(rep.childPath("maxLag"), at: rep.value("maxLag"), "maxLag applies only to replication.mode: bounded",
                             hint: "write `mode: bounded`, or remove maxLag")
            }
            rep.finish()
        }
        r.finish()
        guard let name, let environment, let objectives, let engine else { return nil }
        var spec = Spec(name: name, environment: environment, objectives: objectives, engine: engine,
                        primary: primary, dr: dr, backup: backup, monitoring: monitoring, failover: failover,
                        notifications: notifications, tags: tags, nodes: nodes)
        spec.alarms = alarms
        spec.agent = agent
        spec.replication = replication
        spec.network = network
        spec.dns = dns
        spec.dcs = dcs
        spec.target = target
        spec.aws = aws
        spec.tls = globalTLS
        return spec
    }

    /// `tls: {mode, ca}` in the mapping `r` (top level or a node).
    static func readTLS(_ r: MappingReader) -> TLSSpec? {
        guard let t = r.mapping("tls") else { return nil }
        defer { t.finish() }
        let ca = t.string("ca")
        let mode = t.oneOf("mode", default: TLSSpec.defaultMode(ca: ca))
        if mode.verifiesChain && ca == nil {
            t.sink.add(t.childPath("mode"), at: t.value("mode"), "tls mode \(mode.rawValue) needs the certificate authority to verify against",
                       hint: "add `ca: FILE` (a PEM file: your CA, the lab's tls/ca.crt, or the RDS bundle global-bundle.pem)")
        }
        if mode == .disable && ca != nil {
            t.sink.add(t.childPath("ca"), at: t.value("ca"), "tls mode disable ignores `ca`",
                       hint: "remove `ca`, or choose mode verify-full to use it")
        }
        return TLSSpec(mode: mode, ca: ca)
    }

    static func readAWS(_ r: MappingReader) -> AWSSettings {
        var aws = AWSSettings()
        guard let a = r.mapping("aws") else { return aws }
        defer { a.finish() }
        if let endpoint = a.string("endpoint") {
            if let url = URL(string: endpoint), ["http", "https"].contains(url.scheme ?? ""), url.host != nil {
                aws.endpoint = endpoint
            } else {
                a.sink.add(a.childPath("endpoint"), at: a.value("endpoint"), "`\(endpoint)` is not an http(s) URL",
                           hint: "e.g. http://127.0.0.1:5000 for moto_server, or a VPC endpoint's https URL")
            }
        }
        if let topic = a.string("snsTopicArn") {
            if topic.hasPrefix("arn:aws") && topic.split(separator: ":").count == 6 { aws.snsTopicArn = topic } else {
                a.sink.add(a.childPath("snsTopicArn"), at: a.value("snsTopicArn"), "`\(topic)` is not an SNS topic ARN",
                           hint: "arn:aws:sns:REGION:ACCOUNT:NAME")
            }
        }
        aws.fenceParameterGroup = a.string("fenceParameterGroup")
        aws.promotionTimeout = a.timeSpan("promotionTimeout", default: aws.promotionTimeout, range: .seconds(5)...TimeSpan.hours(6))
        aws.replicaTimeout = a.timeSpan("replicaTimeout", default: aws.replicaTimeout, range: .seconds(5)...TimeSpan.hours(24))
        if let d = a.mapping("database") {
            defer { d.finish() }
            d.accepts(["caFile", "secretId", "addresses", "writeTimeout"])
            if let ca = d.string("caFile", required: "the RDS CA bundle (global-bundle.pem from truststore.pki.rds.amazonaws.com): sessions are verify-full") {
                var access = RDSDatabaseAccess(caFile: ca)
                access.secretId = d.string("secretId")
                if let addresses = d.mapping("addresses") {
                    for pair in addresses.stringPairs() {
                        if let address = HostAndPort(pair.value) { access.addresses[pair.key] = address } else {
                            addresses.sink.add(addresses.childPath(pair.key), at: pair.node, "`\(pair.value)` is not HOST:PORT",
                                               hint: "e.g. 127.0.0.1:15432 for a tunnel to that instance")
                        }
                    }
                }
                access.writeTimeout = d.timeSpan("writeTimeout", default: access.writeTimeout, range: .seconds(5)...TimeSpan.hours(1))
                aws.database = access
            }
        }
        return aws
    }

    static func readDCS(_ r: MappingReader, name: String?, environment: String?) -> DCSSpec? {
        guard let d = r.mapping("dcs") else { return nil }
        defer { d.finish() }
        d.accepts(["endpoints", "prefix", "ttl", "loopInterval", "requestTimeout", "tls"])
        let items = d.list("endpoints")
        var endpoints: [String] = []
        for item in items {
            guard let text = item.node.string, let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""),
                  url.host != nil, url.port != nil else {
                d.sink.add(item.path, at: item.node, "`\(item.node.string ?? "?")` is not an etcd client URL",
                           hint: "write http://HOST:2379 (https with dcs.tls)")
                continue
            }
            endpoints.append(text)
        }
        if items.isEmpty {
            d.missing("endpoints", hint: "the etcd members' client URLs: 3 or 5, one in a third place (a witness)")
        }
        var dcs = DCSSpec(endpoints: endpoints, prefix: d.string("prefix") ?? [name, environment].compactMap { $0 }.joined(separator: "-"))
        if dcs.prefix.wholeMatch(of: /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/) == nil {
            d.sink.add(d.childPath("prefix"), at: d.value("prefix"), "`\(dcs.prefix)` cannot be a key prefix",
                       hint: "letters, digits, `-` and `_`: one prefix per deployment")
        }
        dcs.ttl = d.timeSpan("ttl", default: dcs.ttl, range: .seconds(1)...TimeSpan.minutes(5))
        dcs.loopInterval = d.optionalTimeSpan("loopInterval", range: TimeSpan(milliseconds: 100)...TimeSpan.minutes(1))
        dcs.requestTimeout = d.timeSpan("requestTimeout", default: dcs.requestTimeout,
                                        range: TimeSpan(milliseconds: 50)...TimeSpan.seconds(30))
        if let loop = dcs.loopInterval, loop.milliseconds * 3 > dcs.ttl.milliseconds {
            d.sink.add(d.childPath("loopInterval"), at: d.value("loopInterval"),
                       "a loop of \(loop) cannot renew a lease of \(dcs.ttl) in time (at least three renewals per lease)",
                       hint: "set ttl to at least 3 × loopInterval (\(TimeSpan(milliseconds: loop.milliseconds * 3)))")
        }
        if dcs.requestTimeout.milliseconds * 2 > dcs.tick.milliseconds * 3 {
            d.sink.add(d.childPath("requestTimeout"), at: d.value("requestTimeout"),
                       "requests of up to \(dcs.requestTimeout) do not fit the loop of \(dcs.tick)",
                       hint: "keep requestTimeout under 1.5 × the loop (ttl / 3)")
        }
        if let t = d.mapping("tls") {
            var tls = DCSSpec.TLS()
            tls.ca = t.string("ca", required: "the CA that signed the etcd members' certificates (PEM), e.g. /etc/pgdr/etcd-ca.pem")
            tls.certificate = t.string("certificate")
            tls.key = t.string("key")
            if (tls.certificate == nil) != (tls.key == nil) {
                t.sink.add(t.childPath(tls.certificate == nil ? "certificate" : "key"), at: t.value("certificate") ?? t.value("key"),
                           "a client certificate needs both `certificate` and `key`",
                           hint: "give both (etcd's --client-cert-auth), or neither")
            }
            t.finish()
            dcs.tls = tls
            // TLS asked for: every endpoint must use it (a plain one would carry the leader key in the clear).
            for (index, endpoint) in endpoints.enumerated() where !endpoint.hasPrefix("https://") {
                d.sink.add("\(d.childPath("endpoints"))[\(index)]", at: items.indices.contains(index) ? items[index].node : nil,
                           "`\(endpoint)` is plain HTTP while dcs.tls is set", hint: "write https://HOST:2379")
            }
        }
        return dcs
    }

    static func readObjectives(_ r: MappingReader) -> Objectives? {
        guard let o = r.mapping("objectives") else {
            if !r.has("objectives") {
                r.missing("objectives", hint: "state the recovery objectives, e.g. `objectives: {rpo: 5m, rto: 1h}`")
            }
            return nil
        }
        defer { o.finish() }
        let range = TimeSpan(milliseconds: 0)...TimeSpan.hours(24 * 7)
        if !o.has("rpo") { o.missing("rpo", hint: "how much data a disaster may cost, e.g. `rpo: 5m`") }
        if !o.has("rto") { o.missing("rto", hint: "how soon writes must resume, e.g. `rto: 1h`") }
        // Both read before either is judged: a bad rpo must not make rto look unknown.
        let rpo = o.optionalTimeSpan("rpo", range: range)
        let rto = o.optionalTimeSpan("rto", range: range)
        guard let rpo, let rto else { return nil }
        return Objectives(rpo: rpo, rto: rto)
    }

    static func readEngine(_ r: MappingReader) -> Engine? {
        guard let e = r.mapping("engine") else {
            if !r.has("engine") {
                r.missing("engine", hint: "the PostgreSQL version, e.g. `engine: {version: \"16\"}`")
            }
            return nil
        }
        defer { e.finish() }
        guard let (version, node) = e.scalarString("version") else {
            e.missing("version", hint: "a PostgreSQL major version such as \"16\", or major.minor such as \"16.4\"")
            return nil
        }
        let parts = version.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }),
              let major = Int(parts[0]) else {
            e.sink.add(e.childPath("version"), at: node, "`\(version)` is not a PostgreSQL version",
                       hint: "write the major version (\"16\") or major.minor (\"16.4\"), quoted")
            return nil
        }
        guard supportedMajors.contains(major) else {
            e.sink.add(e.childPath("version"), at: node, "PostgreSQL \(major) is not supported",
                       hint: "pgdr supports PostgreSQL \(supportedMajors.lowerBound) to \(supportedMajors.upperBound)")
            return nil
        }
        return Engine(version: version)
    }

    static func readSite(_ r: MappingReader, key: String, region: String, multiAZ: Bool) -> RegionSite {
        var defaults = RegionSite(region: region, instanceClass: "db.r6g.xlarge", multiAZ: multiAZ,
                                  storage: .gigabytes(100))
        defaults.vpcCidr = key == "primary" ? "10.10.0.0/16" : "10.20.0.0/16"
        guard let s = r.mapping(key) else { return defaults }
        defer { s.finish() }
        var site = RegionSite(
            region: s.string("region") ?? defaults.region,
            instanceClass: s.string("instanceClass") ?? defaults.instanceClass,
            multiAZ: s.bool("multiAZ", default: defaults.multiAZ),
            storage: s.byteSize("storage", default: defaults.storage, range: .gigabytes(20)...ByteSize(bytes: 64 << 40)))
        site.vpcCidr = s.string("vpcCidr") ?? defaults.vpcCidr
        site.deletionProtection = s.bool("deletionProtection", default: false)
        if let id = s.string("instanceIdentifier") {
            if id.wholeMatch(of: /^[A-Za-z][A-Za-z0-9-]{0,62}$/) == nil || id.hasSuffix("-") || id.contains("--") {
                s.sink.add(s.childPath("instanceIdentifier"), at: s.value("instanceIdentifier"), "`\(id)` is not a DB instance identifier",
                           hint: "1 to 63 letters, digits or hyphens, starting with a letter, no trailing or double hyphen")
            }
            site.instanceIdentifier = id
        }
        return site
    }

    static func readBackup(_ r: MappingReader, name: String?, environment: String?) -> Backup {
        guard let b = r.mapping("backup") else { return Backup(retentionDays: 7, pointInTimeRecovery: true) }
        defer { b.finish() }
        b.accepts(["retentionDays", "pointInTimeRecovery", "repositories", "stanza", "passphraseFile", "passphraseEnv",
                   "archiveQueueMax", "compression", "directory", "maxAge", "retentionFullBackups"])
        var backup = Backup(
            retentionDays: b.int("retentionDays", default: 7, range: 0...35,
                                 hint: "RDS keeps automated backups for 0 to 35 days"),
            pointInTimeRecovery: b.bool("pointInTimeRecovery", default: true))
        let items = b.list("repositories")
        guard !items.isEmpty else {
            for key in ["stanza", "passphraseFile", "passphraseEnv", "archiveQueueMax", "compression", "directory", "maxAge",
                        "retentionFullBackups"] where b.value(key) != nil {
                b.sink.add(b.childPath(key), at: b.value(key), "backup.\(key) needs backup.repositories",
                           hint: "list a repository per region: repositories: [{region: us-east-1, path: /var/lib/pgbackrest}, ...]")
            }
            return backup
        }
        var repositories: [PgBackRestSpec.Repository] = []
        for (path, node) in items {
            guard let item = MappingReader(node, path: path, sink: b.sink) else { continue }
            defer { item.finish() }
            item.accepts(["region", "path", "s3"])
            let region = item.string("region", required: "the region this repository stands in")
            let folder = item.string("path", required: "a folder for the repository, e.g. /var/lib/pgbackrest (in a bucket: /pgdr)")
            let s3 = item.mapping("s3").flatMap { readS3($0, region: region) }
            if let region, let folder { repositories.append(.init(region: region, path: folder, s3: s3)) }
        }
        let file = b.string("passphraseFile"), env = b.string("passphraseEnv")
        if file != nil && env != nil {
            b.sink.add(b.childPath("passphraseEnv"), at: b.value("passphraseEnv"), "give one of passphraseFile or passphraseEnv, not both")
        }
        guard let passphrase = file.map(PasswordSource.file) ?? env.map(PasswordSource.environment) else {
            b.sink.add(b.childPath("passphraseFile"), at: b.value("repositories"), "backups are encrypted: the passphrase is missing",
                       hint: "write `passphraseFile: FILE` (a file of mode 0600) or `passphraseEnv: VARIABLE`; never the passphrase itself")
            return backup
        }
        var settings = PgBackRestSpec(stanza: b.string("stanza") ?? "\(name ?? "pgdr")-\(environment ?? "prod")",
                                      repositories: repositories, passphrase: passphrase)
        if settings.stanza.wholeMatch(of: /[A-Za-z0-9][A-Za-z0-9_.-]*/) == nil {
            b.sink.add(b.childPath("stanza"), at: b.value("stanza"), "`\(settings.stanza)` is not a pgBackRest stanza name",
                       hint: "letters, digits, `-`, `_` and `.`")
        }
        settings.archiveQueueMax = b.byteSize("archiveQueueMax", default: settings.archiveQueueMax, range: .megabytes(16)...ByteSize(bytes: 1 << 50))
        settings.compression = b.oneOf("compression", default: settings.compression)
        settings.maxAge = b.timeSpan("maxAge", default: settings.maxAge, range: .minutes(1)...TimeSpan.days(400))
        if let directory = b.string("directory") { settings.directory = directory }
        if b.value("retentionFullBackups") != nil {
            settings.retentionFullBackups = b.int("retentionFullBackups", default: 1, range: 1...9999,
                                                  hint: "how many full backups each repository keeps, e.g. 4")
        }
        backup.pgbackrest = settings
        return backup
    }

    static let defaultThresholds = Thresholds(replicationLag: .seconds(300), cpuPercent: 80,
                                              freeStorage: .gigabytes(10), connectionsPercent: 80,
                                              latency: TimeSpan(milliseconds: 200))

    static func readMonitoring(_ r: MappingReader) -> Monitoring {
        let defaults = Monitoring(interval: .seconds(5), thresholds: defaultThresholds)
        guard let m = r.mapping("monitoring") else { return defaults }
        defer { m.finish() }
        let interval = m.timeSpan("interval", default: defaults.interval, range: .seconds(1)...TimeSpan.hours(1))
        let reminder = m.timeSpan("reminder", default: defaults.reminder, range: TimeSpan(milliseconds: 0)...TimeSpan.hours(24 * 7))
        guard let t = m.mapping("thresholds") else {
            return Monitoring(interval: interval, thresholds: defaultThresholds, reminder: reminder)
        }
        defer { t.finish() }
        let d = defaultThresholds
        let thresholds = Thresholds(
            replicationLag: t.timeSpan("replicationLag", default: d.replicationLag, range: .seconds(1)...TimeSpan.hours(24)),
            cpuPercent: t.double("cpuPercent", default: d.cpuPercent, range: 1...100, hint: "a percentage, e.g. 80"),
            freeStorage: t.byteSize("freeStorage", default: d.freeStorage),
            connectionsPercent: t.double("connectionsPercent", default: d.connectionsPercent, range: 1...100,
                                         hint: "a percentage of max_connections, e.g. 80"),
            latency: t.timeSpan("latency", default: d.latency, range: TimeSpan(milliseconds: 1)...TimeSpan.minutes(10)))
        var withSlot = thresholds
        withSlot.slotSafeWAL = t.byteSize("slotSafeWAL", default: d.slotSafeWAL)
        return Monitoring(interval: interval, thresholds: withSlot, reminder: reminder)
    }

    static func readAgent(_ r: MappingReader) -> AgentSettings {
        let defaults = AgentSettings()
        guard let a = r.mapping("agent") else { return defaults }
        defer { a.finish() }
        var settings = defaults
        if let (listen, node) = a.scalarString("listen") {
            if AgentSettings.parseListen(listen) == nil {
                a.sink.add(a.childPath("listen"), at: node, "`\(listen)` is not host:port",
                           hint: "e.g. 127.0.0.1:8008")
            } else {
                settings.listen = listen
            }
        }
        settings.journal = a.string("journal") ?? defaults.journal
        settings.tokenFile = a.string("tokenFile")
        settings.peerCA = a.string("peerCA")
        if let t = a.mapping("tls") {
            let certificate = t.string("certificate", required: "the API's certificate (PEM), e.g. /etc/pgdr/agent.crt")
            let key = t.string("key", required: "its private key (PEM, mode 0600), e.g. /etc/pgdr/agent.key")
            if let certificate, let key { settings.tls = AgentTLS(certificate: certificate, key: key) }
            t.finish()
        }
        if let (host, _) = AgentSettings.parseListen(settings.listen),
           let problem = AgentSettings.exposureProblem(host: host, tls: settings.tls != nil, tokenFile: settings.tokenFile != nil) {
            a.sink.add(a.childPath("listen"), at: a.value("listen"), problem,
                       hint: "keep it on 127.0.0.1, or give agent.tls {certificate, key} and agent.tokenFile")
        }
        return settings
    }

    static func readFailover(_ r: MappingReader, rpo: TimeSpan?) -> Failover {
        let defaultLimit = DataLossLimit(bytes: nil, time: rpo ?? .minutes(5))
        guard let f = r.mapping("failover") else { return Failover(mode: .manual, maxDataLoss: defaultLimit) }
        defer { f.finish() }
        let mode = f.oneOf("mode", default: Failover.Mode.manual)
        var failover = Failover(mode: mode, maxDataLoss: readDataLoss(f) ?? defaultLimit)
        if let d = f.mapping("detection") {
            failover.detection = Failover.Detection(
                probes: d.int("probes", default: 5, range: 1...100),
                interval: d.timeSpan("interval", default: TimeSpan(milliseconds: 200),
                                     range: TimeSpan(milliseconds: 50)...TimeSpan.minutes(1)))
            d.finish()
        }
        failover.approvalTimeout = f.timeSpan("approvalTimeout", default: .minutes(15),
                                              range: .seconds(10)...TimeSpan.days(1))
        let hook = f.list("hook").compactMap { $0.node.string }
        if !hook.isEmpty { failover.hook = hook }
        failover.hookTimeout = f.timeSpan("hookTimeout", default: failover.hookTimeout,
                                          range: .seconds(1)...TimeSpan.hours(1))
        failover.fenceTimeout = f.timeSpan("fenceTimeout", default: failover.fenceTimeout,
                                           range: .seconds(1)...TimeSpan.minutes(10))
        return failover
    }

    /// `maxDataLoss: 16MB`, `maxDataLoss: 30s`, or `maxDataLoss: {bytes: 16MB, time: 30s}`
    /// (also `replication.maxLag`).
    static func readDataLoss(_ f: MappingReader, key: String = "maxDataLoss") -> DataLossLimit? {
        guard let node = f.value(key) else { return nil }
        let path = f.childPath(key)
        if case .scalar(let scalar) = node {
            if let size = ByteSize(parsing: scalar.string) { return DataLossLimit(bytes: size, time: nil) }
            if let span = TimeSpan(parsing: scalar.string) { return DataLossLimit(bytes: nil, time: span) }
            f.sink.add(path, at: node, "`\(scalar.string)` is neither a size nor a duration",
                       hint: "write WAL bytes (16MB), time (30s), or both as {bytes: 16MB, time: 30s}")
            return nil
        }
        guard let m = MappingReader(node, path: path, sink: f.sink) else { return nil }
        defer { m.finish() }
        let limit = DataLossLimit(bytes: m.has("bytes") ? m.byteSize("bytes", default: .megabytes(16)) : nil,
                                  time: m.optionalTimeSpan("time"))
        if limit.bytes == nil && limit.time == nil {
            f.sink.add(path, at: node, "give at least one of `bytes` or `time`")
        }
        return limit
    }

    /// `s3: {bucket, region, endpoint, port, uriStyle, caFile, keyFile|keyEnv, secretFile|secretEnv}`.
    static func readS3(_ s: MappingReader, region repositoryRegion: String?) -> PgBackRestSpec.S3? {
        defer { s.finish() }
        s.accepts(["bucket", "region", "endpoint", "port", "uriStyle", "caFile", "keyFile", "keyEnv", "secretFile", "secretEnv"])
        guard let bucket = s.string("bucket", required: "the bucket the repository is in") else { return nil }
        let region = s.string("region") ?? repositoryRegion ?? "us-east-1"
        var s3 = PgBackRestSpec.S3(bucket: bucket, region: region, endpoint: s.string("endpoint") ?? "s3.\(region).amazonaws.com")
        if s.has("port") { s3.port = s.int("port", default: 443, range: 1...65535) }
        s3.uriStyle = s.oneOf("uriStyle", default: PgBackRestSpec.S3.URIStyle.host)
        s3.caFile = s.string("caFile")
        func secret(_ name: String) -> PasswordSource? {
            let file = s.string("\(name)File"), env = s.string("\(name)Env")
            if file != nil && env != nil {
                s.sink.add(s.childPath("\(name)Env"), at: s.value("\(name)Env"), "give one of \(name)File or \(name)Env, not both")
            }
            return file.map(PasswordSource.file) ?? env.map(PasswordSource.environment)
        }
        s3.key = secret("key")
        s3.secret = secret("secret")
        if (s3.key == nil) != (s3.secret == nil) {
            s.sink.add(s.childPath(s3.key == nil ? "keyFile" : "secretFile"), at: s.value("bucket"),
                       "an S3 access key needs its secret, and a secret its key",
                       hint: "give keyFile (or keyEnv) and secretFile (or secretEnv), or neither to use the instance's role")
        }
        return s3
    }

    static func readSink(_ node: Node, path: String, sink: DiagnosticSink) -> NotificationSink? {
        guard let n = MappingReader(node, path: path, sink: sink) else { return nil }
        defer { n.finish() }
        n.accepts(["type", "path", "url", "command", "timeout", "retries"])
        guard n.has("type") else {
            n.missing("type", hint: "one of log, webhook, command")
            return nil
        }
        let type = n.oneOf("type", default: NotificationSink.Kind.log)
        let delivery = NotificationSink.Delivery(
            timeout: n.timeSpan("timeout", default: .seconds(5), range: TimeSpan(milliseconds: 100)...TimeSpan.minutes(5)),
            retries: n.int("retries", default: 3, range: 0...20))
        switch type {
        case .log:
            return .log(path: n.string("path"), delivery)
        case .webhook:
            guard let (url, urlNode) = n.scalarString("url") else {
                n.missing("url", hint: "where to POST events, e.g. https://hooks.example.com/pgdr")
                return nil
            }
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                  let host = parsed.host, !host.isEmpty else {
                sink.add(n.childPath("url"), at: urlNode, "`\(url)` is not an http(s) URL",
                         hint: "write a full URL such as https://hooks.example.com/pgdr")
                return nil
            }
            return .webhook(url: parsed, delivery)
        case .command:
            let items = n.list("command")
            let words = items.compactMap { $0.node.string }
            guard let program = words.first, words.count == items.count else {
                n.missing("command", hint: "a program and its arguments as a list, e.g. [\"/usr/local/bin/page\", \"--team\", \"db\"]")
                return nil
            }
            return .command(program: program, arguments: Array(words.dropFirst()), delivery)
        }
    }

    static func readControl(_ n: MappingReader, dataDirectory: String?) -> NodeControlSpec? {
        guard let c = n.mapping("control") else { return nil }
        defer { c.finish() }
        c.accepts(["type", "binDirectory", "logFile", "unit", "replicationUser", "replicationPassfile", "restoreCommand",
                   "timeout", "commands", "namespace"])
        guard c.has("type") else {
            c.missing("type", hint: "one of pg_ctl, systemd, commands")
            return nil
        }
        var control = NodeControlSpec(kind: c.oneOf("type", default: NodeControlSpec.Kind.pgCtl))
        control.binDirectory = c.string("binDirectory")
        control.logFile = c.string("logFile")
        control.unit = c.string("unit")
        control.replicationUser = c.string("replicationUser") ?? control.replicationUser
        control.replicationPassfile = c.string("replicationPassfile")
        control.restoreCommand = c.string("restoreCommand")
        control.timeout = c.timeSpan("timeout", default: control.timeout, range: .seconds(1)...TimeSpan.hours(24))
        control.namespace = c.string("namespace")
        if let m = c.mapping("commands") {
            func words(_ key: String) -> [String]? {
                let items = m.list(key)
                let words = items.compactMap { $0.node.string }
                guard !items.isEmpty else { return nil }
                guard words.count == items.count else {
                    m.sink.add(m.childPath(key), at: m.value(key), "each word of a command must be a string",
                               hint: "a program and its arguments, e.g. [\"/usr/local/bin/pg-stop\", \"main\"]")
                    return nil
                }
                return words
            }
            var commands = NodeControlSpec.Commands()
            commands.start = words("start")
            commands.stop = words("stop")
            commands.status = words("status")
            commands.fence = words("fence")
            commands.unfence = words("unfence")
            commands.follow = words("follow")
            commands.rewind = words("rewind")
            commands.rebuild = words("rebuild")
            commands.controldata = words("controldata")
            commands.kill = words("kill")
            control.commands = commands
            m.finish()
        }
        switch control.kind {
        case .pgCtl where dataDirectory == nil:
            c.sink.add(c.childPath("type"), at: c.value("type"), "control type pg_ctl needs the node's dataDirectory",
                       hint: "add `dataDirectory:` to the node (the folder PostgreSQL keeps its data in)")
        case .systemd where control.unit == nil:
            c.missing("unit", hint: "the systemd unit of this server, e.g. postgresql@15-main")
        case .systemd where dataDirectory == nil:
            c.sink.add(c.childPath("type"), at: c.value("type"), "control type systemd needs the node's dataDirectory",
                       hint: "add `dataDirectory:` to the node: rewind, rebuild and standby settings work on it")
        case .commands where control.commands.start == nil || control.commands.stop == nil:
            c.sink.add(c.childPath("commands"), at: c.value("commands") ?? c.value("type"),
                       "control type commands needs at least `start` and `stop`",
                       hint: "give each as a list: commands: {start: [...], stop: [...]}")
        default:
            break
        }
        return control
    }

    static func readNode(_ node: Node, path: String, sink: DiagnosticSink) -> NodeSpec? {
        guard let n = MappingReader(node, path: path, sink: sink) else { return nil }
        defer { n.finish() }
        if let secret = n.value("password") {
            sink.add(n.childPath("password"), at: secret, "pgdr.yaml must not hold a password",
                     hint: "put it in a file (chmod 600) and write `passwordFile: PATH`, or use `passwordEnv: VARIABLE`")
        }
        let name = n.string("name", required: "a short name for this server, e.g. `pg1`")
        let region = n.string("region", required: "the region this server stands in, e.g. `us-east-1`")
        let host = n.string("host", required: "the address to connect to, e.g. `127.0.0.1`")
        let port = n.int("port", default: 5432, range: 1...65535)
        let file = n.string("passwordFile")
        let env = n.string("passwordEnv")
        if file != nil && env != nil {
            sink.add(n.childPath("passwordEnv"), at: node, "give one of passwordFile or passwordEnv, not both")
        }
        var spec = NodeSpec(name: name ?? "", region: region ?? "", host: host ?? "", port: port,
                            database: n.string("database") ?? "postgres",
                            dataDirectory: n.string("dataDirectory"),
                            user: n.string("user") ?? "pgdr_monitor",
                            password: file.map(PasswordSource.file) ?? env.map(PasswordSource.environment))
        if let socket = n.string("socketDirectory") { spec.socketDirectory = socket }
        spec.adminUser = n.string("adminUser")
        let adminFile = n.string("adminPasswordFile"), adminEnv = n.string("adminPasswordEnv")
        spec.adminPassword = adminFile.map(PasswordSource.file) ?? adminEnv.map(PasswordSource.environment)
        spec.control = readControl(n, dataDirectory: spec.dataDirectory)
        spec.tls = readTLS(n)
        guard name != nil, region != nil, host != nil else { return nil }
        return spec
    }
}
