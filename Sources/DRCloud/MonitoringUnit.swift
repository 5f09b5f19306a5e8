import DRSpec

extension RegionStack {
    func alarmName(_ alarm: String) -> String { name(alarm) }

    /// SNS (encrypted), the CloudWatch twins of the agent's alarms, composite
    /// alarms, and EventBridge rules for RDS events.
    mutating func addMonitoring() {
        template.add("AlertTopic", CFResource("AWS::SNS::Topic", [
            "TopicName": .string(name("alerts")), "KmsMasterKeyId": .ref("DataKey"), "Tags": tags,
        ]))
        template.add("AlertTopicPolicy", CFResource("AWS::SNS::TopicPolicy", [
            "Topics": [.ref("AlertTopic")],
            "PolicyDocument": ["Version": "2012-10-17", "Statement": [[
                "Effect": "Allow", "Principal": ["Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]],
                "Action": "sns:Publish", "Resource": .ref("AlertTopic"),
            ]]],
        ]))
        let period = max(60, Int((spec.monitoring.interval.seconds / 60).rounded(.up)) * 60)
        for (index, twin) in CloudWatchAlarms.twins(spec).filter({ $0.region == role }).enumerated() {
            template.add("Alarm\(index)", CFResource("AWS::CloudWatch::Alarm", [
                "AlarmName": .string(alarmName(twin.alarm)),
                "AlarmDescription": .string("pgdr \(twin.alarm)" + (twin.note.map { ": \($0)" } ?? "")),
                "Namespace": .string(twin.namespace), "MetricName": .string(twin.metric),
                "Dimensions": twin.namespace == "pgdr"
                    ? [["Name": "Deployment", "Value": .string(spec.resourceName(spec.name))]]
                    : [["Name": "DBInstanceIdentifier", "Value": .string(AWSRules.instanceIdentifier(spec, dr: role == .dr))]],
                "Statistic": .string(twin.statistic), "Period": .int(period),
                "EvaluationPeriods": .int(twin.evaluationPeriods), "DatapointsToAlarm": .int(twin.datapointsToAlarm),
                "Threshold": .string(String(twin.threshold)), "ComparisonOperator": .string(twin.comparison),
                "TreatMissingData": .string(twin.treatMissingData),
                "AlarmActions": [.ref("AlertTopic")], "OKActions": [.ref("AlertTopic")],
            ], condition: role == .dr ? "HasPrimary" : nil))
        }
        for (index, composite) in CloudWatchAlarms.composites(spec, region: role, alarmName: alarmName).enumerated() {
            let members = CloudWatchAlarms.twins(spec).enumerated().filter { $0.element.region == role }.map(\.offset)
            template.add("Composite\(index)", CFResource("AWS::CloudWatch::CompositeAlarm", [
                "AlarmName": .string(alarmName(composite.name)),
                "AlarmDescription": .string("pgdr \(composite.summary)"),
                "AlarmRule": .string(composite.rule),
                "AlarmActions": [.ref("AlertTopic")], "OKActions": [.ref("AlertTopic")],
            ], dependsOn: members.indices.map { "Alarm\($0)" }, condition: role == .dr ? "HasPrimary" : nil))
        }
        if role == .dr {
            // The primary-down signal that survives the primary region: the DR
            // region's lag monitor reaches the primary over the peering every
            // minute and publishes pgdr/PrimaryReachable (1 or 0). A metric
            // alarm (Route 53 health checks follow metric alarms, not
            // composites), in the DR region; no data counts as unreachable.
            template.add("PrimaryUnreachableAlarm", CFResource("AWS::CloudWatch::Alarm", [
                "AlarmName": .string(alarmName("primary-unreachable")),
                "AlarmDescription": "pgdr: the DR region's lag monitor cannot reach the primary (3 minutes running); the failover function plans a failover and asks for approval",
                "Namespace": "pgdr", "MetricName": "PrimaryReachable",
                "Dimensions": [["Name": "Deployment", "Value": .string(spec.resourceName(spec.name))]],
                "Statistic": "Minimum", "Period": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 3,
                "Threshold": "1", "ComparisonOperator": "LessThanThreshold", "TreatMissingData": "breaching",
                "AlarmActions": [.ref("AlertTopic")], "OKActions": [.ref("AlertTopic")],
            ], condition: "HasPrimary"))
        }
        template.add("RDSEventsRule", CFResource("AWS::Events::Rule", [
            "Name": .string(name("rds-events")),
            "Description": "RDS failover, failure, low storage and recovery events to SNS",
            "EventPattern": ["source": ["aws.rds"], "detail-type": ["RDS DB Instance Event"]],
            "Targets": [["Arn": .ref("AlertTopic"), "Id": "alerts"]],
        ]))
    }
}
