import Yams

/// Reads one entry of `alarms:`: a metric alarm
/// (`{name, metric, target, statistic, comparison, threshold, period,
/// evaluationPeriods, datapointsToAlarm, treatMissingData}`) or a composite
/// (`{name, rule}`). Cross-alarm checks (references, cycles) are in SpecRules.
enum AlarmParser {
    static let comparisonAliases: [String: MetricAlarm.Comparison] = [
        ">": .greaterThan, ">=": .greaterThanOrEqual, "<": .lessThan, "<=": .lessThanOrEqual,
    ]

    static func read(_ node: Node, path: String, sink: DiagnosticSink, period: TimeSpan) -> AlarmSpec? {
        guard let a = MappingReader(node, path: path, sink: sink) else { return nil }
        defer { a.finish() }
        a.accepts(keys)
        // A missing name is one problem; the rest of the alarm is still checked.
        let named = a.string("name", required: "a name such as `orders-lag`, used by composite rules")
        let name = named ?? "unnamed"
        if named != nil, name.wholeMatch(of: /^[a-z][a-z0-9-]{0,62}$/) == nil {
            sink.add(a.childPath("name"), at: node, "`\(name)` is not a usable alarm name",
                     hint: "lowercase letters, digits and hyphens, starting with a letter")
        }
        let summary = a.string("description") ?? name
        if let (ruleText, ruleNode) = a.scalarString("rule") {
            if a.has("metric") {
                sink.add(a.childPath("rule"), at: ruleNode, "an alarm has either `metric` or `rule`, not both")
            }
            do {
                let rule = try AlarmRule.parse(ruleText)
                return named.map { AlarmSpec(name: $0, summary: summary, kind: .composite(rule)) }
            } catch {
                sink.add(a.childPath("rule"), at: ruleNode, "cannot read the rule \(error)",
                         hint: "CloudWatch syntax: ALARM(a) AND NOT (OK(b) OR INSUFFICIENT_DATA(c))")
                return nil
            }
        }
        guard let (metricName, metricNode) = a.scalarString("metric") else {
            a.missing("metric", hint: "a metric (\(MetricCatalog.all.map(\.name).joined(separator: ", "))) or a composite `rule`")
            return nil
        }
        guard let info = MetricCatalog.info(metricName) else {
            let near = EditDistance.nearest(to: metricName, in: MetricCatalog.all.map(\.name))
            sink.add(a.childPath("metric"), at: metricNode, "unknown metric `\(metricName)`",
                     hint: near.map { "did you mean `\($0)`?" }
                        ?? "known metrics: \(MetricCatalog.all.map(\.name).joined(separator: ", "))")
            return nil
        }
        let target = a.string("target")
        if info.perNode && target == nil {
            a.missing("target", hint: "`\(metricName)` belongs to one server: write `target: primary`, `standby` or a node name")
        }
        if !info.perNode, let target, let targetNode = a.value("target") {
            sink.add(a.childPath("target"), at: targetNode, "`\(metricName)` is measured for the pair, not per node (`\(target)`)",
                     hint: "remove `target`")
        }
        let statistic = a.oneOf("statistic", default: MetricAlarm.Statistic.maximum)
        var comparison = MetricAlarm.Comparison.greaterThan
        if let (text, compNode) = a.scalarString("comparison") {
            if let parsed = MetricAlarm.Comparison(rawValue: text) ?? comparisonAliases[text] {
                comparison = parsed
            } else {
                sink.add(a.childPath("comparison"), at: compNode, "`\(text)` is not a comparison",
                         hint: "one of >, >=, <, <= or \(MetricAlarm.Comparison.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        guard let threshold = readThreshold(a, unit: info.unit) else { return nil }
        let evaluation = a.int("evaluationPeriods", default: 1, range: 1...100)
        let datapoints = a.int("datapointsToAlarm", default: evaluation, range: 1...100)
        if datapoints > evaluation {
            sink.add(a.childPath("datapointsToAlarm"), at: a.value("datapointsToAlarm"),
                     "datapointsToAlarm (\(datapoints)) is more than evaluationPeriods (\(evaluation))",
                     hint: "an alarm can only count breaches among the periods it evaluates")
        }
        let alarm = MetricAlarm(metric: metricName, target: info.perNode ? target : nil, statistic: statistic,
                                comparison: comparison, threshold: threshold,
                                period: a.timeSpan("period", default: period, range: .seconds(1)...TimeSpan.days(1)),
                                evaluationPeriods: evaluation, datapointsToAlarm: min(datapoints, evaluation),
                                treatMissingData: a.oneOf("treatMissingData", default: MetricAlarm.MissingData.missing))
        return named.map { AlarmSpec(name: $0, summary: summary, kind: .metric(alarm)) }
    }

    static let keys = ["name", "description", "rule", "metric", "target", "statistic", "comparison", "threshold", "period",
                       "evaluationPeriods", "datapointsToAlarm", "treatMissingData"]

    /// A threshold in the metric's own unit: a duration for seconds, a size
    /// for bytes, a number for percents and counts.
    static func readThreshold(_ a: MappingReader, unit: MetricUnit) -> Double? {
        guard let (text, node) = a.scalarString("threshold") else {
            a.missing("threshold", hint: "the value that breaches, in the metric's unit (\(unit.rawValue))")
            return nil
        }
        let value: Double?
        let example: String
        switch unit {
        case .seconds:
            value = TimeSpan(parsing: text)?.seconds
            example = "a duration such as 300s or 200ms"
        case .bytes:
            value = ByteSize(parsing: text).map { Double($0.bytes) }
            example = "a size such as 64MB"
        case .percent, .count:
            value = Double(text.hasSuffix("%") ? String(text.dropLast()) : text)
            example = "a plain number such as 80"
        }
        guard let value else {
            a.sink.add(a.childPath("threshold"), at: node, "`\(text)` is not in the metric's unit (\(unit.rawValue))",
                       hint: "write \(example)")
            return nil
        }
        return value
    }
}
