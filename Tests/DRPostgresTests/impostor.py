"""An impostor on a PostgreSQL port: it answers a login as the attacker in
docs/security.md would, asking for the password in clear (or as MD5), and
reports how many bytes the client sent after that request.

usage: impostor.py cleartext|md5   prints its port, then one JSON line."""
import json
import socket
import struct
import sys

mode = sys.argv[1]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(1)
print(server.getsockname()[1], flush=True)
server.settimeout(20)
report = {"sslRequest": False, "startup": False, "afterRequest": 0}
try:
    conn, _ = server.accept()
    conn.settimeout(3)

    def read_exact(n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def read_startup():
        length = struct.unpack("!i", read_exact(4))[0]
        return read_exact(length - 4)

    body = read_startup()
    if struct.unpack("!i", body[:4])[0] == 80877103:
        report["sslRequest"] = True
        conn.sendall(b"N")
        body = read_startup()
    report["startup"] = True
    if mode == "cleartext":
        conn.sendall(b"R" + struct.pack("!ii", 8, 3))
    else:
        conn.sendall(b"R" + struct.pack("!ii", 12, 5) + b"salt")
    try:
        while True:
            data = conn.recv(4096)
            if not data:
                break
            report["afterRequest"] += len(data)
    except socket.timeout:
        pass
except (EOFError, ConnectionError, socket.timeout):
    pass
print(json.dumps(report), flush=True)
