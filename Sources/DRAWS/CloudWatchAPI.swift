import Foundation
import SWXMLHash

/// One datapoint of a CloudWatch metric.
public struct MetricPoint: Sendable, Hashable, Codable {
    public var at: Date
    public var value: Double
}

/// A CloudWatch alarm's state (DescribeAlarms).
public struct AlarmState: Sendable, Hashable, Codable {
    public var name: String
    public var state: String
    public var reason: String?
    public var updatedAt: Date?
}

/// The CloudWatch calls pgdr makes (Query protocol, version 2010-08-01, signing name `monitoring`).
public struct CloudWatchAPI: Sendable {
    public let client: AWSClient
    static let version = "2010-08-01"

    public init(client: AWSClient) { self.client = client }

    /// One metric of one DB instance over the last `minutes`, newest first.
    public func rdsMetric(_ name: String, instance: String, region: String, minutes: Int = 10, period: Int = 60,
                          stat: String = "Average", now: Date = Date()) async throws -> [MetricPoint] {
        try await metric(namespace: "AWS/RDS", name, dimensions: [("DBInstanceIdentifier", instance)], region: region, minutes: minutes,
                         period: period, stat: stat, now: now)
    }

    /// A metric's datapoints of the last `minutes`, newest first (GetMetricData).
    public func metric(namespace: String, _ name: String, dimensions: [(String, String)], region: String, minutes: Int = 10,
                       period: Int = 60, stat: String = "Average", now: Date = Date()) async throws -> [MetricPoint] {
        try await metrics([MetricQuery(namespace: namespace, name: name, dimensions: dimensions, stat: stat)], region: region,
                          minutes: minutes, period: period, now: now).first ?? []
    }

    /// One metric to read: its namespace, name, dimensions and statistic.
    public struct MetricQuery: Sendable {
        public var namespace: String
        public var name: String
        public var dimensions: [(String, String)]
        public var stat: String

        public init(namespace: String, name: String, dimensions: [(String, String)], stat: String = "Average") {
            self.namespace = namespace
            self.name = name
            self.dimensions = dimensions
            self.stat = stat
        }
    }

    /// Several metrics in one GetMetricData call; each one's datapoints, newest first, in the order asked.
    public func metrics(_ queries: [MetricQuery], region: String, minutes: Int = 10, period: Int = 60,
                        now: Date = Date()) async throws -> [[MetricPoint]] {
        var parameters: [(String, String)] = []
        for (number, query) in queries.enumerated() {
            let prefix = "MetricDataQueries.member.\(number + 1)."
            parameters += [
                (prefix + "Id", "m\(number + 1)"),
                (prefix + "MetricStat.Metric.Namespace", query.namespace),
                (prefix + "MetricStat.Metric.MetricName", query.name),
            ]
            for (index, dimension) in query.dimensions.enumerated() {
                parameters += [(prefix + "MetricStat.Metric.Dimensions.member.\(index + 1).Name", dimension.0),
                               (prefix + "MetricStat.Metric.Dimensions.member.\(index + 1).Value", dimension.1)]
            }
            parameters += [(prefix + "MetricStat.Period", "\(period)"), (prefix + "MetricStat.Stat", query.stat)]
        }
        parameters += [
            ("StartTime", ISODate.format(now.addingTimeInterval(-Double(minutes) * 60))),
            ("EndTime", ISODate.format(now.addingTimeInterval(60))),
            ("ScanBy", "TimestampDescending"),
        ]
        let xml = try await client.query(.cloudwatch, region: region, action: "GetMetricData", version: Self.version, parameters)
        var byID: [String: [MetricPoint]] = [:]
        for result in xml["GetMetricDataResponse"]["GetMetricDataResult"]["MetricDataResults"]["member"].all {
            let times = result["Timestamps"]["member"].all.compactMap { $0.element?.text }.compactMap(ISODate.parse)
            let values = result["Values"]["member"].all.compactMap { $0.element?.text }.compactMap(Double.init)
            byID[result.text("Id") ?? ""] = zip(times, values).map { MetricPoint(at: $0, value: $1) }.sorted { $0.at > $1.at }
        }
        return queries.indices.map { byID["m\($0 + 1)"] ?? [] }
    }

    public func putMetric(namespace: String, name: String, value: Double, unit: String, dimensions: [(String, String)],
                          region: String) async throws {
        var parameters: [(String, String)] = [
            ("Namespace", namespace), ("MetricData.member.1.MetricName", name),
            ("MetricData.member.1.Value", "\(value)"), ("MetricData.member.1.Unit", unit),
        ]
        for (i, (key, value)) in dimensions.enumerated() {
            parameters.append(("MetricData.member.1.Dimensions.member.\(i + 1).Name", key))
            parameters.append(("MetricData.member.1.Dimensions.member.\(i + 1).Value", value))
        }
        _ = try await client.query(.cloudwatch, region: region, action: "PutMetricData", version: Self.version, parameters)
    }

    /// The metric and composite alarms whose names start with `prefix` (up to 100, the most one call returns).
    public func alarms(prefix: String, region: String) async throws -> [AlarmState] {
        let xml = try await client.query(.cloudwatch, region: region, action: "DescribeAlarms", version: Self.version,
                                         [("AlarmNamePrefix", prefix), ("AlarmTypes.member.1", "MetricAlarm"),
                                          ("AlarmTypes.member.2", "CompositeAlarm"), ("MaxRecords", "100")])
        let result = xml["DescribeAlarmsResponse"]["DescribeAlarmsResult"]
        return (result["MetricAlarms"]["member"].all + result["CompositeAlarms"]["member"].all).map {
            AlarmState(name: $0.text("AlarmName") ?? "?", state: $0.text("StateValue") ?? "?", reason: $0.text("StateReason"),
                       updatedAt: $0.text("StateUpdatedTimestamp").flatMap(ISODate.parse))
        }
    }
}
