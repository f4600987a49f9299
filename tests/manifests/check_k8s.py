#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Offline checks of the Kubernetes manifests under deploy/ (run by
tests/e2e/test_manifests.sh, under Debian's /usr/bin/python3, which has
python3-yaml and python3-kubernetes; the pyenv python first on PATH has not).

  check_k8s.py models FILE...           every field known to the Kubernetes
                                        models (python3-kubernetes), right shape
  check_k8s.py policy RENDERED          the DaemonSet's security and
                                        operational properties, and what the
                                        API server would refuse beyond schemas
  check_k8s.py cleanup RENDERED JOB     cleanup-job.yaml agrees with the install
  check_k8s.py hpa RENDERED RULES OUT   the HPA example agrees with the adapter
                                        rule; writes a promtool rule file to OUT
  check_k8s.py exported RULES METRICS   the adapter rule's series and labels
                                        are in a /metrics scrape of fluxlbd
  check_k8s.py config RENDERED OUT      writes the ConfigMap's fluxlbd.yaml
  check_k8s.py caps RENDERED            prints the DaemonSet's added capabilities
  check_k8s.py json FILE...             all objects as JSON (for check_schema.mjs)
  check_k8s.py strip IN OUT KEY         IN without top-level KEY (see the test)

Each problem is one line "file: Kind/name: path: problem"; exit 1 if any.
Types, enums and required fields are check_schema.mjs's job (kubernetes-models
knows current Kubernetes; python3-kubernetes 22.6 knows 1.22): this file
checks unknown fields, which kubernetes-models does not.
"""
import json
import re
import sys

import yaml

# The fluxlbd container's capabilities: what the design asks for, and what the
# current daemon needs on top (see deploy/daemonset/fluxlbd.yaml). SYS_ADMIN
# stays allowed only while tests/e2e/test_manifests.sh shows the daemon fails
# without it.
CAPS_REQUIRED = {"BPF", "NET_ADMIN", "PERFMON"}
CAPS_ALLOWED = CAPS_REQUIRED

# Fields newer than python3-kubernetes 22.6 (Kubernetes 1.22), with the
# release that added them. They are accepted here, not descended into;
# check_schema.mjs validates them against current Kubernetes.
NEWER_FIELDS = {
    ("V1SecurityContext", "appArmorProfile"): "1.30",
    ("V1PodSecurityContext", "appArmorProfile"): "1.30",
}

problems = []


def problem(where, msg):
    problems.append(f"{where}: {msg}")


def load(path):
    """[(file, doc)] of every non-empty document in path ('-' = stdin)."""
    text = sys.stdin.read() if path == "-" else open(path).read()
    return [(path, d) for d in yaml.safe_load_all(text) if d is not None]


def ident(f, doc):
    meta = doc.get("metadata") or {}
    name = meta.get("name") or meta.get("generateName") or "?"
    return f"{f}: {doc.get('kind', '?')}/{name}"


# ---------------------------------------------------------------- models

def model_class(api_version, kind):
    """The python3-kubernetes model class for apiVersion/kind, or None (CRDs)."""
    import kubernetes.client as kc

    version = api_version.split("/")[-1]
    cands = [version[0].upper() + version[1:] + kind]
    # autoscaling/v2 is autoscaling/v2beta2 made GA with the same fields;
    # the 22.6 models predate it.
    if api_version == "autoscaling/v2":
        cands.append("V2beta2" + kind)
    for c in cands:
        if hasattr(kc, c):
            return getattr(kc, c)
    return None


def walk_model(cls, data, where, path):
    import kubernetes.client as kc

    if not isinstance(data, dict):
        problem(where, f"{path or '.'}: expected a mapping ({cls.__name__}), got {type(data).__name__}")
        return
    by_json = {v: k for k, v in cls.attribute_map.items()}
    for key, val in data.items():
        p = f"{path}.{key}" if path else key
        if key not in by_json:
            if (cls.__name__, key) in NEWER_FIELDS:
                continue
            problem(where, f"{p}: unknown field \"{key}\" (not in {cls.__name__})")
            continue
        if val is None:
            continue
        walk_type(cls.openapi_types[by_json[key]], val, where, p, kc)


def walk_type(typ, val, where, path, kc):
    m = re.fullmatch(r"list\[(.+)\]", typ)
    if m:
        if not isinstance(val, list):
            problem(where, f"{path}: expected a list, got {type(val).__name__}")
            return
        for i, v in enumerate(val):
            walk_type(m.group(1), v, where, f"{path}[{i}]", kc)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", typ)
    if m:
        if not isinstance(val, dict):
            problem(where, f"{path}: expected a mapping, got {type(val).__name__}")
            return
        for k, v in val.items():
            walk_type(m.group(1), v, where, f"{path}.{k}", kc)
        return
    if hasattr(kc, typ):
        walk_model(getattr(kc, typ), val, where, path)
        return
    # Scalars: types are check_schema.mjs's; only a structure in a scalar's
    # place is an error here.
    if typ != "object" and isinstance(val, (dict, list)):
        problem(where, f"{path}: expected {typ}, got a {type(val).__name__}")


def cmd_models(paths):
    checked = crd = 0
    for path in paths:
        for f, doc in load(path):
            where = ident(f, doc)
            if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
                problem(where, "not a Kubernetes object (no apiVersion/kind)")
                continue
            cls = model_class(doc["apiVersion"], doc["kind"])
            if cls is None:
                group = doc["apiVersion"].rpartition("/")[0]
                if "." in group and not group.endswith(".k8s.io"):
                    crd += 1  # a custom resource (ServiceMonitor): schema check only
                    continue
                problem(where, f"no model for {doc['apiVersion']} {doc['kind']}")
                continue
            walk_model(cls, doc, where, "")
            checked += 1
    print(f"models: {checked} objects checked for unknown fields, {crd} custom resources left to check_schema.mjs")


# ---------------------------------------------------------------- helpers

def find(objs, kind, name=None, prefix=None):
    for f, d in objs:
        n = (d.get("metadata") or {}).get("name", "")
        if d.get("kind") == kind and (name is None or n == name) and (prefix is None or n.startswith(prefix)):
            return f, d
    return None, None


def walk_all(node, path=""):
    """Yields (path, dict) for every mapping in node."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk_all(v, f"{path}.{k}" if path else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_all(v, f"{path}[{i}]")


