import DRSpec

/// `pgdr config prometheus --rules`: Prometheus alerting rules equivalent to
/// the deployment's alarms (the defaults and those in pgdr.yaml), read from
/// the series the agent exports for the same metrics. Pure: text from the spec.
///
/// The translation, alarm by alarm:
/// - a metric alarm becomes `STAT_over_time(SERIES[WINDOW]) OP THRESHOLD`,
///   where STAT is the alarm's statistic and WINDOW its period (at least two
///   scrapes); `for:` is the period times the datapoints that must breach
///   (for M of N, the M: the soonest the agent could fire);
/// - a target of `primary` or `standby` keeps the node holding that role
///   (`and on(node)` with `pgdr_node_is_primary`), a node's name selects it;
/// - missing data treated as breaching also fires when the series is absent;
/// - a composite alarm reads the other rules' firing alerts (`ALERTS`),
///   with no `for:`, as CloudWatch evaluates composites at once.
/// Every rule carries the alarm's name in the label `alarm`.
public enum PrometheusRules {
    public struct Rule: Sendable, Hashable {
        public var alert: String
        public var alarm: String
        public var expr: String
        public var forDuration: String?
        public var summary: String
    }

    /// An alarm with no Prometheus equivalent (INSUFFICIENT_DATA in a composite rule).
    public struct Untranslatable: Sendable, Hashable {
        public var alarm: String
        public var reason: String
    }

    public static func rules(_ spec: Spec) -> (rules: [Rule], skipped: [Untranslatable]) {
        var rules: [Rule] = []
        var skipped: [Untranslatable] = []
        let scrape = spec.monitoring.interval
        for alarm in spec.effectiveAlarms {
            switch alarm.kind {
            case .metric(let metric):
                guard let info = MetricCatalog.info(metric.metric) else {
                    skipped.append(.init(alarm: alarm.name, reason: "metric \(metric.metric) is not in the catalog"))
                    continue
                }
                rules.append(Rule(alert: alertName(alarm.name), alarm: alarm.name,
                                  expr: expression(metric, info: info, scrape: scrape),
                                  forDuration: duration(milliseconds: metric.period.milliseconds * Int64(metric.datapointsToAlarm)),
                                  summary: alarm.summary))
            case .composite(let rule):
                guard let expr = expression(rule) else {
                    skipped.append(.init(alarm: alarm.name, reason: "INSUFFICIENT_DATA has no equivalent among Prometheus alerts"))
                    continue
                }
                rules.append(Rule(alert: alertName(alarm.name), alarm: alarm.name, expr: expr, forDuration: nil,
                                  summary: alarm.summary))
            }
        }
        return (rules, skipped)
    }

    public static func render(_ spec: Spec) -> String {
        let (rules, skipped) = rules(spec)
        var lines = [
            "# Written by `pgdr config prometheus --rules` for \(spec.resourceName(spec.name)): the same",
            "# alarms as pgdr's agent (names in the label `alarm`), from the series it exports.",
        ]
        lines += skipped.map { "# not translated: \($0.alarm) (\($0.reason))" }
        lines += ["groups:", "  - name: pgdr-\(spec.resourceName(spec.name))", "    rules:"]
        for rule in rules {
            lines.append("      - alert: \(rule.alert)")
            lines.append("        expr: \(quoted(rule.expr))")
            if let duration = rule.forDuration { lines.append("        for: \(duration)") }
            lines.append("        labels:")
            lines.append("          alarm: \(quoted(rule.alarm))")
            lines.append("          deployment: \(quoted(spec.resourceName(spec.name)))")
            lines.append("        annotations:")
            lines.append("          summary: \(quoted(rule.summary))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `cpu-high` → `PgdrCpuHigh`: Prometheus wants an alert name shaped like a metric name.
    public static func alertName(_ alarm: String) -> String {
        "Pgdr" + alarm.split(whereSeparator: { !$0.isLetter && !$0.isNumber })
            .map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    static func expression(_ alarm: MetricAlarm, info: MetricInfo, scrape: TimeSpan) -> String {
        let window = duration(milliseconds: max(alarm.period.milliseconds, 2 * scrape.milliseconds))
        var selector = info.series
        if info.perNode, let target = alarm.target, !MetricCatalog.roleTargets.contains(target) {
            selector += "{node=\(quoted(target))}"
        }
        let statistic = switch alarm.statistic {
        case .average: "avg_over_time"
        case .maximum: "max_over_time"
        case .minimum: "min_over_time"
        case .sum: "sum_over_time"
        case .sampleCount: "count_over_time"
        }
        let comparison = switch alarm.comparison {
        case .greaterThan: ">"
        case .greaterThanOrEqual: ">="
        case .lessThan: "<"
        case .lessThanOrEqual: "<="
        }
        var expr = "\(statistic)(\(selector)[\(window)]) \(comparison) \(number(alarm.threshold))"
        if info.perNode, let target = alarm.target {
            if target == "primary" {
                expr = "(\(expr)) and on(node) (pgdr_node_is_primary == 1)"
            } else if target == "standby" {
                expr = "(\(expr)) and on(node) (pgdr_node_is_primary == 0 and pgdr_node_up == 1)"
            }
        }
        if alarm.treatMissingData == .breaching {
            expr = "(\(expr)) or absent(\(selector))"
        }
        return expr
    }

    /// A composite rule over the other rules' firing alerts; nil where
    /// Prometheus has no equivalent.
    static func expression(_ rule: AlarmRule) -> String? {
        switch rule {
        case .state(.alarm, let name):
            return "count(ALERTS{alertstate=\"firing\",alarm=\(quoted(name))})"
        case .state(.ok, let name):
            return "(vector(1) unless on() count(ALERTS{alertstate=\"firing\",alarm=\(quoted(name))}))"
        case .state(.insufficientData, _):
            return nil
        case .constant(let value):
            return value ? "vector(1)" : "(vector(1) < 0)"
        case .not(let inner):
            return expression(inner).map { "(vector(1) unless on() \($0))" }
        case .and(let a, let b):
            guard let x = expression(a), let y = expression(b) else { return nil }
            return "(\(x) and on() \(y))"
        case .or(let a, let b):
            guard let x = expression(a), let y = expression(b) else { return nil }
            return "(\(x) or on() \(y))"
        }
    }

    /// A Prometheus duration: `30s`, or milliseconds when not whole seconds.
    static func duration(milliseconds: Int64) -> String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    /// A YAML (and PromQL) double-quoted string.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += "\\x" + String(scalar.value, radix: 16).leftPadded(2) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
