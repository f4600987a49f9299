// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * VIP assignment for Services (k8s_alloc.c), a pure function of the
 * Services: requested addresses, the pool in order, keeping what a status
 * holds across restarts and writer changes, conflicts, exhaustion, and
 * the config keys of the pool (config_source.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "flb_test.h"
#include "k8s_alloc.h"

#define CLASS "fluxlb.io/l4"

/* A Service of our class: created (a timestamp), request (annotation or
 * ""), status ip (or ""). */
static void add(cJSON *all, const char *key, const char *created, const char *request, const char *status)
{
	char buf[1024], md[256] = "", st[128] = "";
	cJSON *o;

	if (*request)
		snprintf(md, sizeof(md), ",\"annotations\":{\"fluxlb.io/vip\":\"%s\"}", request);
	if (*status)
		snprintf(st, sizeof(st), ",\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"%s\"}]}}", status);
	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"x\",\"namespace\":\"d\",\"creationTimestamp\":\"%s\"%s},"
		 "\"spec\":{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"" CLASS "\"}%s}",
		 created, md, st);
	o = cJSON_Parse(buf);
	cJSON_AddItemToObject(all, key, o);
}

static struct flb_pool_range range(const char *a, const char *b)
{
	struct flb_pool_range r;

	addr_parse(a, &r.first);
	addr_parse(b, &r.last);
	return r;
}

static const char *addr_of(const struct k8s_vip *v, size_t n, const char *key, enum k8s_vip_result *res)
{
	static char buf[64];
	const struct k8s_vip *x = k8s_vip_find(v, n, key);

	buf[0] = 0;
	*res = x ? x->result : (enum k8s_vip_result)-1;
	if (x && x->result <= K8S_VIP_POOL)
		addr_format(&x->addr, buf, sizeof(buf));
	return buf;
}

TEST(pool_in_order_oldest_first)
{
	cJSON *all = cJSON_CreateObject();
	struct flb_pool_range pool[] = { range("10.0.0.1", "10.0.0.2"), range("10.0.1.5", "10.0.1.5") };
	enum k8s_vip_result r;
	struct k8s_vip *v;
	size_t n;

	add(all, "d/b", "2026-01-02T00:00:00Z", "", "");
	add(all, "d/a", "2026-01-03T00:00:00Z", "", "");
	add(all, "d/c", "2026-01-01T00:00:00Z", "", "");
	add(all, "d/d", "2026-01-04T00:00:00Z", "", "");
	if (!ASSERT_OK(k8s_allocate(all, CLASS, pool, 2, &v, &n), "allocate"))
		goto out;
	ASSERT_EQ(n, 4, "four of ours");
	ASSERT_STREQ(addr_of(v, n, "d/c", &r), "10.0.0.1", "oldest gets the first");
	ASSERT_STREQ(addr_of(v, n, "d/b", &r), "10.0.0.2", "then the next");
	ASSERT_STREQ(addr_of(v, n, "d/a", &r), "10.0.1.5", "then the next range");
	ASSERT_EQ(r, K8S_VIP_POOL, "new from the pool: not served until in status");
	ASSERT_FALSE(k8s_vip_served(k8s_vip_find(v, n, "d/a")), "POOL is not served");
	addr_of(v, n, "d/d", &r);
	ASSERT_EQ(r, K8S_VIP_EXHAUSTED, "the fourth finds the pool exhausted");
	ASSERT_STRCONTAINS(k8s_vip_find(v, n, "d/d")->why, "exhausted", "why");
	free(v);
out:
	cJSON_Delete(all);
}

TEST(status_keeps_its_address_across_restarts)
{
	cJSON *all = cJSON_CreateObject();
	struct flb_pool_range pool[] = { range("10.0.0.1", "10.0.0.3") };
	enum k8s_vip_result r;
	struct k8s_vip *v;
	size_t n;

	/* The younger one holds .1 in its status (an older writer gave it):
	 * it keeps it, the older one without a status gets the next free. */
	add(all, "d/old", "2026-01-01T00:00:00Z", "", "");
	add(all, "d/young", "2026-01-05T00:00:00Z", "", "10.0.0.1");
	add(all, "d/out", "2026-01-06T00:00:00Z", "", "192.0.2.1"); /* outside the pool now */
	if (!ASSERT_OK(k8s_allocate(all, CLASS, pool, 1, &v, &n), "allocate"))
		goto out;
	ASSERT_STREQ(addr_of(v, n, "d/young", &r), "10.0.0.1", "kept");
	ASSERT_EQ(r, K8S_VIP_KEPT, "kept result");
	ASSERT_TRUE(k8s_vip_served(k8s_vip_find(v, n, "d/young")), "KEPT is served");
	ASSERT_STREQ(addr_of(v, n, "d/old", &r), "10.0.0.2", "older one: next free");
	ASSERT_STREQ(addr_of(v, n, "d/out", &r), "10.0.0.3", "a status outside the pool is replaced");
	free(v);
out:
	cJSON_Delete(all);
}

