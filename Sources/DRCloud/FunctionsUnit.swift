import DRSpec

extension RegionStack {
    /// The lag monitor (every minute, EventBridge schedule) and the failover
    /// function, as Lambda custom-runtime (`provided.al2023`) functions whose
    /// Swift `bootstrap` comes from a parameterised S3 location. Roles of least
    /// privilege: every action names its resource, except CloudWatch's
    /// PutMetricData, which has none and is limited to pgdr's namespace.
    mutating func addFunctions() {
        let dbArn: CFValue = .sub("arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:\(AWSRules.instanceIdentifier(spec, dr: role == .dr))")
        // The old primary, in the other region: what the DR failover function fences.
        let peerDBArn: CFValue = .sub("arn:${AWS::Partition}:rds:\(peer.region):${AWS::AccountId}:db:\(AWSRules.instanceIdentifier(spec, dr: role != .dr))")
        // This region's copy of the master secret (the primary's, or its replica): the SQL checks' credentials.
        let secretArn: CFValue = .sub("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:\(name("master"))-*")
        var failover: [CFValue] = []
        if role == .dr {
            failover = [
                ["Effect": "Allow", "Action": ["rds:PromoteReadReplica"], "Resource": dbArn],
                ["Effect": "Allow", "Action": ["rds:ModifyDBInstance", "rds:RebootDBInstance", "rds:DescribeDBInstances"], "Resource": peerDBArn],
            ]
            if let dns = spec.dns {
                failover += [
                    ["Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets"],
                     "Resource": .sub("arn:${AWS::Partition}:route53:::hostedzone/\(dns.hostedZoneId)")],
                    ["Effect": "Allow", "Action": ["route53:GetChange"], "Resource": .sub("arn:${AWS::Partition}:route53:::change/*")],
                ]
            }
        }
        let readSecret: CFValue = ["Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secretArn]
        // Both functions find which instance is the primary from the RDS API, in both regions.
        let describeBoth: CFValue = ["Effect": "Allow", "Action": ["rds:DescribeDBInstances"], "Resource": [dbArn, peerDBArn]]
        // The failover function's records (plans, approvals, runs) and the evidence it plans on.
        let records: CFValue = ["Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:PutParameter", "ssm:GetParametersByPath"],
                                "Resource": .sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter\(Self.recordsPath(spec))*")]
        let readLag: CFValue = ["Effect": "Allow", "Action": ["cloudwatch:GetMetricData"], "Resource": "*"]
        // An invocation that fails every retry is kept (14 days, encrypted), not lost.
        template.add("FunctionDeadLetters", CFResource("AWS::SQS::Queue", [
            "QueueName": .string(name("function-dead-letters")), "MessageRetentionPeriod": 1_209_600,
            "KmsMasterKeyId": .ref("DataKey"), "Tags": tags,
        ]))
        for (id, base, extra, timeout) in [
            ("LagMonitor", "lag-monitor", [readSecret, describeBoth], 60),
            // A promotion takes minutes: the run waits for RDS's own signal that it finished.
            ("FailoverFunction", "failover", [readSecret, describeBoth, records, readLag] + failover, 900),
        ] {
            let functionName = name(base)
            let logGroup: CFValue = .sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/\(functionName):*")
            template.add("\(id)Logs", CFResource("AWS::Logs::LogGroup", [
                "LogGroupName": .string("/aws/lambda/\(functionName)"), "RetentionInDays": 30, "KmsKeyId": .getAtt("DataKey", "Arn"),
            ]))
            let statements: [CFValue] = [
                ["Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": logGroup],
                ["Effect": "Allow", "Action": ["sns:Publish"], "Resource": .ref("AlertTopic")],
                ["Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": .getAtt("DataKey", "Arn")],
                ["Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
                 "Condition": ["StringEquals": ["cloudwatch:namespace": "pgdr"]]],
                ["Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface"],
                 "Resource": "*"],
                ["Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": .getAtt("FunctionDeadLetters", "Arn")],
            ] + extra
            template.add("\(id)Role", CFResource("AWS::IAM::Role", [
                "AssumeRolePolicyDocument": ["Version": "2012-10-17", "Statement": [[
                    "Effect": "Allow", "Principal": ["Service": "lambda.amazonaws.com"], "Action": "sts:AssumeRole"]]],
                "Policies": [["PolicyName": .string(base), "PolicyDocument": ["Version": "2012-10-17", "Statement": .list(statements)]]],
                "Tags": tags,
            ]))
            template.add(id, CFResource("AWS::Lambda::Function", [
                "FunctionName": .string(functionName),
                // x86_64: the bootstrap is built where pgdr package runs (scripts/build-functions).
                "Runtime": "provided.al2023", "Handler": "bootstrap", "Architectures": ["x86_64"],
                "Code": ["S3Bucket": .ref("LambdaCodeBucket"), "S3Key": .ref("LambdaCodeKey")],
                "Role": .getAtt("\(id)Role", "Arn"), "Timeout": .int(timeout), "MemorySize": 256,
                // One at a time: two failover runs must never race, and a slow lag round must not pile up.
                "ReservedConcurrentExecutions": 1,
                "KmsKeyArn": .getAtt("DataKey", "Arn"),
                "DeadLetterConfig": ["TargetArn": .getAtt("FunctionDeadLetters", "Arn")],
                // The rest (instances, regions, the RPO limit) comes from the pgdr.yaml in the zip.
                "Environment": ["Variables": ["PGDR_FUNCTION": .string(base), "PGDR_SECRET": .string(name("master")),
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
        if role == .dr {
            // The primary-down signal starts the failover function, which plans
            // and asks for approval; nothing is promoted before an approval.
            template.add("PrimaryDownRule", CFResource("AWS::Events::Rule", [
                "Name": .string(name("primary-down")),
                "Description": "pgdr: the primary-unreachable alarm in ALARM starts the failover function (plan, then ask for approval)",
                "EventPattern": ["source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
                                 "resources": [.getAtt("PrimaryUnreachableAlarm", "Arn")],
                                 "detail": ["state": ["value": ["ALARM"]]]],
                "Targets": [["Arn": .getAtt("FailoverFunction", "Arn"), "Id": "failover"]],
            ], condition: "HasPrimary"))
            template.add("PrimaryDownPermission", CFResource("AWS::Lambda::Permission", [
                "FunctionName": .ref("FailoverFunction"), "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com", "SourceArn": .getAtt("PrimaryDownRule", "Arn"),
            ], condition: "HasPrimary"))
            // An approval record created (`pgdr approve ID`) starts the run of that plan.
            template.add("ApprovalRule", CFResource("AWS::Events::Rule", [
                "Name": .string(name("approvals")),
                "Description": "pgdr: an approval record in Parameter Store starts the failover function's run of that plan",
                "EventPattern": ["source": ["aws.ssm"], "detail-type": ["Parameter Store Change"],
                                 "detail": ["name": [["prefix": .string(Self.recordsPath(spec) + "approvals/")]], "operation": ["Create"]]],
                "Targets": [["Arn": .getAtt("FailoverFunction", "Arn"), "Id": "failover"]],
            ]))
            template.add("ApprovalPermission", CFResource("AWS::Lambda::Permission", [
                "FunctionName": .ref("FailoverFunction"), "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com", "SourceArn": .getAtt("ApprovalRule", "Arn"),
            ]))
        }
    }

    /// Where the failover function keeps its records in Parameter Store (DRRDS.OperationRecords).
    static func recordsPath(_ spec: Spec) -> String { AWSRules.recordsRoot(spec) }

    /// Route 53: PRIMARY / SECONDARY failover records with no health check
    /// on them, so Route 53 never moves clients by itself (it would send
    /// them to a read-only replica before any approval or promotion): the
    /// records change only after promotion, by `pgdr approve` or the
    /// failover function. The DR stack holds a health check on the DR
    /// region's primary-unreachable metric alarm, for what watches Route 53
    /// (dashboards, Route 53 ARC); the composite alarms cannot back one.
    mutating func addDNS() {
        guard let dns = spec.dns else { return }
        let record: [String: CFValue] = [
            "HostedZoneId": .string(dns.hostedZoneId), "Name": .string(dns.recordName), "Type": "CNAME", "TTL": "30",
            "SetIdentifier": .string(name(role == .primary ? "primary" : "secondary")),
            "Failover": .string(role == .primary ? "PRIMARY" : "SECONDARY"),
            "ResourceRecords": [.getAtt("Database", "Endpoint.Address")],
        ]
        if role == .dr {
            template.add("PrimaryHealthCheck", CFResource("AWS::Route53::HealthCheck", [
                "HealthCheckConfig": [
                    "Type": "CLOUDWATCH_METRIC",
                    "AlarmIdentifier": ["Name": .string(alarmName("primary-unreachable")), "Region": .string(site.region)],
                    "InsufficientDataHealthStatus": "Unhealthy",
                ],
                "HealthCheckTags": tags,
            ], dependsOn: ["PrimaryUnreachableAlarm"], condition: "HasPrimary"))
            template.outputs["PrimaryHealthCheckId"] = CFOutput(description: "Route 53 health check on the primary (dns.healthCheckId, for pgdr status)",
                                                                value: .ref("PrimaryHealthCheck"), exportName: nil, condition: "HasPrimary")
        }
        template.add("FailoverRecord", CFResource("AWS::Route53::RecordSet", record, condition: role == .dr ? "HasPrimary" : nil))
    }
}
