#!/usr/bin/env python3
"""Alarm latency: from the moment replication lag crosses the threshold to the
webhook call, on the lab, with the agent sampling every second.

Usage: python3 bench/alarm_latency.py [runs]   (default 5; needs: swift build)

Per run: replay is paused on the standby and a row is written on the primary.
The standby's newest replayed heartbeat (beat_at) is read right after the
pause: lag = primary clock - beat_at, so it crosses the threshold T at
beat_at + T. Latency = webhook arrival - (beat_at + T). The alarm is the
default replication-lag alarm: 3 of 3 periods of 1 s, so the goal is
<= 3 s (evaluation window) + 1 s.
"""
import http.server, json, os, re, statistics, subprocess, sys, tempfile, threading, time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
THRESHOLD = 3.0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGDR = os.path.join(ROOT, ".build/debug/pgdr")

events = []
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        events.append((time.time(), body))
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass

def psql(lab, port, sql):
    env = dict(os.environ, PGPASSFILE=f"{lab}/pgpass")
    out = subprocess.run(["psql", "-XAtq", f"host=127.0.0.1 port={port} user=pgdr_admin dbname=postgres", "-c", sql],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()

def wait_for(predicate, timeout):
    end = time.time() + timeout
    while time.time() < end:
        found = predicate()
        if found: return found
        time.sleep(0.02)
    return None

def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lab = tempfile.mkdtemp(prefix="pgdr-bench-alarm-"); os.rmdir(lab)
    subprocess.run([PGDR, "lab", "up", "--loopback", "--dir", lab], check=True, capture_output=True)
    agent = None
    try:
        spec = open(f"{lab}/pgdr.yaml").read()
        ports = [int(p) for p in re.findall(r"port: (\d+)", spec)]
        spec = spec.replace("  interval: 2s", f"  interval: 1s\n  reminder: 0s\n  thresholds: {{replicationLag: {int(THRESHOLD)}s}}")
        spec = spec.replace("  - type: log\n    path: events.jsonl",
                            f"  - {{type: webhook, url: \"http://127.0.0.1:{server.server_address[1]}/hook\", timeout: 2s}}")
        open(f"{lab}/agent.yaml", "w").write(spec)
        agent = subprocess.Popen([PGDR, "agent", "--config", f"{lab}/agent.yaml", "--listen", "127.0.0.1:0"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        agent.stdout.readline()
        time.sleep(5)
        latencies = []
        for run in range(RUNS):
            seen = len(events)
            psql(lab, ports[1], "SELECT pg_wal_replay_pause()")
            beat = float(psql(lab, ports[1], "SELECT extract(epoch FROM max(beat_at)) FROM pgdr.heartbeat"))
            psql(lab, ports[0], f"CREATE TABLE IF NOT EXISTS bench (i int); INSERT INTO bench VALUES ({run})")
            fired = wait_for(lambda: next((t for t, e in events[seen:] if e["alarm"] == "replication-lag" and e["to"] == "ALARM"), None), 30)
            psql(lab, ports[1], "SELECT pg_wal_replay_resume()")
            if fired is None:
                print(f"run {run + 1}: no alarm within 30 s"); continue
            latency = fired - (beat + THRESHOLD)
            latencies.append(latency)
            print(f"run {run + 1}: lag crossed {THRESHOLD:.0f}s at beat+{THRESHOLD:.0f}s, webhook {latency:.2f}s later")
            cleared = wait_for(lambda: any(e["alarm"] == "replication-lag" and e["to"] == "OK" for _, e in events[seen:]), 30)
            if not cleared: print("  (alarm did not clear within 30 s)")
            time.sleep(2)
        if latencies:
            print(f"median {statistics.median(latencies):.2f}s  min {min(latencies):.2f}s  max {max(latencies):.2f}s  (n={len(latencies)})")
    finally:
        if agent: agent.terminate(); agent.wait()
        subprocess.run([PGDR, "lab", "destroy", "--dir", lab, "--yes"], capture_output=True)
        server.shutdown()

main()
