// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests for announcing (user/fluxlbd/announce.c, config_announce.c,
 * announce_bird.c): the announce section's keys, defaults and refusals;
 * which VIPs a node announces (ready, a usable backend, one route per
 * address); the BIRD configuration rendered from the section; and the
 * cross-node promise behind ECMP: the same backends in any order build the
 * same table and fingerprint even though each order gives other backend
 * ids. Not covered here (tests/e2e/test_bgp.sh is): the netlink writes,
 * BIRD itself, withdraw timing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "announce.h"
#include "config.h"
#include "flb_test.h"
#include "tables.h"

static const char base[] =
	"interfaces: [eth0]\n"
	"services:\n"
	"  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.0.0.1}, {address: 10.0.0.2}]}\n"
	"  - {name: tls, vip: 10.100.0.1, port: 443, backends: [{address: 10.0.0.1}]}\n"
	"  - {name: dns, vip: 10.100.0.2, port: 53, protocol: udp, backends: [{address: 10.0.0.3}]}\n";

static int parse_with(const char *announce, struct flb_config *cfg, char *err, size_t len)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "%s%s", base, announce);
	return config_parse("t.yaml", buf, strlen(buf), cfg, err, len);
}

TEST(announce_section_defaults_and_every_key)
{
	struct flb_config cfg;
	char err[256];

	if (!ASSERT_OK(parse_with("", &cfg, err, sizeof(err)), err))
		return;
	ASSERT_FALSE(cfg.announce.enabled, "off without the section");
	config_free(&cfg);
	if (!ASSERT_OK(parse_with("announce: {}\n", &cfg, err, sizeof(err)), err))
		return;
	ASSERT_TRUE(cfg.announce.enabled, "on with an empty section");
	ASSERT_EQ(cfg.announce.table, 4242, "default table");
	ASSERT_EQ(cfg.announce.grace_ms, 2000, "default grace");
	config_free(&cfg);
	if (!ASSERT_OK(parse_with("announce:\n  table: 100\n  grace: 500ms\n  bgp:\n"
				  "    asn: 4200000001\n    router_id: 10.20.1.2\n"
				  "    communities: [\"65000:100\", \"0:65535\"]\n"
				  "    peers: [{address: 10.20.1.1, asn: 65000}, {address: \"fd00::1\", asn: 65000}]\n",
				  &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.announce.table, 100, "table");
	ASSERT_EQ(cfg.announce.grace_ms, 500, "grace");
	ASSERT_EQ(cfg.announce.asn, 4200000001u, "4-byte asn");
	ASSERT_EQ(cfg.announce.n_communities, 2, "communities");
	ASSERT_EQ(cfg.announce.communities[0], 65000u << 16 | 100, "community 0");
	ASSERT_EQ(cfg.announce.communities[1], 65535, "community 1");
	ASSERT_EQ(cfg.announce.n_peers, 2, "peers");
	ASSERT_EQ(cfg.announce.peers[1].addr.family, AF_INET6, "IPv6 peer");
	config_free(&cfg);
}

TEST(announce_bad_values_are_refused_with_the_key)
{
	static const struct {
		const char *yaml, *msg;
	} cases[] = {
		{ "announce: {table: 254}\n", "announce.table: table 254 is one of the kernel's own" },
		{ "announce: {table: 0}\n", "announce.table" },
		{ "announce: {grace: 10m}\n", "announce.grace" },
		{ "announce: {bgp: {asn: 1, peers: [{address: 10.0.0.1, asn: 2}], communities: [\"65536:1\"]}}\n",
		  "is not a community ASN:VALUE" },
		{ "announce: {bgp: {asn: 1, peers: [{address: 10.0.0.1, asn: 2}], communities: [\"1\"]}}\n",
		  "is not a community ASN:VALUE" },
		{ "announce: {bgp: {asn: 1, peers: [{address: 10.0.0.1, asn: 2}, {address: 10.0.0.1, asn: 3}]}}\n",
		  "duplicate peer (also peers[0])" },
		{ "announce: {bgp: {asn: 1, peers: []}}\n", "announce.bgp.peers" },
		{ "announce: {bgp: {peers: [{address: 10.0.0.1, asn: 2}]}}\n", "asn" },
		{ "announce: {bgp: {asn: 1, router_id: \"fd00::1\", peers: [{address: 10.0.0.1, asn: 2}]}}\n",
		  "is not an IPv4 address" },
		{ "announce: {tabel: 1}\n", "tabel" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct flb_config cfg;
		char err[256] = "";

		if (!ASSERT_NE(parse_with(cases[i].yaml, &cfg, err, sizeof(err)), 0, cases[i].yaml) ||
		    !ASSERT_STRCONTAINS(err, cases[i].msg, cases[i].yaml))
			return;
	}
}

static size_t wanted(const struct flb_config *cfg, bool ready, struct flb_addr *out)
{
	return announce_wanted(cfg, ready, out, 8);
}

TEST(announce_wanted_needs_ready_and_a_usable_backend)
{
	struct flb_addr out[8];
	struct flb_config cfg;
	char err[256], ip[48];

	if (!ASSERT_OK(parse_with("", &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(wanted(&cfg, false, out), 0, "not ready: nothing");
	ASSERT_EQ(wanted(NULL, true, out), 0, "nothing applied: nothing");
	if (!ASSERT_EQ(wanted(&cfg, true, out), 2, "one route per address"))
		goto out;
	addr_format(&out[0], ip, sizeof(ip));
	ASSERT_STREQ(ip, "10.100.0.1", "first");
	/* dns's one backend drained (weight 0): 10.100.0.2 goes. */
	cfg.services[2].backends[0].weight = 0;
	ASSERT_EQ(wanted(&cfg, true, out), 1, "drained backend is not usable");
	cfg.services[2].backends[0].weight = 1;
	cfg.services[2].backends[0].check_down = true;
	ASSERT_EQ(wanted(&cfg, true, out), 1, "our check says down");
	cfg.services[2].backends[0].check_down = false;
	cfg.services[2].backends[0].down = true;
	ASSERT_EQ(wanted(&cfg, true, out), 1, "the registry says down");
	/* 10.100.0.1 stays while one of its services (tls) can serve. */
	cfg.services[0].backends[0].down = true;
	cfg.services[0].backends[1].weight = 0;
	ASSERT_EQ(wanted(&cfg, true, out), 1, "web unusable, tls usable: address kept");
	cfg.services[1].backends[0].down = true;
	ASSERT_EQ(wanted(&cfg, true, out), 0, "no service on any address can serve");
out:
	config_free(&cfg);
}

TEST(bird_config_rendered_from_the_section)
{
	struct flb_config cfg;
	char err[256], *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!ASSERT_OK(parse_with("announce: {table: 77}\n", &cfg, err, sizeof(err)), err))
		return;
	f = open_memstream(&text, &len);
	ASSERT_EQ(announce_render_bird(&cfg, f, err, sizeof(err)), -EINVAL, "no bgp: refused");
	ASSERT_STRCONTAINS(err, "no announce.bgp section", "message");
	fclose(f);
	free(text);
	config_free(&cfg);
	if (!ASSERT_OK(parse_with("announce:\n  table: 77\n  bgp:\n    asn: 65001\n"
				  "    router_id: 10.20.1.2\n    communities: [\"65000:100\"]\n"
				  "    peers: [{address: 10.20.1.1, asn: 65000}, {address: \"fd00::1\", asn: 65002}]\n",
				  &cfg, err, sizeof(err)), err))
		return;
	text = NULL;
	f = open_memstream(&text, &len);
	ASSERT_OK(announce_render_bird(&cfg, f, err, sizeof(err)), "render");
	fclose(f);
	ASSERT_STRCONTAINS(text, "router id 10.20.1.2;", "router id");
	ASSERT_STRCONTAINS(text, "kernel table 77;", "learns our table");
	ASSERT_STRCONTAINS(text, "\tlearn;", "learn");
	ASSERT_STRCONTAINS(text, "bgp_community.add((65000,100));", "community");
	ASSERT_STRCONTAINS(text, "local as 65001;\n\tneighbor 10.20.1.1 as 65000;", "IPv4 peer");
	ASSERT_STRCONTAINS(text, "neighbor fd00::1 as 65002;", "IPv6 peer");
	ASSERT_STRCONTAINS(text, "ipv6 { import none; export filter flb_vips; };", "IPv6 channel");
	free(text);
	config_free(&cfg);
}

/* Builds svc's table with backend ids given in arrival order (1, 2, ...),
 * the way a daemon that learned them in that order numbers them; returns
 * the fingerprint and, per slot, the backend's address byte. */
static bool build(const struct flb_service_cfg *svc, uint32_t size, uint8_t *who, uint64_t *fp)
{
	uint32_t ids[8], w[8], *slots = NULL;

	for (size_t b = 0; b < svc->n_backends; b++) {
		ids[b] = b + 1;
		w[b] = svc->backends[b].weight;
	}
	if (!ASSERT_OK(tables_build(svc, ids, w, size, &slots, fp), "build"))
		return false;
	for (uint32_t i = 0; i < size; i++)
		who[i] = slots[i] ? svc->backends[slots[i] - 1].addr.bytes[3] : 0;
	free(slots);
	return true;
}

TEST(same_backends_in_other_orders_same_fingerprint_and_table)
{
	static const char *orders[] = {
		"[{address: 10.0.0.1}, {address: 10.0.0.2, weight: 3}, {address: 10.0.0.3}, {address: 10.0.0.4}]",
		"[{address: 10.0.0.4}, {address: 10.0.0.3}, {address: 10.0.0.2, weight: 3}, {address: 10.0.0.1}]",
		"[{address: 10.0.0.2, weight: 3}, {address: 10.0.0.4}, {address: 10.0.0.1}, {address: 10.0.0.3}]",
	};
	static uint8_t who0[251], who[251];
	uint64_t fp0 = 0, fp;

	for (size_t o = 0; o < 3; o++) {
		char yaml[512], err[256];
		struct flb_config cfg;

		snprintf(yaml, sizeof(yaml),
			 "interfaces: [eth0]\nservices:\n  - {name: web, vip: 10.100.0.1, port: 80, backends: %s}\n",
			 orders[o]);
		if (!ASSERT_OK(config_parse("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err)), err))
			return;
		if (!build(&cfg.services[0], 251, o ? who : who0, o ? &fp : &fp0)) {
			config_free(&cfg);
			return;
		}
		config_free(&cfg);
		if (o && (!ASSERT_EQ(fp, fp0, "fingerprint") ||
			  !ASSERT_MEMEQ(who, who0, sizeof(who), "slot -> backend address")))
			return;
	}
	ASSERT_NE(fp0, 0, "fingerprint computed");
}