TEST(requests_and_conflicts)
{
	cJSON *all = cJSON_CreateObject();
	struct flb_pool_range pool[] = { range("10.0.0.1", "10.0.0.2") };
	enum k8s_vip_result r;
	struct k8s_vip *v;
	size_t n;

	add(all, "d/kept", "2026-01-03T00:00:00Z", "", "10.0.0.1");
	add(all, "d/clash", "2026-01-01T00:00:00Z", "10.0.0.1", ""); /* older, but .1 is in kept's status */
	add(all, "d/req", "2026-01-02T00:00:00Z", "10.0.0.2", "");   /* a request inside the pool */
	add(all, "d/req2", "2026-01-04T00:00:00Z", "10.0.0.2", "");  /* the same, younger */
	add(all, "d/out", "2026-01-05T00:00:00Z", "192.0.2.7", "");  /* requests need not be in the pool */
	add(all, "d/bad", "2026-01-06T00:00:00Z", "not-an-ip", "");
	add(all, "d/pool", "2026-01-07T00:00:00Z", "", "");
	if (!ASSERT_OK(k8s_allocate(all, CLASS, pool, 1, &v, &n), "allocate"))
		goto out;
	addr_of(v, n, "d/clash", &r);
	ASSERT_EQ(r, K8S_VIP_CONFLICT, "a request for a held address conflicts");
	ASSERT_STRCONTAINS(k8s_vip_find(v, n, "d/clash")->why, "held by Service d/kept", "why names the holder");
	ASSERT_STREQ(addr_of(v, n, "d/req", &r), "10.0.0.2", "request granted");
	ASSERT_EQ(r, K8S_VIP_REQUESTED, "requested");
	addr_of(v, n, "d/req2", &r);
	ASSERT_EQ(r, K8S_VIP_CONFLICT, "the younger of two requests conflicts");
	ASSERT_STREQ(addr_of(v, n, "d/out", &r), "192.0.2.7", "outside the pool");
	addr_of(v, n, "d/bad", &r);
	ASSERT_EQ(r, K8S_VIP_BAD, "not an address");
	addr_of(v, n, "d/pool", &r);
	ASSERT_EQ(r, K8S_VIP_EXHAUSTED, "requests took the pool's addresses");
	free(v);
out:
	cJSON_Delete(all);
}

TEST(no_pool_no_request_and_other_classes)
{
	cJSON *all = cJSON_CreateObject();
	enum k8s_vip_result r;
	struct k8s_vip *v;
	size_t n;

	add(all, "d/a", "2026-01-01T00:00:00Z", "", "");
	cJSON_AddItemToObject(all, "d/other", cJSON_Parse("{\"metadata\":{\"name\":\"other\"},\"spec\":{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"x.io/lb\"}}"));
	cJSON_AddItemToObject(all, "d/cip", cJSON_Parse("{\"metadata\":{\"name\":\"cip\"},\"spec\":{\"type\":\"ClusterIP\"}}"));
	if (!ASSERT_OK(k8s_allocate(all, CLASS, NULL, 0, &v, &n), "allocate"))
		goto out;
	ASSERT_EQ(n, 1, "only Services of our class");
	addr_of(v, n, "d/a", &r);
	ASSERT_EQ(r, K8S_VIP_NONE, "no VIP");
	ASSERT_STRCONTAINS(v[0].why, "no address_pool", "why");
	free(v);
out:
	cJSON_Delete(all);
}

TEST(the_same_answer_whatever_the_store_order)
{
	cJSON *x = cJSON_CreateObject(), *y = cJSON_CreateObject();
	struct flb_pool_range pool[] = { range("fd00::1", "fd00::3") };
	struct k8s_vip *a, *b;
	size_t na, nb;

	/* Same creationTimestamp: namespace/name decides. IPv6 pool. */
	add(x, "d/p", "2026-01-01T00:00:00Z", "", "");
	add(x, "d/q", "2026-01-01T00:00:00Z", "", "");
	add(y, "d/q", "2026-01-01T00:00:00Z", "", "");
	add(y, "d/p", "2026-01-01T00:00:00Z", "", "");
	if (ASSERT_OK(k8s_allocate(x, CLASS, pool, 1, &a, &na), "x") &&
	    ASSERT_OK(k8s_allocate(y, CLASS, pool, 1, &b, &nb), "y")) {
		enum k8s_vip_result r;
		char p1[64], p2[64];

		snprintf(p1, sizeof(p1), "%s", addr_of(a, na, "d/p", &r));
		snprintf(p2, sizeof(p2), "%s", addr_of(b, nb, "d/p", &r));
		ASSERT_STREQ(p1, "fd00::1", "d/p first by name");
		ASSERT_STREQ(p2, p1, "every node arrives at the same VIP");
		ASSERT_STREQ(addr_of(b, nb, "d/q", &r), "fd00::2", "d/q next");
		free(a);
		free(b);
	}
	cJSON_Delete(x);
	cJSON_Delete(y);
}

