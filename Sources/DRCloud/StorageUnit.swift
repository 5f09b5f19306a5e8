import DRSpec

extension RegionStack {
    /// The backup bucket: versioned, KMS-encrypted, public access blocked,
    /// TLS only, lifecycle rules; on the primary side, replication to the DR
    /// bucket, applied (not just declared) with its role.
    mutating func addStorage() {
        var bucket: [String: CFValue] = [
            "BucketName": .string(AWSRules.bucketName(spec, region: site.region)),
            "VersioningConfiguration": ["Status": "Enabled"],
            "BucketEncryption": ["ServerSideEncryptionConfiguration": [[
                "ServerSideEncryptionByDefault": ["SSEAlgorithm": "aws:kms", "KMSMasterKeyID": .getAtt("DataKey", "Arn")],
                "BucketKeyEnabled": true,
            ]]],
            "PublicAccessBlockConfiguration": ["BlockPublicAcls": true, "BlockPublicPolicy": true,
                                               "IgnorePublicAcls": true, "RestrictPublicBuckets": true],
            "LifecycleConfiguration": ["Rules": [[
                "Id": "age-out-old-versions", "Status": "Enabled",
                "NoncurrentVersionTransitions": [["StorageClass": "GLACIER", "TransitionInDays": 30]],
                "NoncurrentVersionExpiration": ["NoncurrentDays": .int(max(90, spec.backup.retentionDays))],
                "AbortIncompleteMultipartUpload": ["DaysAfterInitiation": 7],
            ]]],
            "Tags": tags,
        ]
        if role == .primary {
            bucket["ReplicationConfiguration"] = .ifCondition("HasDrBucket", [
                "Role": .getAtt("ReplicationRole", "Arn"),
                "Rules": [[
                    "Id": "to-dr-region", "Status": "Enabled", "Priority": 1, "Filter": ["Prefix": ""],
                    "DeleteMarkerReplication": ["Status": "Enabled"],
                    "SourceSelectionCriteria": ["SseKmsEncryptedObjects": ["Status": "Enabled"]],
                    "Destination": ["Bucket": .ref("DrBucketArn"),
                                    "EncryptionConfiguration": ["ReplicaKmsKeyID": .ref("DrKeyArn")]],
                ]],
            ], .noValue)
            let bucketArn = CFValue.sub("arn:${AWS::Partition}:s3:::\(AWSRules.bucketName(spec, region: site.region))")
            template.add("ReplicationRole", CFResource("AWS::IAM::Role", [
                "AssumeRolePolicyDocument": [
                    "Version": "2012-10-17",
                    "Statement": [["Effect": "Allow", "Principal": ["Service": "s3.amazonaws.com"], "Action": "sts:AssumeRole"]],
                ],
                "Policies": [["PolicyName": "replicate-backups", "PolicyDocument": [
                    "Version": "2012-10-17",
                    "Statement": [
                        ["Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": bucketArn],
                        ["Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                         "Resource": .join("", [bucketArn, "/*"])],
                        .ifCondition("HasDrBucket", ["Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                                                     "Resource": .join("", [.ref("DrBucketArn"), "/*"])], .noValue),
                        ["Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": .getAtt("DataKey", "Arn")],
                        .ifCondition("HasDrBucket", ["Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": .ref("DrKeyArn")], .noValue),
                    ],
                ]]],
                "Tags": tags,
            ]))
        }
        template.add("BackupBucket", CFResource("AWS::S3::Bucket", bucket))
        template.add("BackupBucketPolicy", CFResource("AWS::S3::BucketPolicy", [
            "Bucket": .ref("BackupBucket"),
            "PolicyDocument": [
                "Version": "2012-10-17",
                "Statement": [["Sid": "DenyPlainHTTP", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                               "Resource": [.getAtt("BackupBucket", "Arn"), .join("", [.getAtt("BackupBucket", "Arn"), "/*"])],
                               "Condition": ["Bool": ["aws:SecureTransport": "false"]]]],
            ],
        ]))
        template.outputs["BackupBucketArn"] = CFOutput(description: "backup bucket ARN", value: .getAtt("BackupBucket", "Arn"), exportName: nil)
    }
}
