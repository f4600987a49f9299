#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Long-lived connections that must survive a change between two rounds.

  held_flows.py VIP PORT N DIR

Opens N keep-alive HTTP connections and asks each for its backend's name
(round 1), writes DIR/opened.json ([{"port", "backend"}] by local port),
waits for DIR/go, asks every connection twice more (all connections at
once, 5 s deadline per round), and prints one JSON object:
{"opened": n, "conns": [{"port", "before", "after", "failed"}]}; failed is
a reset, a close, a timeout or an answer from another backend.
"""
import json
import os
import selectors
import socket
import sys
import time

REQ = b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n"


def answer(buf):
    """The body of one complete response in buf, and what follows; or None."""
    head, sep, rest = buf.partition(b"\r\n\r\n")
    if not sep:
        return None
    length = 0
    for h in head.split(b"\r\n"):
        if h.lower().startswith(b"content-length"):
            length = int(h.split(b":")[1])
    if len(rest) < length:
        return None
    return rest[:length].decode().strip(), rest[length:]


def round_trip(conns, deadline_s=5.0):
    """One GET on every live connection at once; marks failures."""
    sel = selectors.DefaultSelector()
    for c in conns:
        if c["sock"] is None:
            continue
        try:
            c["sock"].sendall(REQ)
            sel.register(c["sock"], selectors.EVENT_READ, c)
        except OSError:
            fail(c)
    end = time.monotonic() + deadline_s
    while sel.get_map() and time.monotonic() < end:
        for key, _ in sel.select(timeout=max(0.0, end - time.monotonic())):
            c = key.data
            try:
                chunk = c["sock"].recv(4096)
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(c["sock"])
                fail(c)
                continue
            c["buf"] += chunk
            got = answer(c["buf"])
            if got is None:
                continue
            name, c["buf"] = got
            sel.unregister(c["sock"])
            if c["before"] is None:
                c["before"] = name
            elif name != c["before"]:
                fail(c)
                continue
            c["after"] = name
    for key in list(sel.get_map().values()):  # no answer in time
        sel.unregister(key.fileobj)
        fail(key.data)


def fail(c):
    c["failed"] = True
    if c["sock"] is not None:
        c["sock"].close()
        c["sock"] = None


def main():
    vip, port, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    conns = []
    for _ in range(n):
        try:
            s = socket.create_connection((vip, port), timeout=3.0)
        except OSError:
            continue
        s.setblocking(False)
        conns.append({"sock": s, "port": s.getsockname()[1], "buf": b"",
                      "before": None, "after": None, "failed": False})
    round_trip(conns)
    with open(os.path.join(d, "opened.json.tmp"), "w") as f:
        json.dump([{"port": c["port"], "backend": c["before"]} for c in conns
                   if not c["failed"]], f)
    os.rename(os.path.join(d, "opened.json.tmp"), os.path.join(d, "opened.json"))
    while not os.path.exists(os.path.join(d, "go")):
        time.sleep(0.05)
    ok = [c for c in conns if not c["failed"]]
    for c in ok:
        c["after"] = None
    round_trip(ok)
    round_trip(ok)
    print(json.dumps({"opened": len(ok), "conns": [
        {"port": c["port"], "before": c["before"], "after": c["after"], "failed": c["failed"]}
        for c in ok]}))
    for c in ok:
        if c["sock"] is not None:
            c["sock"].close()


if __name__ == "__main__":
    main()
