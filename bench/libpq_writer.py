#!/usr/bin/python3
"""A client outside pgdr: sequential ids, one autocommit INSERT each, every 5 ms,
through libpq (psycopg2) with a multi-host string and target_session_attrs=read-write,
reconnecting 25 ms after any error (as an application would). Every acknowledged
commit is recorded with its time and the port and address of the server that acknowledged it.

usage: libpq_writer.py DSN OUTFILE [interval_ms] [retry_ms]
Runs until SIGTERM; then writes {"acks": [[id, t_ack, port, address], ...], "errors": n}.
The table pgdr_bench(id int primary key) must exist.
"""
import json, signal, sys, time
import psycopg2

dsn, outfile = sys.argv[1], sys.argv[2]
interval = float(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.005
retry = float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0.025
running = True

def stop(*_):
    global running
    running = False

signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])  # a parent may have left them blocked
acks, errors, next_id, conn = [], 0, 0, None
while running:
    next_id += 1  # an id whose answer never came is never reused: it may have committed
    try:
        if conn is None:
            conn = psycopg2.connect(dsn, connect_timeout=2)
            conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("INSERT INTO pgdr_bench (id) VALUES (%s) RETURNING inet_server_port(), host(inet_server_addr())", (next_id,))
            port, address = cur.fetchone()
        acks.append((next_id, time.time(), port, address))
        time.sleep(interval)
    except Exception:
        errors += 1
        try:
            conn.close()
        except Exception:
            pass
        conn = None
        time.sleep(retry)
with open(outfile, "w") as f:
    json.dump({"acks": acks, "errors": errors}, f)
