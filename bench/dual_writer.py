#!/usr/bin/python3
"""A client outside pgdr that tries every node directly (no routing), to see a
split brain from outside: one thread per node, each inserting a fresh id every
INTERVAL ms on its own libpq connection (psycopg2, autocommit), reconnecting at
once after any error. Every acknowledged commit is recorded with the node that
acknowledged it and the client's clock when the answer arrived.

usage: dual_writer.py OUTFILE INTERVAL_MS DSN [DSN ...]
Runs until SIGTERM; then writes
  {"acks": [[id, t_ack, dsn_index], ...], "errors": [n per dsn]}.
The table pgdr_bench(id int primary key) must exist on the primary.
"""
import itertools, json, signal, sys, threading, time
import psycopg2

outfile, interval, dsns = sys.argv[1], float(sys.argv[2]) / 1000, sys.argv[3:]
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
ids = itertools.count(1)  # next() is atomic in CPython: ids never repeat across threads
lock = threading.Lock()
acks, errors = [], [0] * len(dsns)

def write(index, dsn):
    conn = None
    while not stop.is_set():
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
                cur.execute("INSERT INTO pgdr_bench (id) VALUES (%s)", (row,))
            with lock:
                acks.append((row, time.time(), index))
        except Exception:
            with lock:
                errors[index] += 1
            try:
                conn.close()
            except Exception:
                pass
            conn = None
        stop.wait(max(0.0, interval - (time.time() - started)))

threads = [threading.Thread(target=write, args=(i, d), daemon=True) for i, d in enumerate(dsns)]
for t in threads:
    t.start()
while not stop.is_set():
    stop.wait(0.2)
for t in threads:
    t.join(timeout=5)
with open(outfile, "w") as f:
    json.dump({"acks": sorted(acks, key=lambda a: a[1]), "errors": errors}, f)
