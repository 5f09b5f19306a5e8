import DRSpec

/// Monthly cost per resource from a dated price table kept here. Estimates,
/// not quotes: on-demand list prices, 730 hours a month, no data transfer
/// beyond the replication estimate, no free tier, no reserved discounts.
public enum CostEstimate {
    public static let priceDate = "2026-11 (us-east-1/us-east-2 on-demand list prices)"

    /// USD per instance-hour, Single-AZ RDS for PostgreSQL (Multi-AZ is twice).
    static let hourly: [String: Double] = [
        "db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.t4g.medium": 0.065, "db.t4g.large": 0.129,
        "db.t3.medium": 0.072, "db.t3.large": 0.145,
        "db.m6g.large": 0.159, "db.m6g.xlarge": 0.318, "db.m6g.2xlarge": 0.636,
        "db.m6i.large": 0.178, "db.m6i.xlarge": 0.356, "db.m7g.large": 0.168, "db.m7g.xlarge": 0.336,
        "db.r6g.large": 0.225, "db.r6g.xlarge": 0.450, "db.r6g.2xlarge": 0.899, "db.r6g.4xlarge": 1.798,
        "db.r6i.large": 0.250, "db.r6i.xlarge": 0.500, "db.r7g.large": 0.239, "db.r7g.xlarge": 0.478,
    ]
    static let gp3PerGBMonth = 0.115
    static let piPerVCPUMonth = 0.0      // 7 days of Performance Insights are free
    static let kmsKeyMonth = 1.0
    static let secretMonth = 0.40
    static let alarmMonth = 0.10
    static let compositeMonth = 0.50
    static let interfaceEndpointHour = 0.01
    static let healthCheckMonth = 0.50
    static let s3PerGBMonth = 0.023
    static let crossRegionPerGB = 0.02

    public struct Line: Sendable, Encodable {
        public var region: String
        public var item: String
        public var monthlyUSD: Double
        public var basis: String
    }

    public static func lines(_ spec: Spec) -> [Line] {
        var out: [Line] = []
        let hours = 730.0
        for (role, site) in [("primary", spec.primary), ("dr", spec.dr)] {
            let price = hourly[site.instanceClass]
            let azs = site.multiAZ ? 2.0 : 1.0
            out.append(Line(region: site.region, item: "\(role) DB instance \(site.instanceClass)\(site.multiAZ ? " Multi-AZ" : "")",
                            monthlyUSD: (price ?? 0) * hours * azs,
                            basis: price.map { "$\($0)/h × 730 h × \(Int(azs)) AZ" } ?? "no price for \(site.instanceClass) in the table"))
            let gb = Double(site.storage.bytes >> 30)
            out.append(Line(region: site.region, item: "\(role) gp3 storage \(Int(gb)) GB", monthlyUSD: gb * gp3PerGBMonth * azs,
                            basis: "$\(gp3PerGBMonth)/GB-month × \(Int(azs))"))
            out.append(Line(region: site.region, item: "KMS key", monthlyUSD: kmsKeyMonth, basis: "$1 per key"))
            out.append(Line(region: site.region, item: "VPC interface endpoints (5 × 2 AZ)",
                            monthlyUSD: 5 * 2 * interfaceEndpointHour * hours, basis: "$0.01/h each"))
            out.append(Line(region: site.region, item: "backup bucket (estimate: one copy of the storage)",
                            monthlyUSD: gb * s3PerGBMonth, basis: "$\(s3PerGBMonth)/GB-month"))
            let twins = CloudWatchAlarms.twins(spec).filter { $0.region.rawValue == role }.count
            out.append(Line(region: site.region, item: "\(twins) CloudWatch alarms + composites",
                            monthlyUSD: Double(twins) * alarmMonth + compositeMonth, basis: "$0.10 per alarm, $0.50 per composite"))
        }
        out.append(Line(region: spec.primary.region, item: "Secrets Manager secret", monthlyUSD: secretMonth, basis: "$0.40 per secret"))
        let gb = Double(spec.primary.storage.bytes >> 30)
        out.append(Line(region: spec.primary.region, item: "cross-region replication traffic (estimate: storage size per month)",
                        monthlyUSD: gb * crossRegionPerGB, basis: "$0.02/GB"))
        if spec.dns != nil {
            out.append(Line(region: "global", item: "Route 53 health check", monthlyUSD: healthCheckMonth, basis: "$0.50 per health check"))
        }
        return out
    }

    public static func total(_ spec: Spec) -> Double { lines(spec).map(\.monthlyUSD).reduce(0, +) }
}
