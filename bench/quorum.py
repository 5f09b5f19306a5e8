#!/usr/bin/python3
"""Quorum mode as users get it: a lab of regions (network namespaces, an etcd member per
region and one in a witness region, an agent beside each node, failover.mode: automatic),
faults injected with `pgdr lab fault`, measured by libpq clients outside pgdr.

usage: sudo bench/quorum.py [node_loss_runs] [partition_runs]      (default 10 20)
       PGDR_BIN=... to measure another build (default .build/debug/pgdr)

Load, as in the other benches: pgbench scale 10, 4 clients at 300 tps through the libpq
multi-host string (target_session_attrs=read-write), plus bench/libpq_writer.py (one
autocommit INSERT every 5 ms through the same string, reconnecting 25 ms after an error),
plus bench/dual_writer.py (both nodes directly, every 10 ms each: a split brain shows as
writes acknowledged by both).

  node-loss   `pgdr lab fault kill PRIMARY` (postmaster, children and the node's agent)
  partition   `pgdr lab fault partition PRIMARY_REGION` (a silent cut: packets dropped)

Per run: RTO = fault to the first write the libpq writer got acknowledged by the other
node; the old primary's last acknowledged write after the fault (dual writer); the
split-brain window = time during which both nodes acknowledged writes (0 when the old
primary's last ack precedes the new one's first); old-primary acks after the new one's
first; lost = acknowledged ids missing on the new primary; where the time went (the
agents' journals: lease/demotion, key taken, promoted). After each run the node comes
back (`lab up` / `lab fault heal`) and rejoins by itself: time to streaming.
"""
import glob, json, os, signal, statistics, subprocess, sys, tempfile, time
import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGDR = os.environ.get("PGDR_BIN", os.path.join(ROOT, ".build/debug/pgdr"))
LOSS_RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
PART_RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 20


def pgdr(*args, check=True):
    out = subprocess.run([PGDR, *args], capture_output=True, text=True)
    if check and out.returncode not in (0, 4):
        raise RuntimeError(f"pgdr {' '.join(args)}: {out.returncode} {out.stderr.strip()}")
    return out


