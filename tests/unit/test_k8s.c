// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Kubernetes source's model without a network: list answers and watch
 * lines into the store, and the store into a configured service's
 * instances (conditions, port matching by name, class, VIP, namespaces),
 * 410 as an ERROR event, bookmarks, and the kubeconfig subset. The wire
 * side (HTTP status 410, 401, dropped and stalled streams) is covered by
 * tests/e2e/test_kubernetes.sh against tests/k8s/fake_apiserver.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flb_test.h"
#include "k8s_alloc.h"
#include "source_kubernetes.h"

#define SVC(ns, name, extra_md, spec)                                                          \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"" name               \
	"\",\"namespace\":\"" ns "\",\"resourceVersion\":\"5\"" extra_md "},\"spec\":" spec "}"
#define LB_SPEC(ports)                                                                         \
	"{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"fluxlb.io/l4\",\"ports\":" ports "}"
#define VIP_MD ",\"annotations\":{\"fluxlb.io/vip\":\"10.100.0.1\"}"
#define WEB SVC("default", "web", VIP_MD, LB_SPEC("[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,\"protocol\":\"TCP\"},{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]"))

#define EP(addr, conds) "{\"addresses\":[\"" addr "\"],\"conditions\":" conds "}"
#define READY "{\"ready\":true,\"serving\":true,\"terminating\":false}"
#define TERMINATING "{\"ready\":false,\"serving\":true,\"terminating\":true}"
#define GONE "{\"ready\":false,\"serving\":false,\"terminating\":true}"
#define SLICE(ns, name, svc, ports, eps)                                                       \
	"{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"" name \
	"\",\"namespace\":\"" ns "\",\"resourceVersion\":\"7\",\"labels\":{\"kubernetes.io/service-name\":\"" svc \
	"\"}},\"addressType\":\"IPv4\",\"ports\":" ports ",\"endpoints\":[" eps "]}"
#define WEB_PORTS "[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"},{\"name\":\"dns\",\"port\":5353,\"protocol\":\"UDP\"}]"

static const char *list(const char *rv, const char *items)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf), "{\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"%s\"},\"items\":[%s]}",
		 rv, items);
	return buf;
}

static const char *event(const char *type, const char *obj)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf), "{\"type\":\"%s\",\"object\":%s}", type, obj);
	return buf;
}

static bool store(struct k8s_store *st, const char *svcs, const char *slices)
{
	memset(st, 0, sizeof(*st));
	return ASSERT_OK(k8s_store_list(st, K8S_SERVICES, list("10", svcs)), "list services") &&
	       ASSERT_OK(k8s_store_list(st, K8S_SLICES, list("11", slices)), "list slices");
}

static const struct src_instance *by_addr(const struct src_instance *in, size_t n, const char *a)
{
	struct flb_addr x;

	addr_parse(a, &x);
	for (size_t i = 0; i < n; i++)
		if (!addr_cmp(&in[i].addr, &x))
			return &in[i];
	return NULL;
}

TEST(conditions_map_to_active_draining_out)
{
	struct k8s_store st;
	struct src_instance *in;
	const struct src_instance *a, *b, *c;
	char why[160];
	size_t n;

	if (!store(&st, WEB, SLICE("default", "web-abc", "web", WEB_PORTS,
				   EP("10.10.2.11", READY) "," EP("10.10.2.12", TERMINATING) ","
				   EP("10.10.2.13", GONE))))
		goto out;
	if (!ASSERT_OK(k8s_instances(&st, "fluxlb.io/l4", "default/web:http", &in, &n, why, sizeof(why)), "map"))
		goto out;
	ASSERT_STREQ(why, "", "mapped");
	ASSERT_EQ(n, 3, "instances");
	a = by_addr(in, n, "10.10.2.11");
	b = by_addr(in, n, "10.10.2.12");
	c = by_addr(in, n, "10.10.2.13");
	if (ASSERT_TRUE(a && b && c, "all three")) {
		ASSERT_TRUE(a->status == SRC_PASSING && a->weight == 1, "ready is active");
		ASSERT_TRUE(b->status == SRC_PASSING && b->weight == 0, "serving+terminating drains");
		ASSERT_EQ(c->status, SRC_CRITICAL, "not serving is out");
		ASSERT_EQ(a->port, 8080, "port of the slice port named like the Service port");
		ASSERT_STREQ(a->id, "default/web-abc/10.10.2.11", "id");
	}
	free(in);
out:
	k8s_store_free(&st);
}

