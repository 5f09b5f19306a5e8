import DRSpec

extension RegionStack {
    /// The primary RDS PostgreSQL instance, or in the DR region a real
    /// cross-region read replica of it (source by ARN, encrypted with the DR
    /// region's key; no Engine, master user or StorageEncrypted, which a
    /// replica inherits and cfn-lint rejects).
    mutating func addDatabase() {
        template.add("MonitoringRole", CFResource("AWS::IAM::Role", [
            "AssumeRolePolicyDocument": [
                "Version": "2012-10-17",
                "Statement": [["Effect": "Allow", "Principal": ["Service": "monitoring.rds.amazonaws.com"],
                               "Action": "sts:AssumeRole"]],
            ],
            "ManagedPolicyArns": [.sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole")],
            "Tags": tags,
        ]))
        var common: [String: CFValue] = [
            "DBInstanceClass": .string(site.instanceClass),
            "MultiAZ": .bool(site.multiAZ),
            "DBSubnetGroupName": .ref("DatabaseSubnetGroup"),
            "VPCSecurityGroups": [.ref("DatabaseSecurityGroup")],
            "DBParameterGroupName": .ref("ParameterGroup"),
            "PubliclyAccessible": false,
            "EnablePerformanceInsights": true,
            "PerformanceInsightsKMSKeyId": .getAtt("DataKey", "Arn"),
            "PerformanceInsightsRetentionPeriod": 7,
            "MonitoringInterval": 60,
            "MonitoringRoleArn": .getAtt("MonitoringRole", "Arn"),
            "DeletionProtection": .bool(site.deletionProtection),
            "AutoMinorVersionUpgrade": true,
            "CopyTagsToSnapshot": true,
            "EnableIAMDatabaseAuthentication": true,
            "BackupRetentionPeriod": .int(spec.backup.retentionDays),
            "Tags": tags,
        ]
        // RDS would create the log group for exported logs itself, outside
        // the stack, unencrypted and kept forever: the stack owns it instead.
        let identifier = AWSRules.instanceIdentifier(spec, dr: role == .dr)
        template.add("DatabaseLogs", CFResource("AWS::Logs::LogGroup", [
            "LogGroupName": .string("/aws/rds/instance/\(identifier)/postgresql"), "RetentionInDays": 30,
            "KmsKeyId": .getAtt("DataKey", "Arn"),
        ]))
        common["EnableCloudwatchLogsExports"] = ["postgresql"]
        if role == .primary {
            common["DBInstanceIdentifier"] = .string(AWSRules.instanceIdentifier(spec, dr: false))
            common["Engine"] = "postgres"
            common["EngineVersion"] = .string(AWSRules.engineVersion(spec.engine))
            common["AllocatedStorage"] = .string("\(site.storage.bytes >> 30)")
            common["StorageType"] = "gp3"
            common["StorageEncrypted"] = true
            common["KmsKeyId"] = .getAtt("DataKey", "Arn")
            common["MasterUsername"] = .sub("{{resolve:secretsmanager:${MasterSecret}:SecretString:username}}")
            common["MasterUserPassword"] = .sub("{{resolve:secretsmanager:${MasterSecret}:SecretString:password}}")
            common["PreferredBackupWindow"] = "03:00-04:00"
            template.add("Database", CFResource("AWS::RDS::DBInstance", common, dependsOn: ["DatabaseLogs"]))
            template.add("MasterSecretAttachment", CFResource("AWS::SecretsManager::SecretTargetAttachment", [
                "SecretId": .ref("MasterSecret"), "TargetId": .ref("Database"), "TargetType": "AWS::RDS::DBInstance",
            ]))
            template.outputs["DBInstanceArn"] = CFOutput(description: "primary DB instance ARN (the DR stack's PrimaryDBInstanceArn)",
                                                         value: .getAtt("Database", "DBInstanceArn"), exportName: name("db-arn"))
            template.outputs["Endpoint"] = CFOutput(description: "primary endpoint", value: .getAtt("Database", "Endpoint.Address"), exportName: nil)
        } else {
            common["DBInstanceIdentifier"] = .string(AWSRules.instanceIdentifier(spec, dr: true))
            common["SourceDBInstanceIdentifier"] = .ref("PrimaryDBInstanceArn")
            common["SourceRegion"] = .string(peer.region)
            common["KmsKeyId"] = .getAtt("DataKey", "Arn")
            // Retained: an update that empties PrimaryDBInstanceArn (step 3 re-run
            // while the primary region is down) drops it from the stack, and it
            // may be the promoted primary by then. `pgdr destroy` deletes it by name.
            template.add("Database", CFResource("AWS::RDS::DBInstance", common, dependsOn: ["DatabaseLogs"], condition: "HasPrimary",
                                                deletionPolicy: "Retain"))
            template.outputs["Endpoint"] = CFOutput(description: "replica endpoint", value: .getAtt("Database", "Endpoint.Address"),
                                                    exportName: nil, condition: "HasPrimary")
        }
        template.outputs["DataKeyArn"] = CFOutput(description: "this region's KMS key", value: .getAtt("DataKey", "Arn"), exportName: nil)
    }
}