TEST(status_comparison)
{
	cJSON *s = cJSON_Parse("{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"10.0.0.1\",\"ipMode\":\"VIP\"}]}}}");
	cJSON *e = cJSON_Parse("{\"status\":{\"loadBalancer\":{}}}");
	struct flb_addr a, b;

	addr_parse("10.0.0.1", &a);
	addr_parse("10.0.0.2", &b);
	ASSERT_TRUE(k8s_status_is(s, &a), "same ip");
	ASSERT_FALSE(k8s_status_is(s, &b), "other ip");
	ASSERT_FALSE(k8s_status_is(s, NULL), "not empty");
	ASSERT_TRUE(k8s_status_is(e, NULL), "empty");
	ASSERT_FALSE(k8s_status_is(e, &a), "empty is not an ip");
	cJSON_Delete(s);
	cJSON_Delete(e);
}

static int parse(const char *yaml, struct flb_config *cfg, char *err, size_t len)
{
	return config_parse("t.yaml", yaml, strlen(yaml), cfg, err, len);
}

TEST(pool_and_lease_keys)
{
	struct flb_config cfg;
	char err[512], a[64], b[64];
	const char *y = "interfaces: [eth0]\n"
			"source:\n  type: kubernetes\n  api_server: https://127.0.0.1:6443\n"
			"  address_pool: [10.100.0.0/30, 10.100.1.10-10.100.1.20, 10.100.2.7, \"fd00:100::/126\"]\n"
			"  node_name: node-a\n  lease_name: lb-writer\n  lease_namespace: fluxlb\n"
			"  lease_duration: 6s\n  write_status: false\n"
			"services: []\n";

	if (!ASSERT_OK(parse(y, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.source.n_pool, 4, "four ranges");
	addr_format(&cfg.source.pool[0].first, a, sizeof(a));
	addr_format(&cfg.source.pool[0].last, b, sizeof(b));
	ASSERT_STREQ(a, "10.100.0.1", "a /30 leaves out its network address");
	ASSERT_STREQ(b, "10.100.0.2", "and its broadcast address");
	addr_format(&cfg.source.pool[1].last, b, sizeof(b));
	ASSERT_STREQ(b, "10.100.1.20", "range end");
	addr_format(&cfg.source.pool[2].first, a, sizeof(a));
	addr_format(&cfg.source.pool[2].last, b, sizeof(b));
	ASSERT_TRUE(!strcmp(a, "10.100.2.7") && !strcmp(b, a), "one address");
	addr_format(&cfg.source.pool[3].last, b, sizeof(b));
	ASSERT_STREQ(b, "fd00:100::3", "IPv6 prefix: all its addresses");
	ASSERT_STREQ(cfg.source.node_name, "node-a", "node_name");
	ASSERT_STREQ(cfg.source.lease_name, "lb-writer", "lease_name");
	ASSERT_STREQ(cfg.source.lease_namespace, "fluxlb", "lease_namespace");
	ASSERT_EQ(cfg.source.lease_duration_ms, 6000, "lease_duration");
	ASSERT_TRUE(cfg.source.no_write_status, "write_status: false");
	config_free(&cfg);
}

TEST(pool_refusals)
{
	static const char *const bad[] = {
		"address_pool: [10.100.0.1/24]",           /* host bits */
		"address_pool: [10.100.0.0/8]",            /* too big */
		"address_pool: [10.100.0.9-10.100.0.1]",   /* backwards */
		"address_pool: [10.100.0.1-fd00::1]",      /* two families */
		"address_pool: [10.100.0.1-10.101.0.1]",   /* wider than a /16 */
		"address_pool: [nonsense]",
		"lease_duration: 1s",
		"node_name: Node_A",
		"write_status: maybe",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct flb_config cfg;
		char y[512], err[512];

		snprintf(y, sizeof(y), "interfaces: [eth0]\nsource:\n  type: kubernetes\n  %s\nservices: []\n", bad[i]);
		if (!ASSERT_FALSE(parse(y, &cfg, err, sizeof(err)) == 0, bad[i]))
			config_free(&cfg);
	}
}