class Lab:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pgdr-quorum-bench-"); os.rmdir(self.dir)
        pgdr("lab", "up", "--automatic", "--dir", self.dir)
        state = json.load(open(f"{self.dir}/lab.json"))
        self.nodes = {n["name"]: (n["host"], n["port"], n["region"]) for n in state["nodes"]}
        os.environ["PGPASSFILE"] = f"{self.dir}/pgpass"
        hosts = ",".join(h for h, _, _ in self.nodes.values())
        ports = ",".join(str(p) for _, p, _ in self.nodes.values())
        self.dsn = f"host={hosts} port={ports} user=pgdr_admin dbname=postgres target_session_attrs=read-write"
        self.wait(lambda: self.primary() is not None and self.streaming(self.other(self.primary())), 30)
        subprocess.run(["pgbench", "-i", "-q", "-s", "10", self.dsn], check=True, capture_output=True)
        self.sql("CREATE TABLE IF NOT EXISTS pgdr_bench (id int PRIMARY KEY)")
        self.sql("CREATE TABLE IF NOT EXISTS pgdr_dual (id bigint PRIMARY KEY)")

    def node_dsn(self, node):
        host, port, _ = self.nodes[node]
        return f"host={host} port={port} user=pgdr_admin dbname=postgres"

    def other(self, node):
        return next(n for n in self.nodes if n != node)

    def sql(self, statement, node=None):
        conn = psycopg2.connect(self.node_dsn(node) if node else self.dsn, connect_timeout=1)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(statement)
            rows = cur.fetchall() if cur.description else None
        conn.close()
        return rows

    def writable(self, node):
        try:
            return self.sql("SELECT NOT pg_is_in_recovery() AND NOT current_setting('default_transaction_read_only')::bool", node)[0][0]
        except Exception:
            return False

    def primary(self):
        found = [n for n in self.nodes if self.writable(n)]
        return found[0] if len(found) == 1 else None

    def streaming(self, node):
        try:
            return bool(self.sql("SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'", node))
        except Exception:
            return False

    def wait(self, condition, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return False

    def journal_events(self, since):
        """(time, node, message) of the agents' operation entries after `since`."""
        out = []
        for path in glob.glob(f"{self.dir}/*/agent/pgdr-journal.jsonl"):
            for line in open(path):
                try:
                    e = json.loads(line)
                except Exception:
                    continue
                if e.get("kind") != "operation" or "at" not in e:
                    continue
                at = e["at"] / 1000  # milliseconds since 1970
                if at >= since:
                    out.append((at, e.get("message", "")))
        return sorted(out)


def one_run(lab, scenario):
    old = lab.primary()
    new = lab.other(old)
    region = lab.nodes[old][2]
    load = subprocess.Popen(["pgbench", "-n", "-c", "4", "-R", "300", "-T", "300", lab.dsn],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out1, out2 = tempfile.mktemp(suffix=".json"), tempfile.mktemp(suffix=".json")
    lab.sql("TRUNCATE pgdr_bench")
    writer = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "bench/libpq_writer.py"), lab.dsn, out1])
    dual = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "bench/dual_writer.py"), out2, "10",
                             lab.node_dsn("pg1"), lab.node_dsn("pg2")])
    time.sleep(3)
    fault = time.time()
    if scenario == "node-loss":
        pgdr("lab", "fault", "kill", old, "--dir", lab.dir)
    else:
        pgdr("lab", "fault", "partition", region, "--dir", lab.dir)
    promoted = lab.wait(lambda: lab.writable(new), timeout=60)
    time.sleep(3)
    for p in (writer, dual):
        p.send_signal(signal.SIGTERM)
    writer.wait(); dual.wait()
    load.terminate(); load.wait()
    acks = json.load(open(out1))["acks"]
    d = json.load(open(out2)); os.unlink(out1); os.unlink(out2)
    new_host = lab.nodes[new][0]
    first_new = next((a[1] for a in acks if a[1] >= fault and a[3] == new_host), None)
    rto = (first_new - fault) if first_new else None
    i_old, i_new = (0, 1) if old == "pg1" else (1, 0)
    old_acks = [a[1] for a in d["acks"] if a[2] == i_old]
    new_acks = [a[1] for a in d["acks"] if a[2] == i_new]
    old_last = max([t for t in old_acks], default=None)
    new_first = min(new_acks, default=None)
    window = max(0.0, old_last - new_first) if old_last and new_first else 0.0
    late = len([t for t in old_acks if new_first and t >= new_first])
    present = {r[0] for r in lab.sql("SELECT id FROM pgdr_bench", new)}
    lost = [a for a in acks if a[0] not in present]
    events = lab.journal_events(fault - 0.5)
    def first(word):
        return next((t - fault for t, m in events if word in m), None)
    result = {"scenario": scenario, "from": old, "to": new, "promoted": promoted, "rto": rto,
              "oldStops": (old_last - fault) if old_last else None, "window": window, "late": late,
              "lost": len(lost), "demoted": first("demoted"), "keyTaken": first("took the leader key"),
              "promotedAt": first("promoted")}
    # Bring it back and time its rejoin (the agent does it by itself: automatic mode).
    back = time.time()
    if scenario == "node-loss":
        pgdr("lab", "up", "--dir", lab.dir)
    else:
        pgdr("lab", "fault", "heal", "--dir", lab.dir)
    result["rejoin"] = (time.time() - back) if lab.wait(lambda: lab.streaming(old), timeout=90) else None
    time.sleep(1)
    return result


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def main():
    lab = Lab()
    results = {"node-loss": [], "partition": []}
    try:
        for scenario, runs in (("node-loss", LOSS_RUNS), ("partition", PART_RUNS)):
            for i in range(runs):
                r = one_run(lab, scenario)
                results[scenario].append(r)
                fmt = lambda v: "-" if v is None else f"{v:.2f}"
                print(f"{scenario} {i + 1}: {r['from']} -> {r['to']}  RTO {fmt(r['rto'])}  old stops {fmt(r['oldStops'])}  "
                      f"window {r['window']:.3f}  late {r['late']}  lost {r['lost']}  demoted {fmt(r['demoted'])}  "
                      f"key {fmt(r['keyTaken'])}  promoted {fmt(r['promotedAt'])}  rejoin {fmt(r['rejoin'])}", flush=True)
        print()
        print("| scenario | n | fault to first DR write (s) | old primary's last ack (s) | key taken (s) | promoted (s) | split-brain window (s) | old acks after new's first | lost acked writes | rejoin to streaming (s) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for scenario, runs in results.items():
            if not runs:
                continue
            print(f"| {scenario} | {len(runs)} | {stats([r['rto'] for r in runs])} | {stats([r['oldStops'] for r in runs])} | "
                  f"{stats([r['keyTaken'] for r in runs])} | {stats([r['promotedAt'] for r in runs])} | "
                  f"{stats([r['window'] for r in runs])} (max) | {sum(r['late'] for r in runs)} in total | "
                  f"{stats([r['lost'] for r in runs])} | {stats([r['rejoin'] for r in runs])} |")
        json.dump(results, open(os.path.join(ROOT, "bench/quorum.last.json"), "w"), indent=1)
    finally:
        pgdr("lab", "destroy", "--dir", lab.dir, "--yes", check=False)


main()
