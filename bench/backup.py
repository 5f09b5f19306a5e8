#!/usr/bin/env python3
"""Backups and restores as users get them: a lab with pgBackRest (`pgdr lab up --backups`),
a pgbench database, timed from outside pgdr.

usage: bench/backup.py [scale] [runs]        (default 50 3; PGDR_BIN=... for another build)

  backup      `pgdr backup --repo 1 --type full` (pgBackRest: lz4, aes-256-cbc, posix repository)
  basebackup  plain `pg_basebackup -X stream` of the same server, for comparison
  restore     `pgdr restore --to latest --repo 1`: restore, recovery, promotion, until the copy
              answers (the report's own timing, checked by a query here)
  copy        restoring by copying the pg_basebackup folder (cp -a) and starting it until it answers
  archive lag pg_stat_archiver's last archived WAL age, sampled every second during 20 s of
              pgbench at 300 tps (4 clients), with archive-push asynchronous
Each median of `runs`; MB/s over the database size.
"""
import json, os, re, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGDR = os.environ.get("PGDR_BIN", os.path.join(ROOT, ".build/debug/pgdr"))
SCALE = int(sys.argv[1]) if len(sys.argv) > 1 else 50
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
BIN = sorted(d for d in os.listdir("/usr/lib/postgresql"))[-1]
BIN = f"/usr/lib/postgresql/{BIN}/bin"


def sh(args, env=None, check=True, user=None):
    if user and os.geteuid() == 0:
        args = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"] + args
    out = subprocess.run(args, capture_output=True, text=True, env=env)
    if check and out.returncode not in (0, 4):
        raise RuntimeError(f"{' '.join(args)}: {out.returncode} {out.stderr.strip()[-400:]}")
    return out


def main():
    lab = tempfile.mkdtemp(prefix="pgdr-bench-backup-")
    os.rmdir(lab)
    sh([PGDR, "lab", "up", "--loopback", "--backups", "--dir", lab])
    config = f"{lab}/pgdr.yaml"
    spec = open(config).read()
    port = int(re.search(r"port: (\d+)", spec).group(1))
    env = dict(os.environ, PGPASSFILE=f"{lab}/pgpass", PGHOST="127.0.0.1", PGPORT=str(port), PGUSER="pgdr_admin", PGDATABASE="postgres")
    user = json.load(open(f"{lab}/lab.json")).get("serverUser") if os.geteuid() == 0 else None
    try:
        sh([f"{BIN}/pgbench", "-i", "-q", "-s", str(SCALE)], env=env)
        size = int(sh(["psql", "-XAtc", "SELECT pg_database_size('postgres')"], env=env).stdout)
        mb = size / 1048576
        results = {k: [] for k in ("backup", "basebackup", "restore", "copy")}
        for run in range(RUNS):
            t = time.monotonic()
            sh([PGDR, "backup", "--repo", "1", "--type", "full", "--config", config])
            results["backup"].append(time.monotonic() - t)

            base = f"{lab}/basebackup-{run}"
            os.makedirs(base, mode=0o700)
            os.chmod(base, 0o700)
            if user:
                shutil.chown(base, user, user)
            t = time.monotonic()
            # As the lab's standby was cloned: the replication role, its passfile (the server user's).
            sh([f"{BIN}/pg_basebackup", "-D", base, "-X", "stream", "--checkpoint=fast", "-h", "127.0.0.1", "-p", str(port),
                "-U", "pgdr_replicator", "--no-password"], env=dict(env, PGPASSFILE=f"{lab}/us-east-1/pgpass"), user=user)
            results["basebackup"].append(time.monotonic() - t)

            target = f"{lab}/restore-{run}"
            t = time.monotonic()
            report = json.loads(sh([PGDR, "restore", "--to", "latest", "--repo", "1", "--target-dir", target, "--json",
                                    "--config", config]).stdout)
            took = time.monotonic() - t
            rows = sh(["psql", "-XAtc", "SELECT count(*) FROM pgbench_accounts", "-p", str(report["port"])], env=env).stdout.strip()
            assert int(rows) == SCALE * 100000, rows
            results["restore"].append(took)
            sh([f"{BIN}/pg_ctl", "-D", target, "stop", "-m", "fast"], user=user)

            copy = f"{lab}/copy-{run}"
            t = time.monotonic()
            sh(["cp", "-a", base, copy])
            cport = port + 1000 + run
            with open(f"{copy}/postgresql.auto.conf", "a") as f:
                f.write(f"\nport = {cport}\nunix_socket_directories = ''\narchive_mode = off\nprimary_conninfo = ''\n")
            for name in ("standby.signal", "recovery.signal"):
                if os.path.exists(f"{copy}/{name}"):
                    os.remove(f"{copy}/{name}")
            sh([f"{BIN}/pg_ctl", "-D", copy, "-l", f"{copy}/log", "-w", "start"], user=user)
            sh(["psql", "-XAtc", "SELECT 1", "-p", str(cport)], env=env)
            results["copy"].append(time.monotonic() - t)
            sh([f"{BIN}/pg_ctl", "-D", copy, "stop", "-m", "fast"], user=user)
            for folder in (base, copy, target):
                shutil.rmtree(folder, ignore_errors=True)
            print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in results.items()), flush=True)

        bench = subprocess.Popen([f"{BIN}/pgbench", "-c", "4", "-j", "2", "-R", "300", "-T", "20", "-n"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lags = []
        time.sleep(2)
        while bench.poll() is None:
            out = sh(["psql", "-XAtc", "SELECT coalesce(extract(epoch FROM now() - last_archived_time), -1) FROM pg_stat_archiver"],
                     env=env).stdout.strip()
            lags.append(float(out))
            time.sleep(1)
        print(f"\nscale {SCALE}: database {mb:.0f} MB; {RUNS} runs, median (min-max):")
        for k, v in results.items():
            print(f"  {k:11s} {statistics.median(v):6.2f}s  ({min(v):.2f}-{max(v):.2f})  {mb / statistics.median(v):6.0f} MB/s")
        lags = [x for x in lags if x >= 0]
        if lags:
            print(f"  archive lag under pgbench 300 tps: median {statistics.median(lags):.1f}s, max {max(lags):.1f}s "
                  f"({len(lags)} samples; archive_timeout 60s)")
    finally:
        sh([PGDR, "lab", "destroy", "--yes", "--dir", lab], check=False)


if __name__ == "__main__":
    main()
