#!/usr/bin/env python3
"""The S3 side of the S3-repository test, on moto_server, driven with boto3 (AWS's SDK):

  s3_bed.py setup URL BUCKET   an IAM user for pgBackRest allowed s3:* on the bucket, and
                               the bucket. Prints JSON {"key", "secret"} for the test (never
                               logged). Signature checking stays off: moto_server's S3 check
                               answers SignatureDoesNotMatch to pgBackRest's requests (a
                               gap of moto's, or of pgBackRest's signing against it, not
                               understood yet; docs/backups.md says so).
  s3_bed.py keys URL BUCKET    (auth on; {"key", "secret"} on standard input) prints JSON:
                               the object keys in the bucket.
"""
import json, sys
import boto3

command, url, bucket = sys.argv[1], sys.argv[2], sys.argv[3]


def client(service, key="testing", secret="testing"):
    return boto3.client(service, region_name="us-east-2", endpoint_url=url,
                        aws_access_key_id=key, aws_secret_access_key=secret)


if command == "setup":
    iam = client("iam")
    iam.create_user(UserName="pgbackrest")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                         "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]})
    arn = iam.create_policy(PolicyName="pgbackrest-s3", PolicyDocument=policy)["Policy"]["Arn"]
    iam.attach_user_policy(UserName="pgbackrest", PolicyArn=arn)
    key = iam.create_access_key(UserName="pgbackrest")["AccessKey"]
    client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
    print(json.dumps({"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
elif command == "keys":
    credentials = json.load(sys.stdin)
    s3 = client("s3", credentials["key"], credentials["secret"])
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    print(json.dumps([o["Key"] for page in pages for o in page.get("Contents", [])]))
