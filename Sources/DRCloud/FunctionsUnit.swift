import DRSpec

extension RegionStack {
    /// The lag monitor (every minute, EventBridge schedule) and the failover
    /// function, as Lambda custom-runtime (`provided.al2023`) functions whose
    /// Swift `bootstrap` comes from a parameterised S3 location. Roles of least
    /// privilege: every action names its resource, except CloudWatch's
    /// PutMetricData, which has none and is limited to pgdr's namespace.
    mutating func addFunctions() {
        let dbArn: CFValue = .sub("arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:\(AWSRules.instanceIdentifier(spec, dr: role == .dr))")
        for (id, base, extra) in [
            ("LagMonitor", "lag-monitor", [CFValue]()),
            ("FailoverFunction", "failover",
             role == .dr ? [["Effect": "Allow", "Action": ["rds:PromoteReadReplica"], "Resource": dbArn]] : []),
        ] {
            let functionName = name(base)
            let logGroup: CFValue = .sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/\(functionName):*")
            template.add("\(id)Logs", CFResource("AWS::Logs::LogGroup", [
                "LogGroupName": .string("/aws/lambda/\(functionName)"), "RetentionInDays": 30, "KmsKeyId": .getAtt("DataKey", "Arn"),
            ]))
            let statements: [CFValue] = [
                ["Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": logGroup],
                ["Effect": "Allow", "Action": ["rds:DescribeDBInstances"], "Resource": dbArn],
                ["Effect": "Allow", "Action": ["sns:Publish"], "Resource": .ref("AlertTopic")],
                ["Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": .getAtt("DataKey", "Arn")],
                ["Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
                 "Condition": ["StringEquals": ["cloudwatch:namespace": "pgdr"]]],
                ["Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface"],
                 "Resource": "*"],
            ] + extra
            template.add("\(id)Role", CFResource("AWS::IAM::Role", [
                "AssumeRolePolicyDocument": ["Version": "2012-10-17", "Statement": [[
                    "Effect": "Allow", "Principal": ["Service": "lambda.amazonaws.com"], "Action": "sts:AssumeRole"]]],
                "Policies": [["PolicyName": .string(base), "PolicyDocument": ["Version": "2012-10-17", "Statement": .list(statements)]]],
                "Tags": tags,
            ]))
            template.add(id, CFResource("AWS::Lambda::Function", [
                "FunctionName": .string(functionName),
                "Runtime": "provided.al2023", "Handler": "bootstrap", "Architectures": ["arm64"],
                "Code": ["S3Bucket": .ref("LambdaCodeBucket"), "S3Key": .ref("LambdaCodeKey")],
                "Role": .getAtt("\(id)Role", "Arn"), "Timeout": 60, "MemorySize": 256,
                "Environment": ["Variables": ["PGDR_FUNCTION": .string(base), "PGDR_DB_INSTANCE": .string(AWSRules.instanceIdentifier(spec, dr: role == .dr)),
                                              "PGDR_TOPIC": .ref("AlertTopic")]],
                "VpcConfig": ["SubnetIds": [.ref("PrivateSubnet0"), .ref("PrivateSubnet1")],
                              "SecurityGroupIds": [.ref("EndpointSecurityGroup")]],
                "Tags": tags,
            ], dependsOn: ["\(id)Logs"]))
        }
        template.add("LagSchedule", CFResource("AWS::Events::Rule", [
            "Name": .string(name("lag-schedule")), "Description": "pgdr lag monitor, every minute",
            "ScheduleExpression": "rate(1 minute)",
            "Targets": [["Arn": .getAtt("LagMonitor", "Arn"), "Id": "lag-monitor"]],
        ]))
        template.add("LagSchedulePermission", CFResource("AWS::Lambda::Permission", [
            "FunctionName": .ref("LagMonitor"), "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com", "SourceArn": .getAtt("LagSchedule", "Arn"),
        ]))
    }

    /// Route 53: a health check on the primary-region "primary-down" alarm,
    /// and PRIMARY / SECONDARY failover records.
    mutating func addDNS() {
        guard let dns = spec.dns else { return }
        var record: [String: CFValue] = [
            "HostedZoneId": .string(dns.hostedZoneId), "Name": .string(dns.recordName), "Type": "CNAME", "TTL": "30",
            "SetIdentifier": .string(name(role == .primary ? "primary" : "secondary")),
            "Failover": .string(role == .primary ? "PRIMARY" : "SECONDARY"),
            "ResourceRecords": [.getAtt("Database", "Endpoint.Address")],
        ]
        if role == .primary {
            template.add("PrimaryHealthCheck", CFResource("AWS::Route53::HealthCheck", [
                "HealthCheckConfig": [
                    "Type": "CLOUDWATCH_METRIC",
                    "AlarmIdentifier": ["Name": .string(alarmName(DefaultAlarms.primaryDown)), "Region": .string(site.region)],
                    "InsufficientDataHealthStatus": "LastKnownStatus",
                ],
                "HealthCheckTags": tags,
            ]))
            record["HealthCheckId"] = .ref("PrimaryHealthCheck")
        }
        template.add("FailoverRecord", CFResource("AWS::Route53::RecordSet", record, condition: role == .dr ? "HasPrimary" : nil))
    }
}
