// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Discovered Services in the desired state (desired_auto.c): with the
 * kubernetes source every Service with a VIP is served from the file's
 * defaults, a file entry naming it overrides the settings, a file vip
 * that is not the Service's is refused and the last good state stays, a
 * Service that leaves the view leaves the state, and an outage (the view
 * kept, up false) changes nothing. Pure: no kernel, no API server.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "desired.h"
#include "flb_test.h"
#include "k8s_alloc.h"
#include "source.h"
#include "source_kubernetes.h"

#define HDR "interfaces: [eth0]\n" \
	    "source: {type: kubernetes, api_server: \"http://127.0.0.1:1\"}\n" \
	    "defaults: {drain_timeout: 5s, health_check: {type: tcp, interval: 1s}}\n"

static struct src_instance inst(const char *id, const char *addr, uint16_t port, uint32_t w,
				enum src_status st)
{
	struct src_instance i = { .port = port, .weight = w, .status = st };

	strcpy(i.id, id);
	addr_parse(addr, &i.addr);
	return i;
}

static struct src_instance web_in[] = {
	{}, {}, {},
};

/* default/web: 10.100.0.1, http 80/TCP with three endpoints, dns 53/UDP
 * with none; other/api: 10.100.0.2 port 8000. */
static struct src_service disc[3];

static void view_init(struct src_view *v)
{
	web_in[0] = inst("s/10.1.0.1", "10.1.0.1", 80, 1, SRC_PASSING);
	web_in[1] = inst("s/10.1.0.2", "10.1.0.2", 80, 0, SRC_PASSING);  /* terminating */
	web_in[2] = inst("s/10.1.0.3", "10.1.0.3", 80, 1, SRC_CRITICAL); /* not serving */
	memset(disc, 0, sizeof(disc));
	strcpy(disc[0].name, "default/web:http");
	addr_parse("10.100.0.1", &disc[0].vip);
	disc[0].port = 80;
	disc[0].proto = IPPROTO_TCP;
	disc[0].inst = web_in;
	disc[0].n = 3;
	strcpy(disc[1].name, "default/web:dns");
	disc[1].vip = disc[0].vip;
	disc[1].port = 53;
	disc[1].proto = IPPROTO_UDP;
	strcpy(disc[2].name, "other/api:8000");
	addr_parse("10.100.0.2", &disc[2].vip);
	disc[2].port = 8000;
	disc[2].proto = IPPROTO_TCP;
	for (int i = 0; i < 3; i++)
		disc[i].discovered = disc[i].known = true;
	*v = (struct src_view){ .svc = disc, .n = 3, .up = true, .discovered_known = true };
}

static bool load(const char *yaml, struct flb_config *cfg)
{
	char err[256];

	return ASSERT_OK(config_parse("t.yaml", yaml, strlen(yaml), cfg, err, sizeof(err)), err);
}

static const struct flb_service_cfg *svc_of(const struct flb_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_services; i++)
		if (!strcmp(c->services[i].name, name))
			return &c->services[i];
	return NULL;
}

static bool vip_is(const struct flb_service_cfg *s, const char *a)
{
	struct flb_addr x;

	addr_parse(a, &x);
	return s && !addr_cmp(&s->vip, &x);
}

TEST(nothing_before_the_first_discovered_set)
{
	struct flb_config cfg, eff;
	struct src_view v;

	if (!load(HDR "services: []\n", &cfg))
		return;
	view_init(&v);
	v.discovered_known = false;
	ASSERT_EQ(desired_build(&cfg, &v, &eff), -EAGAIN, "the pinned state keeps serving until the API answers");
	ASSERT_EQ(desired_build(&cfg, NULL, &eff), -EAGAIN, "no view at all");
	config_free(&cfg);
}

TEST(every_discovered_service_is_served_with_the_defaults)
{
	const struct flb_service_cfg *web, *dns, *api;
	struct flb_config cfg, eff;
	struct src_view v;

	if (!load(HDR "services: []\n", &cfg))
		return;
	view_init(&v);
	if (!ASSERT_OK(desired_build(&cfg, &v, &eff), "build"))
		goto out;
	ASSERT_EQ(eff.n_services, 3, "one service per Service port");
	web = svc_of(&eff, "default/web:http");
	dns = svc_of(&eff, "default/web:dns");
	api = svc_of(&eff, "other/api:8000");
	if (!ASSERT_TRUE(web && dns && api, "named <ns>/<svc>:<port name or number>"))
		goto free;
	ASSERT_TRUE(vip_is(web, "10.100.0.1") && web->port == 80 && web->proto == IPPROTO_TCP, "web VIP:80/tcp");
	ASSERT_TRUE(vip_is(dns, "10.100.0.1") && dns->port == 53 && dns->proto == IPPROTO_UDP, "dns VIP:53/udp");
	ASSERT_EQ(web->n_backends, 3, "three endpoints");
	ASSERT_EQ(web->backends[0].weight, 1, "ready: active");
	ASSERT_EQ(web->backends[1].weight, 0, "serving and terminating: draining");
	ASSERT_TRUE(web->backends[2].down, "not serving: out");
	ASSERT_EQ(web->health.type, FLB_HC_TCP, "health check from defaults");
	ASSERT_EQ(web->health.interval_ms, 1000, "its interval too");
	ASSERT_EQ(dns->n_backends, 0, "no endpoints: served empty");
	ASSERT_EQ(eff.drain_timeout_ms, 5000, "drain timeout from defaults");
free:
	desired_free(&eff);
out:
	config_free(&cfg);
}

