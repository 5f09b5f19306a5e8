#!/usr/bin/python3
"""Failover, postgres crash, switchover and rejoin as users get them: the real agent
(`pgdr agent`, automatic mode) does the work, and a libpq client outside pgdr
(bench/libpq_writer.py) measures it.

usage: bench/failover_agent.py [runs] [scenarios...]      (default 10; node-loss postgres-crash switchover)
       PGDR_BIN=... to measure another build (default .build/debug/pgdr)

Per run, under the standard load (pgbench scale 10, 4 clients at 300 tps through a libpq
multi-host string with target_session_attrs=read-write, plus the writer: one autocommit
INSERT of a sequential id every 5 ms, reconnecting 25 ms after an error):
  node-loss       SIGKILL of the primary's postmaster and every child
  postgres-crash  SIGKILL of the postmaster only
  switchover      `pgdr switchover` while the agent watches (it must do nothing)
Measured by the writer: RTO = fault to the first commit acknowledged by the other node;
write gap = longest pause between acknowledged commits around the fault; lost = acknowledged
ids missing on the new primary. After a fault: rejoin = `pgdr rejoin` started until a libpq
client sees the old primary streaming; then `pgdr switchover` restores the roles.
"""
import json, os, re, signal, statistics, subprocess, sys, tempfile, time
import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGDR = os.environ.get("PGDR_BIN", os.path.join(ROOT, ".build/debug/pgdr"))
WRITER = os.path.join(ROOT, "bench/libpq_writer.py")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
SCENARIOS = sys.argv[2:] or ["node-loss", "postgres-crash", "switchover"]


def pgdr(*args, check=True):
    out = subprocess.run([PGDR, *args], capture_output=True, text=True)
    if check and out.returncode not in (0, 4):
        raise RuntimeError(f"pgdr {' '.join(args)}: {out.returncode} {out.stderr.strip()}")
    return out


