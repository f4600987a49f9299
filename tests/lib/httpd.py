#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A real HTTP/1.1 backend for the demo and e2e tests: answers every GET with
its own name, so the client can tell which backend served it.
Usage: httpd.py NAME [PORT] [HEALTH_FAIL_FILE]
With HEALTH_FAIL_FILE, GET /health answers 503 while that file exists (every
other path still answers 200): a failing health check on a working service.
With HTTPD_HEALTH_JSON_DIR in the environment, GET /health answers 200 with
the content of $HTTPD_HEALTH_JSON_DIR/NAME.json (application/json, read at
each request, so a test changes the load a backend reports by rewriting the
file) while that file exists, like the platform's /health/detailed."""
import http.server
import os
import socket
import socketserver
import sys
import time

NAME = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 80
HEALTH_FAIL_FILE = sys.argv[3] if len(sys.argv) > 3 else None
HEALTH_JSON_DIR = os.environ.get("HTTPD_HEALTH_JSON_DIR")


def health_json():
    """The JSON health body to serve, or None."""
    if not HEALTH_JSON_DIR:
        return None
    try:
        with open(os.path.join(HEALTH_JSON_DIR, NAME + ".json"), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = (NAME + "\n").encode()
        if (HEALTH_FAIL_FILE and self.path == "/health"
                and os.path.exists(HEALTH_FAIL_FILE)):
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        ctype = "text/plain"
        if self.path == "/health":
            js = health_json()
            if js is not None:
                body, ctype = js, "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        # Answers "<name> <bytes received>": the client checks the whole
        # body arrived (large requests exercise path MTU discovery).
        n = int(self.headers.get("Content-Length", "0"))
        got = 0
        while got < n:
            chunk = self.rfile.read(min(65536, n - got))
            if not chunk:
                break
            got += len(chunk)
        body = ("%s %d\n" % (NAME, got)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    address_family = socket.AF_INET6

    def server_bind(self):
        # One socket for IPv4 and IPv6 VIPs.
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


server = Server(("::", PORT), Handler)
# When it started listening (epoch seconds), for tests that time what
# follows a restart from the moment the server can answer.
print("listening %.3f" % time.time(), flush=True)
server.serve_forever()
