import DRSpec

extension RegionStack {
    /// A KMS key per region, the master secret, and a parameter group that
    /// forces TLS.
    ///
    /// Every service that uses the key, and how it is allowed to (the audit
    /// is in docs/aws.md): CloudWatch Logs needs its own statement, for its
    /// regional principal and only for this account's log groups (the
    /// `kms:EncryptionContext:aws:logs:arn` condition); CloudWatch alarms and
    /// EventBridge publish to the encrypted topic, so they may decrypt and
    /// generate data keys. RDS, Performance Insights, Secrets Manager, SNS
    /// and S3 (replication included) use the key on behalf of a principal of
    /// this account through grants, which the account statement delegates to
    /// IAM.
    mutating func addSecurity() {
        template.add("DataKey", CFResource("AWS::KMS::Key", [
            "Description": .string("pgdr \(name("data")) encryption key"),
            "EnableKeyRotation": true,
            "KeyPolicy": [
                "Version": "2012-10-17",
                "Statement": [
                    ["Sid": "AccountAdministers", "Effect": "Allow",
                     "Principal": ["AWS": .sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")],
                     "Action": "kms:*", "Resource": "*"],
                    ["Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups", "Effect": "Allow",
                     "Principal": ["Service": .sub("logs.${AWS::Region}.amazonaws.com")],
                     "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                     "Resource": "*",
                     "Condition": ["ArnLike": [
                        "kms:EncryptionContext:aws:logs:arn": .sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"),
                     ]]],
                    ["Sid": "AlarmsAndEventsPublishToTheEncryptedTopic", "Effect": "Allow",
                     "Principal": ["Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]],
                     "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"],
                ],
            ],
            "Tags": tags,
        ]))
        template.add("DataKeyAlias", CFResource("AWS::KMS::Alias", [
            "AliasName": .string("alias/\(name("data"))"), "TargetKeyId": .ref("DataKey"),
        ]))
        if role == .primary {
            // Replicated to the DR region with the DR key (from the second
            // deploy step on): the DR side keeps the credentials when the
            // primary region is gone. Rotation replicates with it.
            template.add("MasterSecret", CFResource("AWS::SecretsManager::Secret", [
                "Name": .string(name("master")),
                "Description": "pgdr master credentials (generated; never in the template)",
                "KmsKeyId": .ref("DataKey"),
                "GenerateSecretString": [
                    "SecretStringTemplate": "{\"username\": \"pgdr_master\"}",
                    "GenerateStringKey": "password", "PasswordLength": 32,
                    "ExcludeCharacters": "\"@/\\' ",
                ],
                "ReplicaRegions": .ifCondition("HasDrKey", [["Region": .string(spec.dr.region), "KmsKeyId": .ref("DrKeyArn")]], .noValue),
                "Tags": tags,
            ]))
            // Rotation by the function AWS hosts for PostgreSQL (the
            // Secrets Manager transform creates it in the VPC, beside pgdr's).
            template.transforms = ["AWS::SecretsManager-2020-07-23"]
            template.add("MasterSecretRotation", CFResource("AWS::SecretsManager::RotationSchedule", [
                "SecretId": .ref("MasterSecret"),
                "HostedRotationLambda": [
                    "RotationType": "PostgreSQLSingleUser",
                    "RotationLambdaName": .string(name("rotation")),
                    "KmsKeyArn": .getAtt("DataKey", "Arn"),
                    "VpcSubnetIds": .join(",", [.ref("PrivateSubnet0"), .ref("PrivateSubnet1")]),
                    "VpcSecurityGroupIds": .ref("EndpointSecurityGroup"),
                ],
                "RotationRules": ["AutomaticallyAfterDays": 30],
            ], dependsOn: ["MasterSecretAttachment"]))
        }
        template.add("ParameterGroup", CFResource("AWS::RDS::DBParameterGroup", [
            "Description": .string("pgdr \(name("db")) parameters"),
            "Family": .string("postgres\(spec.engine.major)"),
            "Parameters": ["rds.force_ssl": "1", "log_min_duration_statement": "1000"],
            "Tags": tags,
        ]))
    }
}
