#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""fluxlb-registry through a real third-party Consul client: Debian's
python3-consul (it imports only under /usr/bin/python3).
Usage: consul_client.py PORT [--token T] COMMAND ...
  register NAME ID SVC_PORT CHECK_URL [TAG]   HTTP check, interval 1s, timeout 1s
  deregister ID                               (python3-consul sends GET)
  passing NAME                                IDs whose checks pass, as JSON, and the index
  services                                    agent services, as JSON
Exit status 0 when the client reports success, 1 otherwise."""
import json
import sys

import consul

args = sys.argv[1:]
port = int(args.pop(0))
token = None
if args and args[0] == "--token":
    args.pop(0)
    token = args.pop(0)
c = consul.Consul(host="127.0.0.1", port=port, token=token)
cmd = args.pop(0)
if cmd == "register":
    name, sid, sport, url = args[0], args[1], int(args[2]), args[3]
    tags = [args[4]] if len(args) > 4 else None
    ok = c.agent.service.register(name, service_id=sid, port=sport, tags=tags,
                                  check=consul.Check.http(url, "1s", timeout="1s"))
    sys.exit(0 if ok else 1)
elif cmd == "deregister":
    sys.exit(0 if c.agent.service.deregister(args[0]) else 1)
elif cmd == "passing":
    index, nodes = c.health.service(args[0], passing=True)
    print(json.dumps({"index": index, "ids": [n["Service"]["ID"] for n in nodes]}))
elif cmd == "services":
    print(json.dumps(c.agent.services()))
else:
    sys.exit("unknown command " + cmd)