TEST(nil_conditions_follow_the_api)
{
	struct k8s_store st;
	struct src_instance *in;
	char why[160];
	size_t n;

	/* ready nil = true; serving nil = ready; terminating nil = false. */
	if (!store(&st, WEB, SLICE("default", "s", "web", WEB_PORTS,
				   "{\"addresses\":[\"10.0.0.1\"]},"
				   EP("10.0.0.2", "{\"ready\":false}"))))
		goto out;
	k8s_instances(&st, "fluxlb.io/l4", "default/web:80", &in, &n, why, sizeof(why));
	if (ASSERT_EQ(n, 2, "instances")) {
		ASSERT_EQ(by_addr(in, n, "10.0.0.1")->weight, 1, "nil ready is ready");
		ASSERT_EQ(by_addr(in, n, "10.0.0.2")->status, SRC_CRITICAL, "not ready, not terminating is out");
	}
	free(in);
out:
	k8s_store_free(&st);
}

TEST(port_by_number_name_protocol)
{
	struct k8s_store st;
	struct src_instance *in;
	char why[160];
	size_t n;

	if (!store(&st, WEB, SLICE("default", "s", "web", WEB_PORTS, EP("10.0.0.1", READY))))
		goto out;
	k8s_instances(&st, "fluxlb.io/l4", "default/web:53", &in, &n, why, sizeof(why));
	ASSERT_TRUE(n == 1 && in[0].port == 5353, "UDP port 53 by number -> slice port dns");
	free(in);
	k8s_instances(&st, "fluxlb.io/l4", "default/web:dns", &in, &n, why, sizeof(why));
	ASSERT_TRUE(n == 1 && in[0].port == 5353, "by name");
	free(in);
	k8s_instances(&st, "fluxlb.io/l4", "default/web", &in, &n, why, sizeof(why));
	ASSERT_EQ(n, 0, "two ports: one must be named");
	ASSERT_STREQ(why, "several Service ports: name one", "why");
	free(in);
	k8s_instances(&st, "fluxlb.io/l4", "default/web:9999", &in, &n, why, sizeof(why));
	ASSERT_STREQ(why, "no Service port 9999", "unknown port");
	free(in);
out:
	k8s_store_free(&st);
}

TEST(unnamed_single_port)
{
	struct k8s_store st;
	struct src_instance *in;
	char why[160];
	size_t n;

	if (!store(&st, SVC("a", "one", VIP_MD, LB_SPEC("[{\"port\":80}]")),
		   SLICE("a", "one-x", "one", "[{\"port\":80}]", EP("10.0.0.9", READY))
		   "," SLICE("b", "one-y", "one", "[{\"port\":80}]", EP("10.0.0.8", READY))))
		goto out;
	k8s_instances(&st, "fluxlb.io/l4", "a/one", &in, &n, why, sizeof(why));
	ASSERT_TRUE(n == 1 && in[0].port == 80, "the only port, TCP by default; other namespace ignored");
	free(in);
out:
	k8s_store_free(&st);
}