TEST(file_entry_overrides_the_settings_of_its_service)
{
	static const char yaml[] = HDR "services:\n"
		"  - {name: web, source_service: \"default/web:80\", table_size: 251,\n"
		"     health_check: {type: none}}\n";
	const struct flb_service_cfg *web;
	struct flb_config cfg, eff;
	struct src_service all[4] = { { .name = "default/web:80", .known = true } };
	struct src_view v;

	if (!load(yaml, &cfg))
		return;
	view_init(&v);
	/* The source publishes the file's names (the old mapping) beside
	 * the discovered set, in the same update. */
	memcpy(all + 1, disc, sizeof(disc));
	v.svc = all;
	v.n = 4;
	if (!ASSERT_OK(desired_build(&cfg, &v, &eff), "build"))
		goto out;
	web = svc_of(&eff, "web");
	ASSERT_EQ(eff.n_services, 3, "the override replaces the default entry, the others stay");
	ASSERT_TRUE(!svc_of(&eff, "default/web:http"), "not served twice");
	if (ASSERT_TRUE(web, "served under the file's name")) {
		ASSERT_TRUE(vip_is(web, "10.100.0.1") && web->port == 80, "VIP and port from the Service");
		ASSERT_EQ(web->table_size, 251, "table_size from the file");
		ASSERT_EQ(web->health.type, FLB_HC_NONE, "health check from the file");
		ASSERT_EQ(web->n_backends, 3, "backends from the EndpointSlices");
	}
	desired_free(&eff);
out:
	config_free(&cfg);
}

TEST(file_vip_must_be_the_services)
{
	static const char good[] = HDR "services:\n"
		"  - {name: web, vip: 10.100.0.1, port: 80, source_service: \"default/web:http\"}\n";
	static const char bad[] = HDR "services:\n"
		"  - {name: web, vip: 10.100.0.9, port: 80, source_service: \"default/web:http\"}\n";
	struct flb_config cg, cb, prev, eff;
	struct desired_report rep = {};
	const struct flb_service_cfg *web;
	struct src_view v;

	if (!load(good, &cg))
		return;
	if (!load(bad, &cb)) {
		config_free(&cg);
		return;
	}
	view_init(&v);
	if (!ASSERT_OK(desired_build_from(&cg, &v, NULL, &prev, &rep), "the matching vip builds"))
		goto out;
	ASSERT_EQ(rep.vip_mismatch, 0, "nothing refused");
	if (ASSERT_OK(desired_build_from(&cb, &v, NULL, &eff, &rep), "a mismatch refuses the entry, not the state")) {
		ASSERT_EQ(rep.vip_mismatch, 1, "counted");
		ASSERT_TRUE(!svc_of(&eff, "web") && !svc_of(&eff, "default/web:http"),
			    "no last good state: not served (never under the wrong VIP)");
		ASSERT_TRUE(svc_of(&eff, "other/api:8000") != NULL, "other Services unaffected");
		desired_free(&eff);
	}
	/* The Service changes endpoints meanwhile: the last good state stays. */
	v.svc[0].n = 1;
	if (ASSERT_OK(desired_build_from(&cb, &v, &prev, &eff, &rep), "build with a last good state")) {
		web = svc_of(&eff, "web");
		ASSERT_EQ(rep.vip_mismatch, 2, "counted again");
		ASSERT_TRUE(vip_is(web, "10.100.0.1"), "last good VIP kept");
		ASSERT_EQ(web ? web->n_backends : 0, 3, "last good backends kept");
		desired_free(&eff);
	}
	desired_free(&prev);
	/* Served with the defaults before the entry was added: kept as it was. */
	v.svc[0].n = 3;
	config_free(&cg);
	if (!load(HDR "services: []\n", &cg) || !ASSERT_OK(desired_build(&cg, &v, &prev), "defaults"))
		goto out;
	if (ASSERT_OK(desired_build_from(&cb, &v, &prev, &eff, &rep), "mismatch after defaults")) {
		web = svc_of(&eff, "default/web:http");
		ASSERT_TRUE(vip_is(web, "10.100.0.1") && !svc_of(&eff, "web"), "the Service keeps its defaults entry");
		desired_free(&eff);
	}
	desired_free(&prev);
out:
	config_free(&cg);
	config_free(&cb);
}

