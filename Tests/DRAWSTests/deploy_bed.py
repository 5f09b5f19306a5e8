#!/usr/bin/env python3
"""The bed of the deploy and destroy tests, driven with boto3 (AWS's own SDK, not pgdr),
against moto_cfn.py (moto_server with its CloudFormation gaps filled):

  deploy_bed.py setup URL      while moto's auth is still off: an IAM user `deployer` with
                               exactly the deploy policy of docs/deploy.md, an admin user for
                               this script, a Lambda code bucket in each region, a hosted zone;
                               then turns signature checking on. Prints JSON.
  deploy_bed.py zip [URL] PATH writes a small zip standing in for `pgdr package`'s (moto never runs it).
  deploy_bed.py fill URL       (admin) what a running deployment accumulates: two versions and a
                               delete marker of an object in each backup bucket, failover records
                               in Parameter Store (DR region).
  deploy_bed.py leftovers URL  (admin) what RDS and the failover function leave outside the stacks
                               after a destroy raced them: the replica's log group written again, a
                               failover record.
  deploy_bed.py inventory URL  (admin) JSON of what exists in both regions.
"""
import json, sys, urllib.request, zipfile

command = sys.argv[1]
REGIONS = ("us-east-1", "us-east-2")

if command == "zip":
    with zipfile.ZipFile(sys.argv[-1], "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\nexit 1\n")
        archive.writestr("pgdr.yaml", "name: orders\n")
    sys.exit(0)

import boto3
from botocore.config import Config

url = sys.argv[2]
STATE = "/tmp/pgdr-deploy-bed-" + url.rsplit(":", 1)[1].strip("/") + ".json"

# What `pgdr deploy` and `pgdr destroy` call themselves (docs/deploy.md); CloudFormation
# creates the resources with the caller's rights on AWS, which moto does not check.
DEPLOY_ACTIONS = [
    "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet",
    "cloudformation:DeleteStack", "s3:GetObject", "s3:PutObject", "s3:ListBucketVersions", "s3:ListBucket",
    "s3:DeleteObject", "s3:DeleteObjectVersion", "rds:DescribeDBInstances", "rds:DeleteDBInstance",
    "logs:DeleteLogGroup", "ssm:GetParametersByPath", "ssm:DeleteParameter",
]


def client(service, region="us-east-1", creds=None):
    creds = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    # A long read timeout: moto answers slowly beside a loaded test run (see moto_bed.py).
    return boto3.client(service, region_name=region, endpoint_url=url, config=Config(read_timeout=600, connect_timeout=30), **creds)


def reset_auth(unchecked):
    """Signature checking on, after `unchecked` more requests."""
    request = urllib.request.Request(url.rstrip("/") + "/moto-api/reset-auth", data=str(unchecked).encode(),
                                     headers={"Content-Type": "text/plain"}, method="POST")
    urllib.request.urlopen(request).read()


def admin():
    state = json.load(open(STATE))
    return {"aws_access_key_id": state["admin"]["key"], "aws_secret_access_key": state["admin"]["secret"]}


if command == "setup":
    iam = client("iam")
    made = {}
    for user, actions in (("deployer", DEPLOY_ACTIONS), ("bed-admin", "*")):
        iam.create_user(UserName=user)
        document = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
        arn = iam.create_policy(PolicyName=user + "-policy", PolicyDocument=document)["Policy"]["Arn"]
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        made[user] = {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    buckets = {}
    for region in REGIONS:
        name = "pgdr-code-" + region
        s3 = client("s3", region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        buckets[region] = name
    zone = client("route53").create_hosted_zone(Name="example.com", CallerReference="pgdr-deploy-bed")["HostedZone"]["Id"].split("/")[-1]
    state = {"deployer": made["deployer"], "admin": made["bed-admin"], "codeBuckets": buckets, "zone": zone}
    json.dump(state, open(STATE, "w"))
    reset_auth(0)
    print(json.dumps(state))

elif command == "fill":
    creds = admin()
    for region in REGIONS:
        bucket = f"orders-backup-{region}-prod"
        s3 = client("s3", region, creds)
        # The template asks for versioning; moto's CloudFormation ignores VersioningConfiguration.
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=bucket, Key="pgbackrest/backup.info", Body=b"first")
        s3.put_object(Bucket=bucket, Key="pgbackrest/backup.info", Body=b"second")
        s3.put_object(Bucket=bucket, Key="pgbackrest/archive/000000010000000000000001", Body=b"wal")
        s3.delete_object(Bucket=bucket, Key="pgbackrest/backup.info")
    ssm = client("ssm", "us-east-2", creds)
    for kind in ("plans", "approvals"):
        ssm.put_parameter(Name=f"/pgdr/orders-prod/{kind}/20261201-0001", Value="{}", Type="String")

elif command == "leftovers":
    creds = admin()
    client("logs", "us-east-2", creds).create_log_group(logGroupName="/aws/rds/instance/orders-replica-prod/postgresql")
    client("ssm", "us-east-2", creds).put_parameter(Name="/pgdr/orders-prod/runs/20261201-0002", Value="{}", Type="String")

elif command == "inventory":
    creds = admin()
    out = {}
    for region in REGIONS:
        cfn = client("cloudformation", region, creds)
        stacks = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"}
        s3 = client("s3", region, creds)
        buckets = {}
        for b in s3.list_buckets()["Buckets"]:
            if region not in b["Name"]:
                continue
            listing = s3.list_object_versions(Bucket=b["Name"])
            buckets[b["Name"]] = len(listing.get("Versions", [])) + len(listing.get("DeleteMarkers", []))
        ec2 = client("ec2", region, creds)
        # moto fails SigV4 on Lambda's REST GETs, botocore's own included: this one request goes unchecked.
        reset_auth(1)
        functions = sorted(f["FunctionName"] for f in client("lambda", region, creds).list_functions()["Functions"])
        out[region] = {
            "stacks": stacks,
            "instances": {d["DBInstanceIdentifier"]: d.get("ReadReplicaSourceDBInstanceIdentifier")
                          for d in client("rds", region, creds).describe_db_instances()["DBInstances"]},
            "buckets": buckets,
            "alarms": sorted(a["AlarmName"] for a in client("cloudwatch", region, creds).describe_alarms()["MetricAlarms"]),
            "logGroups": sorted(g["logGroupName"] for g in client("logs", region, creds).describe_log_groups()["logGroups"]),
            "records": sorted(p["Name"] for p in client("ssm", region, creds).get_parameters_by_path(Path="/pgdr/", Recursive=True)["Parameters"]),
            "vpcs": sorted(v["VpcId"] + " " + v["CidrBlock"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")),
            "functions": functions,
            "peerings": sorted(p["VpcPeeringConnectionId"] for p in ec2.describe_vpc_peering_connections()["VpcPeeringConnections"]
                              if p["Status"]["Code"] != "deleted"),
        }
    print(json.dumps(out))
