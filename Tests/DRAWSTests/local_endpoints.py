"""Stand-ins, on 127.0.0.1, for the endpoints that cannot exist on a test
machine: the EC2 instance metadata service (IMDSv2: a PUT for a token, then
GETs that must carry it), a container credentials endpoint (ECS / EKS pod
identity: an Authorization header), and an AWS API endpoint that only ever
throttles (HTTP 400 Throttling) or fails (HTTP 503), to see retries end, or
that says a session token has expired.

  local_endpoints.py [throttle|unavailable|expired|expired-always]
                        prints the port it listens on, then serves until killed; every
                        POST (an API call) is answered HTTP 400 Throttling, or HTTP 503;
                        with `expired`, HTTP 400 ExpiredToken when signed with the first
                        instance-role key, and a DescribeDBInstances answer when signed
                        with a later one (each credentials GET hands out a new key);
                        with `expired-always`, ExpiredToken whatever the key.
  GET /count            how many API calls were answered.
  GET /times            when each arrived (seconds, monotonic clock), as a JSON list.
  GET /keys             the access key id each API call was signed with, as a JSON list.
  GET /2013-04-01/healthcheck/ID/status   Route 53's GetHealthCheckStatus, in AWS's documented
                        shape (moto cannot check a Route 53 GET's signature): for the id
                        0f2c7e51-0a6d-4b1c-9a8e-3d5f6a7b8c9d three checkers, two failing;
                        for any other, HTTP 404 NoSuchHealthCheck.

The credentials it hands out are made up for the test and printed nowhere.
"""
import json, sys, time, uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = uuid.uuid4().hex
CONTAINER_TOKEN = "container-authorization-token"
ROLE = "pgdr-role"
api_requests = 0
arrivals = []
signed_with = []
role_keys_handed_out = 0
MODE = sys.argv[1] if len(sys.argv) > 1 else "throttle"


def credentials(key):
    expires = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"AccessKeyId": key, "SecretAccessKey": "made-up-secret-" + key, "Token": "made-up-session-token",
            "Expiration": expires, "Code": "Success"}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.answer(200, TOKEN, "text/plain")
        self.answer(400, "missing X-aws-ec2-metadata-token-ttl-seconds", "text/plain")

    def do_GET(self):
        if self.path == "/count":
            return self.answer(200, str(api_requests), "text/plain")
        if self.path == "/times":
            return self.answer(200, json.dumps(arrivals))
        if self.path == "/keys":
            return self.answer(200, json.dumps(signed_with))
        if self.path.startswith("/2013-04-01/healthcheck/") and self.path.endswith("/status"):
            return self.health_check_status(self.path.split("/")[3])
        if self.path.startswith("/latest/"):
            if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
                return self.answer(401, "", "text/plain")  # IMDSv2: no token, no answer
            if self.path == "/latest/meta-data/iam/security-credentials/":
                return self.answer(200, ROLE, "text/plain")
            if self.path == "/latest/meta-data/iam/security-credentials/" + ROLE:
                global role_keys_handed_out
                role_keys_handed_out += 1
                first_only = MODE in ("expired", "expired-always")
                number = role_keys_handed_out if first_only else 1
                return self.answer(200, json.dumps(credentials("ASIAINSTANCEROLE%04d" % number)))
            return self.answer(404, "", "text/plain")
        if self.path == "/container":
            if self.headers.get("Authorization") != CONTAINER_TOKEN:
                return self.answer(401, json.dumps({"message": "unauthorized"}))
            return self.answer(200, json.dumps(credentials("ASIACONTAINERROLE001")))
        self.answer(404, "", "text/plain")

    def health_check_status(self, check):
        authorization = self.headers.get("Authorization") or ""
        signed_with.append(authorization.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in authorization else "")
        ns = 'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"'
        if check != "0f2c7e51-0a6d-4b1c-9a8e-3d5f6a7b8c9d":
            return self.answer(404, f"<ErrorResponse {ns}><Error><Type>Sender</Type><Code>NoSuchHealthCheck</Code>"
                                    f"<Message>No health check exists with the specified ID {check}</Message></Error>"
                                    "<RequestId>1</RequestId></ErrorResponse>", "text/xml")
        observations = "".join(
            f"<HealthCheckObservation><Region>{region}</Region><IPAddress>15.177.{n}.1</IPAddress><StatusReport>"
            f"<Status>{status}</Status><CheckedTime>2026-12-01T10:00:0{n}.000Z</CheckedTime></StatusReport></HealthCheckObservation>"
            for n, (region, status) in enumerate([
                ("us-east-1", "Failure: The CloudWatch alarm orders-primary-unreachable-prod is in the ALARM state."),
                ("us-west-1", "Failure: The CloudWatch alarm orders-primary-unreachable-prod is in the ALARM state."),
                ("eu-west-1", "Success: The CloudWatch alarm orders-primary-unreachable-prod is in the OK state.")]))
        self.answer(200, f'<?xml version="1.0" encoding="UTF-8"?><GetHealthCheckStatusResponse {ns}>'
                         f"<HealthCheckObservations>{observations}</HealthCheckObservations></GetHealthCheckStatusResponse>",
                    "text/xml")

    def do_POST(self):
        global api_requests
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        api_requests += 1
        arrivals.append(time.monotonic())
        authorization = self.headers.get("Authorization") or ""
        key = authorization.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in authorization else ""
        signed_with.append(key)
        if MODE == "expired-always" or (MODE == "expired" and key == "ASIAINSTANCEROLE0001"):
            return self.answer(400, "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>"
                                    "<Message>The security token included in the request is expired</Message>"
                                    "</Error><RequestId>1</RequestId></ErrorResponse>", "text/xml")
        if MODE == "expired":
            return self.answer(200, "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances><DBInstance>"
                                    "<DBInstanceIdentifier>orders-db-prod</DBInstanceIdentifier>"
                                    "<DBInstanceStatus>available</DBInstanceStatus></DBInstance></DBInstances>"
                                    "</DescribeDBInstancesResult></DescribeDBInstancesResponse>", "text/xml")
        if MODE == "unavailable":
            return self.answer(503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>try again</Message></Error></ErrorResponse>",
                               "text/xml")
        self.answer(400, "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
                         "</Error><RequestId>1</RequestId></ErrorResponse>", "text/xml")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