def pod_spec(doc):
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return (spec.get("template") or {}).get("spec")


def containers(spec):
    return (spec.get("initContainers") or []) + (spec.get("containers") or [])


def port_number(container, port):
    if isinstance(port, int):
        return port
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return p.get("containerPort")
    return None


def fluxlbd_config(objs):
    """(text, parsed) of the fluxlbd.yaml the DaemonSet mounts."""
    _, ds = find(objs, "DaemonSet", "fluxlbd")
    cm_name = None
    for v in (pod_spec(ds) or {}).get("volumes") or [] if ds else []:
        if "configMap" in v:
            cm_name = v["configMap"].get("name")
    _, cm = find(objs, "ConfigMap", cm_name) if cm_name else (None, None)
    if not cm or "fluxlbd.yaml" not in (cm.get("data") or {}):
        return None, None
    text = cm["data"]["fluxlbd.yaml"]
    return text, yaml.safe_load(text)


def listen_port(listen):
    m = re.search(r":(\d+)$", str(listen or ""))
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------- policy

def api_rules(objs):
    """What the API server refuses that no schema says (pkg/apis/core/validation)."""
    for f, doc in objs:
        where = ident(f, doc)
        spec = pod_spec(doc) if doc.get("kind") != "Pod" else doc.get("spec")
        for path, m in walk_all(doc):
            if m.get("privileged") is True:
                problem(where, f"{path}.privileged: true: no container of fluxlb may run privileged")
        if not spec:
            continue
        for c in containers(spec):
            cw = f"{where}: container {c.get('name')}"
            sc = c.get("securityContext") or {}
            priv = sc.get("privileged") is True
            for vm in c.get("volumeMounts") or []:
                if vm.get("mountPropagation") == "Bidirectional" and not priv:
                    problem(cw, f"volumeMounts {vm.get('name')}: Bidirectional mount propagation is available "
                                "only to privileged containers (the API server refuses it)")
            add = (sc.get("capabilities") or {}).get("add") or []
            for cap in add:
                if cap.startswith("CAP_"):
                    problem(cw, f"capability {cap}: write it without the CAP_ prefix, as Kubernetes documents")
            if sc.get("allowPrivilegeEscalation") is False and "CAP_SYS_ADMIN" in add:
                problem(cw, "allowPrivilegeEscalation: false with CAP_SYS_ADMIN is refused by the API server")


