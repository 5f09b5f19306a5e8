import Foundation
import Yams

/// AWS's own validation rules, checked offline before anything is deployed.
/// A real deployment of this architecture once failed on an RDS tag value of
/// `<1hour`: RDS accepts only letters, digits, white space and `_ . : / = + - @`.
public enum AWSRules {
    /// RDS tag values and keys: Unicode letters, digits, white space and `_ . : / = + - @`.
    static func isRDSTagText(_ text: String) -> Bool {
        text.wholeMatch(of: /[\p{L}\p{Z}\p{N}_.:\/=+\-@]*/) != nil
    }

    /// A value RDS would accept, for the hint: `<1hour` → `under-1-hour`.
    public static func suggestTagValue(_ value: String) -> String {
        var text = value.replacingOccurrences(of: "<=", with: "at-most-").replacingOccurrences(of: ">=", with: "at-least-")
            .replacingOccurrences(of: "<", with: "under-").replacingOccurrences(of: ">", with: "over-")
        // 1hour -> 1-hour
        text = text.replacing(/(\d)(\p{L})/) { "\($0.1)-\($0.2)" }
        text = String(text.unicodeScalars.map { scalar -> Character in
            let c = Character(scalar)
            return isRDSTagText(String(c)) ? c : "-"
        })
        return text.replacing(/-{2,}/) { _ in "-" }
    }

    public static func tagProblems(key: String, value: String) -> [(onKey: Bool, message: String, hint: String)] {
        var problems: [(Bool, String, String)] = []
        if key.isEmpty || key.count > 128 {
            problems.append((true, "tag key `\(key)` must be 1 to 128 characters", "shorten the key"))
        }
        let lowered = key.lowercased()
        if lowered.hasPrefix("aws:") || lowered.hasPrefix("rds:") {
            problems.append((true, "tag key `\(key)` uses a prefix reserved by AWS (aws: or rds:)", "choose another key"))
        }
        if !isRDSTagText(key) {
            problems.append((true, "tag key `\(key)` has characters RDS rejects",
                             "use letters, digits, spaces and _ . : / = + - @; e.g. `\(suggestTagValue(key))`"))
        }
        if value.count > 256 {
            problems.append((false, "tag value of `\(key)` is longer than 256 characters", "shorten it"))
        }
        if !isRDSTagText(value) {
            problems.append((false, "tag value `\(value)` of `\(key)` has characters RDS rejects (only letters, digits, spaces and _ . : / = + - @)",
                             "write `\(suggestTagValue(value))`"))
        }
        return problems
    }

    /// RDS DB identifiers: 1–63 letters, digits, hyphens; a letter first; no `--`; no trailing hyphen.
    public static func rdsIdentifierProblem(_ id: String) -> String? {
        if id.isEmpty || id.count > 63 { return "`\(id)` is \(id.count) characters; RDS allows 1 to 63" }
        if id.wholeMatch(of: /^[A-Za-z][A-Za-z0-9-]*$/) == nil { return "`\(id)` must start with a letter and hold only letters, digits and hyphens" }
        if id.contains("--") || id.hasSuffix("-") { return "`\(id)` has a double or trailing hyphen" }
        return nil
    }

    /// S3 bucket names: 3–63 lowercase letters, digits, dots, hyphens; letter or digit at both ends.
    public static func bucketNameProblem(_ name: String) -> String? {
        if name.count < 3 || name.count > 63 { return "bucket name `\(name)` is \(name.count) characters; S3 allows 3 to 63" }
        if name.wholeMatch(of: /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/) == nil { return "bucket name `\(name)` has characters S3 rejects" }
        if name.contains("..") || name.hasPrefix("xn--") || name.hasSuffix("-s3alias") { return "bucket name `\(name)` breaks S3's naming rules" }
        return nil
    }

    /// The names synth gives resources whose services cap their length below
    /// what the RDS identifier allows (`NAME-BASE-ENV`, as `RegionStack.name`):
    /// Lambda function and EventBridge rule names at 64, SQS queue names at 80.
    /// A test checks that every such name in the templates is listed here.
    public static func cappedNames(_ spec: Spec) -> [(what: String, name: String, limit: Int)] {
        func name(_ base: String) -> String { "\(spec.name)-\(base)-\(spec.environment)" }
        return [("Lambda function", name("lag-monitor"), 64), ("Lambda function", name("failover"), 64),
                ("EventBridge rule", name("lag-schedule"), 64), ("EventBridge rule", name("primary-down"), 64),
                ("EventBridge rule", name("approvals"), 64), ("EventBridge rule", name("rds-events"), 64),
                ("SQS queue", name("function-dead-letters"), 80)]
    }

    /// A Route 53 hosted zone id: capital letters and digits (as the console shows it, without `/hostedzone/`).
    public static func hostedZoneProblem(_ id: String) -> String? {
        if id.hasPrefix("/hostedzone/") { return "`\(id)` carries the `/hostedzone/` prefix of the API's answers" }
        if id.wholeMatch(of: /^[A-Z0-9]{1,32}$/) == nil { return "`\(id)` is not a Route 53 hosted zone id (up to 32 capital letters and digits)" }
        return nil
    }

