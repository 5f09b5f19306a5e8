#!/usr/bin/env python3
"""A local stand-in for Lambda's Runtime API (2018-06-01), for the tests of
pgdr's Lambda bootstrap: it hands out the events the test queues and keeps
what the function answers.

  runtime_api.py PORT

  GET  /2018-06-01/runtime/invocation/next          waits for a queued event
  POST /2018-06-01/runtime/invocation/ID/response   the answer (202)
  POST /2018-06-01/runtime/invocation/ID/error      the error, with Lambda-Runtime-Function-Error-Type (202)
  POST /2018-06-01/runtime/init/error               an initialisation error (202)
  POST /test/events                                 queues the body as an event; answers its request id
  GET  /test/results/ID                             waits (60 s) for the answer: {"kind", "body", "errorType", "seconds"}
  GET  /test/init                                   the init error, if any ({} when none)
  GET  /test/started                                when the function first asked for an event ({"at": epoch seconds})
"""
import json, sys, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Condition()
queue, results, handed = [], {}, {}
init_error = {}
first_next = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        if self.path == "/2018-06-01/runtime/invocation/next":
            with lock:
                first_next.setdefault("at", time.time())
                while not queue:
                    lock.wait()
                rid, event = queue.pop(0)
                handed[rid] = time.time()
            deadline = int((time.time() + 60) * 1000)
            self.reply(200, event, {"Lambda-Runtime-Aws-Request-Id": rid, "Lambda-Runtime-Deadline-Ms": str(deadline),
                                    "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-2:123456789012:function:test",
                                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000", "Content-Type": "application/json"})
        elif self.path.startswith("/test/results/"):
            rid = self.path.rsplit("/", 1)[1]
            end = time.time() + 60
            with lock:
                while rid not in results and time.time() < end:
                    lock.wait(end - time.time())
                result = results.get(rid)
            self.reply(200 if result else 504, json.dumps(result or {}).encode())
        elif self.path == "/test/started":
            with lock:
                self.reply(200, json.dumps(first_next).encode())
        elif self.path == "/test/init":
            with lock:
                self.reply(200, json.dumps(init_error).encode())
        else:
            self.reply(404)

    def do_POST(self):
        data = self.body()
        parts = self.path.split("/")
        if self.path == "/test/events":
            rid = str(uuid.uuid4())
            with lock:
                queue.append((rid, data))
                lock.notify_all()
            self.reply(200, rid.encode())
        elif self.path == "/2018-06-01/runtime/init/error":
            with lock:
                init_error.update({"body": data.decode(), "errorType": self.headers.get("Lambda-Runtime-Function-Error-Type")})
                lock.notify_all()
            self.reply(202, b'{"status":"OK"}')
        elif len(parts) == 6 and parts[3] == "invocation" and parts[5] in ("response", "error"):
            rid = parts[4]
            with lock:
                if rid not in handed:
                    self.reply(400, b'{"errorType":"InvalidRequestID"}')
                    return
                results[rid] = {"kind": parts[5], "body": data.decode(), "errorType": self.headers.get("Lambda-Runtime-Function-Error-Type"),
                                "seconds": time.time() - handed[rid]}
                lock.notify_all()
            self.reply(202, b'{"status":"OK"}')
        else:
            self.reply(404)


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
