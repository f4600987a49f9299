#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Watches one instance through any of several registry replicas and
prints, as JSON, when it was first seen critical and when it was first
missing from an answer (a 200 from a live replica, so a dead replica is
never mistaken for a removal). Bounded: gives up after LIMIT seconds.
Usage: poll_gone.py NAME ID LIMIT PORT [PORT...]"""
import json
import sys
import time
import urllib.request

name, sid, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
ports = sys.argv[4:]
end = time.time() + limit
seen = {"critical_at": None, "gone_at": None}
while time.time() < end and seen["gone_at"] is None:
    for p in ports:
        try:
            with urllib.request.urlopen(
                    "http://127.0.0.1:%s/v1/health/service/%s" % (p, name), timeout=2) as r:
                entries = json.load(r)
        except Exception:
            continue
        mine = [e for e in entries if e["Service"]["ID"] == sid]
        if not mine:
            seen["gone_at"] = time.time()
        elif seen["critical_at"] is None and any(
                c["Status"] == "critical" for c in mine[0]["Checks"]):
            seen["critical_at"] = time.time()
        break
    time.sleep(0.1)
print(json.dumps(seen))