    /// A DNS name Route 53 takes for a CNAME: at most 253 characters, labels of 1–63 letters, digits and hyphens.
    public static func recordNameProblem(_ name: String) -> String? {
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        if trimmed.isEmpty || trimmed.count > 253 { return "`\(name)` is \(trimmed.count) characters; a DNS name has 1 to 253" }
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty || label.count > 63 || label.wholeMatch(of: /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/) == nil {
                return "`\(name)` has a label (`\(label)`) that is not 1 to 63 letters, digits and inner hyphens"
            }
        }
        if !trimmed.contains(".") { return "`\(name)` is not under a domain (e.g. db.example.com)" }
        return nil
    }

    /// `10.10.0.0/16` → (first address, prefix), or nil.
    public static func parseCIDR(_ text: String) -> (base: UInt32, prefix: Int)? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let prefix = Int(parts[1]), (0...32).contains(prefix) else { return nil }
        let octets = parts[0].split(separator: ".").compactMap { UInt32($0) }
        guard octets.count == 4, octets.allSatisfy({ $0 <= 255 }) else { return nil }
        let address = octets.reduce(0) { $0 << 8 | $1 }
        let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
        return (address & mask, prefix)
    }

    public static func overlap(_ a: String, _ b: String) -> Bool {
        guard let x = parseCIDR(a), let y = parseCIDR(b) else { return false }
        let prefix = min(x.prefix, y.prefix)
        let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
        return x.base & mask == y.base & mask
    }

    /// End of RDS standard support per major version (RDS's published calendar).
    public static let endOfStandardSupport: [Int: String] = [
        11: "2024-02-29", 12: "2025-02-28", 13: "2026-02-28", 14: "2027-02-28",
        15: "2028-02-29", 16: "2029-02-28", 17: "2030-02-28",
    ]

    /// The minor version synth pins when the spec names only a major: RDS
    /// treats a bare major as deprecated for new instances. Current as of the
    /// cfn-lint 1.51 data (2026-11); pin `engine.version: "16.4"` to choose.
    public static let defaultMinor: [Int: String] = [
        13: "13.21", 14: "14.19", 15: "15.15", 16: "16.11", 17: "17.7", 18: "18.1",
    ]

    public static func engineVersion(_ engine: Engine) -> String {
        engine.version.contains(".") ? engine.version : (defaultMinor[engine.major] ?? engine.version)
    }

    /// Instance families RDS for PostgreSQL offers, and the sizes.
    public static let families = ["t3", "t4g", "m5", "m5d", "m6g", "m6gd", "m6i", "m6id", "m7g", "m7i",
                                  "r5", "r5b", "r5d", "r6g", "r6gd", "r6i", "r6id", "r7g", "r7i", "x2g"]
    public static let sizes = ["micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge",
                               "12xlarge", "16xlarge", "24xlarge", "32xlarge"]

    /// Names `synth` gives resources: each carries the environment suffix.
    public static func dbIdentifier(_ spec: Spec, replica: Bool) -> String {
        replica ? "\(spec.name)-replica-\(spec.environment)" : "\(spec.name)-db-\(spec.environment)"
    }

    /// The identifier pgdr operates for a site: `instanceIdentifier`, else synth's name.
    public static func instanceIdentifier(_ spec: Spec, dr: Bool) -> String {
        (dr ? spec.dr.instanceIdentifier : spec.primary.instanceIdentifier) ?? dbIdentifier(spec, replica: dr)
    }

    static let syncOnRDS = "replication.mode: sync or bounded cannot be deployed on RDS: a cross-region read replica is asynchronous, and RDS offers no synchronous standby in another region"
    static let syncOnRDSHint = "use replication.mode: async; the loss a failover may cause is bounded by failover.maxDataLoss, checked against ReplicaLag before promotion"

    /// What the AWS deployment makes of the spec's runtime settings, before
    /// `pgdr synth` writes anything: errors stop it, notes are printed.
    public static func synthProblems(_ spec: Spec) -> (errors: [(key: String, message: String, hint: String)], notes: [String]) {
        var errors: [(String, String, String)] = []
        var notes: [String] = []
        if spec.replication.mode != .async { errors.append(("replication.mode", syncOnRDS, syncOnRDSHint)) }
        if spec.failover.mode == .automatic {
            notes.append("failover.mode: automatic applies to self-managed servers with a quorum; on AWS the failover function "
                         + "plans on the primary-down signal and promotes only after an operator approves")
        }
        if spec.dcs != nil {
            notes.append("dcs: (etcd) is not part of the AWS deployment; on RDS the AWS APIs decide which instance is the primary")
        }
        return (errors, notes)
    }

    /// Where the failover function keeps its plans, approvals and runs in
    /// Parameter Store (its IAM policy, its approval rule, `pgdr approve`, `pgdr destroy`).
    public static func recordsRoot(_ spec: Spec) -> String { "/pgdr/\(spec.resourceName(spec.name))/" }

    /// The CloudFormation stack of a region (`NAME-primary-ENV`, `NAME-dr-ENV`).
    public static func stackName(_ spec: Spec, dr: Bool) -> String { spec.resourceName("\(spec.name)-\(dr ? "dr" : "primary")") }

    public static func bucketName(_ spec: Spec, region: String) -> String {
        "\(spec.name)-backup-\(region)-\(spec.environment)"
    }
}

