#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# deploy/ checked offline, without a cluster: yamllint on every file, the
# kustomizations rendered with kubectl kustomize, every object validated
# against the Kubernetes schemas (kubernetes-models under node: types, enums,
# required fields; python3-kubernetes under /usr/bin/python3: unknown fields),
# the DaemonSet's security and operational properties and what the API
# server would refuse beyond the schemas, the ConfigMap's fluxlbd.yaml through
# the real parser (fluxlbd --check-config), the HPA example against its
# prometheus-adapter rule (promtool parses the query), the cleanup Job
# against the install, a structural look at the Dockerfile; then broken
# copies of the manifests, each of which the checker must reject; and, as
# root, fluxlbd run with exactly the DaemonSet's capabilities.
#
# What this cannot check (no cluster): admission (Pod Security, webhooks),
# scheduling, image pulls, probes against a running pod, the runtime's
# seccomp and AppArmor profiles, DNS from hostNetwork, etcd forming a cluster.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/lib/e2e.sh"
DEPLOY=$ROOT/deploy/daemonset
CHECKS=$ROOT/tests/manifests
PY=/usr/bin/python3 # Debian's: python3-yaml and python3-kubernetes live there
FLUXLBD=$ROOT/build/bin/fluxlbd
TMP=$(mktemp -d /tmp/flbman.XXXXXX)
NS=flbman$$
cleanup() {
	[ -n "${DPID:-}" ] && kill -9 "$DPID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip netns del "${NS}n" 2>/dev/null
	umount "$TMP/bpffs" "$TMP/bpffs2" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# The top-level keys of config/fluxlbd.yaml that another issue defines and
# the daemon may not accept yet: checked by the parser once it does.
PENDING_KEYS=(source metrics)

have_kubectl=false
kubectl kustomize --help >/dev/null 2>&1 && have_kubectl=true
have_py=false
"$PY" -c 'import yaml, kubernetes.client' 2>/dev/null && have_py=true
have_node=false
command -v node >/dev/null && [ -d "$CHECKS/node_modules/kubernetes-models" ] && have_node=true

if ! $have_py; then
	skip manifests "needs /usr/bin/python3 with python3-yaml and python3-kubernetes (scripts/install-deps.sh)"
	exit 0
fi

# ---------------------------------------------------------------- lint

if command -v yamllint >/dev/null; then
	mapfile -t yamls < <(find "$DEPLOY" -name '*.yaml' | sort)
	out=$(yamllint -f parsable -c "$CHECKS/yamllint.yaml" "${yamls[@]}" 2>&1); rc=$?
	if [ "$rc" = 0 ]; then pass "yamllint_${#yamls[@]}_files"; else fail yamllint "$out"; fi
else
	skip yamllint "yamllint not installed (scripts/install-deps.sh)"
fi

# ---------------------------------------------------------------- checker

# check_tree DIR OUT [all]: renders DIR (a copy of deploy/daemonset or the
# original; with "all", an overlay of it with every component) and runs
# every check on it; prints the problems, returns non-zero if any.
# OUT/rendered.yaml keeps the render for later steps.
check_tree() {
	local dir=$1 out=$2 rc=0
	kubectl kustomize "$dir" >"$out/rendered.yaml" 2>"$out/render.err" || {
		cat "$out/render.err"
		return 1
	}
	"$PY" "$CHECKS/check_security.py" secured "$out/rendered.yaml" || rc=1
	if [ "${3:-}" != all ]; then
		"$PY" "$CHECKS/check_security.py" base "$out/rendered.yaml" || rc=1
		"$PY" "$CHECKS/check_security.py" images "$dir" "$dir/cleanup-job.yaml" || rc=1
	fi
	"$PY" "$CHECKS/check_k8s.py" models "$out/rendered.yaml" || rc=1
	if $have_node; then
		"$PY" "$CHECKS/check_k8s.py" json "$out/rendered.yaml" | node "$CHECKS/check_schema.mjs" || rc=1
	fi
	"$PY" "$CHECKS/check_k8s.py" policy "$out/rendered.yaml" || rc=1
	check_config "$out/rendered.yaml" "$out" || rc=1
	return $rc
}

# check_config RENDERED OUTDIR: the ConfigMap's fluxlbd.yaml through the
# daemon's own parser. A pending key the daemon rejects is taken out and the
# rest checked; OUTDIR/stripped names what was taken out.
check_config() {
	local rendered=$1 out=$2 cfg=$2/fluxlbd.yaml msg key stripped=()
	"$PY" "$CHECKS/check_k8s.py" config "$rendered" "$cfg" || return 1
	while :; do
		msg=$("$FLUXLBD" --check-config "$cfg" 2>&1) && break
		key=
		for k in "${PENDING_KEYS[@]}"; do
			if echo "$msg" | grep -Eq ":[0-9]+: $k([.:\[]|$)" &&
				! printf '%s\n' "${stripped[@]}" | grep -qx "$k"; then
				key=$k
			fi
		done
		if [ -z "$key" ]; then
			echo "fluxlbd --check-config: $msg"
			return 1
		fi
		stripped+=("$key")
		"$PY" "$CHECKS/check_k8s.py" strip "$cfg" "$cfg.tmp" "$key" && mv "$cfg.tmp" "$cfg"
	done
	echo "${stripped[*]}" >"$out/stripped"
	return 0
}

if ! $have_kubectl; then
	# No renderer: every file is still validated on its own.
	skip kustomize_render "no kubectl (the machine image ships one; Debian 12's kubernetes-client is 1.20)"
	mapfile -t yamls < <(find "$DEPLOY" -name '*.yaml' ! -name 'kustomization.yaml' ! -path '*/config/*' \
		! -name 'prometheus-adapter-rules.yaml' | sort)
	out=$("$PY" "$CHECKS/check_k8s.py" models "${yamls[@]}" 2>&1); rc=$?
	if [ "$rc" = 0 ]; then pass models_each_file; else fail models_each_file "$out"; fi
	if $have_node; then
		out=$("$PY" "$CHECKS/check_k8s.py" json "${yamls[@]}" | node "$CHECKS/check_schema.mjs" 2>&1); rc=$?
		if [ "$rc" = 0 ]; then pass schema_each_file; else fail schema_each_file "$out"; fi
	fi
	if [ -x "$FLUXLBD" ]; then
		out=$("$FLUXLBD" --check-config "$DEPLOY/config/fluxlbd.yaml" 2>&1); rc=$?
		if [ "$rc" = 0 ]; then pass config_file_valid; else fail config_file_valid "$out"; fi
	fi
	exit 0
fi
if [ ! -x "$FLUXLBD" ]; then
	fail manifests "build/bin/fluxlbd missing: run make first"
	exit 1
fi

mkdir -p "$TMP/base"
out=$(check_tree "$DEPLOY" "$TMP/base" 2>&1); rc=$?
echo "$out" | sed 's/^/  /'
if [ "$rc" = 0 ]; then
	pass rendered_base_passes_every_check
else
	fail rendered_base_passes_every_check "see above"
fi
R=$TMP/base/rendered.yaml
pending=$(cat "$TMP/base/stripped" 2>/dev/null)
if [ -n "$pending" ]; then
	skip "configmap_sections_${pending// /_}" \
		"this fluxlbd does not accept '$pending' yet (another issue defines it); the rest of the ConfigMap's fluxlbd.yaml is valid"
elif [ "$rc" = 0 ]; then
	pass configmap_fluxlbd_yaml_valid_for_fluxlbd
fi
$have_node || skip schema_kubernetes_models "tests/manifests/node_modules missing (npm offline when scripts/install-deps.sh ran?)"

# The pieces outside the base kustomization.
# (kustomize takes relative paths only: the overlay sits beside a copy.)
mkdir -p "$TMP/extra/overlay"
cp -r "$DEPLOY" "$TMP/extra/daemonset"
cat >"$TMP/extra/overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../daemonset]
components: [../daemonset/components/kubernetes-source]
EOF
if kubectl kustomize "$TMP/extra/overlay" >"$TMP/extra/k8s-source.yaml" 2>"$TMP/extra/err" &&
	kubectl kustomize "$DEPLOY/examples/hpa" >"$TMP/extra/hpa.yaml" 2>>"$TMP/extra/err"; then
	pass render_component_and_hpa_example
else
	fail render_component_and_hpa_example "$(cat "$TMP/extra/err")"
fi
extra=("$TMP/extra/k8s-source.yaml" "$TMP/extra/hpa.yaml" "$DEPLOY/cleanup-job.yaml")
out=$("$PY" "$CHECKS/check_k8s.py" models "${extra[@]}" 2>&1) &&
	{ ! $have_node || out+=$'\n'$("$PY" "$CHECKS/check_k8s.py" json "${extra[@]}" | node "$CHECKS/check_schema.mjs" 2>&1); } &&
	out+=$'\n'$("$PY" "$CHECKS/check_k8s.py" policy "$TMP/extra/k8s-source.yaml" 2>&1); rc=$?
if [ "$rc" = 0 ]; then
	pass schemas_component_hpa_cleanup_job
else
	fail schemas_component_hpa_cleanup_job "$out"
fi
# Base and every optional component together (cert-manager, Prometheus
# Operator, Grafana dashboard, kubernetes source): rendered and put through
# every check, schemas included (cert-manager and Prometheus Operator kinds).
# all_overlay TREE: an overlay beside TREE (a copy of deploy/daemonset)
# with every component of TREE; prints the overlay's folder.
all_overlay() {
	local tree=$1 o=$1/../all c list=""
	mkdir -p "$o"
	for c in "$tree"/components/*/; do
		c=$(basename "$c")
		[ "$c" = images ] || list+="  - ../$(basename "$tree")/components/$c"$'\n'
	done
	printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../%s]\ncomponents:\n%s' \
		"$(basename "$tree")" "$list" >"$o/kustomization.yaml"
	echo "$o"
}
mkdir -p "$TMP/all/out"
cp -r "$DEPLOY" "$TMP/all/daemonset"
comps=$(ls "$DEPLOY/components" | grep -vx images | tr '\n' ' ')
out=$(check_tree "$(all_overlay "$TMP/all/daemonset")" "$TMP/all/out" all 2>&1); rc=$?
echo "$out" | sed 's/^/  /'
if [ "$rc" = 0 ]; then
	pass "base_with_every_component_passes_every_check"
	echo "  components: $comps"
else
	fail base_with_every_component_passes_every_check "see above"
fi
for kind in Certificate Issuer ServiceMonitor PodMonitor PrometheusRule NetworkPolicy; do
	grep -q "^kind: $kind\$" "$TMP/all/out/rendered.yaml" || fail "components_render_$kind" "no $kind in the render"
done
if grep -q 'grafana_dashboard: "1"' "$TMP/all/out/rendered.yaml"; then
	pass components_render_certificates_monitors_rules_dashboard
else
	fail components_render_certificates_monitors_rules_dashboard "no dashboard ConfigMap"
fi
out=$("$PY" "$CHECKS/check_security.py" sync "$ROOT" 2>&1); rc=$?
if [ "$rc" = 0 ]; then pass component_copies_match_alerts_and_dashboard; else fail component_copies_match_alerts_and_dashboard "$out"; fi
if command -v promtool >/dev/null; then
	"$PY" -c 'import sys, yaml
r = yaml.safe_load(open(sys.argv[1])); yaml.safe_dump({"groups": r["spec"]["groups"]}, open(sys.argv[2], "w"))' \
		"$DEPLOY/components/prometheus-operator/prometheusrule.yaml" "$TMP/all/rules.yaml"
	out=$(promtool check rules "$TMP/all/rules.yaml" 2>&1); rc=$?
	if [ "$rc" = 0 ]; then pass prometheusrule_groups_pass_promtool; else fail prometheusrule_groups_pass_promtool "$out"; fi
else
	skip prometheusrule_groups_pass_promtool "promtool not installed (Debian package prometheus)"
fi

if grep -q 'automountServiceAccountToken: true' "$TMP/extra/k8s-source.yaml" &&
	grep -q 'kind: ClusterRoleBinding' "$TMP/extra/k8s-source.yaml" &&
	! grep -q 'ClusterRole' "$R"; then
	pass rbac_only_with_kubernetes_source
else
	fail rbac_only_with_kubernetes_source "base must bind no role; the component must bind one and mount the token"
fi

# The kubernetes-source component: its ConfigMap (the kubernetes source with
# an address pool and services: [], every Service discovered) through the daemon's parser, the RBAC the status writer
# needs, NODE_NAME for the Lease holder, and the example Services.
mkdir -p "$TMP/extra/k8s-cfg"
if check_config "$TMP/extra/k8s-source.yaml" "$TMP/extra/k8s-cfg" >"$TMP/extra/k8s-cfg/out" 2>&1 &&
	[ -z "$(cat "$TMP/extra/k8s-cfg/stripped")" ] && grep -q 'type: kubernetes' "$TMP/extra/k8s-cfg/fluxlbd.yaml" &&
	grep -q 'address_pool' "$TMP/extra/k8s-cfg/fluxlbd.yaml" &&
	grep -q '^services: \[\]' "$TMP/extra/k8s-cfg/fluxlbd.yaml"; then
	pass component_configmap_kubernetes_source_with_pool_and_no_services_valid
else
	fail component_configmap_kubernetes_source_with_pool_and_no_services_valid "$(cat "$TMP/extra/k8s-cfg/out"; echo "keys fluxlbd refused: $(cat "$TMP/extra/k8s-cfg/stripped")")"
fi
out=$("$PY" - "$TMP/extra/k8s-source.yaml" <<'PY' 2>&1
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
def rules(kind):
    return [(g, r, v) for d in docs if d["kind"] == kind for ru in d.get("rules", [])
            for g in ru["apiGroups"] for r in ru["resources"] for v in ru["verbs"]]
need = {"ClusterRole": [("", "services", v) for v in ("get", "list", "watch")] +
                       [("discovery.k8s.io", "endpointslices", v) for v in ("get", "list", "watch")] +
                       [("", "services/status", v) for v in ("update", "patch")],
        "Role": [("coordination.k8s.io", "leases", v) for v in ("get", "create", "update")]}
bad = ["%s lacks %s" % (k, n) for k, ns in need.items() for n in ns if n not in rules(k)]
bad += ["%s grants more: %s" % (k, x) for k in need for x in rules(k) if x not in need[k]]
roles = [d for d in docs if d["kind"] == "Role"]
bad += ["Role %s not in namespace fluxlb" % d["metadata"]["name"] for d in roles if d["metadata"].get("namespace") != "fluxlb"]
ds = [d for d in docs if d["kind"] == "DaemonSet"][0]
env = ds["spec"]["template"]["spec"]["containers"][0].get("env", [])
if not any(e["name"] == "NODE_NAME" and e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName" for e in env):
    bad.append("DaemonSet has no NODE_NAME from spec.nodeName")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
); rc=$?
if [ "$rc" = 0 ]; then pass component_rbac_reads_sources_writes_status_and_lease; else fail component_rbac_reads_sources_writes_status_and_lease "$out"; fi
mapfile -t examples < <(find "$DEPLOY/examples/kubernetes-source" -name '*.yaml' | sort)
out=$("$PY" "$CHECKS/check_k8s.py" models "${examples[@]}" 2>&1) &&
	{ ! $have_node || out+=$'\n'$("$PY" "$CHECKS/check_k8s.py" json "${examples[@]}" | node "$CHECKS/check_schema.mjs" 2>&1); }; rc=$?
if [ "$rc" = 0 ]; then pass example_services_valid; else fail example_services_valid "$out"; fi

out=$("$PY" "$CHECKS/check_k8s.py" cleanup "$R" "$DEPLOY/cleanup-job.yaml" 2>&1); rc=$?
if [ "$rc" = 0 ]; then pass cleanup_job_matches_install; else fail cleanup_job_matches_install "$out"; fi

out=$("$PY" "$CHECKS/check_k8s.py" hpa "$TMP/extra/hpa.yaml" "$DEPLOY/examples/hpa/prometheus-adapter-rules.yaml" \
	"$TMP/extra/adapter-promql.yaml" 2>&1); rc=$?
if [ "$rc" = 0 ]; then pass hpa_matches_adapter_rule; else fail hpa_matches_adapter_rule "$out"; fi
if ! command -v promtool >/dev/null; then
	skip adapter_query_parses "promtool not installed (Debian package prometheus)"
elif [ "$rc" = 0 ]; then
	out=$(promtool check rules "$TMP/extra/adapter-promql.yaml" 2>&1); rc=$?
	if [ "$rc" = 0 ]; then pass adapter_query_parses; else fail adapter_query_parses "$out"; fi
fi

# ---------------------------------------------------------------- Dockerfile

# No hadolint here: FROM lines on Debian 12, no ADD of URLs, and a final
# stage without compilers or -dev packages that copies the build's output.
df=$ROOT/Dockerfile
final=$(awk '/^FROM /{buf=""} !/^[[:space:]]*#/{buf=buf $0 "\n"} END{printf "%s", buf}' "$df")
if [ "$(grep -c '^FROM ' "$df")" -ge 2 ] &&
	grep -q '^ARG BASE=debian:bookworm' "$df" &&
	! grep -Eq '^FROM ' <(grep '^FROM ' "$df" | grep -v '\${BASE}') &&
	! grep -Eiq '^ADD .*(https?|ftp)://' "$df" &&
	! echo "$final" | grep -Eq '(^|[[:space:]])(gcc|clang|llvm|make|[a-z0-9.+-]+-dev)([[:space:]]|$)' &&
	echo "$final" | grep -q 'COPY --from=build /src/build/bin/' &&
	echo "$final" | grep -q '^USER ' &&
	grep -qx 'build' "$ROOT/.dockerignore" && grep -qx '.git' "$ROOT/.dockerignore"; then
	pass dockerfile_structure
else
	fail dockerfile_structure "two Debian 12 stages, no ADD URL, no toolchain in the final stage, USER, .dockerignore"
fi

# The final stage installs the package of every library the built programs
# link directly (libc6 comes with the base image).
final_pkgs=" libc6 $(echo "$final" | sed -n '/apt-get install/,/rm -rf/p' | tr -s ' \\\t' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | tr '\n' ' ')"
missing=()
for so in $(for b in "$ROOT"/build/bin/*; do readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; done | sort -u); do
	lib=$(ldconfig -p | awk -v s="$so" '$1 == s {print $NF; exit}')
	pkg=$( (dpkg -S "$lib" || dpkg -S "$(readlink -f "$lib")") 2>/dev/null | head -1 | cut -d: -f1)
	[[ "$final_pkgs" == *" $pkg "* ]] || missing+=("$so (${pkg:-no package})")
done
if [ ${#missing[@]} = 0 ]; then
	pass dockerfile_runtime_libraries_cover_the_programs
else
	fail dockerfile_runtime_libraries_cover_the_programs "not installed by the final stage: ${missing[*]}"
fi

# ---------------------------------------------------------------- broken

# broken NAME FILE SED EXPECTED [node]: a copy of deploy/daemonset with FILE
# changed by SED must fail check_tree with a message matching EXPECTED
# ("node": only kubernetes-models can see it).
broken() {
	local name=$1 file=$2 expr=$3 want=$4 dir=$TMP/broken/$1 out rc
	if [ "${5:-}" = node ] && ! $have_node; then
		skip "broken_${name}_rejected" "needs kubernetes-models (tests/manifests/node_modules)"
		return
	fi
	mkdir -p "$dir"
	cp -r "$DEPLOY" "$dir/tree"
	sed -i "$expr" "$dir/tree/$file"
	if cmp -s "$DEPLOY/$file" "$dir/tree/$file"; then
		fail "broken_$name" "the injection '$expr' did not change $file"
		return
	fi
	out=$(check_tree "$dir/tree" "$dir" 2>&1); rc=$?
	if [ "$rc" != 0 ] && echo "$out" | grep -Eq -- "$want"; then
		pass "broken_${name}_rejected"
		echo "$out" | grep -Em1 -- "$want" | sed "s|$dir/||; s/^/  /"
	else
		fail "broken_${name}_rejected" "rc=$rc, expected a message matching /$want/; got: $out"
	fi
}
broken privileged fluxlbd.yaml '0,/privileged: false/s//privileged: true/' \
	'privileged: true: no container of fluxlb may run privileged'
broken bidirectional fluxlbd.yaml 's/mountPropagation: HostToContainer/mountPropagation: Bidirectional/' \
	'Bidirectional mount propagation is available only to privileged'
broken extra_capability fluxlbd.yaml 's/add: \[BPF, NET_ADMIN, PERFMON\]/add: [BPF, NET_ADMIN, PERFMON, SYS_ADMIN]/' \
	"capabilities.add has \['SYS_ADMIN'\]"
broken unknown_field fluxlbd.yaml '0,/timeoutSeconds: 2/s//timeoutSecond: 2/' \
	'readinessProbe.timeoutSecond: unknown field'
broken missing_required fluxlbd.yaml '/^  selector:$/,+2d' \
	"DaemonSet/fluxlbd: /spec: must have required property '?selector" node
broken bad_enum registry.yaml '0,/imagePullPolicy: IfNotPresent/s//imagePullPolicy: Sometimes/' \
	'imagePullPolicy: must be equal to one of the allowed values' node
broken no_readiness_probe fluxlbd.yaml 's|path: /ready|path: /readyz|' \
	"readinessProbe: httpGet.path is '/readyz', expected '/ready'"
broken metrics_port_mismatch config/fluxlbd.yaml 's/listen: ":9742"/listen: ":9743"/' \
	'is not the config.s metrics port 9743'
broken config_rejected_by_fluxlbd config/fluxlbd.yaml 's/xdp_mode: native/xdp_mode: turbo/' \
	'fluxlbd --check-config: .*node.xdp_mode'
broken config_subpath fluxlbd.yaml 's|mountPath: /etc/fluxlb$|mountPath: /etc/fluxlb/fluxlbd.yaml\n              subPath: fluxlbd.yaml|' \
	'subPath mounts never see a ConfigMap update'
broken config_name_hash kustomization.yaml 's/disableNameSuffixHash: true/disableNameSuffixHash: false/' \
	'expected fluxlbd-config without a content hash'
# The secured state (check_security.py).
broken etcd_plain_http registry.yaml 's|https://etcd-0.etcd:2379|http://etcd-0.etcd:2379|' \
	"--etcd endpoint 'http://etcd-0.etcd:2379' is not https://"
broken fluxlbd_plain_http config/fluxlbd.yaml 's|- https://etcd-1.etcd:2379|- http://etcd-1.etcd:2379|' \
	"source.endpoints 'http://etcd-1.etcd:2379' is not https://"
broken etcd_without_client_cert_auth etcd.yaml '/- --client-cert-auth$/d' \
	'--client-cert-auth missing: etcd must require client certificates'
broken etcd_plain_peers etcd.yaml 's|--listen-peer-urls=https://|--listen-peer-urls=http://|' \
	'--listen-peer-urls: http:// instead of https://'
broken no_networkpolicy kustomization.yaml '/- networkpolicy.yaml$/d' \
	'no NetworkPolicy selects etcd'
broken etcd_open_to_all networkpolicy.yaml 's|cidr: 10.0.0.0/8|cidr: 0.0.0.0/0|' \
	'lets any pod or address reach etcd'
broken inline_password_flag registry.yaml 's|- --etcd-password-file|- --etcd-password|' \
	'argument --etcd-password: inline secret'
broken inline_secret_env registry.yaml '0,/imagePullPolicy: IfNotPresent/s//imagePullPolicy: IfNotPresent\n          env:\n            - name: FLB_REGISTRY_TOKEN\n              value: s3cret/' \
	'env FLB_REGISTRY_TOKEN: inline secret'
broken inline_token_in_config config/fluxlbd.yaml 's|^  username: fluxlbd$|  username: fluxlbd\n  token: s3cret|' \
	'source.token: (inline secret|never an inline token)'
broken password_not_from_secret config/fluxlbd.yaml 's|password_file: /etc/fluxlb-etcd/password|password_file: /etc/fluxlb/password|' \
	'source.password_file /etc/fluxlb/password is not in a mounted Secret'
broken servicemonitor_in_base kustomization.yaml 's|^  - networkpolicy.yaml$|  - networkpolicy.yaml\n  - components/prometheus-operator/servicemonitor.yaml|' \
	'ServiceMonitor/fluxlbd: belongs in a component'
broken image_tag_outside_images registry.yaml 's|image: fluxlb$|image: fluxlb:0.2|' \
	'image fluxlb:0.2 has a tag: tags belong in components/images only'
# broken_all NAME FILE SED EXPECTED: the same, with every component.
broken_all() {
	local name=$1 file=$2 expr=$3 want=$4 dir=$TMP/broken/$1 out rc
	mkdir -p "$dir/out"
	cp -r "$DEPLOY" "$dir/daemonset"
	sed -i "$expr" "$dir/daemonset/$file"
	if cmp -s "$DEPLOY/$file" "$dir/daemonset/$file"; then
		fail "broken_$name" "the injection '$expr' did not change $file"
		return
	fi
	out=$(check_tree "$(all_overlay "$dir/daemonset")" "$dir/out" all 2>&1); rc=$?
	if [ "$rc" != 0 ] && echo "$out" | grep -Eq -- "$want"; then
		pass "broken_${name}_rejected"
		echo "$out" | grep -Em1 -- "$want" | sed "s|$dir/||; s/^/  /"
	else
		fail "broken_${name}_rejected" "rc=$rc, expected a message matching /$want/; got: $out"
	fi
}
broken_all component_without_its_networkpolicy components/prometheus-operator/kustomization.yaml '/- networkpolicy.yaml$/d' \
	'nothing lets Prometheus through the default deny to etcd:metrics'
broken_all certificate_bad_usage components/etcd-cert-manager/certificates.yaml '0,/- client auth/s//- client authentication/' \
	'Certificate/etcd-server-tls: /spec/usages/1: must be equal to one of the allowed values'

# ---------------------------------------------------------------- capabilities

# fluxlbd as the DaemonSet runs it: exactly its capabilities (bounding set,
# no inheritable ones, no_new_privs as allowPrivilegeEscalation: false sets),
# a read-only root filesystem, the ConfigMap's interfaces and node section,
# and a bpffs of the "node" bind-mounted at /sys/fs/bpf as the hostPath
# volume is. Checked: first start,
# restart in place (the rolling update), the probes' endpoints, the CLI and
# bpftool as `kubectl exec` runs them, and the cleanup Job's --cleanup.
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	skip daemonset_capabilities "needs root and setpriv (netns, XDP)"
	exit 0
fi
read -ra CAPS <<<"$("$PY" "$CHECKS/check_k8s.py" caps "$R")"
mapfile -t IFACES < <("$PY" -c 'import sys, yaml; print("\n".join(yaml.safe_load(open(sys.argv[1]))["interfaces"]))' \
	"$TMP/base/fluxlbd.yaml")
BPFFS_IN_POD=$("$PY" -c 'import sys, yaml; print((yaml.safe_load(open(sys.argv[1])).get("node") or {}).get("bpffs", "/sys/fs/bpf/fluxlb"))' \
	"$TMP/base/fluxlbd.yaml")

# netns_up NS: a network namespace with the config's interfaces, as veths.
netns_up() {
	local ns=$1 i
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	for i in "${!IFACES[@]}"; do
		ip -n "$ns" link add "${IFACES[$i]}" type veth peer name "p$i"
		ip -n "$ns" link set "${IFACES[$i]}" up
		ip -n "$ns" link set "p$i" up
	done
}
# in_pod NS BPFFS CAPS... -- COMMAND...: COMMAND in NS (ip netns exec gives
# it a mount namespace of its own) with BPFFS bind-mounted at /sys/fs/bpf, the
# root filesystem read-only (in that mount namespace only), then only CAPS.
# exec all the way: the caller's job is COMMAND itself.
in_pod() {
	local ns=$1 fs=$2 set=-all
	shift 2
	while [ "$1" != -- ]; do set+=",+${1,,}"; shift; done
	shift
	exec ip netns exec "$ns" sh -c 'mount --bind "$1" /sys/fs/bpf && mount -o remount,bind,ro / &&
		shift && exec "$@"' sh "$fs" setpriv --no-new-privs --inh-caps=-all --bounding-set="$set" "$@"
}
# start NS BPFFS LOG CAPS...: starts fluxlbd, waits for "ready"; DPID is its pid.
start() {
	local ns=$1 fs=$2 log=$3
	shift 3
	(in_pod "$ns" "$fs" "$@" -- "$FLUXLBD" --config "$TMP/caps.yaml" >>"$log" 2>&1) &
	DPID=$!
	disown "$DPID"
	for _ in $(seq 1 50); do
		grep -q 'msg="ready"' "$log" 2>/dev/null && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
stop() {
	kill "$DPID" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$DPID" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$DPID" 2>/dev/null
}
attached() { ip -n "$1" -d link show | grep -q 'prog/xdp'; }

mkdir -p "$TMP/bpffs" "$TMP/bpffs2"
mount -t bpf bpf "$TMP/bpffs"
mount -t bpf bpf "$TMP/bpffs2"
PIN=$TMP/bpffs/${BPFFS_IN_POD#/sys/fs/bpf/} # the pin folder as the node sees it
# The ConfigMap's file with one static service instead of the registry
# source, and without metrics when this fluxlbd does not accept it yet.
"$PY" "$CHECKS/check_k8s.py" strip "$TMP/base/fluxlbd.yaml" "$TMP/caps.yaml" source
printf 'services:\n  - name: web\n    vip: 10.100.0.1\n    port: 80\n    backends: [{address: 10.10.1.2}]\n' |
	"$PY" -c 'import sys, yaml
c = yaml.safe_load(open(sys.argv[1])); c["services"] = yaml.safe_load(sys.stdin)["services"]
yaml.safe_dump(c, open(sys.argv[1], "w"))' "$TMP/caps.yaml"
mport=$("$PY" -c 'import sys, yaml; print((yaml.safe_load(open(sys.argv[1])).get("metrics") or {}).get("listen", "").rpartition(":")[2])' \
	"$TMP/caps.yaml")
if ! "$FLUXLBD" --check-config "$TMP/caps.yaml" >/dev/null 2>&1; then
	"$PY" "$CHECKS/check_k8s.py" strip "$TMP/caps.yaml" "$TMP/caps.tmp" metrics && mv "$TMP/caps.tmp" "$TMP/caps.yaml"
	mport=
fi

echo "  capabilities: ${CAPS[*]}"
netns_up "$NS"
LOG=$TMP/fluxlbd.log
if start "$NS" "$TMP/bpffs" "$LOG" "${CAPS[@]}"; then
	pass caps_first_start_ready
	grep -o 'msg="attached XDP program".*' "$LOG" | sed 's/^/  /'
	if [ -z "$mport" ]; then
		skip caps_probe_endpoints "this fluxlbd has no metrics section yet"
	elif ! ip netns exec "$NS" ss -Hltn "sport = :$mport" | grep -q .; then
		skip caps_probe_endpoints "this fluxlbd accepts metrics.listen but serves nothing on :$mport yet"
	elif ip netns exec "$NS" curl -sf "http://127.0.0.1:$mport/ready" >/dev/null &&
		ip netns exec "$NS" curl -sf "http://127.0.0.1:$mport/health" >/dev/null; then
		pass caps_probe_endpoints_ready_and_health_answer
		ip netns exec "$NS" curl -sf "http://127.0.0.1:$mport/metrics" >"$TMP/metrics.txt"
		out=$("$PY" "$CHECKS/check_k8s.py" exported "$DEPLOY/examples/hpa/prometheus-adapter-rules.yaml" \
			"$TMP/metrics.txt" 2>&1); rc=$?
		if [ "$rc" = 0 ]; then pass adapter_series_exported_with_labels; else fail adapter_series_exported_with_labels "$out"; fi
	else
		fail caps_probe_endpoints_ready_and_health_answer "no 200 from /ready or /health on :$mport"
	fi
	stop
	expect caps_dataplane_outlives_daemon attached "$NS"
	: >"$LOG"
	if start "$NS" "$TMP/bpffs" "$LOG" "${CAPS[@]}" && grep -q 'replaced attached XDP program' "$LOG"; then
		pass caps_restart_adopts_in_place
	else
		fail caps_restart_adopts_in_place "$(tail -5 "$LOG")"
	fi
	out=$( (in_pod "$NS" "$TMP/bpffs" "${CAPS[@]}" -- "$ROOT/build/bin/fluxlb" --bpffs "$BPFFS_IN_POD" status) 2>&1)
	if echo "$out" | grep -q 'ready: *yes'; then pass caps_fluxlb_status; else fail caps_fluxlb_status "$out"; fi
	# bpftool needs the maps' BTF, which the kernel hands out by id only with
	# CAP_SYS_ADMIN (docs/kubernetes.md: kubectl debug node for it); the CLI reads the
	# counters through the pins with the pod's capabilities.
	out=$( (in_pod "$NS" "$TMP/bpffs" "${CAPS[@]}" -- "$ROOT/build/bin/fluxlb" --bpffs "$BPFFS_IN_POD" -j stats) 2>&1)
	if echo "$out" | grep -q '"reasons"'; then pass caps_fluxlb_stats; else fail caps_fluxlb_stats "$out"; fi
	stop
	out=$( (in_pod "$NS" "$TMP/bpffs" "${CAPS[@]}" -- "$FLUXLBD" --cleanup --config "$TMP/caps.yaml") 2>&1)
	if [ $? = 0 ] && ! attached "$NS" && [ ! -e "$PIN/v$("$ROOT/build/bin/fluxlbd" --version | sed -n 's/.*(abi v\([0-9]*\)).*/\1/p')" ]; then
		pass caps_cleanup_detaches_and_unpins
	else
		fail caps_cleanup_detaches_and_unpins "$out"
	fi
else
	fail caps_first_start_ready "$(tail -5 "$LOG")"
fi

# SYS_ADMIN is in the list only while the daemon needs it (see fluxlbd.yaml):
# once start and restart work without it, this fails and says to drop it.
less=()
for c in "${CAPS[@]}"; do [ "$c" = SYS_ADMIN ] || less+=("$c"); done
if [ ${#less[@]} != ${#CAPS[@]} ]; then
	netns_up "${NS}n"
	LOG2=$TMP/fluxlbd-nosysadmin.log
	if start "${NS}n" "$TMP/bpffs2" "$LOG2" "${less[@]}" && { stop; : >"$LOG2"; start "${NS}n" "$TMP/bpffs2" "$LOG2" "${less[@]}"; } &&
		grep -q 'replaced attached XDP program' "$LOG2"; then
		fail caps_sys_admin_still_needed "fluxlbd starts and restarts in place without SYS_ADMIN:" \
			"remove it from deploy/daemonset/fluxlbd.yaml, cleanup-job.yaml and CAPS_ALLOWED in check_k8s.py"
	else
		pass caps_sys_admin_still_needed
		echo "  without SYS_ADMIN fluxlbd does not get to ready or cannot adopt; its last log line:"
		echo "  $(tail -1 "$LOG2")"
	fi
	stop
	(in_pod "${NS}n" "$TMP/bpffs2" "${CAPS[@]}" -- "$FLUXLBD" --cleanup --config "$TMP/caps.yaml") >/dev/null 2>&1
fi
