"""Stand-ins, on 127.0.0.1, for the endpoints that cannot exist on a test
machine: the EC2 instance metadata service (IMDSv2: a PUT for a token, then
GETs that must carry it), a container credentials endpoint (ECS / EKS pod
identity: an Authorization header), and an AWS API endpoint that only ever
throttles (HTTP 400 Throttling) or fails (HTTP 503), to see retries end.

  local_endpoints.py [throttle|unavailable]
                        prints the port it listens on, then serves until killed; every
                        POST (an API call) is answered HTTP 400 Throttling, or HTTP 503.
  GET /count            how many API calls were answered.
  GET /times            when each arrived (seconds, monotonic clock), as a JSON list.

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
        if self.path.startswith("/latest/"):
            if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
                return self.answer(401, "", "text/plain")  # IMDSv2: no token, no answer
            if self.path == "/latest/meta-data/iam/security-credentials/":
                return self.answer(200, ROLE, "text/plain")
            if self.path == "/latest/meta-data/iam/security-credentials/" + ROLE:
                return self.answer(200, json.dumps(credentials("ASIAINSTANCEROLE0001")))
            return self.answer(404, "", "text/plain")
        if self.path == "/container":
            if self.headers.get("Authorization") != CONTAINER_TOKEN:
                return self.answer(401, json.dumps({"message": "unauthorized"}))
            return self.answer(200, json.dumps(credentials("ASIACONTAINERROLE001")))
        self.answer(404, "", "text/plain")

    def do_POST(self):
        global api_requests
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        api_requests += 1
        arrivals.append(time.monotonic())
        if MODE == "unavailable":
            return self.answer(503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>try again</Message></Error></ErrorResponse>",
                               "text/xml")
        self.answer(400, "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
                         "</Error><RequestId>1</RequestId></ErrorResponse>", "text/xml")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