TEST(removed_service_leaves_and_outage_keeps)
{
	struct flb_config cfg, eff;
	struct src_view v;

	if (!load(HDR "services: []\n", &cfg))
		return;
	view_init(&v);
	v.n = 2; /* other/api lost its VIP, class or type: not discovered */
	if (ASSERT_OK(desired_build(&cfg, &v, &eff), "build")) {
		ASSERT_EQ(eff.n_services, 2, "only web's two ports");
		ASSERT_TRUE(!svc_of(&eff, "other/api:8000"), "removed like a deregistered service");
		desired_free(&eff);
	}
	/* The API server is down: the source keeps its last view (source.h)
	 * and says so; the desired state is the same. */
	v.up = false;
	if (ASSERT_OK(desired_build(&cfg, &v, &eff), "build while down")) {
		ASSERT_EQ(eff.n_services, 2, "nothing flushed");
		ASSERT_EQ(svc_of(&eff, "default/web:http") ? svc_of(&eff, "default/web:http")->n_backends : 0, 3,
			  "backends kept");
		desired_free(&eff);
	}
	config_free(&cfg);
}

TEST(vip_may_be_omitted_only_for_kubernetes)
{
	static const char consul[] = "interfaces: [eth0]\nsource: {type: consul}\nservices:\n"
				     "  - {name: web, port: 80, source_service: web}\n";
	struct flb_config cfg;
	char err[256] = "";

	ASSERT_EQ(config_parse("t.yaml", consul, strlen(consul), &cfg, err, sizeof(err)), -EINVAL, "consul needs vip");
	ASSERT_STRCONTAINS(err, "services[0].vip: missing required key", err);
	if (load(HDR "services:\n  - {name: web, source_service: default/web}\n", &cfg))
		config_free(&cfg);
}

/* From the store's JSON: only Services of our class with a served VIP. */
#define SVC(name, md, spec) \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"" name \
	"\",\"namespace\":\"default\",\"resourceVersion\":\"5\"" md "},\"spec\":" spec "}"
#define LB(cls) "{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"" cls "\",\"ports\":" \
	"[{\"name\":\"http\",\"port\":80},{\"port\":53,\"protocol\":\"UDP\"},{\"port\":9,\"protocol\":\"SCTP\"}]}"
#define ANN(ip) ",\"annotations\":{\"fluxlb.io/vip\":\"" ip "\"}"

TEST(discover_takes_our_class_with_a_vip)
{
	static const char svcs[] = "{\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"9\"},\"items\":["
		SVC("web", ANN("10.100.0.1"), LB("fluxlb.io/l4")) ","
		SVC("novip", "", LB("fluxlb.io/l4")) ","
		SVC("other", ANN("10.100.0.3"), LB("example.com/lb")) ","
		SVC("cip", ANN("10.100.0.4"), "{\"type\":\"ClusterIP\",\"ports\":[{\"port\":80}]}") "]}";
	static const char none[] = "{\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"9\"},\"items\":[]}";
	struct k8s_store st = {};
	struct src_service *d = NULL;
	struct k8s_vip *vips = NULL;
	size_t n = 0, nv = 0;

	if (!ASSERT_OK(k8s_store_list(&st, K8S_SERVICES, svcs), "services") ||
	    !ASSERT_OK(k8s_store_list(&st, K8S_SLICES, none), "slices") ||
	    !ASSERT_OK(k8s_allocate(st.kind[K8S_SERVICES].byname, "fluxlb.io/l4", NULL, 0, &vips, &nv), "allocate") ||
	    !ASSERT_OK(k8s_discover(&st, "fluxlb.io/l4", vips, nv, &d, &n), "discover"))
		goto out;
	if (ASSERT_EQ(n, 2, "web's TCP and UDP ports; no SCTP, no VIP-less, other class or ClusterIP")) {
		ASSERT_STREQ(d[0].name, "default/web:http", "named port");
		ASSERT_STREQ(d[1].name, "default/web:53", "unnamed port: its number");
		ASSERT_EQ(d[1].proto, IPPROTO_UDP, "protocol from the port");
		ASSERT_TRUE(d[0].discovered && d[0].known, "marked");
	}
out:
	for (size_t i = 0; i < n; i++)
		free(d[i].inst);
	free(d);
	free(vips);
	k8s_store_free(&st);
}

TEST(entry_without_port_for_a_multi_port_service_is_refused)
{
	static const char yaml[] = HDR "services:\n  - {name: web, source_service: default/web}\n";
	struct src_service all[4] = { { .name = "default/web", .known = true } };
	struct flb_config cfg, eff;
	struct src_view v;

	if (!load(yaml, &cfg))
		return;
	view_init(&v);
	memcpy(all + 1, disc, sizeof(disc));
	v.svc = all;
	v.n = 4;
	if (ASSERT_OK(desired_build(&cfg, &v, &eff), "build")) {
		ASSERT_TRUE(!svc_of(&eff, "web"), "which port is unknown: refused");
		ASSERT_TRUE(svc_of(&eff, "default/web:http") && svc_of(&eff, "default/web:dns"),
			    "both ports served with the defaults");
		desired_free(&eff);
	}
	config_free(&cfg);
}
