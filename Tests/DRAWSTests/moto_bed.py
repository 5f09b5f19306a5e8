#!/usr/bin/env python3
"""The AWS test bed around moto_server, driven with boto3 (AWS's own SDK, not pgdr):

  moto_bed.py setup URL      while moto's auth is still off: an IAM user for pgdr with
                             a policy, an admin user for this script, the RDS primary
                             (us-east-1) and its cross-region replica (us-east-2), a fence
                             parameter group, a hosted zone with the failover records, an
                             SNS topic in each region with an SQS queue subscribed; then
                             turns signature checking on. Prints JSON with what it made.
  moto_bed.py inspect URL    (auth on, as the admin) prints JSON: both instances, the
                             records, the messages the queues received.
  moto_bed.py setup URL standalone   the same, but both instances standalone (the roles
                             after a failover), for the rejoin test.
  moto_bed.py lag URL SECS   puts a ReplicaLag datapoint for the replica (moto computes none).
  moto_bed.py heartbeat URL SECS   puts the lag monitor's pgdr/ReplicationLagSeconds datapoint (DR region).
  moto_bed.py promoted URL   plays RDS's part that moto does not model: a promotion that
                             finishes (the replica replaced by a standalone instance, same name).
  moto_bed.py secret URL NAME REGION   creates a Secrets Manager secret from standard input.
  moto_bed.py alarm URL NAME REGION STATE [REASON]   a metric alarm in that state (moto evaluates none).
  moto_bed.py metrics URL REGION       the pgdr metrics' datapoints of the last 10 minutes.
  moto_bed.py recording URL  the requests moto recorded: [[method, path, action or target, body, access key]].

Secrets are printed only to the test that runs this script (stdout), never logged.
"""
import base64, json, sys, urllib.request
import boto3
from botocore.config import Config

url, command = sys.argv[2], sys.argv[1]
STATE = "/tmp/pgdr-moto-bed-" + url.rsplit(":", 1)[1].strip("/") + ".json"


# moto_server runs at a low priority beside a loaded test run: botocore's 60 s read
# timeout was outrun once, and its retry of CreateDBInstance then found the instance
# the first attempt had made. A long read timeout, so a slow answer is waited for.
PATIENT = Config(read_timeout=600, connect_timeout=30)


def client(service, region="us-east-1", creds=None):
    creds = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, region_name=region, endpoint_url=url, config=PATIENT, **creds)


def admin():
    state = json.load(open(STATE))
    return {"aws_access_key_id": state["admin"]["key"], "aws_secret_access_key": state["admin"]["secret"]}


def reset_auth(unchecked):
    """Signature checking on, after `unchecked` more requests."""
    request = urllib.request.Request(url.rstrip("/") + "/moto-api/reset-auth", data=str(unchecked).encode(),
                                     headers={"Content-Type": "text/plain"}, method="POST")
    urllib.request.urlopen(request).read()