def selectors_match(objs):
    """Every Service, PDB and workload selector selects pods that exist here."""
    pods = []
    for f, d in objs:
        spec = pod_spec(d)
        if spec is not None:
            pods.append(((d.get("spec") or {}).get("template", {}).get("metadata", {}).get("labels") or {}, d))
    for f, d in objs:
        kind = d.get("kind")
        sel = None
        if kind == "Service":
            sel = (d.get("spec") or {}).get("selector")
        elif kind in ("PodDisruptionBudget", "Deployment", "DaemonSet", "StatefulSet"):
            sel = ((d.get("spec") or {}).get("selector") or {}).get("matchLabels")
        if not sel:
            continue
        hit = [w for labels, w in pods if all(labels.get(k) == v for k, v in sel.items())]
        if not hit:
            problem(ident(f, d), f"selector {sel} matches no pod template in the rendered manifests")
        if kind in ("Deployment", "DaemonSet", "StatefulSet"):
            labels = (d.get("spec") or {}).get("template", {}).get("metadata", {}).get("labels") or {}
            if not all(labels.get(k) == v for k, v in sel.items()):
                problem(ident(f, d), f"selector {sel} does not match its own template labels {labels}")


def check_probe(where, c, kind, path):
    probe = c.get(kind) or {}
    got = (probe.get("httpGet") or {}).get("path")
    if got != path:
        problem(where, f"{kind}: httpGet.path is {got!r}, expected {path!r}")
    return port_number(c, (probe.get("httpGet") or {}).get("port"))


def check_resources(where, c):
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        if "memory" not in (res.get(part) or {}):
            problem(where, f"resources.{part}.memory missing")
    if "cpu" not in (res.get("requests") or {}):
        problem(where, "resources.requests.cpu missing")


