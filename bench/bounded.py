#!/usr/bin/python3
"""Commit latency in async, bounded (never triggered), bounded (triggered) and sync
replication, with the link to the DR replica delayed by a proxy (this kernel has no
netem): the DR replica streams through a TCP proxy that holds every chunk DELAY ms in each
direction, so a synchronous commit pays a round trip of 2 x DELAY.

usage: bench/bounded.py [seconds] [delay_ms]    (default 15 s per mode, 25 ms each way)

A libpq client outside pgdr (psycopg2) commits one autocommit INSERT after another on the
primary and times each commit. Modes:
  async      replication.mode: async (synchronous_standby_names empty)
  sync       the DR replica named synchronous (what replication.mode: sync runs with)
  bounded    replication.mode: bounded, maxLag 6s, the agent running; the replica keeps up,
             so the bound never triggers
  triggered  the same, after the proxy stopped forwarding for 10 s (a cut link): the agent
             held commits at the bound; timed are the commits from the link's return until
             the agent released them (they wait for the replica, like sync), and reported
             apart is how long commits were held
"""
import json, os, re, socket, statistics, subprocess, sys, tempfile, threading, time
import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGDR = os.environ.get("PGDR_BIN", os.path.join(ROOT, ".build/debug/pgdr"))
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 15
DELAY = (float(sys.argv[2]) if len(sys.argv) > 2 else 25) / 1000


def pgdr(*args, check=True):
    out = subprocess.run([PGDR, *args], capture_output=True, text=True)
    if check and out.returncode not in (0, 4):
        raise RuntimeError(f"pgdr {' '.join(args)}: {out.returncode} {out.stdout} {out.stderr}")
    return out


class DelayProxy:
    """127.0.0.1:port -> target, each chunk forwarded DELAY after it arrived, in order;
    `paused` holds everything (a cut link) until it is cleared."""

    def __init__(self, target_port):
        self.target = target_port
        self.paused = threading.Event()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.server.accept()
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    def pipe(self, source, sink):
        queue, ready = [], threading.Condition()

        def send():
            while True:
                with ready:
                    while not queue:
                        ready.wait()
                    due, data = queue.pop(0)
                while time.time() < due or self.paused.is_set():
                    time.sleep(0.001)
                try:
                    if not data:
                        sink.close()
                        return
                    sink.sendall(data)
                except OSError:
                    return  # the other side went away (a server stopped at the end)

        threading.Thread(target=send, daemon=True).start()
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            with ready:
                queue.append((time.time() + DELAY, data))
                ready.notify()
            if not data:
                return


def measure(dsn, seconds, until=None):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    latencies, end = [], time.time() + seconds
    while time.time() < end and not (until and until()):
        start = time.perf_counter()
        cur.execute("INSERT INTO pgdr_latency DEFAULT VALUES")
        latencies.append(time.perf_counter() - start)
    conn.close()
    return latencies


def summary(values):
    ordered = sorted(values)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
    return f"n={len(values):6d}  p50 {p(0.5):7.2f} ms  p99 {p(0.99):7.2f} ms"


