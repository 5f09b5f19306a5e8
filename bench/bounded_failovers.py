#!/usr/bin/python3
"""Bounded-lag mode's promise over repeated failovers: how much acknowledged work a
failover loses after the DR replica has been behind for long.

usage: bench/bounded_failovers.py [runs]     (default 10; PGDR_BIN=... for another build)

One loopback lab in replication.mode: bounded (maxLag 4s, the agent running with 2 s
rounds). Each run, on whichever node is primary: bench/libpq_writer.py (psycopg2/libpq,
outside pgdr) commits every 5 ms on the primary; the DR replica is stopped (pg_ctl, fast)
so it receives nothing more; the agent holds commits at the bound; 3 s later the primary is
stopped with pg_ctl's immediate mode (a crash); the replica is started again, `pgdr
failover` planned and `pgdr approve`d; the acknowledged ids the new primary lacks are the
lost writes, and their span (newest minus oldest acknowledgement) is compared with the
bound plus one agent round. The old primary is rejoined (pg_rewind) before the next run.
"""
import json, os, signal, statistics, subprocess, sys, tempfile, time
import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGDR = os.environ.get("PGDR_BIN", os.path.join(ROOT, ".build/debug/pgdr"))
WRITER = os.path.join(ROOT, "bench/libpq_writer.py")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
BOUND, ROUND = 4.0, 2.0


def pgdr(*args, check=True):
    out = subprocess.run([PGDR, *args], capture_output=True, text=True)
    if check and out.returncode not in (0, 4):
        raise RuntimeError(f"pgdr {' '.join(args)}: {out.returncode} {out.stdout} {out.stderr}")
    return out


def main():
    lab = tempfile.mkdtemp(prefix="pgdr-bench-bounded-failovers-")
    os.rmdir(lab)
    config = f"{lab}/pgdr.yaml"
    agent = None
    try:
        pgdr("lab", "up", "--loopback", "--dir", lab)
        state = json.load(open(f"{lab}/lab.json"))
        nodes = {n["name"]: n for n in state["nodes"]}
        user, bindir = state["serverUser"], state["binDirectory"]
        os.environ["PGPASSFILE"] = f"{lab}/pgpass"
        tls = f"sslmode=verify-full sslrootcert={lab}/tls/ca.crt"
        dsn = lambda node: f"host=127.0.0.1 port={nodes[node]['port']} user=pgdr_admin dbname=postgres connect_timeout=2 {tls}"

        def sql(node, statement):
            conn = psycopg2.connect(dsn(node))
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute(statement)
            rows = cur.fetchall() if cur.description else None
            conn.close()
            return rows

        def pg_ctl(node, *args):
            region = nodes[node]["region"]
            command = [f"{bindir}/pg_ctl", "-D", f"{lab}/{region}/data", "-l", f"{lab}/{region}/postgres.log", "-w", *args]
            if os.geteuid() == 0:
                command = ["runuser", "-u", user, "--"] + command
            subprocess.run(command, check=True, capture_output=True)

        def wait(check, limit):
            end = time.time() + limit
            while time.time() < end:
                try:
                    if check():
                        return True
                except Exception:
                    pass
                time.sleep(0.2)
            return False

        text = open(config).read()
        open(config, "w").write(text.replace("replication:\n  mode: async", f"replication:\n  mode: bounded\n  maxLag: {int(BOUND)}s"))
        agent = subprocess.Popen([PGDR, "agent", "--config", config, "--listen", "127.0.0.1:0"],
                                 stdout=subprocess.DEVNULL, stderr=open(f"{lab}/agent.log", "w"))
        primary, standby = "pg1", "pg2"
        results = []
        for run in range(RUNS):
            sql(primary, "DROP TABLE IF EXISTS pgdr_bench; CREATE TABLE pgdr_bench (id int PRIMARY KEY)")
            # After a failover the bound is suspended until the new DR replica catches up: wait for the rearm.
            def armed():
                path = f"{lab}/pgdr-rpo-bound.jsonl"
                events = [json.loads(l)["event"] for l in open(path)] if os.path.exists(path) else []
                marks = [e for e in events if e in ("accept-risk", "rearm")]
                return not marks or marks[-1] == "rearm"
            if not wait(armed, 30):
                raise RuntimeError(f"run {run + 1}: the bound was not armed again after the last failover")
            time.sleep(1)
            out = f"{lab}/writer-{run}.json"
            writer = subprocess.Popen(["/usr/bin/python3", WRITER, dsn(primary), out])
            time.sleep(2)
            pg_ctl(standby, "stop", "-m", "fast")
            stopped = time.time()
            held = wait(lambda: sql(primary, "SELECT current_setting('synchronous_standby_names') <> ''")[0][0], 20)
            time.sleep(3)
            pg_ctl(primary, "stop", "-m", "immediate")
            writer.send_signal(signal.SIGTERM)
            writer.wait()
            acks = json.load(open(out))["acks"]
            pg_ctl(standby, "start")
            time.sleep(3)
            plan = pgdr("failover", "--config", config)
            plan_id = plan.stdout.split("pgdr approve ")[1].split()[0]
            pgdr("approve", plan_id, "--config", config)
            kept = {row[0] for row in sql(standby, "SELECT id FROM pgdr_bench")}
            lost = [a[1] for a in acks if a[0] not in kept]
            span = (max(lost) - min(lost)) if lost else 0.0
            after_stop = (max(a[1] for a in acks) - stopped) if acks else 0.0
            results.append((len(lost), span, held))
            print(f"run {run + 1}: {primary} -> {standby}: held={held}  acknowledged {len(acks)}, lost {len(lost)} "
                  f"spanning {span:.2f}s (acknowledged until {after_stop:.2f}s after the replica stopped)", flush=True)
            pgdr("rejoin", primary, "--config", config)
            primary, standby = standby, primary
        spans = [r[1] for r in results]
        print(f"\n{RUNS} failovers, bound {BOUND:.0f}s, agent round {ROUND:.0f}s: lost-write span min {min(spans):.2f}s "
              f"median {statistics.median(spans):.2f}s max {max(spans):.2f}s; "
              f"within bound + round: {sum(1 for s in spans if s <= BOUND + ROUND)}/{RUNS}; "
              f"lost writes median {statistics.median(r[0] for r in results):.0f}")
    finally:
        if agent:
            agent.terminate()
            agent.wait()
        pgdr("lab", "destroy", "--dir", lab, "--yes", check=False)


if __name__ == "__main__":
    main()