def policy_fluxlbd(objs):
    f, ds = find(objs, "DaemonSet", "fluxlbd")
    if not ds:
        problem("rendered", "no DaemonSet fluxlbd")
        return
    where = ident(f, ds)
    spec = ds.get("spec") or {}
    ps = pod_spec(ds) or {}
    if ps.get("hostNetwork") is not True:
        problem(where, "hostNetwork must be true (XDP attaches to the node's NIC)")
    if ps.get("dnsPolicy") != "ClusterFirstWithHostNet":
        problem(where, f"dnsPolicy is {ps.get('dnsPolicy')!r}, expected ClusterFirstWithHostNet")
    for k in ("hostPID", "hostIPC"):
        if ps.get(k):
            problem(where, f"{k} must not be set")
    us = spec.get("updateStrategy") or {}
    ru = us.get("rollingUpdate") or {}
    if us.get("type") != "RollingUpdate" or ru.get("maxUnavailable") != 1:
        problem(where, f"updateStrategy must be RollingUpdate with maxUnavailable: 1, got {us}")
    if ru.get("maxSurge") not in (None, 0):
        problem(where, "updateStrategy.rollingUpdate.maxSurge must be 0: two daemons on a node share the maps")
    if not any(t.get("operator") == "Exists" and not t.get("key") for t in ps.get("tolerations") or []):
        problem(where, "tolerations must include {operator: Exists} (every node, whatever its taints)")
    pc = ps.get("priorityClassName")
    if not pc:
        problem(where, "priorityClassName missing")
    elif not pc.startswith("system-") and not find(objs, "PriorityClass", pc)[1]:
        problem(where, f"priorityClassName {pc!r} names no PriorityClass in the rendered manifests")
    grace = ps.get("terminationGracePeriodSeconds")
    if not isinstance(grace, int) or not 1 <= grace <= 120:
        problem(where, f"terminationGracePeriodSeconds must be set, 1..120 (fluxlbd exits at once), got {grace!r}")
    seccomp = (ps.get("securityContext") or {}).get("seccompProfile", {}).get("type")

    cs = [c for c in ps.get("containers") or [] if c.get("name") == "fluxlbd"]
    if not cs:
        problem(where, "no container named fluxlbd")
        return
    c = cs[0]
    cw = f"{where}: container fluxlbd"
    sc = c.get("securityContext") or {}
    caps = sc.get("capabilities") or {}
    add = set(caps.get("add") or [])
    if caps.get("drop") != ["ALL"]:
        problem(cw, f"capabilities.drop must be [ALL], got {caps.get('drop')}")
    if not CAPS_REQUIRED <= add:
        problem(cw, f"capabilities.add lacks {sorted(CAPS_REQUIRED - add)}")
    if add - CAPS_ALLOWED:
        problem(cw, f"capabilities.add has {sorted(add - CAPS_ALLOWED)} beyond {sorted(CAPS_ALLOWED)}")
    if sc.get("allowPrivilegeEscalation") is not False:
        problem(cw, "allowPrivilegeEscalation must be false")
    if sc.get("readOnlyRootFilesystem") is not True:
        problem(cw, "readOnlyRootFilesystem must be true")
    if (sc.get("seccompProfile") or {}).get("type", seccomp) != "RuntimeDefault":
        problem(cw, "seccompProfile must be RuntimeDefault (pod or container)")
    check_resources(cw, c)

    # bpffs: the node's /sys/fs/bpf, mounted where the config pins.
    vols = {v.get("name"): v for v in ps.get("volumes") or []}
    mounts = [m for m in c.get("volumeMounts") or [] if m.get("mountPath") == "/sys/fs/bpf"]
    if not mounts:
        problem(cw, "no volumeMount at /sys/fs/bpf")
    else:
        m = mounts[0]
        hp = (vols.get(m.get("name")) or {}).get("hostPath") or {}
        if hp.get("path") != "/sys/fs/bpf":
            problem(cw, f"/sys/fs/bpf must come from hostPath /sys/fs/bpf, got {hp or vols.get(m.get('name'))}")
        if hp.get("type") not in ("Directory", None):
            problem(cw, f"hostPath type {hp.get('type')!r}: Directory (bpffs must already be mounted)")
        if m.get("mountPropagation") not in ("HostToContainer", "Bidirectional"):
            problem(cw, "the bpffs mount needs mountPropagation HostToContainer (sees the node's bpffs mount)")
        if m.get("readOnly"):
            problem(cw, "the bpffs mount must be writable (pins)")

    # Probes, the metrics port, the config and the scrape settings agree.
    ready_port = check_probe(cw, c, "readinessProbe", "/ready")
    live_port = check_probe(cw, c, "livenessProbe", "/health")
    text, cfg = fluxlbd_config(objs)
    if cfg is None:
        problem(where, "the ConfigMap mounted by the DaemonSet has no fluxlbd.yaml")
        return
    bpffs = (cfg.get("node") or {}).get("bpffs", "/sys/fs/bpf/fluxlb")
    if not str(bpffs).startswith("/sys/fs/bpf/"):
        problem(where, f"config node.bpffs {bpffs!r} is not under the mounted /sys/fs/bpf")
    mport = listen_port((cfg.get("metrics") or {}).get("listen"))
    if mport is None:
        problem(where, "config has no metrics.listen: the probes would have nothing to reach")
    for what, p in (("readinessProbe", ready_port), ("livenessProbe", live_port)):
        if p != mport:
            problem(cw, f"{what} port {p} is not the config's metrics port {mport}")
    # The configuration reloads in place: a subPath mount never sees a
    # ConfigMap update, and a name with a content hash rolls every node.
    cfg_vols = [v.get("name") for v in ps.get("volumes") or [] if "configMap" in v]
    for m in c.get("volumeMounts") or []:
        if m.get("name") in cfg_vols and m.get("subPath"):
            problem(cw, f"volumeMounts {m.get('name')}: subPath mounts never see a ConfigMap update (fluxlbd reloads in place)")
    for v in ps.get("volumes") or []:
        name = (v.get("configMap") or {}).get("name")
        if name and name != "fluxlbd-config":
            problem(where, f"ConfigMap {name!r}: expected fluxlbd-config without a content hash (a change reloads, it does not roll the DaemonSet)")
    ann = (spec.get("template", {}).get("metadata", {}).get("annotations")) or {}
    if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != str(mport):
        problem(where, f"pod annotations prometheus.io/scrape \"true\" and prometheus.io/port \"{mport}\" expected")
    sf, svc = find(objs, "Service", "fluxlbd-metrics")
    if not svc:
        problem("rendered", "no Service fluxlbd-metrics")
    else:
        ports = {p.get("name"): p for p in (svc.get("spec") or {}).get("ports") or []}
        tp = (ports.get("metrics") or {}).get("targetPort")
        if port_number(c, tp) != mport:
            problem(ident(sf, svc), f"port metrics targets {tp!r}, not the metrics port {mport}")
        # The ServiceMonitor is in components/prometheus-operator: checked
        # when a render includes it.
        _, sm = find(objs, "ServiceMonitor", "fluxlbd")
        if sm:
            eps = (sm.get("spec") or {}).get("endpoints") or []
            if not any(e.get("port") in ports and e.get("path", "/metrics") == "/metrics" for e in eps):
                problem(ident(sf, sm), "no endpoint scrapes a port of Service fluxlbd-metrics at /metrics")
            sel = ((sm.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            labels = (svc.get("metadata") or {}).get("labels") or {}
            if not sel or not all(labels.get(k) == v for k, v in sel.items()):
                problem(ident(sf, sm), f"selector {sel} does not select Service fluxlbd-metrics")


def policy_registry(objs):
    f, dep = find(objs, "Deployment", "fluxlb-registry")
    if not dep:
        problem("rendered", "no Deployment fluxlb-registry")
        return
    where = ident(f, dep)
    if (dep.get("spec") or {}).get("replicas") != 3:
        problem(where, "replicas must be 3")
    ps = pod_spec(dep) or {}
    c = (ps.get("containers") or [{}])[0]
    if check_probe(where, c, "readinessProbe", "/ready") != 8500:
        problem(where, "readinessProbe must reach port 8500")
    if check_probe(where, c, "livenessProbe", "/health") != 8500:
        problem(where, "livenessProbe must reach port 8500")
    check_resources(where, c)
    if not ((ps.get("securityContext") or {}).get("runAsNonRoot") or
            (c.get("securityContext") or {}).get("runAsNonRoot")):
        problem(where, "the registry needs no privilege: runAsNonRoot must be true")
    sf, svc = find(objs, "Service", "service-registry")
    if not svc or not any(p.get("port") == 8500 for p in (svc.get("spec") or {}).get("ports") or []):
        problem("rendered", "no Service service-registry on port 8500")
    _, pdb = find(objs, "PodDisruptionBudget", "fluxlb-registry")
    if not pdb:
        problem("rendered", "no PodDisruptionBudget for the registry")
    sf, sts = find(objs, "StatefulSet", "etcd")
    if not sts:
        problem("rendered", "no StatefulSet etcd (or drop this check with a pointer to an existing etcd)")
        return
    if (sts.get("spec") or {}).get("replicas") != 3:
        problem(ident(sf, sts), "etcd replicas must be 3")
    hf, hsvc = find(objs, "Service", (sts.get("spec") or {}).get("serviceName"))
    if not hsvc or (hsvc.get("spec") or {}).get("clusterIP") != "None":
        problem(ident(sf, sts), "serviceName must name a headless Service in the rendered manifests")


def cmd_policy(path):
    objs = load(path)
    api_rules(objs)
    selectors_match(objs)
    policy_fluxlbd(objs)
    policy_registry(objs)
    for f, d in objs:
        spec = pod_spec(d)
        for c in containers(spec) if spec else []:
            if not (c.get("resources") or {}).get("limits"):
                problem(f"{ident(f, d)}: container {c.get('name')}", "resources.limits missing")
    print(f"policy: {len(objs)} objects checked")


# ---------------------------------------------------------------- others

def cmd_caps(path):
    _, ds = find(load(path), "DaemonSet", "fluxlbd")
    c = [c for c in (pod_spec(ds) or {}).get("containers", []) if c.get("name") == "fluxlbd"][0]
    print(" ".join(c["securityContext"]["capabilities"]["add"]))


def cmd_config(path, out):
    text, cfg = fluxlbd_config(load(path))
    if text is None:
        problem(path, "no ConfigMap with fluxlbd.yaml mounted by DaemonSet fluxlbd")
        return
    with open(out, "w") as fh:
        fh.write(text)


def cmd_strip(src, out, key):
    """Writes src without its top-level key `key` (and its comment block)."""
    lines = open(src).read().splitlines(keepends=True)
    res, skipping = [], False
    for ln in lines:
        if re.match(rf"{re.escape(key)}\s*:", ln):
            skipping = True
            continue
        if skipping and (ln.startswith((" ", "\t")) or not ln.strip()):
            continue
        skipping = False
        res.append(ln)
    with open(out, "w") as fh:
        fh.write("".join(res))


def cmd_cleanup(rendered, jobfile):
    objs = load(rendered)
    _, ds = find(objs, "DaemonSet", "fluxlbd")
    f, job = find(load(jobfile), "Job")
    if not ds or not job:
        problem(jobfile, "no DaemonSet fluxlbd in the render or no Job in the file")
        return
    where = ident(f, job)
    dc = [c for c in pod_spec(ds)["containers"] if c["name"] == "fluxlbd"][0]
    jc = pod_spec(job)["containers"][0]
    _, cfg = fluxlbd_config(objs)
    env = {e["name"]: e.get("value") for e in jc.get("env") or []}
    if yaml.safe_load(env.get("FLB_INTERFACES", "null")) != cfg.get("interfaces"):
        problem(where, f"FLB_INTERFACES {env.get('FLB_INTERFACES')!r} differs from the config's "
                       f"interfaces {cfg.get('interfaces')}")
    bpffs = (cfg.get("node") or {}).get("bpffs", "/sys/fs/bpf/fluxlb")
    if f"bpffs: {bpffs}" not in " ".join(jc.get("args") or []):
        problem(where, f"the cleanup config does not pin under the config's node.bpffs {bpffs}")
    if jc.get("image") != dc.get("image"):
        problem(where, f"image {jc.get('image')!r} differs from the DaemonSet's {dc.get('image')!r}")
    if (jc.get("securityContext") or {}).get("capabilities") != (dc.get("securityContext") or {}).get("capabilities"):
        problem(where, "capabilities differ from the DaemonSet's")
    ps = pod_spec(job)
    if ps.get("hostNetwork") is not True:
        problem(where, "hostNetwork must be true (the interfaces are the node's)")
    if not any(m.get("mountPath") == "/sys/fs/bpf" for m in jc.get("volumeMounts") or []):
        problem(where, "no /sys/fs/bpf mount")
    api_rules([(f, job)])


def cmd_hpa(rendered, rules_file, out):
    objs = load(rendered)
    rules = yaml.safe_load(open(rules_file))
    f, hpa = find(objs, "HorizontalPodAutoscaler")
    if not hpa:
        problem(rendered, "no HorizontalPodAutoscaler")
        return
    where = ident(f, hpa)
    spec = hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    _, target = find(objs, ref.get("kind"), ref.get("name"))
    if not target:
        problem(where, f"scaleTargetRef {ref.get('kind')}/{ref.get('name')} is not in the example")
    metrics = spec.get("metrics") or []
    res = {(m.get("resource") or {}).get("name") for m in metrics if m.get("type") == "Resource"}
    if not {"cpu", "memory"} <= res:
        problem(where, f"CPU and memory targets expected next to the flow rate, got {sorted(res)}")
    for name in ("cpu", "memory"):
        for c in (pod_spec(target) or {}).get("containers", []) if target else []:
            if name not in ((c.get("resources") or {}).get("requests") or {}):
                problem(where, f"a {name} Utilization target needs {name} requests on container {c.get('name')}")
    beh = spec.get("behavior") or {}
    if (beh.get("scaleUp") or {}).get("stabilizationWindowSeconds") != 60 or \
       (beh.get("scaleDown") or {}).get("stabilizationWindowSeconds") != 300:
        problem(where, "behavior windows must be the design's: scale-up 60 s, scale-down 300 s")
    ext = [m["external"] for m in metrics if m.get("type") == "External"]
    if not ext:
        problem(where, "no External metric (the new-flow rate through prometheus-adapter)")
        return
    served = {}
    for r in rules.get("externalRules") or []:
        for k in ("seriesQuery", "metricsQuery", "name", "resources"):
            if k not in r:
                problem(rules_file, f"externalRules entry lacks {k}")
        served[(r.get("name") or {}).get("as")] = r
    rule_lines = []
    for e in ext:
        name = (e.get("metric") or {}).get("name")
        r = served.get(name)
        if not r:
            problem(where, f"external metric {name!r} is not served by {rules_file} (serves {sorted(served)})")
            continue
        series = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", r["seriesQuery"]).group(0)
        if not re.fullmatch(r["name"].get("matches", ".*"), series):
            problem(rules_file, f"name.matches does not match the series {series}")
        sel = ((e.get("metric") or {}).get("selector") or {}).get("matchLabels") or {}
        by = re.search(r"by\s*\(([^)]*)\)", r["metricsQuery"])
        grouped = {s.strip() for s in by.group(1).split(",")} if by else set()
        if not set(sel) <= grouped:
            problem(rules_file, f"the HPA selects on {sorted(sel)} but the query keeps only {sorted(grouped)}")
        if (e.get("target") or {}).get("type") != "AverageValue":
            problem(where, f"{name}: target type AverageValue expected (the rate per replica)")
        matchers = ",".join(f'{k}="{v}"' for k, v in sel.items())
        expr = r["metricsQuery"].replace("<<.Series>>", series).replace("<<.LabelMatchers>>", matchers)
        if "<<" in expr:
            problem(rules_file, f"metricsQuery uses a template field this check does not fill: {expr}")
        rule_lines.append(f"      - record: fluxlb:check:{len(rule_lines)}\n        expr: {json.dumps(expr)}\n")
    with open(out, "w") as fh:
        fh.write("groups:\n  - name: prometheus-adapter-rules\n    rules:\n" + "".join(rule_lines))


def cmd_exported(rules_file, metrics_file):
    """Every series an external rule reads is exported, with the labels the
    rule groups by (Prometheus text format from a running fluxlbd)."""
    rules = yaml.safe_load(open(rules_file))
    samples = {}
    for ln in open(metrics_file):
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", ln)
        if m and not ln.startswith("#"):
            labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ""))
            samples.setdefault(m.group(1), []).append(labels)
    for r in rules.get("externalRules") or []:
        series = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", r.get("seriesQuery", "")).group(0)
        by = re.search(r"by\s*\(([^)]*)\)", r.get("metricsQuery", ""))
        want = {x.strip() for x in by.group(1).split(",")} if by else set()
        if series not in samples:
            problem(rules_file, f"fluxlbd exports no {series} (it exports {sorted(k for k in samples if 'flow' in k)})")
        elif not any(want <= labels for labels in samples[series]):
            problem(rules_file, f"{series} has labels {sorted(samples[series][0])}, the rule groups by {sorted(want)}")


def cmd_json(paths):
    out = []
    for p in paths:
        out += [{"file": f, "doc": d} for f, d in load(p)]
    json.dump(out, sys.stdout)


def main(argv):
    cmds = {
        "models": (lambda a: cmd_models(a), 1),
        "policy": (lambda a: cmd_policy(a[0]), 1),
        "caps": (lambda a: cmd_caps(a[0]), 1),
        "config": (lambda a: cmd_config(a[0], a[1]), 2),
        "strip": (lambda a: cmd_strip(a[0], a[1], a[2]), 3),
        "cleanup": (lambda a: cmd_cleanup(a[0], a[1]), 2),
        "hpa": (lambda a: cmd_hpa(a[0], a[1], a[2]), 3),
        "exported": (lambda a: cmd_exported(a[0], a[1]), 2),
        "json": (lambda a: cmd_json(a), 1),
    }
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 < cmds[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        cmds[argv[1]][0](argv[2:])
    except (OSError, yaml.YAMLError) as e:
        problem(argv[2] if len(argv) > 2 else "?", str(e))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