class Lab:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pgdr-bench-"); os.rmdir(self.dir)
        pgdr("lab", "up", "--loopback", "--dir", self.dir)
        self.config = f"{self.dir}/pgdr.yaml"
        text = open(self.config).read()
        text = text.replace("mode: manual", "mode: automatic").replace("interval: 2s", "interval: 1s")
        open(self.config, "w").write(text)
        self.ports = {name: int(port) for name, port in re.findall(r"- name: (\w+)\n(?:.*\n){2}\s+port: (\d+)", text)}
        self.env = dict(os.environ, PGPASSFILE=f"{self.dir}/pgpass")
        hosts = ",".join("127.0.0.1" for _ in self.ports)
        ports = ",".join(str(p) for p in self.ports.values())
        self.dsn = f"host={hosts} port={ports} user=pgdr_admin dbname=postgres target_session_attrs=read-write"
        os.environ["PGPASSFILE"] = f"{self.dir}/pgpass"
        subprocess.run(["pgbench", "-i", "-q", "-s", "10", self.dsn], env=self.env, check=True, capture_output=True)
        self.sql("CREATE TABLE IF NOT EXISTS pgdr_bench (id int PRIMARY KEY)")

    def connect(self, node):
        return psycopg2.connect(host="127.0.0.1", port=self.ports[node], user="pgdr_admin", dbname="postgres", connect_timeout=2)

    def sql(self, statement, node=None):
        conn = self.connect(node) if node else psycopg2.connect(self.dsn, connect_timeout=2)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(statement)
            rows = cur.fetchall() if cur.description else None
        conn.close()
        return rows

    def primary(self):
        for node in self.ports:
            try:
                if self.sql("SELECT NOT pg_is_in_recovery()", node)[0][0]:
                    return node
            except Exception:
                pass
        return None

    def streaming(self, node):
        try:
            return bool(self.sql("SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'", node))
        except Exception:
            return False

    def data_dir(self, node):
        return f"{self.dir}/{'us-east-1' if node == 'pg1' else 'us-east-2'}/data"

    def kill(self, node, children):
        pid = int(open(f"{self.data_dir(node)}/postmaster.pid").readline())
        kids = []
        if children:
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        stat = open(f"/proc/{entry}/stat").read()
                        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                            kids.append(int(entry))
                    except Exception:
                        pass
        os.kill(pid, signal.SIGKILL)
        for kid in kids:
            try:
                os.kill(kid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self, condition, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return False


def one_run(lab, scenario, agent_ops_before):
    old = lab.primary()
    new = next(n for n in lab.ports if n != old)
    lab.sql("TRUNCATE pgdr_bench")
    load = subprocess.Popen(["pgbench", "-n", "-c", "4", "-R", "300", "-T", "120", lab.dsn], env=lab.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = tempfile.mktemp(suffix=".json")
    writer = subprocess.Popen(["/usr/bin/python3", WRITER, lab.dsn, out], env=lab.env)
    time.sleep(3)
    fault = time.time()
    if scenario == "switchover":
        pgdr("switchover", "--config", lab.config)
    else:
        lab.kill(old, children=(scenario == "node-loss"))
    lab.wait(lambda: lab.primary() == new, timeout=30)
    time.sleep(3)
    writer.send_signal(signal.SIGTERM); writer.wait()
    load.terminate(); load.wait()
    data = json.load(open(out)); os.unlink(out)
    acks = data["acks"]
    after = [a for a in acks if a[1] >= fault and a[2] == lab.ports[new]]
    rto = (after[0][1] - fault) if after else None
    times = [a[1] for a in acks if a[1] >= fault - 1]
    gap = max((b - a for a, b in zip(times, times[1:])), default=None)
    present = {r[0] for r in lab.sql("SELECT id FROM pgdr_bench", new)}
    lost = [a for a in acks if a[0] not in present]
    ops = [json.loads(l) for l in open(f"{lab.dir}/pgdr-operations.jsonl") if l.strip()]
    agent_failovers = len({o["operation"] for o in ops if o["kind"] == "failover" and o["phase"] == "approved"}) - agent_ops_before
    # RPO: how long before the fault the oldest lost commit was acknowledged (0: all at or after it).
    rpo = max([max(0.0, fault - a[1]) for a in lost], default=0.0)
    result = {"scenario": scenario, "from": old, "to": new, "rto": rto, "gap": gap, "acked": len(acks),
              "lost": len(lost), "rpo": rpo, "agentFailovers": agent_failovers}
    if scenario != "switchover":
        started = time.time()
        pgdr("rejoin", old, "--config", lab.config)
        lab.wait(lambda: lab.streaming(old), timeout=60)
        result["rejoin"] = time.time() - started
    lab.wait(lambda: lab.streaming(old), timeout=30)
    time.sleep(1)
    return result


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def main():
    lab = Lab()
    agent = subprocess.Popen([PGDR, "agent", "--config", lab.config, "--listen", "127.0.0.1:0"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    agent.stdout.readline()
    results = {}
    try:
        time.sleep(3)
        for scenario in SCENARIOS:
            results[scenario] = []
            for i in range(RUNS):
                ops = [json.loads(l) for l in open(f"{lab.dir}/pgdr-operations.jsonl")] if os.path.exists(f"{lab.dir}/pgdr-operations.jsonl") else []
                before = len({o["operation"] for o in ops if o["kind"] == "failover" and o["phase"] == "approved"})
                r = one_run(lab, scenario, before)
                results[scenario].append(r)
                print(f"{scenario} {i + 1}: {r['from']} -> {r['to']}  RTO {r['rto'] if r['rto'] is None else round(r['rto'], 3)}  "
                      f"gap {r['gap'] and round(r['gap'], 3)}  acked {r['acked']} lost {r['lost']} (RPO {r['rpo'] * 1000:.0f} ms)  "
                      f"agent failovers {r['agentFailovers']}" + (f"  rejoin {r['rejoin']:.2f}s" if "rejoin" in r else ""), flush=True)
                # Back to pg1 as the primary for the next run.
                if lab.primary() != "pg1":
                    pgdr("switchover", "--config", lab.config)
                    lab.wait(lambda: lab.streaming("pg2"), timeout=30)
                    time.sleep(1)
        print()
        print("| scenario | n | RTO (s) | client write gap (s) | lost acked writes | RPO of lost (ms) | agent failovers | rejoin to streaming (s) |")
        print("|---|---|---|---|---|---|---|---|")
        for scenario, runs in results.items():
            print(f"| {scenario} | {len(runs)} | {stats([r['rto'] for r in runs])} | {stats([r['gap'] for r in runs])} | "
                  f"{stats([r['lost'] for r in runs])} | {stats([r['rpo'] * 1000 for r in runs])} | {stats([r['agentFailovers'] for r in runs])} | "
                  f"{stats([r.get('rejoin') for r in runs])} |")
        json.dump(results, open(os.path.join(ROOT, "bench/failover_agent.last.json"), "w"), indent=1)
    finally:
        agent.send_signal(signal.SIGTERM); agent.wait()
        pgdr("lab", "destroy", "--dir", lab.dir, "--yes", check=False)


main()
