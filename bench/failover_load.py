#!/usr/bin/env python3
"""Failover, switchover and rejoin under background load, measured by `pgdr drill`.

Usage: python3 bench/failover_load.py [runs] [scenarios...]   (default 10; needs: swift build)
       scenarios: node-loss postgres-crash switchover sync-node-loss (default: all four;
       sync-node-loss runs 2x runs on a `pgdr lab up --sync` lab)

Load, as in the Patroni reference runs (../shared/bench/patroni): pgbench scale 10,
4 clients, rate 300 tps, through a libpq multi-host string with
target_session_attrs=read-write, plus the drill's own writer. pgbench clients end on a
connection error, so a fresh pgbench starts before every run (each run is one
`pgdr drill --runs 1`). Prints each run and min / median / max per scenario.
"""
import json, os, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGDR = os.path.join(ROOT, ".build/debug/pgdr")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
SCENARIOS = sys.argv[2:] or ["node-loss", "postgres-crash", "switchover", "sync-node-loss"]

def lab_up(sync):
    lab = tempfile.mkdtemp(prefix="pgdr-bench-load-"); os.rmdir(lab)
    subprocess.run([PGDR, "lab", "up", "--dir", lab] + (["--sync"] if sync else []), check=True, capture_output=True)
    ports = [int(p) for p in re.findall(r"port: (\d+)", open(f"{lab}/pgdr.yaml").read())]
    conninfo = f"host=127.0.0.1,127.0.0.1 port={ports[0]},{ports[1]} user=pgdr_admin dbname=postgres target_session_attrs=read-write"
    env = dict(os.environ, PGPASSFILE=f"{lab}/pgpass")
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", conninfo], env=env, check=True, capture_output=True)
    return lab, conninfo, env

def summarize(name, values):
    if not values: return f"{name}: -"
    return f"{name}: {min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"

def main():
    labs = {}
    try:
        for scenario in SCENARIOS:
            sync = scenario.startswith("sync-")
            if sync not in labs: labs[sync] = lab_up(sync)
            lab, conninfo, env = labs[sync]
            drill_scenario = scenario.replace("sync-", "")
            runs = RUNS * 2 if sync else RUNS
            results = []
            for i in range(runs):
                load = subprocess.Popen(["pgbench", "-n", "-c", "4", "-R", "300", "-T", "120", conninfo], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(2)
                out = subprocess.run([PGDR, "drill", "--scenario", drill_scenario, "--runs", "1", "--json",
                                      "--config", f"{lab}/pgdr.yaml"], capture_output=True, text=True)
                load.terminate(); load.wait()
                if out.returncode != 0:
                    print(f"{scenario} run {i + 1}: drill failed: {out.stderr.strip()}"); continue
                run = json.loads(out.stdout)["runs"][0]
                results.append(run)
                rto = f"{run['rtoSeconds']:.2f}s" if run.get("rtoSeconds") is not None else "none (no write on the new primary within 30 s)"
                print(f"{scenario} run {i + 1}: RTO {rto} gap {run.get('writeGapSeconds', 0):.2f}s "
                      f"acked {run['acknowledged']} lost {run['lost']} rejoin {run.get('rejoinSeconds') or 0:.2f}s "
                      f"{run.get('rejoinMethod') or ''}", flush=True)
            print(f"== {scenario}, n={len(results)} (min / median / max)")
            for key, name in [("rtoSeconds", "RTO s"), ("writeGapSeconds", "write gap s"), ("lost", "lost acked"),
                              ("rpoSeconds", "RPO s"), ("rejoinSeconds", "rejoin s")]:
                values = [r[key] for r in results if r.get(key) is not None]
                print("   " + summarize(name, values))
            print(f"   runs with loss: {sum(1 for r in results if r['lost'] > 0)}/{len(results)}", flush=True)
            print(f"   runs without a write on the new primary within 30 s: {sum(1 for r in results if r.get('rtoSeconds') is None)}/{len(results)}", flush=True)
            print(f"   rejoins by pg_basebackup (rewind impossible): {sum(1 for r in results if r.get('rejoinMethod') == 'pg_basebackup')}", flush=True)
    finally:
        for lab, _, _ in labs.values():
            subprocess.run([PGDR, "lab", "destroy", "--dir", lab, "--yes"], capture_output=True)

main()