extension SpecRules {
    /// The AWS half of validation: every value must pass AWS's own rules offline.
    static func checkAWS(_ spec: Spec, sink: DiagnosticSink, at: (String) -> Node?, today: Date = Date()) {
        for (key, value) in spec.tags.sorted(by: { $0.key < $1.key }) {
            for problem in AWSRules.tagProblems(key: key, value: value) {
                sink.add("tags.\(key)", at: at("tags.\(key)"), problem.message, hint: problem.hint)
            }
        }
        for (replica, site) in [(false, "primary"), (true, "dr")] {
            if let problem = AWSRules.rdsIdentifierProblem(AWSRules.instanceIdentifier(spec, dr: replica)) {
                sink.add("name", at: at("name"), "the \(site) DB identifier \(problem)", hint: "shorten `name` or `environment`")
            }
        }
        for capped in AWSRules.cappedNames(spec) where capped.name.count > capped.limit {
            sink.add("name", at: at("name"), "the \(capped.what) name `\(capped.name)` is \(capped.name.count) characters; AWS allows \(capped.limit)",
                     hint: "shorten `name` or `environment` by \(capped.name.count - capped.limit)")
        }
        if let dns = spec.dns {
            if let problem = AWSRules.hostedZoneProblem(dns.hostedZoneId) {
                sink.add("dns.hostedZoneId", at: at("dns.hostedZoneId"), problem, hint: "copy the id from `aws route53 list-hosted-zones`, e.g. Z0123456789ABCDEFGHIJ")
            }
            if let problem = AWSRules.recordNameProblem(dns.recordName) {
                sink.add("dns.recordName", at: at("dns.recordName"), problem, hint: "the name clients connect to, e.g. db.example.com")
            }
        }
        for site in [spec.primary, spec.dr] {
            if let problem = AWSRules.bucketNameProblem(AWSRules.bucketName(spec, region: site.region)) {
                sink.add("name", at: at("name"), problem, hint: "shorten `name` or `environment`")
            }
        }
        for (key, site) in [("primary", spec.primary), ("dr", spec.dr)] {
            if let cidr = AWSRules.parseCIDR(site.vpcCidr) {
                if !(16...24).contains(cidr.prefix) {
                    sink.add("\(key).vpcCidr", at: at("\(key).vpcCidr"), "a /\(cidr.prefix) VPC is outside /16 to /24",
                             hint: "use a /16 such as 10.10.0.0/16")
                }
            } else {
                sink.add("\(key).vpcCidr", at: at("\(key).vpcCidr"), "`\(site.vpcCidr)` is not an IPv4 CIDR", hint: "e.g. 10.10.0.0/16")
            }
            let parts = site.instanceClass.split(separator: ".")
            if parts.count == 3, (!AWSRules.families.contains(String(parts[1])) || !AWSRules.sizes.contains(String(parts[2]))) {
                sink.add("\(key).instanceClass", at: at("\(key).instanceClass"),
                         "`\(site.instanceClass)` is not an RDS for PostgreSQL instance class",
                         hint: "families: \(AWSRules.families.joined(separator: ", ")); sizes such as large, xlarge")
            }
        }
        if let access = spec.aws.database {
            let known = [AWSRules.instanceIdentifier(spec, dr: false), AWSRules.instanceIdentifier(spec, dr: true)]
            for id in access.addresses.keys.sorted() where !known.contains(id) {
                sink.add("aws.database.addresses.\(id)", at: at("aws.database.addresses.\(id)"), "`\(id)` is neither instance of this deployment",
                         hint: "the instances are \(known.joined(separator: " and "))")
            }
        }
        if AWSRules.overlap(spec.primary.vpcCidr, spec.dr.vpcCidr) {
            sink.add("dr.vpcCidr", at: at("dr.vpcCidr"), "the DR VPC \(spec.dr.vpcCidr) overlaps the primary's \(spec.primary.vpcCidr)",
                     hint: "peered VPCs need separate ranges, e.g. 10.20.0.0/16")
        }
        if AWSRules.parseCIDR(spec.network.applicationCidr) == nil {
            sink.add("network.applicationCidr", at: at("network.applicationCidr"), "`\(spec.network.applicationCidr)` is not an IPv4 CIDR")
        }
        if let end = AWSRules.endOfStandardSupport[spec.engine.major] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate]
            if let date = formatter.date(from: end), date < today {
                sink.add("engine.version", at: at("engine.version"),
                         "RDS standard support for PostgreSQL \(spec.engine.major) ended on \(end) (extended support costs extra)",
                         hint: "upgrade to a supported major, e.g. \"16\"", severity: .warning)
            }
        }
    }
}
