// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The node role's plan (user/fluxlbd/node_plan.c), without the kernel: which
 * flb_node_nat entries a node needs from the desired state (only backends in
 * its pod CIDRs, only VIPs with a port, the target port or else the service
 * port, keys in network order), and the writes from a table to that.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "flb_test.h"
#include "node_plan.h"

static const char yaml[] =
	"interfaces: []\n"
	"node:\n"
	"  pods: {interface: eth1, cidrs: [10.20.0.0/24, \"fd00:20::/64\"]}\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 10.100.0.1\n"
	"    port: 80\n"
	"    backends: [{address: 10.20.0.11, port: 8080}, {address: 10.20.0.12},\n"
	"               {address: 10.20.9.13, port: 8080}]\n"
	"  - {name: dns, vip: 10.100.0.2, port: 53, protocol: udp, backends: [{address: 10.20.0.11, port: 5353}]}\n"
	"  - {name: all, vip: 10.100.0.3, backends: [{address: 10.20.0.11}]}\n"
	"  - {name: web6, vip: \"fd00:100::1\", port: 80, backends: [{address: \"fd00:20::11\", port: 8080}]}\n";

static bool load(struct flb_config *cfg)
{
	char err[256];

	return ASSERT_OK(config_parse("t.yaml", yaml, sizeof(yaml) - 1, cfg, err, sizeof(err)), err);
}

static const struct node_nat *find(const struct node_nat *w, size_t n, const char *vip,
				   uint16_t vport, const char *pod)
{
	int family = strchr(vip, ':') ? AF_INET6 : AF_INET;
	__be32 v[4] = {}, p[4] = {};

	inet_pton(family, vip, v);
	inet_pton(family, pod, p);
	for (size_t i = 0; i < n; i++)
		if (!memcmp(w[i].key.vip, v, 16) && !memcmp(w[i].key.pod, p, 16) &&
		    w[i].key.vport == htons(vport))
			return &w[i];
	return NULL;
}

TEST(local_backends_of_vips_with_a_port_with_their_port)
{
	struct flb_config cfg;
	struct node_nat *w = NULL;
	const struct node_nat *e;
	size_t n = 0;

	if (!load(&cfg))
		return;
	if (!ASSERT_OK(node_want(&cfg, &w, &n), "want"))
		goto out;
	ASSERT_EQ(n, 4, "web x2, dns, web6: not the remote pod, not the port-less VIP");
	e = find(w, n, "10.100.0.1", 80, "10.20.0.11");
	ASSERT_TRUE(e && ntohs(e->val.tport) == 8080 && e->key.proto == IPPROTO_TCP &&
			    e->key.family == FLB_AF_INET, "web -> 10.20.0.11:8080");
	e = find(w, n, "10.100.0.1", 80, "10.20.0.12");
	ASSERT_TRUE(e && ntohs(e->val.tport) == 80, "no port of its own: the service port");
	e = find(w, n, "10.100.0.2", 53, "10.20.0.11");
	ASSERT_TRUE(e && ntohs(e->val.tport) == 5353 && e->key.proto == IPPROTO_UDP, "dns over udp");
	ASSERT_TRUE(find(w, n, "10.100.0.1", 80, "10.20.9.13") == NULL, "not this node's pod");
	e = find(w, n, "fd00:100::1", 80, "fd00:20::11");
	ASSERT_TRUE(e && e->key.family == FLB_AF_INET6 && ntohs(e->val.tport) == 8080, "IPv6");
	for (size_t i = 1; i < n; i++)
		ASSERT_TRUE(memcmp(&w[i - 1].key, &w[i].key, sizeof(w[i].key)) < 0, "sorted, unique");
out:
	free(w);
	config_free(&cfg);
}

TEST(plan_puts_what_is_missing_or_changed_and_removes_the_rest)
{
	struct flb_config cfg;
	struct node_nat *w = NULL, have[3];
	struct node_plan p;
	size_t n = 0;

	if (!load(&cfg))
		return;
	if (!ASSERT_OK(node_want(&cfg, &w, &n), "want"))
		goto out;
	have[0] = w[0];                 /* the same: nothing to do */
	have[1] = w[1];
	have[1].val.tport = htons(9);   /* another port: put again */
	have[2] = w[0];
	have[2].key.vport = htons(81);  /* not wanted any more: removed */
	if (!ASSERT_OK(node_plan(w, n, have, 3, &p), "plan"))
		goto out;
	ASSERT_EQ(p.n_put, n - 1, "all but the unchanged one");
	ASSERT_EQ(p.n_del, 1, "one removal");
	ASSERT_EQ(ntohs(p.del[0].vport), 81, "the unwanted key");
	ASSERT_EQ(p.n_want, n, "size afterwards");
	node_plan_free(&p);
	ASSERT_OK(node_plan(w, n, w, n, &p), "plan against itself");
	ASSERT_EQ(p.n_put + p.n_del, 0, "a table that is right needs no write");
	node_plan_free(&p);
out:
	free(w);
	config_free(&cfg);
}

/* A backend a registry places on this node (kubernetes: the endpoint's
 * nodeName, desired.c's on_node) is local whatever its address; one in the
 * cidrs is local whatever it says. */
TEST(backends_on_this_node_by_name_are_local_too)
{
	struct flb_config cfg;
	struct node_nat *w = NULL;
	size_t n = 0;

	if (!load(&cfg))
		return;
	cfg.services[0].backends[2].on_node = true; /* 10.20.9.13: outside the cidrs */
	if (!ASSERT_OK(node_want(&cfg, &w, &n), "want"))
		goto out;
	ASSERT_EQ(n, 5, "the four in the cidrs and the one on this node by name");
	ASSERT_TRUE(find(w, n, "10.100.0.1", 80, "10.20.9.13") != NULL, "on this node by name");
	free(w);
	w = NULL;
	cfg.pods.n_cidrs = 0; /* only names decide */
	if (!ASSERT_OK(node_want(&cfg, &w, &n), "want without cidrs"))
		goto out;
	ASSERT_EQ(n, 1, "only the one on this node by name");
out:
	free(w);
	config_free(&cfg);
}
