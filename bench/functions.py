#!/usr/bin/env python3
"""The two Lambda functions, measured as Lambda would run them: the zip `pgdr package`
writes, unzipped, its `bootstrap` started against a local stand-in of Lambda's Runtime
API (Tests/DRAWSTests/runtime_api.py), AWS played by moto_server with SigV4 checking on,
timed from outside (the stand-in's clock), median of the runs.

usage: bench/functions.py [runs] [bootstrap]
       (default 5 runs; bootstrap default .build-functions/pgdr-lambda-release,
        built by scripts/build-functions release)

Per function, each run a fresh process (a cold start):
  init      process start -> its first request for an event (settings, pgdr.yaml, clients)
  first     the first event handed over -> its answer (cold: first TLS and AWS connections)
  warm      the next event -> its answer (the same environment, kept by Lambda)
Failover function: the alarm event (plan: DescribeDBInstances x2, GetMetricData, SSM
GetParametersByPath + PutParameter, SNS Publish), then the same alarm again (finds the
pending plan). Lag monitor: a loopback lab stands in for the two instances (TLS with the
lab's CA, credentials from Secrets Manager): stamp on the primary, wait for it on the replica,
PutMetricData x3.
Also: binary and zip sizes. moto answers from memory on loopback: these are pgdr's own costs.
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, time, urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rds_moto import Moto, bed, free_port, PGDR, ROOT  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
BOOT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, ".build-functions/pgdr-lambda-release")
STAND_IN = os.path.join(ROOT, "Tests/DRAWSTests/runtime_api.py")


def get(url, timeout=90):
    return urllib.request.urlopen(url, timeout=timeout).read()


def post(url, body):
    return urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=10).read().decode()


def package(config, folder):
    out = os.path.join(folder, "pkg")
    run = subprocess.run([PGDR, "package", "--bootstrap", BOOT, "--config", config, "--out", out], capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(run.stderr)
    task = os.path.join(out, "task")
    subprocess.run(["unzip", "-q", "-o", os.path.join(out, "pgdr-functions.zip"), "-d", task], check=True)
    return task, os.path.getsize(os.path.join(out, "pgdr-functions.zip"))


def cold_run(env, events):
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    stand_in = subprocess.Popen([sys.executable, STAND_IN, str(port)])
    for _ in range(100):
        try:
            get(api + "/test/init", 1)
            break
        except OSError:
            time.sleep(0.05)
    started = time.time()
    fn = subprocess.Popen([os.path.join(env["LAMBDA_TASK_ROOT"], "bootstrap")], env=dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}"),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        times = []
        for event in events:
            rid = post(api + "/test/events", json.dumps(event).encode())
            result = json.loads(get(f"{api}/test/results/{rid}"))
            if result.get("kind") != "response":
                raise RuntimeError(f"the function answered {result}")
            times.append(result["seconds"])
        init = json.loads(get(api + "/test/started"))["at"] - started
        return init, times
    finally:
        fn.kill()
        stand_in.kill()
        fn.wait()
        stand_in.wait()


def median(values):
    return statistics.median(values) * 1000


def main():
    if not os.access(BOOT, os.X_OK):
        sys.exit(f"no bootstrap at {BOOT}: scripts/build-functions release")
    print(f"bootstrap {BOOT}: {os.path.getsize(BOOT) / 1048576:.1f} MiB")
    moto = Moto()
    folder = tempfile.mkdtemp(prefix="pgdr-functions-bench-")
    os.chmod(folder, 0o755)  # the lab's server user reads its folder
    lab = os.path.join(folder, "lab")
    try:
        bed(moto.url, "lag", "3")
        task, size = package(moto.config, folder)
        print(f"pgdr-functions.zip: {size / 1048576:.1f} MiB")
        base = dict(moto.env, LAMBDA_TASK_ROOT=task, AWS_REGION="us-east-2", PATH="/usr/bin:/bin",
                    PGDR_TOPIC="arn:aws:sns:us-east-2:123456789012:orders-alerts-prod", PGDR_LOG_LEVEL="warning")
        alarm = {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
                 "detail": {"alarmName": "orders-primary-unreachable-prod", "state": {"value": "ALARM"}}}
        rows = {}
        runs = [cold_run(dict(base, PGDR_FUNCTION="failover"), [alarm, alarm]) for _ in range(RUNS)]
        rows["failover (plan)"] = runs
        # The lag monitor against a real lab.
        up = subprocess.run([PGDR, "lab", "up", "--loopback", "--dir", lab], capture_output=True, text=True)
        if up.returncode:
            raise RuntimeError(up.stderr)
        status = json.loads(subprocess.run([PGDR, "status", "--json", "--config", os.path.join(lab, "pgdr.yaml")],
                                           capture_output=True, text=True).stdout)
        ports = {n["role"]: n["port"] for n in status["nodes"]}
        password = open(os.path.join(lab, "secrets/pgdr_admin.password")).read().strip()
        subprocess.run([sys.executable, os.path.join(ROOT, "Tests/DRAWSTests/moto_bed.py"), "secret", moto.url, "orders-master-prod", "us-east-2"],
                       input=json.dumps({"username": "pgdr_admin", "password": password}), text=True, check=True, capture_output=True)
        lag_env = dict(base, PGDR_FUNCTION="lag-monitor", PGDR_DB_CA_FILE=os.path.join(lab, "tls/ca.crt"),
                       PGDR_DB_ADDRESSES=f"orders-db-prod=127.0.0.1:{ports['primary']},orders-replica-prod=127.0.0.1:{ports['standby']}")
        schedule = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
        rows["lag monitor"] = [cold_run(lag_env, [schedule, schedule]) for _ in range(RUNS)]
        print(f"\n{'function':<18} {'init ms':>9} {'first ms':>9} {'warm ms':>9}   (median of {RUNS} cold starts)")
        for name, values in rows.items():
            print(f"{name:<18} {median([v[0] for v in values]):9.0f} {median([v[1][0] for v in values]):9.0f} "
                  f"{median([v[1][1] for v in values]):9.0f}")
    finally:
        subprocess.run([PGDR, "lab", "destroy", "--yes", "--dir", lab], capture_output=True)
        moto.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
