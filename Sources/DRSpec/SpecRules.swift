import Foundation
import Yams

/// Checks that look across fields (regions differ, node names are unique, …).
/// Single-field shape checks live in the parser, next to the defaults.
enum SpecRules {
    static func check(_ spec: Spec?, sink: DiagnosticSink, root: MappingReader) {
        guard let spec else { return }
        let at = { (path: String) in locate(path, in: root.node) }

        let namePattern = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/
        if spec.name.wholeMatch(of: namePattern) == nil {
            sink.add("name", at: at("name"), "`\(spec.name)` cannot be used in resource names",
                     hint: "2 to 32 characters: lowercase letters, digits and hyphens, starting with a letter")
        }
        if spec.environment.wholeMatch(of: /^[a-z][a-z0-9]{0,15}$/) == nil {
            sink.add("environment", at: at("environment"), "`\(spec.environment)` cannot be a name suffix",
                     hint: "1 to 16 lowercase letters and digits, starting with a letter, e.g. `prod` or `staging`")
        }
        for (key, site) in [("primary", spec.primary), ("dr", spec.dr)] {
            if !AWSRegions.known.contains(site.region) {
                let near = EditDistance.nearest(to: site.region, in: AWSRegions.known)
                sink.add("\(key).region", at: at("\(key).region"), "`\(site.region)` is not an AWS region",
                         hint: near.map { "did you mean `\($0)`?" } ?? "use a region name such as us-east-1")
            }
            if site.instanceClass.wholeMatch(of: /^db\.[a-z0-9]+\.[a-z0-9]+$/) == nil {
                sink.add("\(key).instanceClass", at: at("\(key).instanceClass"),
                         "`\(site.instanceClass)` is not an RDS instance class",
                         hint: "RDS classes look like db.r6g.xlarge or db.t4g.medium")
            }
        }
        if spec.primary.region == spec.dr.region {
            sink.add("dr.region", at: at("dr.region") ?? at("dr"), "the DR region is the primary's region (\(spec.dr.region))",
                     hint: "a DR replica must stand in another region, e.g. us-east-2")
        }
        if spec.backup.pointInTimeRecovery && spec.backup.retentionDays == 0 {
            sink.add("backup.retentionDays", at: at("backup.retentionDays"),
                     "point-in-time recovery needs at least 1 day of backups",
                     hint: "set retentionDays to 7 (the default), or pointInTimeRecovery: false")
        }
        if let time = spec.failover.maxDataLoss.time, time > spec.objectives.rpo {
            sink.add("failover.maxDataLoss", at: at("failover.maxDataLoss"),
                     "a failover may lose \(time), more than the RPO of \(spec.objectives.rpo)",
                     hint: "lower maxDataLoss to at most objectives.rpo", severity: .warning)
        }
        checkNodes(spec, sink: sink, at: at)
        if let dcs = spec.dcs, spec.failover.mode == .automatic, dcs.endpoints.count < 3 {
            sink.add("dcs.endpoints", at: at("dcs.endpoints") ?? at("dcs"),
                     "automatic failover needs a quorum of 3 or 5 etcd members; \(dcs.endpoints.count) given",
                     hint: "with fewer, the region that loses the link cannot tell it is the minority: put a member in a third place")
        }
        if let dcs = spec.dcs, dcs.endpoints.count % 2 == 0, !dcs.endpoints.isEmpty {
            sink.add("dcs.endpoints", at: at("dcs.endpoints"), "\(dcs.endpoints.count) etcd members: an even count tolerates no more failures than one fewer",
                     hint: "use 3 or 5", severity: .warning)
        }
        checkAlarms(spec, sink: sink, at: at)
        checkAWS(spec, sink: sink, at: at)
        if let backups = spec.backup.pgbackrest {
            let regions = [spec.primary.region, spec.dr.region]
            for (index, repository) in backups.repositories.enumerated() where !regions.contains(repository.region) {
                sink.add("backup.repositories[\(index)].region", at: at("backup.repositories"),
                         "repository \(index + 1) is in \(repository.region), neither the primary's region nor the DR one",
                         hint: "use \(regions.joined(separator: " or "))")
            }
            if !backups.repositories.contains(where: { $0.region == spec.dr.region }) {
                sink.add("backup.repositories", at: at("backup.repositories"),
                         "no backup repository in the DR region (\(spec.dr.region)): losing the primary's region loses every backup",
                         hint: "add a repository in \(spec.dr.region)", severity: .warning)
            }
            if spec.target == .aws {
                sink.add("backup.repositories", at: at("backup.repositories"),
                         "target: aws: RDS takes the backups (backup.retentionDays, point-in-time recovery); pgBackRest is for self-managed servers",
                         hint: "remove backup.repositories, or set target: self-managed")
            }
        }
        checkBound(spec, sink: sink, at: at)
        if spec.target == .aws {
            if !spec.nodes.isEmpty {
                sink.add("nodes", at: at("nodes"), "target: aws watches and operates the RDS instances; nodes: lists self-managed servers",
                         hint: "remove nodes: (the instances are primary.instanceIdentifier and dr.instanceIdentifier), or set target: self-managed")
            }
            if spec.dcs != nil {
                sink.add("dcs", at: at("dcs"), "quorum mode (dcs:) is for self-managed servers; on RDS the AWS APIs decide who is primary",
                         hint: "remove dcs:, or set target: self-managed")
            }
            if spec.failover.mode == .automatic {
                sink.add("failover.mode", at: at("failover.mode"), "automatic failover is not offered on RDS: a cross-region promotion is approved by an operator",
                         hint: "use failover.mode: manual (pgdr failover, then pgdr approve)")
            }
            if spec.replication.mode != .async {
                sink.add("replication.mode", at: at("replication.mode"), AWSRules.syncOnRDS, hint: AWSRules.syncOnRDSHint)
            }
            if spec.primary.instanceIdentifier != nil, spec.primary.instanceIdentifier == spec.dr.instanceIdentifier {
                sink.add("dr.instanceIdentifier", at: at("dr.instanceIdentifier"), "the DR instance has the primary's identifier",
                         hint: "each instance has its own identifier")
            }
        }
    }

