#!/usr/bin/python3
"""The client write gap through HAProxy beside the direct multi-host string, across a
planned `pgdr switchover` and an approved `pgdr failover`, in a lab made with
`pgdr lab up --loopback --haproxy` (HAProxy routed by the agent's /primary checks:
inter 1s, fastinter 500ms, fall 2, rise 1, on-marked-down shutdown-sessions).

usage: bench/haproxy_gap.py [runs]      (default 5 of each; PGDR_BIN=... for another build)

Two copies of bench/libpq_writer.py (psycopg2/libpq, outside pgdr: an autocommit INSERT
every 5 ms, reconnecting 25 ms after an error) write at the same time, each into its own
database: one through HAProxy's read-write address, one through the multi-host string with
target_session_attrs=read-write. write gap = the longest pause between acknowledged commits
around the operation. A failover is planned first (no effect), then timed from the approval;
the old primary is rejoined (pg_rewind) before the next run.
"""
import json, os, signal, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGDR = os.environ.get("PGDR_BIN", os.path.join(ROOT, ".build/debug/pgdr"))
WRITER = os.path.join(ROOT, "bench/libpq_writer.py")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def pgdr(*args, check=True):
    out = subprocess.run([PGDR, *args], capture_output=True, text=True)
    if check and out.returncode not in (0, 4):
        raise RuntimeError(f"pgdr {' '.join(args)}: {out.returncode} {out.stdout.strip()} {out.stderr.strip()}")
    return out


def main():
    lab = tempfile.mkdtemp(prefix="pgdr-bench-haproxy-")
    os.rmdir(lab)
    config = f"{lab}/pgdr.yaml"
    try:
        pgdr("lab", "up", "--loopback", "--haproxy", "--dir", lab)
        state = json.load(open(f"{lab}/lab.json"))
        ports = [n["port"] for n in state["nodes"]]
        tls = f"sslmode=verify-full sslrootcert={lab}/tls/ca.crt"
        env = dict(os.environ, PGPASSFILE=f"{lab}/pgpass")
        primary = f"host=127.0.0.1 port={ports[0]} user=pgdr_admin {tls}"
        for db in ("bench_haproxy", "bench_direct"):
            subprocess.run(["psql", "-XAtqc", f"CREATE DATABASE {db}", f"{primary} dbname=postgres"], env=env, check=True)
            subprocess.run(["psql", "-XAtqc", "CREATE TABLE pgdr_bench(id int primary key)", f"{primary} dbname={db}"],
                           env=env, check=True)
        time.sleep(2)
        dsns = {
            "haproxy": f"host=127.0.0.1 port={state['front']['readWrite']} user=pgdr_admin dbname=bench_haproxy connect_timeout=2 {tls}",
            "direct": f"host=127.0.0.1,127.0.0.1 port={ports[0]},{ports[1]} user=pgdr_admin dbname=bench_direct "
                      f"target_session_attrs=read-write connect_timeout=2 {tls}",
        }
        gaps = {(op, path): [] for op in ("switchover", "failover") for path in dsns}
        for run in range(RUNS):
            for op in ("switchover", "failover"):
                for path, dsn in dsns.items():
                    subprocess.run(["psql", "-XAtqc", "TRUNCATE pgdr_bench", dsn], env=env, check=True)
                plan_id = None
                if op == "failover":
                    text = pgdr("failover", "--config", config).stdout
                    plan_id = text.split("pgdr approve ")[1].split()[0]
                writers = {path: subprocess.Popen(["/usr/bin/python3", WRITER, dsn, f"{lab}/{op}-{run}-{path}.json"], env=env)
                           for path, dsn in dsns.items()}
                time.sleep(1.5)
                if op == "switchover":
                    pgdr("switchover", "--config", config)
                else:
                    pgdr("approve", plan_id, "--config", config)
                time.sleep(4)  # HAProxy: fall 2 × fastinter, then rise 1 on the new primary
                for writer in writers.values():
                    writer.send_signal(signal.SIGTERM)
                    writer.wait()
                line = [f"run {run + 1} {op}:"]
                for path in dsns:
                    acks = [a[1] for a in json.load(open(f"{lab}/{op}-{run}-{path}.json"))["acks"]]
                    if len(acks) < 2:
                        raise RuntimeError(f"{op} {run} {path}: {len(acks)} acknowledged commits")
                    gap = max(b - a for a, b in zip(acks, acks[1:]))
                    gaps[(op, path)].append(gap)
                    line.append(f"{path} {gap:.3f}s")
                print("  ".join(line), flush=True)
                if op == "failover":
                    status = json.loads(pgdr("status", "--config", config, "--json", check=False).stdout)
                    down = [n["name"] for n in status["nodes"] if not n.get("reachable")]
                    for node in down:
                        pgdr("rejoin", node, "--config", config)
                    time.sleep(2)
        print(f"\nwrite gap, {RUNS} runs each (median, min-max):")
        for (op, path), values in gaps.items():
            print(f"  {op:10} {path:8} {statistics.median(values):.3f}s  ({min(values):.3f}-{max(values):.3f})")
    finally:
        pgdr("lab", "destroy", "--dir", lab, "--yes", check=False)


if __name__ == "__main__":
    main()
