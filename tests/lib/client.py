#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""HTTP client for the demo and e2e tests. Prints one JSON object.

  client.py spread VIP PORT N           N new connections, one GET each:
                                        {"ok": n, "failed": n, "by_backend": {...}}
  client.py tuple VIP PORT SPORT K      K connections from the same source port
                                        (closed with RST so the 5-tuple is free
                                        again at once): {"backends": [...]}
  client.py big VIP PORT BYTES          one POST of BYTES: {"backend": name,
                                        "received": n} (n == BYTES when it all arrived)
  client.py stream VIP PORT SECONDS      new connections one after another for
                                        SECONDS: {"ok", "failed", "by_backend", "errors"}
  client.py hold VIP PORT N SECONDS      N long-lived keep-alive connections, a GET
                                        on each every 200 ms for SECONDS:
                                        {"connections": [{"backend", "ok", "failed"}]}
VIP may be IPv4 or IPv6.
"""
import json
import socket
import struct
import sys
import time


def get(vip, port, sport=0, timeout=3.0, body=None):
    family = socket.AF_INET6 if ":" in vip else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Linger 0: close() sends RST and leaves no TIME_WAIT, so the same
    # source port can open the next connection immediately.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    try:
        if sport:
            s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", sport))
        s.connect((vip, port))
        if body is None:
            s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\nConnection: close\r\n\r\n")
        else:
            s.sendall(b"POST / HTTP/1.1\r\nHost: vip\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body)
        data = b""
        while True:  # the server closes after the answer (Connection: close)
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return None
        return body.decode().strip()
    except OSError:
        return None
    finally:
        s.close()


def stream(vip, port, seconds):
    end = time.monotonic() + seconds
    ok, failed, by, errors = 0, 0, {}, []
    while time.monotonic() < end:
        name = get(vip, port)
        if name is None:
            failed += 1
            errors.append(round(time.monotonic() - end + seconds, 2))
        else:
            ok += 1
            by[name] = by.get(name, 0) + 1
    return {"ok": ok, "failed": failed, "by_backend": by, "errors": errors[:20]}


class Held:
    """One keep-alive connection that asks for the backend's name again and again."""

    def __init__(self, vip, port):
        self.s = socket.create_connection((vip, port), timeout=3.0)
        self.backend, self.ok, self.failed, self.buf = None, 0, 0, b""

    def ask(self):
        if self.s is None:
            self.failed += 1
            return
        try:
            self.s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
            while b"\r\n\r\n" not in self.buf:
                chunk = self.s.recv(4096)
                if not chunk:
                    raise OSError("closed")
                self.buf += chunk
            head, _, rest = self.buf.partition(b"\r\n\r\n")
            length = int([h.split(b":")[1] for h in head.split(b"\r\n")
                          if h.lower().startswith(b"content-length")][0])
            while len(rest) < length:
                chunk = self.s.recv(4096)
                if not chunk:
                    raise OSError("closed")
                rest += chunk
            name, self.buf = rest[:length].decode().strip(), rest[length:]
            if self.backend not in (None, name):
                raise OSError("answered by another backend")
            self.backend = name
            self.ok += 1
        except (OSError, ValueError, IndexError):
            self.failed += 1
            self.s.close()
            self.s = None


def hold(vip, port, n, seconds):
    conns = []
    for _ in range(n):
        try:
            conns.append(Held(vip, port))
        except OSError:
            pass
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for c in conns:
            c.ask()
        time.sleep(0.2)
    return {"opened": len(conns),
            "connections": [{"backend": c.backend, "ok": c.ok, "failed": c.failed}
                            for c in conns]}


def main():
    mode, vip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "spread":
        n = int(sys.argv[4])
        ok, failed, by = 0, 0, {}
        for _ in range(n):
            name = get(vip, port)
            if name is None:
                failed += 1
            else:
                ok += 1
                by[name] = by.get(name, 0) + 1
        print(json.dumps({"ok": ok, "failed": failed, "by_backend": by}))
    elif mode == "tuple":
        sport, k = int(sys.argv[4]), int(sys.argv[5])
        names = []
        for _ in range(k):
            names.append(get(vip, port, sport))
            time.sleep(0.02)
        print(json.dumps({"backends": names}))
    elif mode == "stream":
        print(json.dumps(stream(vip, port, float(sys.argv[4]))))
    elif mode == "hold":
        print(json.dumps(hold(vip, port, int(sys.argv[4]), float(sys.argv[5]))))
    elif mode == "big":
        n = int(sys.argv[4])
        answer = get(vip, port, body=b"x" * n, timeout=10.0)
        name, _, got = (answer or " -1").partition(" ")
        print(json.dumps({"backend": name, "received": int(got)}))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