TEST(service_must_be_ours_with_a_vip)
{
	struct k8s_store st;
	struct src_instance *in;
	char why[160];
	size_t n;

	if (!store(&st,
		   SVC("d", "other", VIP_MD, "{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"x.io/lb\",\"ports\":[{\"port\":80}]}") ","
		   SVC("d", "cip", VIP_MD, "{\"type\":\"ClusterIP\",\"ports\":[{\"port\":80}]}") ","
		   SVC("d", "novip", "", LB_SPEC("[{\"port\":80}]")) ","
		   SVC("d", "lbip", "", "{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"fluxlb.io/l4\",\"loadBalancerIP\":\"10.100.0.9\",\"ports\":[{\"port\":80}]}"),
		   SLICE("d", "lbip-1", "lbip", "[{\"port\":80}]", EP("10.0.0.1", READY))))
		goto out;
	k8s_instances(&st, "fluxlb.io/l4", "d/other", &in, &n, why, sizeof(why));
	ASSERT_STRCONTAINS(why, "loadBalancerClass fluxlb.io/l4", "another class");
	free(in);
	k8s_instances(&st, "fluxlb.io/l4", "d/cip", &in, &n, why, sizeof(why));
	ASSERT_STRCONTAINS(why, "not type LoadBalancer", "ClusterIP");
	free(in);
	k8s_instances(&st, "fluxlb.io/l4", "d/novip", &in, &n, why, sizeof(why));
	ASSERT_STRCONTAINS(why, "no VIP", "no VIP");
	free(in);
	k8s_instances(&st, "fluxlb.io/l4", "d/missing", &in, &n, why, sizeof(why));
	ASSERT_STREQ(why, "no such Service", "missing");
	free(in);
	k8s_instances(&st, "fluxlb.io/l4", "nonamespace", &in, &n, why, sizeof(why));
	ASSERT_STRCONTAINS(why, "<namespace>/<service>", "bad name");
	free(in);
	k8s_instances(&st, "fluxlb.io/l4", "d/lbip", &in, &n, why, sizeof(why));
	ASSERT_TRUE(n == 1 && !why[0], "spec.loadBalancerIP is a VIP too");
	free(in);
out:
	k8s_store_free(&st);
}

TEST(watch_events_change_the_store)
{
	struct k8s_store st;
	struct src_instance *in;
	char why[160];
	size_t n;

	if (!store(&st, WEB, ""))
		goto out;
	ASSERT_STREQ(st.kind[K8S_SLICES].rv, "11", "list resourceVersion");
	ASSERT_EQ(k8s_store_event(&st, K8S_SLICES, event("ADDED",
		SLICE("default", "s", "web", WEB_PORTS, EP("10.0.0.1", READY)))), K8S_EV_APPLIED, "added");
	k8s_instances(&st, "fluxlb.io/l4", "default/web:http", &in, &n, why, sizeof(why));
	ASSERT_EQ(n, 1, "one after ADDED");
	free(in);
	ASSERT_STREQ(st.kind[K8S_SLICES].rv, "7", "rv of the object");
	ASSERT_EQ(k8s_store_event(&st, K8S_SLICES, event("MODIFIED",
		SLICE("default", "s", "web", WEB_PORTS, EP("10.0.0.1", TERMINATING) "," EP("10.0.0.2", READY)))),
		K8S_EV_APPLIED, "modified");
	k8s_instances(&st, "fluxlb.io/l4", "default/web:http", &in, &n, why, sizeof(why));
	ASSERT_TRUE(n == 2 && by_addr(in, n, "10.0.0.1")->weight == 0, "MODIFIED replaces");
	free(in);
	ASSERT_EQ(k8s_store_event(&st, K8S_SLICES,
		"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"99\"}}}"),
		K8S_EV_BOOKMARK, "bookmark");
	ASSERT_STREQ(st.kind[K8S_SLICES].rv, "99", "bookmark moves the resourceVersion");
	ASSERT_EQ(k8s_store_event(&st, K8S_SLICES, event("DELETED",
		SLICE("default", "s", "web", WEB_PORTS, ""))), K8S_EV_APPLIED, "deleted");
	k8s_instances(&st, "fluxlb.io/l4", "default/web:http", &in, &n, why, sizeof(why));
	ASSERT_EQ(n, 0, "none after DELETED");
	free(in);
	ASSERT_EQ(k8s_store_event(&st, K8S_SERVICES, event("DELETED", WEB)), K8S_EV_APPLIED, "service deleted");
	k8s_instances(&st, "fluxlb.io/l4", "default/web:http", &in, &n, why, sizeof(why));
	ASSERT_STREQ(why, "no such Service", "service gone");
	free(in);
out:
	k8s_store_free(&st);
}

