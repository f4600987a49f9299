#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A small Kubernetes API server for tests: the list/watch protocol of
core/v1 Services and discovery.k8s.io/v1 EndpointSlices, the status
subresource of Services and coordination.k8s.io/v1 Leases, nothing else.

  fake_apiserver.py --port 16443 [--token-file F] [--state F] [FIXTURE.json...]

What it does as the real one does:
  GET /api/v1/services, /api/v1/namespaces/NS/services,
      /apis/discovery.k8s.io/v1/endpointslices, .../namespaces/NS/endpointslices
  - a list answers a <Kind>List with metadata.resourceVersion (items carry
    no kind/apiVersion, as the real server sends them);
  - ?watch=1&resourceVersion=RV streams chunked JSON lines {"type", "object"}:
    every event after RV, then new ones; BOOKMARK (with allowWatchBookmarks)
    every --bookmark seconds; the stream ends after timeoutSeconds;
  - an RV older than the oldest kept one is 410 Gone: as an ERROR event in
    the stream (the real server's way) or, with gone=status, as HTTP 410;
  - with a token file, every request needs "Authorization: Bearer TOKEN",
    else 401 with a Status body.
  GET/PUT /api/v1/namespaces/NS/services/NAME/status (and GET .../NAME):
  - PUT takes only the body's status (as the real status subresource
    does), answers the stored object; a body whose metadata.resourceVersion
    is not the current one is 409 Conflict, a missing Service 404, a name
    that is not the path's 400;
  GET/PUT /apis/coordination.k8s.io/v1/namespaces/NS/leases/NAME, POST
      .../namespaces/NS/leases:
  - the same optimistic concurrency on PUT (409 on a stale
    resourceVersion), 404 for a missing Lease, 409 AlreadyExists on a POST
    of one that exists.
Objects are kept with a resourceVersion and uid of their own. --state keeps
everything in a file, so a killed and restarted server (an outage) comes
back with the same objects and resourceVersions.

Control (no auth), for the tests: POST /_control/<verb> with a JSON body
  apply   {"object": {...}}                 ADDED or MODIFIED
  delete  {"kind": K, "namespace": NS, "name": N}
  expire  {}          forget every event so far: older RVs are 410 Gone,
                      and open watches get an ERROR 410 event
  drop    {}          close every open watch stream
  stall   {"on": true|false}   open watches send nothing (no bookmarks)
  deny    {"code": 401|403|0}  answer every API request with that status
  gone    {"mode": "event"|"status"}
  forbid  {"rules": ["leases:update", "services/status:update", ...]}
                      answer those resource:verb pairs 403 Forbidden, as
                      RBAC does for a role without them ([] clears)
  conflict {"n": N}   the next N status PUTs answer 409 as if stale
GET /_control/stats: counts of lists, watches, 401s, 410s by kind.
GET /_control/objects: every version of every object applied, as
  [{"file", "doc"}] for tests/manifests/check_schema.mjs.
