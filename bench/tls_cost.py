#!/usr/bin/python3
"""The cost of TLS, as users would see it: `pgdr status` latency, and the client write
gap of a planned `pgdr switchover`, with TLS (the lab's default: verify-full against
its own CA, for pgdr, replication and the client) and without (the same lab turned to
plain TCP: ssl = off, `host` lines in pg_hba.conf, tls.mode: disable, sslmode=disable).

usage: bench/tls_cost.py [runs]      (default 10; PGDR_BIN=... for another build)

status = wall time of the `pgdr status` process (spec parse, two sessions, every query,
render), after one warm-up. write gap = the longest pause between commits acknowledged to
bench/libpq_writer.py (psycopg2/libpq, outside pgdr: one autocommit INSERT every 5 ms
through a multi-host string with target_session_attrs=read-write) around the switchover.
"""
import glob, json, os, re, signal, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGDR = os.environ.get("PGDR_BIN", os.path.join(ROOT, ".build/debug/pgdr"))
WRITER = os.path.join(ROOT, "bench/libpq_writer.py")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10


def pgdr(*args, check=True):
    out = subprocess.run([PGDR, *args], capture_output=True, text=True)
    if check and out.returncode not in (0, 4):
        raise RuntimeError(f"pgdr {' '.join(args)}: {out.returncode} {out.stderr.strip()}")
    return out


def measure(lab, config, dsn, env):
    pgdr("status", "--config", config, check=False)
    status = []
    for _ in range(RUNS):
        start = time.monotonic()
        pgdr("status", "--config", config)
        status.append(time.monotonic() - start)
    gaps = []
    for run in range(RUNS):
        out = f"{lab}/writer-{run}.json"
        # The writer numbers its rows from 1: each run starts from an empty table.
        subprocess.run(["psql", "-XAtqc", "TRUNCATE pgdr_bench", dsn], env=env, check=True)
        writer = subprocess.Popen(["/usr/bin/python3", WRITER, dsn, out], env=env)
        time.sleep(1.5)
        pgdr("switchover", "--config", config)
        time.sleep(1.5)
        writer.send_signal(signal.SIGTERM); writer.wait()
        acks = [a[1] for a in json.load(open(out))["acks"]]
        if len(acks) < 2:
            raise RuntimeError(f"run {run}: the writer had {len(acks)} acknowledged commits; see {out}")
        gaps.append(max(b - a for a, b in zip(acks, acks[1:])))
    return status, gaps


def to_plain(lab, config):
    """The same lab without TLS: every file that turns it on, turned off."""
    pgdr("lab", "down", "--dir", lab)
    for conf in glob.glob(f"{lab}/*/data/pgdr.conf"):
        text = open(conf).read().replace("ssl = on", "ssl = off")
        open(conf, "w").write(text)
    for hba in glob.glob(f"{lab}/*/data/pg_hba.conf"):
        text = open(hba).read().replace("hostssl", "host   ")
        open(hba, "w").write(text)
    for auto in glob.glob(f"{lab}/*/data/postgresql.auto.conf"):
        text = re.sub(r" sslmode=''verify-full'' sslrootcert=''[^']*''", " sslmode=''disable''", open(auto).read())
        open(auto, "w").write(text)
    text = open(config).read().replace("tls:\n  mode: verify-full\n  ca: tls/ca.crt\n", "tls:\n  mode: disable\n")
    open(config, "w").write(text)
    # Without its CA file the lab writes no TLS settings for the standbys it makes.
    os.rename(f"{lab}/tls/ca.crt", f"{lab}/tls/ca.crt.off")
    pgdr("lab", "up", "--dir", lab)


def summary(values):
    values = sorted(values)
    return f"{values[0]:.3f} / **{statistics.median(values):.3f}** / {values[-1]:.3f}"


lab = tempfile.mkdtemp(prefix="pgdr-tls-bench-"); os.rmdir(lab)
try:
    pgdr("lab", "up", "--loopback", "--dir", lab)
    config = f"{lab}/pgdr.yaml"
    ports = [int(p) for p in re.findall(r"\n\s+port: (\d+)", open(config).read())]
    env = dict(os.environ, PGPASSFILE=f"{lab}/pgpass")
    base = f"host={','.join('127.0.0.1' for _ in ports)} port={','.join(map(str, ports))} user=pgdr_admin dbname=postgres target_session_attrs=read-write"
    subprocess.run(["psql", "-XAtqc", "CREATE TABLE IF NOT EXISTS pgdr_bench (id int PRIMARY KEY)", base + f" sslmode=verify-full sslrootcert={lab}/tls/ca.crt"],
                   env=env, check=True)
    results = {"tls": measure(lab, config, base + f" sslmode=verify-full sslrootcert={lab}/tls/ca.crt", env)}
    to_plain(lab, config)
    results["plain"] = measure(lab, config, base + " sslmode=disable", env)
    print(json.dumps(results))
    for mode, (status, gaps) in results.items():
        print(f"| {mode} | {RUNS} | {summary(status)} | {summary(gaps)} |")
finally:
    pgdr("lab", "destroy", "--yes", "--dir", lab, check=False)