TEST(error_events_and_garbage)
{
	struct k8s_store st = {};

	ASSERT_EQ(k8s_store_event(&st, K8S_SERVICES,
		"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"too old resource version: 1 (5)\",\"reason\":\"Expired\",\"code\":410}}"),
		K8S_EV_GONE, "410 as an ERROR event lists again");
	ASSERT_EQ(k8s_store_event(&st, K8S_SERVICES,
		"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500}}"), K8S_EV_ERROR, "other ERROR");
	ASSERT_EQ(k8s_store_event(&st, K8S_SERVICES, "{\"type\":\"ADDED\""), -EBADMSG, "cut line");
	ASSERT_EQ(k8s_store_event(&st, K8S_SERVICES, "{\"type\":\"SOMETHING\",\"object\":{}}"), -EBADMSG, "unknown type");
	ASSERT_EQ(k8s_store_list(&st, K8S_SERVICES, "{\"kind\":\"Status\",\"code\":401}"), -EBADMSG, "a Status is no list");
	ASSERT_FALSE(st.kind[K8S_SERVICES].synced, "not synced by a failed list");
	k8s_store_free(&st);
}

TEST(relist_drops_what_the_gap_deleted)
{
	struct k8s_store st;
	struct src_instance *in;
	char why[160];
	size_t n;

	if (!store(&st, WEB, SLICE("default", "s1", "web", WEB_PORTS, EP("10.0.0.1", READY)) ","
			     SLICE("default", "s2", "web", WEB_PORTS, EP("10.0.0.2", READY))))
		goto out;
	ASSERT_OK(k8s_store_list(&st, K8S_SLICES, list("50", SLICE("default", "s2", "web", WEB_PORTS, EP("10.0.0.2", READY)))), "relist");
	k8s_instances(&st, "fluxlb.io/l4", "default/web:http", &in, &n, why, sizeof(why));
	ASSERT_TRUE(n == 1 && by_addr(in, n, "10.0.0.2"), "only what the new list has");
	ASSERT_STREQ(st.kind[K8S_SLICES].rv, "50", "new resourceVersion");
	free(in);
out:
	k8s_store_free(&st);
}

TEST(kubeconfig_subset)
{
	char path[] = "/tmp/flb-kubeconfig-XXXXXX", why[300];
	struct k8s_auth a;
	int fd = mkstemp(path);
	static const char kc[] =
		"apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
		"clusters:\n"
		"- name: other\n  cluster: {server: https://wrong:6443}\n"
		"- name: kind\n  cluster:\n    server: https://127.0.0.1:6443\n"
		"    certificate-authority-data: LS0tLS1CRUdJTg==\n"
		"contexts:\n- name: dev\n  context: {cluster: kind, user: me, namespace: x}\n"
		"users:\n- name: me\n  user:\n    client-certificate: me.crt\n    client-key: /k/me.key\n    token: abc\n";

	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		return;
	ASSERT_EQ(write(fd, kc, strlen(kc)), (long)strlen(kc), "write");
	close(fd);
	if (ASSERT_OK(k8s_kubeconfig_load(path, &a, why, sizeof(why)), why)) {
		ASSERT_STREQ(a.server, "https://127.0.0.1:6443", "server of the current context's cluster");
		ASSERT_STREQ(a.ca_data, "-----BEGIN", "certificate-authority-data decoded");
		ASSERT_STREQ(a.cert_file, "/tmp/me.crt", "relative to the kubeconfig");
		ASSERT_STREQ(a.key_file, "/k/me.key", "absolute");
		ASSERT_STREQ(a.token, "abc", "token");
		k8s_auth_free(&a);
	}
	fd = open(path, O_WRONLY | O_TRUNC);
	ASSERT_EQ(write(fd, "current-context: nope\n", 22), 22, "write");
	close(fd);
	ASSERT_EQ(k8s_kubeconfig_load(path, &a, why, sizeof(why)), -EINVAL, "no such context");
	ASSERT_STRCONTAINS(why, "no current-context", "why");
	unlink(path);
}