    /// `replication.mode: bounded`: a bound the agent can enforce (at least
    /// two of its intervals, at least 1MB), on self-managed servers without quorum.
    static func checkBound(_ spec: Spec, sink: DiagnosticSink, at: (String) -> Node?) {
        guard spec.replication.mode == .bounded else { return }
        let bound = spec.replication.bound(rpo: spec.objectives.rpo)
        let path = spec.replication.maxLag == nil ? "objectives.rpo" : "replication.maxLag"
        if let time = bound.time, time.milliseconds < 2 * spec.monitoring.interval.milliseconds {
            sink.add(path, at: at(path), "a bound of \(time) is less than two agent intervals (monitoring.interval: \(spec.monitoring.interval)): it cannot be enforced",
                     hint: "give replication.maxLag at least \(TimeSpan(milliseconds: 2 * spec.monitoring.interval.milliseconds)), or sample more often")
        }
        if let bytes = bound.bytes, bytes.bytes < ByteSize.megabytes(1).bytes {
            sink.add(path, at: at(path), "a bound of \(bytes) would hold commits on every burst of WAL",
                     hint: "give replication.maxLag at least 1MB")
        }
        if spec.dcs != nil {
            sink.add("replication.mode", at: at("replication.mode"), "bounded mode is not offered with quorum mode (dcs:) yet",
                     hint: "use replication.mode: sync or async with dcs:, or remove dcs:")
        }
    }

    /// Alarm names are unique, composites refer to alarms that exist, no
    /// composite depends on itself, and per-node targets name a role or a node.
    static func checkAlarms(_ spec: Spec, sink: DiagnosticSink, at: (String) -> Node?) {
        var seen: Set<String> = []
        for (index, alarm) in spec.alarms.enumerated() where !seen.insert(alarm.name).inserted {
            sink.add("alarms[\(index)].name", at: at("alarms[\(index)].name"), "alarm `\(alarm.name)` is defined twice")
        }
        let all = spec.effectiveAlarms
        let names = all.map(\.name)
        let targets = MetricCatalog.roleTargets + spec.nodes.map(\.name)
        for (index, alarm) in spec.alarms.enumerated() {
            let path = "alarms[\(index)]"
            if let metric = alarm.metric, let target = metric.target, !targets.contains(target) {
                sink.add("\(path).target", at: at("\(path).target"), "`\(target)` is neither a role nor a node",
                         hint: "write one of \(targets.joined(separator: ", "))")
            }
            for reference in alarm.rule?.references ?? [] where !names.contains(reference) {
                let near = EditDistance.nearest(to: reference, in: names)
                sink.add("\(path).rule", at: at("\(path).rule"), "the rule refers to an unknown alarm `\(reference)`",
                         hint: near.map { "did you mean `\($0)`?" } ?? "known alarms: \(names.joined(separator: ", "))")
            }
        }
        if let cycle = compositeCycle(all), let index = spec.alarms.firstIndex(where: { $0.name == cycle.first }) {
            sink.add("alarms[\(index)].rule", at: at("alarms[\(index)].rule"),
                     "composite alarms depend on each other in a cycle: \(cycle.joined(separator: " -> "))",
                     hint: "a composite may only refer to alarms that do not refer back to it")
        }
    }