def main():
    lab = tempfile.mkdtemp(prefix="pgdr-bench-bounded-")
    os.rmdir(lab)
    config = f"{lab}/pgdr.yaml"
    agent = None
    try:
        pgdr("lab", "up", "--loopback", "--dir", lab)
        state = json.load(open(f"{lab}/lab.json"))
        ports = {n["name"]: n["port"] for n in state["nodes"]}
        os.environ["PGPASSFILE"] = f"{lab}/pgpass"
        tls = f"sslmode=verify-full sslrootcert={lab}/tls/ca.crt"
        primary = f"host=127.0.0.1 port={ports['pg1']} user=pgdr_admin dbname=postgres {tls}"
        standby = f"host=127.0.0.1 port={ports['pg2']} user=pgdr_admin dbname=postgres {tls}"

        def sql(dsn, statement):
            conn = psycopg2.connect(dsn)
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute(statement)
            row = cur.fetchone() if cur.description else None
            conn.close()
            return row

        sql(primary, "CREATE TABLE pgdr_latency (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())")
        # The DR replica streams through the delaying proxy.
        proxy = DelayProxy(ports["pg1"])
        conninfo = sql(standby, "SHOW primary_conninfo")[0]
        conninfo = re.sub(r"port=\d+", f"port={proxy.port}", conninfo).replace("'", "''")
        sql(standby, f"ALTER SYSTEM SET primary_conninfo = '{conninfo}'")
        sql(standby, "SELECT pg_reload_conf()")
        time.sleep(3)
        results = {}

        sql(primary, "ALTER SYSTEM SET synchronous_standby_names = ''")
        sql(primary, "SELECT pg_reload_conf()")
        results["async"] = measure(primary, SECONDS)
        sql(primary, "ALTER SYSTEM SET synchronous_standby_names = '\"pg2\"'")
        sql(primary, "SELECT pg_reload_conf()")
        time.sleep(1)
        results["sync"] = measure(primary, SECONDS)
        sql(primary, "ALTER SYSTEM SET synchronous_standby_names = ''")
        sql(primary, "SELECT pg_reload_conf()")

        text = open(config).read()
        if "replication:\n  mode: async" not in text:
            raise RuntimeError("the lab's pgdr.yaml has no `replication: mode: async` to turn into bounded")
        open(config, "w").write(text.replace("replication:\n  mode: async", "replication:\n  mode: bounded\n  maxLag: 6s"))
        agent = subprocess.Popen([PGDR, "agent", "--config", config, "--listen", "127.0.0.1:0"],
                                 stdout=subprocess.DEVNULL, stderr=open(f"{lab}/agent.log", "w"))
        time.sleep(6)
        results["bounded"] = measure(primary, SECONDS)
        held = lambda: sql(primary, "SELECT current_setting('synchronous_standby_names') <> ''")[0]
        if held():
            raise RuntimeError("bounded mode held commits with the replica keeping up")

        # The link is cut for 10 s under the writer; commits are held at the bound.
        writer_result, cut_at = {}, time.time()
        proxy.paused.set()
        blocked = threading.Thread(target=lambda: writer_result.setdefault("cut", measure(primary, 10)))
        blocked.start()
        time.sleep(10)
        was_held = held()
        proxy.paused.clear()
        back_at = time.time()
        blocked.join()
        results["triggered"] = measure(primary, 30, until=lambda: not held())
        released_at = time.time()
        log = [json.loads(l) for l in open(f"{lab}/pgdr-rpo-bound.jsonl")]
        holds = [e for e in log if e["event"] == "hold"]
        releases = [e for e in log if e["event"] == "release"]
        print(f"date {time.strftime('%Y-%m-%d')}, {SECONDS:.0f} s per mode, link delay {DELAY * 1000:.0f} ms each way "
              f"(round trip {2 * DELAY * 1000:.0f} ms)")
        for mode in ("async", "bounded", "triggered", "sync"):
            print(f"  {mode:10} {summary(results[mode])}")
        cut = writer_result.get("cut", [])
        print(f"link cut 10 s: held={was_held}; commits acknowledged during the cut {len(cut)}; "
              f"hold after {(holds[0]['unreceivedSeconds'] if holds else float('nan')):.1f} s of unreceived WAL; "
              f"released {released_at - back_at:.1f} s after the link came back; "
              f"held in all {sum(e.get('heldSeconds') or 0 for e in releases):.1f} s")
    finally:
        if agent:
            agent.terminate()
            agent.wait()
        if os.path.exists(f"{lab}/agent.log"):
            print(open(f"{lab}/agent.log").read()[-3000:])
        pgdr("lab", "destroy", "--dir", lab, "--yes", check=False)


if __name__ == "__main__":
    main()