"""
import argparse
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

KINDS = {
    "services": ("v1", "Service"),
    "endpointslices": ("discovery.k8s.io/v1", "EndpointSlice"),
    "leases": ("coordination.k8s.io/v1", "Lease"),
}
BY_KIND = {v[1]: k for k, v in KINDS.items()}
PATH = re.compile(r"^/(?:api/v1|apis/discovery\.k8s\.io/v1)/(?:namespaces/([a-z0-9-]+)/)?(services|endpointslices)$")
ONE = re.compile(r"^/(?:api/v1|apis/coordination\.k8s\.io/v1)/namespaces/([a-z0-9-]+)/(services|leases)(?:/([a-z0-9.-]+))?(/status)?$")


class State:
    def __init__(self, path):
        self.path = path
        self.cond = threading.Condition()
        self.rv = 100
        self.oldest = 100        # events at or below this RV are forgotten
        self.objects = {k: {} for k in KINDS}
        self.events = []         # (rv, kind, type, object)
        self.epoch = 0           # bumps on drop/expire: watches end
        self.stall = False
        self.deny = 0
        self.gone_mode = "event"
        self.stats = {}
        self.served = []         # every version of every object, for schema checks
        self.forbid = set()      # "resource:verb" answered 403
        self.conflicts = 0       # status PUTs still to answer 409
        if path and os.path.exists(path):
            with open(path) as f:
                d = json.load(f)
            self.rv = self.oldest = d["rv"]
            self.objects = {k: {} for k in KINDS}
            self.objects.update({k: {tuple(key.split("/", 1)): o for key, o in v.items()} for k, v in d["objects"].items()})

    def count(self, what):
        self.stats[what] = self.stats.get(what, 0) + 1

    def save(self):
        if not self.path:
            return
        d = {"rv": self.rv, "objects": {k: {"/".join(key): o for key, o in v.items()} for k, v in self.objects.items()}}
        with open(self.path + ".tmp", "w") as f:
            json.dump(d, f)
        os.replace(self.path + ".tmp", self.path)

    def apply(self, obj, etype=None):
        kind = BY_KIND[obj["kind"]]
        md = obj.setdefault("metadata", {})
        md.setdefault("namespace", "default")
        key = (md["namespace"], md["name"])
        with self.cond:
            old = self.objects[kind].get(key)
            self.rv += 1
            md["resourceVersion"] = str(self.rv)
            md["uid"] = old["metadata"]["uid"] if old else str(uuid.uuid4())
            md.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            self.objects[kind][key] = obj
            self.served.append(json.loads(json.dumps(obj)))
            self.events.append((self.rv, kind, etype or ("MODIFIED" if old else "ADDED"), obj))
            self.save()
            self.cond.notify_all()

    def delete(self, kind, ns, name):
        with self.cond:
            obj = self.objects[kind].pop((ns, name), None)
            if obj is None:
                return False
            self.rv += 1
            obj = json.loads(json.dumps(obj))
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.events.append((self.rv, kind, "DELETED", obj))
            self.save()
            self.cond.notify_all()
            return True


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake-apiserver: " + fmt % args + "\n")

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(n) or b"null")
        except ValueError:
            return None

    def api_gate(self, resource, verb):
        """401/403 as the real server answers them; True when answered."""
        st = self.server.state
        with st.cond:
            deny = st.deny
            forbidden = "%s:%s" % (resource, verb) in st.forbid
        if deny:
            with st.cond:
                st.count("denied_%d" % deny)
            self.send_json(deny, status(deny, "Unauthorized" if deny == 401 else "Forbidden", "denied by test control"))
            return True
        if self.server.token is not None and self.headers.get("Authorization") != "Bearer " + self.server.token:
            with st.cond:
                st.count("unauthorized")
            self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
            return True
        if forbidden:
            with st.cond:
                st.count("forbidden_" + resource.replace("/", "_"))
            group = "coordination.k8s.io" if resource == "leases" else ""
            self.send_json(403, status(403, "Forbidden", '%s "%s" is forbidden: User "system:serviceaccount:fluxlb:fluxlbd" cannot %s resource "%s" in API group "%s"'
                                       % (resource, "", verb, resource, group)))
            return True
        return False

    def one(self, method):
        """GET/PUT of one Service (or its status) or Lease, POST of a Lease."""
        st = self.server.state
        m = ONE.match(urlparse(self.path).path)
        if not m or (m.group(2) == "leases" and m.group(4)) or (method == "POST") != (m.group(3) is None) \
                or (method == "POST" and m.group(2) != "leases") or (method == "PUT" and m.group(2) == "services" and not m.group(4)):
            return self.send_json(404 if method == "GET" else 405, status(404 if method == "GET" else 405, "NotFound" if method == "GET" else "MethodNotAllowed", "the server does not allow this method on the requested resource"))
        ns, kind, name, sub = m.group(1), m.group(2), m.group(3), m.group(4)
        resource = kind + ("/status" if sub else "")
        verb = {"GET": "get", "PUT": "update", "POST": "create"}[method]
        body = self.read_body() if method != "GET" else None
        with st.cond:
            st.count("%s_%s" % (verb, resource.replace("/", "_")))
        if self.api_gate(resource, verb):
            return
        api, k = KINDS[kind]
        if method != "GET" and (not isinstance(body, dict) or not isinstance(body.get("metadata"), dict)):
            return self.send_json(400, status(400, "BadRequest", "the body is not a %s" % k))
        if method == "POST":
            name = body["metadata"].get("name")
            if not name or body.get("kind") != k or body["metadata"].get("namespace", ns) != ns:
                return self.send_json(400, status(400, "BadRequest", "a %s named in namespace %s" % (k, ns)))
            with st.cond:
                if (ns, name) in st.objects[kind]:
                    st.count("conflict_create_" + kind)
                    return self.send_json(409, dict(status(409, "AlreadyExists", '%s.%s "%s" already exists' % (kind, api.split("/")[0], name)), details={"name": name, "kind": kind}))
                body["metadata"]["namespace"] = ns
                body["metadata"].pop("resourceVersion", None)
                st.apply(body)
                return self.send_json(201, body)
        with st.cond:
            cur = st.objects[kind].get((ns, name))
            if cur is None:
                st.count("notfound_" + kind)
                return self.send_json(404, status(404, "NotFound", '%s "%s" not found' % (kind, name)))
            if method == "GET":
                return self.send_json(200, dict(cur, apiVersion=api, kind=k))
            if body["metadata"].get("name", name) != name:
                return self.send_json(400, status(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)" % (body["metadata"].get("name"), name)))
            rv = body["metadata"].get("resourceVersion")
            injected = sub and st.conflicts > 0
            if injected:
                st.conflicts -= 1
            if injected or (rv and rv != cur["metadata"]["resourceVersion"]):
                st.count("conflict_" + resource.replace("/", "_"))
                return self.send_json(409, dict(status(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; please apply your changes to the latest version and try again' % (kind, name)), details={"name": name, "kind": kind}))
            new = json.loads(json.dumps(cur))
            if sub:
                new["status"] = body.get("status") or {}
            else:
                new["spec"] = body.get("spec") or {}
                for f in ("labels", "annotations"):
                    if f in body["metadata"]:
                        new["metadata"][f] = body["metadata"][f]
            new.setdefault("apiVersion", api)
            new.setdefault("kind", k)
            st.apply(new)
            return self.send_json(200, new)

    def do_PUT(self):
        self.one("PUT")

    def do_POST(self):
        st = self.server.state
        if not self.path.startswith("/_control/"):
            return self.one("POST")
        verb = self.path.removeprefix("/_control/")
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        with st.cond:
            if verb == "apply":
                pass
            elif verb == "delete":
                pass
            elif verb == "expire":
                st.rv += 1  # what a compaction leaves: only the current RV is valid
                st.oldest = st.rv
                st.events = []
                st.epoch += 1
                st.expired_epoch = st.epoch
                st.cond.notify_all()
            elif verb == "drop":
                st.epoch += 1
                st.cond.notify_all()
            elif verb == "stall":
                st.stall = bool(body.get("on"))
                st.cond.notify_all()
            elif verb == "deny":
                st.deny = int(body.get("code") or 0)
                st.epoch += 1 if st.deny else 0
                st.cond.notify_all()
            elif verb == "gone":
                st.gone_mode = body.get("mode", "event")
            elif verb == "forbid":
                st.forbid = set(body.get("rules") or [])
            elif verb == "conflict":
                st.conflicts = int(body.get("n") or 0)
            else:
                return self.send_json(404, status(404, "NotFound", "no such control verb"))
        if verb == "apply":
            obj = body["object"]
            with st.cond:  # a spec change leaves the status, as on a real server
                cur = st.objects.get(BY_KIND.get(obj.get("kind")), {}).get(
                    (obj.get("metadata", {}).get("namespace", "default"), obj.get("metadata", {}).get("name")))
                if cur and "status" in cur and "status" not in obj:
                    obj["status"] = cur["status"]
                st.apply(obj)
        elif verb == "delete":
            if not st.delete(BY_KIND.get(body.get("kind"), body.get("kind")), body["namespace"], body["name"]):
                return self.send_json(404, status(404, "NotFound", "no such object"))
        self.send_json(200, {"rv": st.rv})

    def do_GET(self):
        st = self.server.state
        url = urlparse(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/_control/objects":
            with st.cond:
                return self.send_json(200, [{"file": "fake-apiserver", "doc": o} for o in st.served])
        if url.path == "/_control/stats":
            with st.cond:
                return self.send_json(200, dict(st.stats, rv=st.rv))
        one = ONE.match(url.path)
        if one and one.group(3):
            return self.one("GET")
        m = PATH.match(url.path)
        if not m:
            return self.send_json(404, status(404, "NotFound", "the server could not find the requested resource"))
        ns, kind = m.group(1), m.group(2)
        watch = q.get("watch") in ("1", "true")
        what = ("watch_" if watch else "list_") + kind
        with st.cond:
            st.count(what)
            deny = st.deny
        if deny:
            with st.cond:
                st.count("denied_%d" % deny)
            return self.send_json(deny, status(deny, "Unauthorized" if deny == 401 else "Forbidden", "denied by test control"))
        if self.server.token is not None and self.headers.get("Authorization") != "Bearer " + self.server.token:
            with st.cond:
                st.count("unauthorized")
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        if watch:
            return self.watch(ns, kind, q)
        with st.cond:
            items = [strip(o) for (ons, _), o in sorted(st.objects[kind].items()) if ns is None or ons == ns]
            rv = st.rv
        api, k = KINDS[kind]
        self.send_json(200, {"kind": k + "List", "apiVersion": api, "metadata": {"resourceVersion": str(rv)}, "items": items})

    def watch(self, ns, kind, q):
        st = self.server.state
        try:
            rv = int(q.get("resourceVersion") or 0)
        except ValueError:
            return self.send_json(400, status(400, "BadRequest", "bad resourceVersion"))
        timeout = float(q.get("timeoutSeconds") or 1800)
        bookmarks = q.get("allowWatchBookmarks") == "true"
        with st.cond:
            gone = rv < st.oldest
            if gone:
                st.count("gone_" + kind)
            if gone and st.gone_mode == "status":
                msg = "too old resource version: %d (%d)" % (rv, st.oldest)
                return self.send_json(410, status(410, "Expired", msg))
            epoch = st.epoch
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        api, k = KINDS[kind]
        end = time.monotonic() + timeout
        next_bm = time.monotonic() + self.server.bookmark
        try:
            if gone:
                self.chunk({"type": "ERROR", "object": status(410, "Expired", "too old resource version: %d (%d)" % (rv, st.oldest))})
                return self.finish_chunks()
            while True:
                with st.cond:
                    while True:
                        now = time.monotonic()
                        if st.epoch != epoch or now >= end:
                            break
                        if not st.stall and (any(e[0] > rv and e[1] == kind for e in st.events) or (bookmarks and now >= next_bm)):
                            break
                        st.cond.wait(min(end, next_bm if bookmarks else end) - now if not st.stall else 0.2)
                    if st.epoch != epoch:
                        # expire in status mode drops the stream: the reconnect gets HTTP 410
                        expired = getattr(st, "expired_epoch", None) == st.epoch and st.gone_mode == "event"
                        if expired:
                            st.count("gone_" + kind)
                        out = [("ERROR", status(410, "Expired", "too old resource version"))] if expired else None
                        if out is None:
                            return  # dropped: the connection closes without a last chunk
                    elif time.monotonic() >= end:
                        out = []
                    else:
                        out = []
                        for erv, ekind, etype, obj in st.events:
                            if erv > rv and ekind == kind and (ns is None or obj["metadata"]["namespace"] == ns):
                                out.append((etype, dict(obj, apiVersion=api, kind=k)))
                        new_rv = max([e[0] for e in st.events if e[1] == kind and e[0] > rv] or [rv])
                        if bookmarks and not out and time.monotonic() >= next_bm:
                            out.append(("BOOKMARK", {"kind": k, "apiVersion": api, "metadata": {"resourceVersion": str(max(st.rv, rv))}}))
                            new_rv = max(st.rv, rv)
                            next_bm = time.monotonic() + self.server.bookmark
                        rv = new_rv
                for etype, obj in out:
                    self.chunk({"type": etype, "object": obj})
                if st.epoch != epoch or time.monotonic() >= end:
                    return self.finish_chunks()
        except (BrokenPipeError, ConnectionResetError):
            return
        finally:
            self.close_connection = True

    def finish_chunks(self):
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass


def strip(obj):
    o = dict(obj)
    o.pop("kind", None)
    o.pop("apiVersion", None)
    return o


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=16443)
    ap.add_argument("--token-file", help="demand this bearer token")
    ap.add_argument("--state", help="keep objects and resourceVersions in this file")
    ap.add_argument("--bookmark", type=float, default=1.0, help="seconds between BOOKMARK events")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("fixtures", nargs="*", help="JSON files: an object, a list of objects, or a List")
    a = ap.parse_args()
    state = State(a.state)
    if not (a.state and os.path.exists(a.state) and os.path.getsize(a.state)):
        for path in a.fixtures:
            with open(path) as f:
                d = json.load(f)
            for obj in d if isinstance(d, list) else d.get("items", [d]) if d.get("kind", "").endswith("List") else [d]:
                state.apply(obj)
        state.oldest = state.rv  # a fresh server keeps no history before its start
        state.events = []
    srv = ThreadingHTTPServer((a.listen, a.port), Handler)
    srv.daemon_threads = True
    srv.state = state
    srv.token = open(a.token_file).read().strip() if a.token_file else None
    srv.bookmark = a.bookmark
    srv.verbose = a.verbose
    print("fake-apiserver: listening on %s:%d rv=%d" % (a.listen, a.port, state.rv), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