if command == "setup":
    # moto names an action by the request's signing name: CloudWatch's are "monitoring:" here, "cloudwatch:" on AWS.
    iam = client("iam")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
        "rds:DescribeDBInstances", "rds:PromoteReadReplica", "rds:CreateDBInstanceReadReplica", "rds:ModifyDBInstance",
        "rds:RebootDBInstance", "rds:DescribeEvents", "monitoring:GetMetricData", "monitoring:PutMetricData",
        "monitoring:DescribeAlarms", "route53:ChangeResourceRecordSets", "route53:GetChange", "route53:GetHealthCheckStatus",
        "sns:Publish", "secretsmanager:GetSecretValue", "sts:GetCallerIdentity",
        "ssm:GetParameter", "ssm:PutParameter", "ssm:GetParametersByPath", "ssm:DeleteParameter"], "Resource": "*"}]})
    made = {}
    for user, document in (("pgdr", policy), ("bed-admin", json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))):
        iam.create_user(UserName=user)
        arn = iam.create_policy(PolicyName=user + "-policy", PolicyDocument=document)["Policy"]["Arn"]
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        made[user] = {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    east1, east2 = client("rds", "us-east-1"), client("rds", "us-east-2")
    primary = east1.create_db_instance(DBInstanceIdentifier="orders-db-prod", Engine="postgres", EngineVersion="15.5",
                                       DBInstanceClass="db.r6g.large", AllocatedStorage=100, MultiAZ=True,
                                       MasterUsername="pgdr_master", MasterUserPassword="not-a-real-password-1",
                                       BackupRetentionPeriod=7, StorageEncrypted=True,
                                       KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/primary")["DBInstance"]
    if len(sys.argv) > 3 and sys.argv[3] == "standalone":
        east2.create_db_instance(DBInstanceIdentifier="orders-replica-prod", Engine="postgres", EngineVersion="15.5",
                                 DBInstanceClass="db.r6g.large", AllocatedStorage=100, MasterUsername="pgdr_master",
                                 MasterUserPassword="not-a-real-password-1", BackupRetentionPeriod=7, StorageEncrypted=True,
                                 KmsKeyId="arn:aws:kms:us-east-2:123456789012:key/replica")
    else:
        east2.create_db_instance_read_replica(DBInstanceIdentifier="orders-replica-prod", SourceDBInstanceIdentifier=primary["DBInstanceArn"],
                                              SourceRegion="us-east-1", DBInstanceClass="db.r6g.large",
                                              KmsKeyId="arn:aws:kms:us-east-2:123456789012:key/replica")
    east1.create_db_parameter_group(DBParameterGroupName="orders-fence-prod", DBParameterGroupFamily="postgres15",
                                    Description="pgdr fence: default_transaction_read_only")
    r53 = client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="pgdr-bed")["HostedZone"]["Id"].split("/")[-1]
    address = east1.describe_db_instances(DBInstanceIdentifier="orders-db-prod")["DBInstances"][0]["Endpoint"]["Address"]
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "db.example.com", "Type": "CNAME", "SetIdentifier": f"orders-{role}-prod",
                                                   "Failover": role.upper(), "TTL": 30, "ResourceRecords": [{"Value": address}]}}
        for role in ("primary", "secondary")]})
    queues = {}
    for region in ("us-east-1", "us-east-2"):
        topic = client("sns", region).create_topic(Name="orders-alerts-prod")["TopicArn"]
        sqs = client("sqs", region)
        queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        client("sns", region).subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        queues[region] = queue
    state = {"pgdr": made["pgdr"], "admin": made["bed-admin"], "zone": zone, "queues": queues, "primaryAddress": address}
    json.dump(state, open(STATE, "w"))
    urllib.request.urlopen(urllib.request.Request(url.rstrip("/") + "/moto-api/recorder/start-recording", data=b"", method="POST")).read()
    reset_auth(0)
    print(json.dumps(state))

