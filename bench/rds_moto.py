#!/usr/bin/env python3
"""pgdr on RDS, measured as a user would: the real `pgdr` binary against moto_server with
SigV4 checking on (IAM users; pgdr holds only the permissions docs/rds.md lists), timed
from outside, and the AWS calls counted by moto's own request recorder (not by pgdr).

usage: bench/rds_moto.py [runs]      (default 5; needs pip install 'moto[server]')
       PGDR_BIN=... to measure another build (default .build/debug/pgdr)

Per verb: wall time (median of the runs) and the API calls pgdr made, by action.
  status         `pgdr status` (DescribeDBInstances per instance, GetMetricData for ReplicaLag,
                 DescribeAlarms per region)
  failover plan  `pgdr failover` (reads only)
  approve        `pgdr approve ID`: fence, promote, verify, DNS, SNS. moto never finishes
                 a promotion, so the bench plays RDS's part as soon as pgdr has asked
                 (moto_bed.py promoted); the time is pgdr's own work plus that
  rejoin         `pgdr rejoin OLD`: rename aside, CreateDBInstanceReadReplica (pre-signed)
Moto answers from memory on loopback: these are pgdr's overheads and call counts, not
AWS's latencies (a real promotion takes minutes, a cross-region replica far longer).
"""
import collections, re, json, os, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGDR = os.environ.get("PGDR_BIN", os.path.join(ROOT, ".build/debug/pgdr"))
BED = os.path.join(ROOT, "Tests/DRAWSTests/moto_bed.py")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bed(url, *args):
    out = subprocess.run([sys.executable, BED, args[0], url, *args[1:]], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"moto_bed.py {args}: {out.stderr}")
    return json.loads(out.stdout)


class Moto:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = tempfile.mkdtemp(prefix="pgdr-rds-bench-")
        # The recorder writes into the bench's own folder, never the working tree.
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)], cwd=self.dir,
                                     env=dict(os.environ, MOTO_RECORDER_FILEPATH=os.path.join(self.dir, "recording.jsonl")),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        try:
            self.state = bed(self.url, "setup")
        except BaseException:
            self.stop()  # a bed that cannot be built leaves no moto_server behind
            raise
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID=self.state["pgdr"]["key"],
                        AWS_SECRET_ACCESS_KEY=self.state["pgdr"]["secret"], HOME=self.dir,
                        AWS_EC2_METADATA_DISABLED="true")
        self.env.pop("AWS_PROFILE", None)
        self.config = os.path.join(self.dir, "pgdr.yaml")
        with open(self.config, "w") as f:
            f.write(f"""name: orders
environment: prod
target: aws
objectives: {{rpo: 1m, rto: 5m}}
engine: {{version: "15"}}
primary: {{region: us-east-1, instanceClass: db.r6g.large}}
dr: {{region: us-east-2, instanceClass: db.r6g.large}}
failover: {{maxDataLoss: 1m}}
dns: {{hostedZoneId: {self.state["zone"]}, recordName: db.example.com}}
aws: {{endpoint: "{self.url}", fenceParameterGroup: orders-fence-prod, promotionTimeout: 60s}}
""")

    def calls(self):
        key = self.state["pgdr"]["key"]
        return [r[2] for r in bed(self.url, "recording") if r[4] == key]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def pgdr(moto, *args):
    start = time.monotonic()
    out = subprocess.run([PGDR, *args, "--config", moto.config], capture_output=True, text=True, env=moto.env)
    return out, time.monotonic() - start


def counted(moto, before):
    return dict(collections.Counter(moto.calls()[before:]))


def main():
    results = collections.defaultdict(list)
    calls = {}
    for run in range(RUNS):
        moto = Moto()
        try:
            bed(moto.url, "lag", "2")
            n = len(moto.calls())
            out, took = pgdr(moto, "status")
            assert out.returncode == 0, out.stdout + out.stderr
            results["status"].append(took)
            calls["status"] = counted(moto, n)

            n = len(moto.calls())
            out, took = pgdr(moto, "failover")
            assert out.returncode == 0, out.stdout + out.stderr
            results["failover plan"].append(took)
            calls["failover plan"] = counted(moto, n)
            op = re.search(r"failover-[0-9a-f]{8}", out.stdout).group(0)

            n = len(moto.calls())
            start = time.monotonic()
            approve = subprocess.Popen([PGDR, "approve", op, "--config", moto.config], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=moto.env)
            asked = None
            while approve.poll() is None and asked is None:
                if "PromoteReadReplica" in moto.calls()[n:]:
                    asked = time.monotonic() - start
                    bed(moto.url, "promoted")
                else:
                    time.sleep(0.05)
            stdout, stderr = approve.communicate()
            took = time.monotonic() - start
            assert approve.returncode in (0, 4), stdout + stderr
            results["approve"].append(took)
            results["approve: to PromoteReadReplica"].append(asked or float("nan"))
            calls["approve"] = counted(moto, n)

            n = len(moto.calls())
            out, took = pgdr(moto, "rejoin", "orders-db-prod")
            assert out.returncode in (0, 4), out.stdout + out.stderr
            results["rejoin"].append(took)
            calls["rejoin"] = counted(moto, n)
        finally:
            moto.stop()
        print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in results.items()), flush=True)

    print(f"\n{RUNS} runs, median wall time and pgdr's AWS calls (moto's recorder):")
    for verb, times in results.items():
        print(f"  {verb:30s} {statistics.median(times):6.2f}s  (min {min(times):.2f}, max {max(times):.2f})")
    for verb, counts in calls.items():
        print(f"  {verb:30s} {sum(counts.values())} calls: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
