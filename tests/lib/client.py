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
    elif mode == "big":
        n = int(sys.argv[4])
        answer = get(vip, port, body=b"x" * n, timeout=10.0)
        name, _, got = (answer or " -1").partition(" ")
        print(json.dumps({"backend": name, "received": int(got)}))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
