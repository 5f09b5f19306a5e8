/// One alarm: either a metric alarm with CloudWatch's semantics, or a
/// composite over other alarms' states. The same definitions are evaluated
/// by `pgdr agent` and emitted as CloudWatch alarms by `pgdr synth`.
public struct AlarmSpec: Sendable, Hashable, Codable {
    public enum Kind: Sendable, Hashable, Codable {
        case metric(MetricAlarm)
        case composite(AlarmRule)
    }

    public var name: String
    public var summary: String
    public var kind: Kind

    public init(name: String, summary: String, kind: Kind) {
        self.name = name
        self.summary = summary
        self.kind = kind
    }

    public var metric: MetricAlarm? {
        if case .metric(let m) = kind { return m }
        return nil
    }

    public var rule: AlarmRule? {
        if case .composite(let r) = kind { return r }
        return nil
    }
}

public struct MetricAlarm: Sendable, Hashable, Codable {
    public enum Statistic: String, Sendable, Hashable, Codable, CaseIterable {
        case average = "Average", maximum = "Maximum", minimum = "Minimum", sum = "Sum", sampleCount = "SampleCount"
    }

    public enum Comparison: String, Sendable, Hashable, Codable, CaseIterable {
        case greaterThan = "GreaterThanThreshold"
        case greaterThanOrEqual = "GreaterThanOrEqualToThreshold"
        case lessThan = "LessThanThreshold"
        case lessThanOrEqual = "LessThanOrEqualToThreshold"

        public func breaches(_ value: Double, _ threshold: Double) -> Bool {
            switch self {
            case .greaterThan: value > threshold
            case .greaterThanOrEqual: value >= threshold
            case .lessThan: value < threshold
            case .lessThanOrEqual: value <= threshold
            }
        }
    }

    /// CloudWatch's TreatMissingData.
    public enum MissingData: String, Sendable, Hashable, Codable, CaseIterable {
        case missing, ignore, breaching, notBreaching
    }

    public var metric: String
    /// For per-node metrics: `primary`, `standby` or a node's name.
    public var target: String?
    public var statistic: Statistic
    public var comparison: Comparison
    /// In the metric's base unit: seconds or bytes, percent, count.
    public var threshold: Double
    public var period: TimeSpan
    public var evaluationPeriods: Int
    public var datapointsToAlarm: Int
    public var treatMissingData: MissingData

    public init(metric: String, target: String? = nil, statistic: Statistic = .maximum,
                comparison: Comparison, threshold: Double, period: TimeSpan, evaluationPeriods: Int,
                datapointsToAlarm: Int? = nil, treatMissingData: MissingData = .missing) {
        self.metric = metric
        self.target = target
        self.statistic = statistic
        self.comparison = comparison
        self.threshold = threshold
        self.period = period
        self.evaluationPeriods = evaluationPeriods
        self.datapointsToAlarm = datapointsToAlarm ?? evaluationPeriods
        self.treatMissingData = treatMissingData
    }

    /// The series key the agent records: `CPUPercent@primary`, `StandbyStreaming`.
    public var seriesKey: String { target.map { "\(metric)@\($0)" } ?? metric }
}
