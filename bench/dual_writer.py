#!/usr/bin/python3
"""A client outside pgdr that tries every node directly (no routing), to see a
split brain from outside: one thread per node, each inserting a fresh id every
INTERVAL ms on its own libpq connection (psycopg2, autocommit), reconnecting at
once after any error. Every acknowledged commit is recorded with the node that
acknowledged it and the client's clock when the answer arrived.

usage: dual_writer.py OUTFILE INTERVAL_MS DSN [DSN ...]
Runs until SIGTERM; then writes
  {"acks": [[id, t_ack, dsn_index], ...], "errors": [n per dsn]}.
On each node's first acknowledged write it creates OUTFILE.first-INDEX, so a
caller can wait until the writer really reaches a node before injecting a fault.
The table pgdr_dual(id bigint primary key) must exist on the primary. Ids start
from the clock (milliseconds x 1000), so runs one after another never collide.
"""
import itertools, json, signal, sys, threading, time
import psycopg2

outfile, interval, dsns = sys.argv[1], float(sys.argv[2]) / 1000, sys.argv[3:]
# A plain flag: a signal handler that takes a lock (Event.set) can deadlock
# against the main thread it interrupted.
running = [True]
def stop_running(*_):
    running[0] = False
signal.signal(signal.SIGTERM, stop_running)
signal.signal(signal.SIGINT, stop_running)
# A parent that spawned us from a thread blocking signals (libdispatch workers
# do) leaves them blocked here: SIGTERM would never arrive.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
ids = itertools.count(int(time.time() * 1000) * 1000)  # next() is atomic in CPython: ids never repeat across threads
lock = threading.Lock()
acks, errors, reached = [], [0] * len(dsns), set()

def write(index, dsn):
    conn = None
    while running[0]:
        started = time.time()
        try:
            if conn is None:
                # Short timeouts: a cut-off node must not hide the others' answers.
                conn = psycopg2.connect(dsn, connect_timeout=1, keepalives=1, keepalives_idle=1,
                                        keepalives_interval=1, keepalives_count=1,
                                        options="-c statement_timeout=2000")
                conn.autocommit = True
            row = next(ids)
            with conn.cursor() as cur:
                cur.execute("INSERT INTO pgdr_dual (id) VALUES (%s)", (row,))
            with lock:
                acks.append((row, time.time(), index))
                first = index not in reached
                reached.add(index)
            if first:
                open(f"{outfile}.first-{index}", "w").close()
        except Exception:
            with lock:
                errors[index] += 1
            try:
                conn.close()
            except Exception:
                pass
            conn = None
        time.sleep(max(0.0, interval - (time.time() - started)))

threads = [threading.Thread(target=write, args=(i, d), daemon=True) for i, d in enumerate(dsns)]
for t in threads:
    t.start()
while running[0]:
    time.sleep(0.1)
for t in threads:
    t.join(timeout=5)
with open(outfile, "w") as f:
    json.dump({"acks": sorted(acks, key=lambda a: a[1]), "errors": errors}, f)
