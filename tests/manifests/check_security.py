#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Offline checks of the secured state and the kustomize layout of
deploy/daemonset (run by tests/e2e/test_manifests.sh):

  check_security.py secured RENDERED     etcd with client and peer TLS and
                                         client certificates; every etcd client
                                         on https:// with a CA, a certificate and
                                         a user; secrets only as mounted Secret
                                         files; NetworkPolicies for etcd and the
                                         registry; every Pod/ServiceMonitor target
                                         let through by a NetworkPolicy
  check_security.py base RENDERED        no Prometheus Operator objects, and
                                         the Secrets the base mounts are not in it
  check_security.py images DEPLOY JOB    image tags only in components/images
                                         (and the cleanup Job's equal to it)
  check_security.py sync DEPLOY_ROOT [--write]
                                         the components' copies of the alert
                                         rules and the dashboard equal their
                                         sources (--write regenerates them)

Each problem is one line "where: problem"; exit 1 if any.
"""
import json
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_k8s import containers, find, fluxlbd_config, ident, load, pod_spec  # noqa: E402

problems = []
SECRET_WORDS = re.compile(r"(PASSWORD|PASSWD|TOKEN|SECRET|CREDENTIAL)", re.I)
INLINE_FLAGS = ("--etcd-password", "--token", "--password")


def problem(where, msg):
    problems.append(f"{where}: {msg}")


def args_of(c):
    return [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]


def flag(args, name):
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def secret_paths(spec, c):
    """{mountPath: set of Secret names} of c's mounts of Secret volumes."""
    vols = {v.get("name"): v for v in spec.get("volumes") or []}
    out = {}
    for m in c.get("volumeMounts") or []:
        v = vols.get(m.get("name")) or {}
        names = set()
        if "secret" in v:
            names.add(v["secret"].get("secretName"))
        for src in (v.get("projected") or {}).get("sources") or []:
            if "secret" in src:
                names.add(src["secret"].get("name"))
        if names:
            out[m.get("mountPath")] = names
    return out


def from_secret(where, spec, c, path, what):
    if not path:
        problem(where, f"{what} missing")
        return
    if not any(path.startswith(mp.rstrip("/") + "/") for mp in secret_paths(spec, c)):
        problem(where, f"{what} {path} is not in a mounted Secret")


def no_inline_secrets(objs):
    for f, d in objs:
        where = ident(f, d)
        if d.get("kind") == "Secret" and (d.get("data") or d.get("stringData")):
            problem(where, "inline secret: Secrets are created outside the manifests "
                           "(kubectl create secret, cert-manager), never committed")
        spec = pod_spec(d)
        for c in containers(spec) if spec else []:
            cw = f"{where}: container {c.get('name')}"
            for e in c.get("env") or []:
                if SECRET_WORDS.search(e.get("name", "")) and "value" in e and \
                        not re.search(r"_(DIR|FILE|PATH)$", e.get("name", "")):
                    problem(cw, f"env {e['name']}: inline secret (give a file from a Secret)")
                if "secretKeyRef" in (e.get("valueFrom") or {}):
                    problem(cw, f"env {e['name']}: a secret in the environment; mount it as a file")
            for a in args_of(c):
                if a.split("=", 1)[0] in INLINE_FLAGS:
                    problem(cw, f"argument {a.split('=', 1)[0]}: inline secret (use the -file flag)")
    _, cfg = fluxlbd_config(objs)
    for k in ("token", "password"):
        if k in ((cfg or {}).get("source") or {}):
            problem("ConfigMap fluxlbd-config", f"source.{k}: inline secret in the ConfigMap")


def check_etcd(objs):
    f, sts = find(objs, "StatefulSet", "etcd")
    if not sts:
        return
    where = ident(f, sts)
    c = (pod_spec(sts).get("containers") or [{}])[0]
    args = args_of(c)
    for need in ("--client-cert-auth", "--peer-client-cert-auth"):
        if need not in args:
            problem(where, f"{need} missing: etcd must require client certificates")
    for name in ("--cert-file", "--key-file", "--trusted-ca-file", "--peer-cert-file",
                 "--peer-key-file", "--peer-trusted-ca-file"):
        from_secret(where, pod_spec(sts), c, flag(args, name), name)
    for name in ("--listen-client-urls", "--advertise-client-urls", "--listen-peer-urls",
                 "--initial-advertise-peer-urls", "--initial-cluster"):
        for url in re.findall(r"[a-z]+://", flag(args, name) or ""):
            if url != "https://":
                problem(where, f"{name}: {url} instead of https://")


def check_clients(objs):
    f, dep = find(objs, "Deployment", "fluxlb-registry")
    if dep:
        spec = pod_spec(dep)
        c = (spec.get("containers") or [{}])[0]
        where = ident(f, dep)
        args = args_of(c)
        for ep in (flag(args, "--etcd") or "").split(","):
            if not ep.startswith("https://"):
                problem(where, f"--etcd endpoint {ep!r} is not https://")
        for name in ("--etcd-ca-file", "--etcd-cert-file", "--etcd-key-file",
                     "--etcd-password-file", "--token-file"):
            from_secret(where, spec, c, flag(args, name), name)
        if not flag(args, "--etcd-user"):
            problem(where, "--etcd-user missing")
    f, ds = find(objs, "DaemonSet", "fluxlbd")
    _, cfg = fluxlbd_config(objs)
    src = (cfg or {}).get("source") or {}
    if ds and src.get("type") == "etcd":
        spec = pod_spec(ds)
        c = [c for c in spec.get("containers") or [] if c.get("name") == "fluxlbd"][0]
        where = f"{ident(f, ds)} with ConfigMap source"
        for ep in src.get("endpoints") or []:
            if not str(ep).startswith("https://"):
                problem(where, f"source.endpoints {ep!r} is not https://")
        for k in ("ca_file", "cert_file", "key_file", "password_file"):
            from_secret(where, spec, c, src.get(k), f"source.{k}")
        if not src.get("username"):
            problem(where, "source.username missing")


def labels_of(d):
    return ((d.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}


def selects(sel, labels):
    ml = (sel or {}).get("matchLabels") or {}
    return all(labels.get(k) == v for k, v in ml.items())


def pod_port(d, port):
    for c in containers(pod_spec(d) or {}):
        for p in c.get("ports") or []:
            if port in (p.get("name"), p.get("containerPort")):
                return p
    return None


def allowed(policies, pod_labels, port, peer):
    """Does some policy selecting pod_labels let peer (a predicate on one
    'from' entry) reach port?"""
    for _, np in policies:
        spec = np.get("spec") or {}
        if not selects(spec.get("podSelector"), pod_labels) or not spec.get("podSelector", {}).get("matchLabels"):
            continue
        for rule in spec.get("ingress") or []:
            ports = [p.get("port") for p in rule.get("ports") or []]
            if port not in ports and ports:
                continue
            if any(peer(fr) for fr in rule.get("from") or []):
                return True
    return False


def check_network(objs):
    pols = [(f, d) for f, d in objs if d.get("kind") == "NetworkPolicy"]
    deny = [d for _, d in pols if (d.get("spec") or {}).get("podSelector") == {} and
            "Ingress" in (d.get("spec") or {}).get("policyTypes", []) and not d["spec"].get("ingress")]
    if not deny:
        problem("rendered", "no default-deny ingress NetworkPolicy (podSelector: {})")
    f, sts = find(objs, "StatefulSet", "etcd")
    f2, reg = find(objs, "Deployment", "fluxlb-registry")
    if sts:
        el = labels_of(sts)
        sel = [d for _, d in pols if selects((d.get("spec") or {}).get("podSelector"), el) and
               (d["spec"].get("podSelector") or {}).get("matchLabels")]
        if not sel:
            problem(ident(f, sts), "no NetworkPolicy selects etcd")
        rl = labels_of(reg) if reg else {}
        if reg and not allowed(pols, el, "client", lambda fr: "podSelector" in fr and
                               "namespaceSelector" not in fr and selects(fr["podSelector"], rl)):
            problem(ident(f, sts), "no NetworkPolicy lets the registry reach etcd's client port")
        if not allowed(pols, el, "client", lambda fr: "ipBlock" in fr):
            problem(ident(f, sts), "no ipBlock lets fluxlbd (host network) reach etcd's client port")
        if not allowed(pols, el, "peer", lambda fr: "podSelector" in fr and selects(fr["podSelector"], el)):
            problem(ident(f, sts), "no NetworkPolicy lets etcd members reach each other's peer port")
        for _, d in pols:
            spec = d.get("spec") or {}
            if not selects(spec.get("podSelector"), el) or not (spec.get("podSelector") or {}).get("matchLabels"):
                continue
            for rule in spec.get("ingress") or []:
                for fr in rule.get("from") or [{}]:
                    if fr == {} or fr.get("podSelector") == {} and "namespaceSelector" not in fr or \
                            (fr.get("ipBlock") or {}).get("cidr") in ("0.0.0.0/0", "::/0"):
                        problem(ident(f, sts), f"NetworkPolicy {d['metadata']['name']} lets any pod or address reach etcd")
    if reg:
        rl = labels_of(reg)
        if not allowed(pols, rl, "http", lambda fr: bool(((fr.get("podSelector") or {}).get("matchLabels")))):
            problem(ident(f2, reg), "no NetworkPolicy limits the registry to labelled clients")
    # Every Pod/ServiceMonitor target that is not in the host network must be
    # let through the default deny on the port it scrapes.
    for f, m in objs:
        if m.get("kind") not in ("PodMonitor", "ServiceMonitor"):
            continue
        spec = m.get("spec") or {}
        eps = spec.get("podMetricsEndpoints") or spec.get("endpoints") or []
        sel = spec.get("selector") or {}
        if m["kind"] == "ServiceMonitor":
            svc = [d for _, d in objs if d.get("kind") == "Service" and
                   selects(sel, (d.get("metadata") or {}).get("labels") or {})]
            targets = [w for _, w in objs for s in svc if pod_spec(w) is not None and
                       all(labels_of(w).get(k) == v for k, v in ((s.get("spec") or {}).get("selector") or {}).items())]
        else:
            targets = [w for _, w in objs if pod_spec(w) is not None and selects(sel, labels_of(w))]
        for w in targets:
            if (pod_spec(w) or {}).get("hostNetwork"):
                continue
            for ep in eps:
                port = ep.get("port") or ep.get("targetPort")
                if not allowed(pols, labels_of(w), port, lambda fr: "namespaceSelector" in fr):
                    problem(ident(f, m), f"nothing lets Prometheus through the default deny to "
                                         f"{w['metadata']['name']}:{port} (a component without its NetworkPolicy?)")


def cmd_secured(path):
    objs = load(path)
    check_etcd(objs)
    check_clients(objs)
    no_inline_secrets(objs)
    check_network(objs)
    print(f"secured: {len(objs)} objects checked")


def cmd_base(path):
    objs = load(path)
    for f, d in objs:
        if str(d.get("apiVersion", "")).startswith(("monitoring.coreos.com/", "cert-manager.io/")):
            problem(ident(f, d), "belongs in a component: the base must apply without that operator's CRDs")


def cmd_images(deploy, job):
    for root, _, files in os.walk(deploy):
        if "/components/images" in root + "/" or "/examples" in root:
            continue
        for fn in files:
            if not fn.endswith(".yaml") or fn == "cleanup-job.yaml":
                continue
            p = os.path.join(root, fn)
            for _, d in load(p):
                for c in containers(pod_spec(d) or {}) if isinstance(d, dict) else []:
                    img = c.get("image", "")
                    if ":" in img.rsplit("/", 1)[-1] or "@" in img:
                        problem(f"{p}: container {c.get('name')}",
                                f"image {img} has a tag: tags belong in components/images only")
    tags = {i["name"]: i.get("newTag") for i in
            yaml.safe_load(open(os.path.join(deploy, "components/images/kustomization.yaml"))).get("images", [])}
    for _, d in load(job):
        for c in containers(pod_spec(d) or {}):
            name, _, tag = c.get("image", "").partition(":")
            if name in tags and tag != str(tags[name]):
                problem(f"{job}: container {c.get('name')}",
                        f"image {c['image']}: components/images says {name}:{tags[name]}")


class IndentDumper(yaml.SafeDumper):
    """List items indented under their key, as yamllint.yaml wants."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def cmd_sync(root, write):
    comp = os.path.join(root, "deploy/daemonset/components")
    rules = yaml.safe_load(open(os.path.join(root, "deploy/prometheus/fluxlb-alerts.yaml")))
    want_rule = ("# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause\n"
                 "# GENERATED from deploy/prometheus/fluxlb-alerts.yaml by\n"
                 "# tests/manifests/check_security.py sync --write: edit that file, not this one.\n" +
                 yaml.dump({
                     "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
                     "metadata": {"name": "fluxlb", "labels": {"app.kubernetes.io/part-of": "fluxlb",
                                                               "release": "prometheus"}},
                     "spec": {"groups": rules["groups"]}}, Dumper=IndentDumper, sort_keys=False, width=100))
    dash_src = open(os.path.join(root, "deploy/grafana/fluxlb-dashboard.json")).read()
    json.loads(dash_src)
    outs = {os.path.join(comp, "prometheus-operator/prometheusrule.yaml"): want_rule,
            os.path.join(comp, "grafana-dashboard/fluxlb-dashboard.json"): dash_src}
    for p, text in outs.items():
        have = open(p).read() if os.path.exists(p) else None
        if have == text:
            continue
        if write:
            with open(p, "w") as fh:
                fh.write(text)
        else:
            problem(p, "differs from its source: run tests/manifests/check_security.py sync --write")


def main(argv):
    cmds = {
        "secured": (lambda a: cmd_secured(a[0]), 1),
        "base": (lambda a: cmd_base(a[0]), 1),
        "images": (lambda a: cmd_images(a[0], a[1]), 2),
        "sync": (lambda a: cmd_sync(a[0], "--write" in a[1:]), 1),
    }
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 < cmds[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        cmds[argv[1]][0](argv[2:])
    except (OSError, yaml.YAMLError, ValueError) as e:
        problem(argv[2] if len(argv) > 2 else "?", str(e))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