elif command == "inspect":
    creds, state = admin(), json.load(open(STATE))
    out = {"instances": {}, "records": [], "messages": {}}
    for region in ("us-east-1", "us-east-2"):
        for db in client("rds", region, creds).describe_db_instances()["DBInstances"]:
            out["instances"][db["DBInstanceIdentifier"]] = {
                "region": region, "source": db.get("ReadReplicaSourceDBInstanceIdentifier"),
                "parameterGroup": (db.get("DBParameterGroups") or [{}])[0].get("DBParameterGroupName"),
                "backupRetention": db.get("BackupRetentionPeriod"), "address": db["Endpoint"]["Address"],
                "kmsKeyId": db.get("KmsKeyId")}
        sqs = client("sqs", region, creds)
        messages = sqs.receive_message(QueueUrl=state["queues"][region], MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        out["messages"][region] = [json.loads(m["Body"]).get("Message") for m in messages]
    # moto fails SigV4 on every Route 53 GET, botocore's own included: let
    # exactly this one request through unchecked (checking resumes after it).
    reset_auth(1)
    records = client("route53", creds=creds).list_resource_record_sets(HostedZoneId=state["zone"])["ResourceRecordSets"]
    out["records"] = [{"name": r["Name"], "set": r.get("SetIdentifier"), "failover": r.get("Failover"),
                       "value": r["ResourceRecords"][0]["Value"]} for r in records if r["Type"] == "CNAME"]
    print(json.dumps(out))

elif command == "promoted":
    rds = client("rds", "us-east-2", admin())
    rds.delete_db_instance(DBInstanceIdentifier="orders-replica-prod", SkipFinalSnapshot=True)
    rds.create_db_instance(DBInstanceIdentifier="orders-replica-prod", Engine="postgres", EngineVersion="15.5",
                           DBInstanceClass="db.r6g.large", AllocatedStorage=100, MasterUsername="pgdr_master",
                           MasterUserPassword="not-a-real-password-1", BackupRetentionPeriod=7, StorageEncrypted=True,
                           KmsKeyId="arn:aws:kms:us-east-2:123456789012:key/replica")
    print("{}")

elif command == "recording":
    from urllib.parse import parse_qs
    text = urllib.request.urlopen(url.rstrip("/") + "/moto-api/recorder/download-recording").read().decode()
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        e = json.loads(line)
        body = e.get("body") or ""
        if e.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        path = "/" + e["url"].split("://", 1)[-1].split("/", 1)[-1]
        action = parse_qs(body).get("Action", [e["headers"].get("X-Amz-Target", "").rsplit(".", 1)[-1]])[0]
        if not action and path.startswith("/2013-04-01/"):  # Route 53 (REST-XML): the action is the route
            action = {("POST", "rrset"): "ChangeResourceRecordSets", ("GET", "change"): "GetChange"}.get(
                (e["method"], "rrset" if path.rstrip("/").endswith("/rrset") else path.split("/")[2]), "")
        auth = e["headers"].get("Authorization", "")
        key = auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else ""
        out.append([e["method"], path, action, body, key])
    print(json.dumps(out))

elif command == "secret":
    # The secret's JSON comes on standard input, never in argv.
    client("secretsmanager", sys.argv[4], admin()).create_secret(Name=sys.argv[3], SecretString=sys.stdin.read())
    print("{}")

elif command == "alarm":
    name, region, state = sys.argv[3], sys.argv[4], sys.argv[5]
    reason = sys.argv[6] if len(sys.argv) > 6 else "set by the test bed"
    cw = client("cloudwatch", region, admin())
    cw.put_metric_alarm(AlarmName=name, Namespace="AWS/RDS", MetricName="ReplicaLag", Statistic="Maximum", Period=60,
                        EvaluationPeriods=1, Threshold=300, ComparisonOperator="GreaterThanThreshold",
                        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": "orders-replica-prod"}])
    cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)
    print("{}")

elif command == "metrics":
    # The newest datapoint of each pgdr metric in the region (namespace pgdr, dimension Deployment).
    import datetime
    cw, now = client("cloudwatch", sys.argv[3], admin()), datetime.datetime.now(datetime.timezone.utc)
    out = {}
    for name in ("PrimaryReachable", "ReplicationLagSeconds", "ReplicationLagBytes"):
        points = cw.get_metric_statistics(Namespace="pgdr", MetricName=name, Dimensions=[{"Name": "Deployment", "Value": "orders-prod"}],
                                          StartTime=now - datetime.timedelta(minutes=10), EndTime=now + datetime.timedelta(minutes=1),
                                          Period=60, Statistics=["Maximum", "Minimum", "SampleCount"])["Datapoints"]
        out[name] = points
    print(json.dumps(out, default=str))

elif command == "heartbeat":
    client("cloudwatch", "us-east-2", admin()).put_metric_data(Namespace="pgdr", MetricData=[{
        "MetricName": "ReplicationLagSeconds", "Value": float(sys.argv[3]), "Unit": "Seconds",
        "Dimensions": [{"Name": "Deployment", "Value": "orders-prod"}]}])
    print("{}")

elif command == "lag":
    client("cloudwatch", "us-east-2", admin()).put_metric_data(Namespace="AWS/RDS", MetricData=[{
        "MetricName": "ReplicaLag", "Value": float(sys.argv[3]), "Unit": "Seconds",
        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "orders-replica-prod"}]}])
    print("{}")