TEST(in_cluster_defaults)
{
	struct flb_source_cfg cfg = {};
	struct k8s_auth a;
	char why[300];

	unsetenv("KUBERNETES_SERVICE_HOST");
	ASSERT_EQ(k8s_auth_load(&cfg, &a, why, sizeof(why)), -EINVAL, "nowhere to go");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	if (ASSERT_OK(k8s_auth_load(&cfg, &a, why, sizeof(why)), why)) {
		ASSERT_STREQ(a.server, "https://10.96.0.1:443", "server from the env");
		ASSERT_STREQ(a.token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token", "token");
		ASSERT_STREQ(a.ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", "ca");
		k8s_auth_free(&a);
	}
	unsetenv("KUBERNETES_SERVICE_HOST");
}

/* A pool address is served only once it is in the Service's status: every
 * node waits for the one writer, so they all switch together. */
TEST(pool_vip_served_once_in_status)
{
	struct flb_pool_range pool = {};
	struct k8s_store st;
	struct src_instance *in = NULL;
	struct k8s_vip *v = NULL;
	char why[160];
	size_t n = 0, nv;

	addr_parse("10.100.0.5", &pool.first);
	addr_parse("10.100.0.6", &pool.last);
	if (!store(&st, SVC("d", "p", "", LB_SPEC("[{\"name\":\"http\",\"port\":80}]")),
		   SLICE("d", "p-1", "p", "[{\"name\":\"http\",\"port\":8080}]", EP("10.0.0.1", READY))))
		goto out;
	if (!ASSERT_OK(k8s_allocate(st.kind[K8S_SERVICES].byname, "fluxlb.io/l4", &pool, 1, &v, &nv), "allocate"))
		goto out;
	k8s_instances_at(&st, "fluxlb.io/l4", v, nv, "d/p", &in, &n, why, sizeof(why));
	ASSERT_EQ(n, 0, "not served before the status has it");
	ASSERT_STRCONTAINS(why, "has not written the pool address", "why");
	free(in);
	free(v);
	v = NULL;
	k8s_store_event(&st, K8S_SERVICES,
			event("MODIFIED", SVC("d", "p", "", "{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"fluxlb.io/l4\",\"ports\":[{\"name\":\"http\",\"port\":80}]},\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"10.100.0.5\"}]}}")));
	if (!ASSERT_OK(k8s_allocate(st.kind[K8S_SERVICES].byname, "fluxlb.io/l4", &pool, 1, &v, &nv), "again"))
		goto out;
	ASSERT_EQ(v[0].result, K8S_VIP_KEPT, "kept from the status");
	k8s_instances_at(&st, "fluxlb.io/l4", v, nv, "d/p", &in, &n, why, sizeof(why));
	ASSERT_TRUE(n == 1 && !why[0], "served once in the status");
	ASSERT_TRUE(n == 1 && in[0].port == 8080, "the backend port is the slice port of the Service port's name");
	free(in);
out:
	free(v);
	k8s_store_free(&st);
}

/* An endpoint whose nodeName is this node's (k8s_store.node) is local. */
TEST(node_name_marks_local_endpoints)
{
	struct k8s_store st;
	struct src_instance *in = NULL;
	const struct src_instance *a, *b, *c;
	char why[160];
	size_t n;

	if (!store(&st, WEB, SLICE("default", "web-abc", "web", WEB_PORTS,
				   "{\"addresses\":[\"10.10.2.11\"],\"nodeName\":\"node-a\",\"conditions\":" READY "},"
				   "{\"addresses\":[\"10.10.2.12\"],\"nodeName\":\"node-b\",\"conditions\":" READY "},"
				   EP("10.10.2.13", READY))))
		goto out;
	snprintf(st.node, sizeof(st.node), "node-a");
	if (!ASSERT_OK(k8s_instances(&st, "fluxlb.io/l4", "default/web:http", &in, &n, why, sizeof(why)), "map"))
		goto out;
	a = by_addr(in, n, "10.10.2.11");
	b = by_addr(in, n, "10.10.2.12");
	c = by_addr(in, n, "10.10.2.13");
	if (ASSERT_TRUE(a && b && c, "all three")) {
		ASSERT_TRUE(a->local, "nodeName is this node: local");
		ASSERT_FALSE(b->local, "another node's");
		ASSERT_FALSE(c->local, "no nodeName: not local by name");
	}
	free(in);
	in = NULL;
	st.node[0] = 0; /* no name known: nothing is local by name */
	if (ASSERT_OK(k8s_instances(&st, "fluxlb.io/l4", "default/web:http", &in, &n, why, sizeof(why)), "map") &&
	    (a = by_addr(in, n, "10.10.2.11")))
		ASSERT_FALSE(a->local, "unnamed node: not local");
	free(in);
out:
	k8s_store_free(&st);
}