    /// The first cycle among composite alarms, as a path of names, if any.
    static func compositeCycle(_ alarms: [AlarmSpec]) -> [String]? {
        let rules = Dictionary(alarms.compactMap { a in a.rule.map { (a.name, $0.references) } }, uniquingKeysWith: { a, _ in a })
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var stack: [String] = []
        func visit(_ name: String) -> [String]? {
            if state[name] == 2 { return nil }
            if state[name] == 1, let start = stack.firstIndex(of: name) { return Array(stack[start...]) + [name] }
            state[name] = 1
            stack.append(name)
            for next in rules[name] ?? [] {
                if let cycle = visit(next) { return cycle }
            }
            stack.removeLast()
            state[name] = 2
            return nil
        }
        for name in rules.keys.sorted() {
            if let cycle = visit(name) { return cycle }
        }
        return nil
    }

    static func checkNodes(_ spec: Spec, sink: DiagnosticSink, at: (String) -> Node?) {
        var seen: Set<String> = []
        for (index, node) in spec.nodes.enumerated() {
            let path = "nodes[\(index)]"
            if node.name.wholeMatch(of: /^[a-z][a-z0-9_-]{0,30}$/) == nil {
                sink.add("\(path).name", at: at("\(path).name"), "`\(node.name)` is not a usable node name",
                         hint: "up to 31 lowercase letters, digits, `-` or `_`, starting with a letter")
            }
            if !seen.insert(node.name).inserted {
                sink.add("\(path).name", at: at("\(path).name"), "node name `\(node.name)` is used twice",
                         hint: "give every node its own name")
            }
            if node.region != spec.primary.region && node.region != spec.dr.region {
                sink.add("\(path).region", at: at("\(path).region"),
                         "`\(node.region)` is neither the primary region (\(spec.primary.region)) nor the DR region (\(spec.dr.region))",
                         hint: "place each node in primary.region or dr.region")
            }
            if node.password == nil {
                sink.add(path, at: at(path), "no password source for node `\(node.name)`",
                         hint: "add `passwordFile: PATH` (mode 0600) or `passwordEnv: VARIABLE`, unless the server trusts this client",
                         severity: .warning)
            }
            switch node.effectiveTLS.mode {
            case .require:
                sink.add(path, at: at(path), "node `\(node.name)`: TLS without verifying the server (no `tls.ca`): anyone who takes its address can answer",
                         hint: "give `tls: {ca: FILE}` (globally or on the node): your CA's PEM file, or the RDS bundle for RDS",
                         severity: .warning)
            case .disable where !["127.0.0.1", "::1", "localhost"].contains(node.host):
                sink.add("\(path).tls.mode", at: at("\(path).tls.mode"), "node `\(node.name)`: no TLS to \(node.host): queries and SCRAM exchanges cross the network in the clear",
                         hint: "turn on ssl on the server and use mode verify-full with its CA", severity: .warning)
            default:
                break
            }
        }
        if !spec.nodes.isEmpty {
            for (label, region) in [("primary", spec.primary.region), ("DR", spec.dr.region)]
            where spec.nodes.filter({ $0.region == region }).count != 1 {
                sink.add("nodes", at: at("nodes"), "expected exactly one node in the \(label) region \(region), found \(spec.nodes.filter { $0.region == region }.count)",
                         hint: "list one server per region")
            }
        }
    }

    /// The YAML node at a key path such as `nodes[1].port`, to point at its line.
    static func locate(_ path: String, in root: Node) -> Node? {
        var current: Node? = root
        for component in path.split(separator: ".") {
            var key = Substring(component)
            var index: Int?
            if let open = component.firstIndex(of: "["), component.hasSuffix("]") {
                key = component[..<open]
                index = Int(component[component.index(after: open)..<component.index(before: component.endIndex)])
            }
            current = current?.mapping?[String(key)]
            if let index {
                let items = current?.sequence.map(Array.init) ?? []
                current = items.indices.contains(index) ? items[index] : nil
            }
        }
        return current
    }
}
