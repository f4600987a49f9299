// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests for the configuration file (user/fluxlbd/config.c, config_service.c,
 * yaml_walk.c) and the address helpers (user/lib/addr.c): every field of the
 * documented example, defaults, the walking-skeleton form, IPv6, aliases,
 * the size limits, and a table of malformed files with the exact message
 * each must produce, line included. After every failed parse the output
 * struct must be all zeroes. Not covered: out-of-memory paths and I/O errors
 * other than a missing file or a folder.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "flb_test.h"
#include "plan.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int parse(const char *yaml, struct flb_config *cfg, char *err,
		 size_t errlen)
{
	return config_parse("t.yaml", yaml, strlen(yaml), cfg, err, errlen);
}

static bool addr_is(const struct flb_addr *a, int family, const char *text,
		    const char *what)
{
	char buf[INET6_ADDRSTRLEN];

	if (!ASSERT_EQ(a->family, family, what))
		return false;
	if (!ASSERT_OK(addr_format(a, buf, sizeof(buf)), what))
		return false;
	return ASSERT_STREQ(buf, text, what);
}

static bool is_zeroed(const struct flb_config *cfg)
{
	static const struct flb_config zero;

	return memcmp(cfg, &zero, sizeof(zero)) == 0;
}

/* The example from the issue, comments shortened. */
static const char example[] =
	"interfaces: [eth0]            # required\n"
	"node:                         # optional section\n"
	"  bpffs: /sys/fs/bpf/fluxlb\n"
	"  xdp_mode: native\n"
	"  encap_source: 172.16.0.0\n"
	"  encap_source6: \"fd00:f1b::\"\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 10.100.0.1\n"
	"    port: 80\n"
	"    protocol: tcp\n"
	"    table_size: auto\n"
	"    backends:\n"
	"      - address: 10.10.2.11\n"
	"        weight: 1\n"
	"        port: 80\n";

TEST(example)
{
	struct flb_config cfg;
	char err[256];
	const struct flb_service_cfg *s;
	const struct flb_backend_cfg *b;

	if (!ASSERT_OK(parse(example, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.n_ifaces, 1, "n_ifaces");
	ASSERT_STREQ(cfg.ifaces[0], "eth0", "ifaces[0]");
	ASSERT_STREQ(cfg.bpffs, "/sys/fs/bpf/fluxlb", "bpffs");
	ASSERT_EQ(cfg.xdp_mode, FLB_XDP_NATIVE, "xdp_mode");
	addr_is(&cfg.encap_src4, AF_INET, "172.16.0.0", "encap_src4");
	addr_is(&cfg.encap_src6, AF_INET6, "fd00:f1b::", "encap_src6");
	if (!ASSERT_EQ(cfg.n_services, 1, "n_services"))
		goto out;
	s = &cfg.services[0];
	ASSERT_STREQ(s->name, "web", "name");
	addr_is(&s->vip, AF_INET, "10.100.0.1", "vip");
	ASSERT_EQ(s->port, 80, "port");
	ASSERT_EQ(s->proto, IPPROTO_TCP, "proto");
	ASSERT_EQ(s->table_size, 0, "table_size");
	ASSERT_EQ(s->line, 8, "service line");
	if (!ASSERT_EQ(s->n_backends, 1, "n_backends"))
		goto out;
	b = &s->backends[0];
	addr_is(&b->addr, AF_INET, "10.10.2.11", "backend addr");
	ASSERT_EQ(b->weight, 1, "weight");
	ASSERT_STREQ(b->id, "10.10.2.11:80", "id");
	ASSERT_EQ(b->line, 14, "backend line");
out:
	config_free(&cfg);
}

TEST(every_field_non_default)
{
	static const char yaml[] =
		"interfaces: [eth0, ens5f1np1]\n"
		"node: {bpffs: /run/fluxlb/bpf, xdp_mode: skb,\n"
		"       encap_source: 10.20.0.0, encap_source6: \"fd00:1:2:3:4:5::\"}\n"
		"services:\n"
		"  - name: dns.internal_1-a\n"
		"    vip: 10.100.0.53\n"
		"    port: 53\n"
		"    protocol: udp\n"
		"    table_size: 65537\n"
		"    backends:\n"
		"      - {address: 10.10.3.1, weight: 0}\n"
		"      - {address: 10.10.3.2, weight: 10000, port: 53}\n"
		"  - name: all\n"
		"    vip: 10.100.0.53\n"
		"    port: 0\n"
		"    protocol: udp\n"
		"    table_size: 1048573\n"
		"    backends: []\n";
	struct flb_config cfg;
	char err[256];
	const struct flb_service_cfg *s;

	if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.n_ifaces, 2, "n_ifaces");
	ASSERT_STREQ(cfg.ifaces[1], "ens5f1np1", "ifaces[1]");
	ASSERT_STREQ(cfg.bpffs, "/run/fluxlb/bpf", "bpffs");
	ASSERT_EQ(cfg.xdp_mode, FLB_XDP_SKB, "xdp_mode");
	addr_is(&cfg.encap_src4, AF_INET, "10.20.0.0", "encap_src4");
	addr_is(&cfg.encap_src6, AF_INET6, "fd00:1:2:3:4:5::", "encap_src6");
	if (!ASSERT_EQ(cfg.n_services, 2, "n_services"))
		goto out;
	s = &cfg.services[0];
	ASSERT_STREQ(s->name, "dns.internal_1-a", "name");
	ASSERT_EQ(s->port, 53, "port");
	ASSERT_EQ(s->proto, IPPROTO_UDP, "proto");
	ASSERT_EQ(s->table_size, 65537, "table_size");
	if (ASSERT_EQ(s->n_backends, 2, "n_backends")) {
		ASSERT_EQ(s->backends[0].weight, 0, "weight 0 (drain)");
		ASSERT_EQ(s->backends[1].weight, 10000, "weight max");
		ASSERT_STREQ(s->backends[1].id, "10.10.3.2:53", "id");
		ASSERT_EQ(s->backends[1].line, 12, "backend line");
	}
	s = &cfg.services[1];
	ASSERT_EQ(s->port, 0, "explicit port 0 is port-less");
	ASSERT_EQ(s->table_size, 1048573, "largest table_size");
	ASSERT_EQ(s->n_backends, 0, "empty backends");
	ASSERT_TRUE(s->backends == NULL, "no backend array");
out:
	config_free(&cfg);
}

TEST(defaults)
{
	static const char yaml[] =
		"interfaces: [eth0]\n"
		"services:\n"
		"  - name: any\n"
		"    vip: 10.100.0.9\n"
		"    backends:\n"
		"      - address: 10.10.2.11\n";
	struct flb_config cfg;
	char err[256];
	const struct flb_service_cfg *s;

	if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_STREQ(cfg.bpffs, "/sys/fs/bpf/fluxlb", "bpffs");
	ASSERT_EQ(cfg.xdp_mode, FLB_XDP_NATIVE, "xdp_mode");
	addr_is(&cfg.encap_src4, AF_INET, "172.16.0.0", "encap_src4");
	addr_is(&cfg.encap_src6, AF_INET6, "fd00:f1b::", "encap_src6");
	s = &cfg.services[0];
	ASSERT_EQ(s->port, 0, "port-less");
	ASSERT_EQ(s->proto, IPPROTO_TCP, "proto");
	ASSERT_EQ(s->table_size, 0, "table_size auto");
	ASSERT_EQ(s->backends[0].weight, 1, "weight");
	ASSERT_STREQ(s->backends[0].id, "10.10.2.11:0", "id of a port-less VIP");
	ASSERT_EQ(cfg.ct_tcp_timeout_s, 3600, "tcp timeout 1h");
	ASSERT_EQ(cfg.ct_udp_timeout_s, 30, "udp timeout 30s");
	config_free(&cfg);
}

TEST(registry_source)
{
	static const char yaml[] =
		"interfaces: [eth0]\n"
		"source: {type: etcd, endpoints: [http://127.0.0.1:2379, http://127.0.0.1:22379], prefix: /reg/}\n"
		"services:\n"
		"  - {name: web, vip: 10.100.0.1, port: 8000, source_service: web}\n";
	struct flb_config cfg;
	char err[256];

	if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.source.type, FLB_SRC_ETCD, "type");
	ASSERT_STREQ(cfg.source.endpoints, "http://127.0.0.1:2379,http://127.0.0.1:22379", "endpoints");
	ASSERT_STREQ(cfg.source.prefix, "/reg/", "prefix");
	ASSERT_STREQ(cfg.services[0].source_service, "web", "source_service");
	ASSERT_EQ(cfg.services[0].n_backends, 0, "no listed backends");
	config_free(&cfg);
}

TEST(etcd_tls_and_auth_keys)
{
	static const char yaml[] =
		"interfaces: [eth0]\n"
		"source:\n  type: etcd\n  endpoints: [https://127.0.0.1:2379]\n"
		"  ca_file: /s/ca.crt\n  cert_file: /s/tls.crt\n  key_file: /s/tls.key\n"
		"  username: fluxlbd\n  password_file: /s/password\n"
		"services: []\n";
	struct flb_config cfg;
	char err[256];

	if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_STREQ(cfg.source.endpoints, "https://127.0.0.1:2379", "https endpoint");
	ASSERT_STREQ(cfg.source.ca_file, "/s/ca.crt", "ca_file");
	ASSERT_STREQ(cfg.source.cert_file, "/s/tls.crt", "cert_file");
	ASSERT_STREQ(cfg.source.key_file, "/s/tls.key", "key_file");
	ASSERT_STREQ(cfg.source.username, "fluxlbd", "username");
	ASSERT_STREQ(cfg.source.password_file, "/s/password", "password_file");
	config_free(&cfg);
}

TEST(metrics_listen_forms)
{
	static const char *const ok[] = { "127.0.0.1:9100", "[::1]:9100", ":9742" };

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct flb_config cfg;
		char yaml[128], err[256];

		snprintf(yaml, sizeof(yaml), "interfaces: [eth0]\nmetrics: {listen: \"%s\"}\nservices: []\n",
			 ok[i]);
		if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
			continue;
		ASSERT_STREQ(cfg.metrics_listen, ok[i], ok[i]);
		config_free(&cfg);
	}
}

TEST(conntrack_timeouts)
{
	static const char yaml[] =
		"interfaces: [eth0]\n"
		"node:\n"
		"  conntrack: {tcp_timeout: 2h30m, udp_timeout: 45s}\n"
		"services: []\n";
	struct flb_config cfg;
	char err[256];

	if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.ct_tcp_timeout_s, 9000, "tcp");
	ASSERT_EQ(cfg.ct_udp_timeout_s, 45, "udp");
	config_free(&cfg);
}

TEST(flood_threshold_count_auto_and_off)
{
	static const char *const yaml[] = {
		"interfaces: [eth0]\nnode:\n  flood: {new_flows_per_second: 50000}\nservices: []\n",
		"interfaces: [eth0]\nnode:\n  flood: {new_flows_per_second: auto}\nservices: []\n",
		"interfaces: [eth0]\nnode:\n  flood: {new_flows_per_second: 0}\nservices: []\n",
		"interfaces: [eth0]\nservices: []\n",
	};
	static const uint32_t want[] = { 50000, FLB_CT_SIZE / 60, 0, 0 };
	struct flb_config cfg;
	char err[256];

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!ASSERT_OK(parse(yaml[i], &cfg, err, sizeof(err)), err))
			return;
		ASSERT_EQ(cfg.flood_nfps, want[i], "node.flood.new_flows_per_second");
		config_free(&cfg);
	}
	/* The dataplane's per-CPU share: rounded up, off stays off. */
	ASSERT_EQ(plan_flood_per_cpu(50000, 2), 25000, "even split");
	ASSERT_EQ(plan_flood_per_cpu(5, 2), 3, "rounded up");
	ASSERT_EQ(plan_flood_per_cpu(1, 64), 1, "never 0 when on");
	ASSERT_EQ(plan_flood_per_cpu(0, 2), 0, "off");
	ASSERT_EQ(plan_flood_per_cpu(7, 0), 7, "0 CPUs taken as 1");
}

TEST(empty_services_and_empty_node)
{
	struct flb_config cfg;
	char err[256];

	if (!ASSERT_OK(parse("interfaces: [lo]\nnode: {}\nservices: []\n",
			     &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.n_services, 0, "n_services");
	ASSERT_TRUE(cfg.services == NULL, "no service array");
	ASSERT_STREQ(cfg.bpffs, "/sys/fs/bpf/fluxlb", "bpffs");
	config_free(&cfg);
}

TEST(walking_skeleton)
{
	static const char yaml[] =
		"interfaces: [eth0]\n"
		"services:\n"
		"  - name: web\n"
		"    vip: 10.100.0.1\n"
		"    port: 80\n"
		"    protocol: tcp\n"
		"    backends:\n"
		"      - address: 10.10.2.11\n"
		"      - address: 10.10.2.12\n"
		"        weight: 2\n"
		"      - address: 10.10.2.13\n";
	struct flb_config cfg;
	char err[256];
	const struct flb_service_cfg *s;

	if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
		return;
	s = &cfg.services[0];
	if (!ASSERT_EQ(s->n_backends, 3, "n_backends"))
		goto out;
	ASSERT_EQ(s->backends[0].weight, 1, "default weight");
	ASSERT_EQ(s->backends[1].weight, 2, "weight");
	ASSERT_EQ(s->backends[2].weight, 1, "default weight");
	ASSERT_STREQ(s->backends[2].id, "10.10.2.13:80", "id");
	ASSERT_EQ(s->backends[2].line, 11, "line");
out:
	config_free(&cfg);
}

TEST(ipv6)
{
	static const char yaml[] =
		"interfaces: [eth0]\n"
		"services:\n"
		"  - name: web6\n"
		"    vip: \"FD00:0:0:0::100\"\n"
		"    port: 443\n"
		"    backends:\n"
		"      - address: fd00:0:0:0:0:0:0:1\n"
		"      - address: 2001:db8::a:0:0:1\n"
		"      - address: fd00::a\n"
		"  - name: web6-any\n"
		"    vip: fd00::100\n"
		"    backends: []\n";
	struct flb_config cfg;
	char err[256];
	const struct flb_service_cfg *s;

	if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
		return;
	s = &cfg.services[0];
	addr_is(&s->vip, AF_INET6, "fd00::100", "vip");
	if (ASSERT_EQ(s->n_backends, 3, "n_backends")) {
		ASSERT_STREQ(s->backends[0].id, "[fd00::1]:443", "canonical id");
		ASSERT_STREQ(s->backends[1].id, "[2001:db8::a:0:0:1]:443", "id");
		ASSERT_STREQ(s->backends[2].id, "[fd00::a]:443", "short id");
	}
	ASSERT_EQ(cfg.services[1].port, 0, "port-less IPv6 VIP");
	config_free(&cfg);
}

/* Anchors and aliases let services share one backend list. */
TEST(aliases)
{
	static const char yaml[] =
		"interfaces: [eth0]\n"
		"services:\n"
		"  - name: web\n"
		"    vip: 10.100.0.1\n"
		"    port: 80\n"
		"    backends: &web\n"
		"      - address: 10.10.2.11\n"
		"      - address: 10.10.2.12\n"
		"        weight: 3\n"
		"  - name: web-udp\n"
		"    vip: 10.100.0.1\n"
		"    port: 80\n"
		"    protocol: udp\n"
		"    backends: *web\n";
	struct flb_config cfg;
	char err[256];
	const struct flb_service_cfg *s;

	if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
		return;
	s = &cfg.services[1];
	if (ASSERT_EQ(s->n_backends, 2, "shared list")) {
		ASSERT_EQ(s->backends[1].weight, 3, "weight");
		ASSERT_STREQ(s->backends[1].id, "10.10.2.12:80", "id");
		ASSERT_TRUE(s->backends != cfg.services[0].backends, "own copy");
	}
	config_free(&cfg);
}

/* Same address, different port or protocol: distinct VIPs, not duplicates. */
TEST(vips_sharing_an_address)
{
	static const char yaml[] =
		"interfaces: [eth0]\n"
		"services:\n"
		"  - {name: a, vip: 10.100.0.1, port: 80, backends: []}\n"
		"  - {name: b, vip: 10.100.0.1, backends: []}\n"
		"  - {name: c, vip: 10.100.0.1, port: 80, protocol: udp, backends: []}\n"
		"  - {name: d, vip: 10.100.0.1, port: 443, backends: [{address: 10.0.0.1}]}\n"
		"  - {name: e, vip: 10.100.0.2, port: 443, backends: [{address: 10.0.0.1}]}\n";
	struct flb_config cfg;
	char err[256];

	if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.n_services, 5, "n_services");
	config_free(&cfg);
}

struct bad_case {
	const char *yaml;
	const char *msg;	/* the whole message, or a prefix if prefix */
	bool prefix;
};

#define HDR "interfaces: [eth0]\nservices:\n"
#define SVC HDR "  - name: web\n    vip: 10.100.0.1\n    port: 80\n"
/* Lines: 1 interfaces, 2 services, 3 name, 4 vip, 5 port, then yours. */
#define T "t.yaml:"
#define EXACT(yaml, msg) { (yaml), (msg), false }
#define PREFIX(yaml, msg) { (yaml), (msg), true }

static const struct bad_case bad_cases[] = {
	/* YAML syntax */
	EXACT("interfaces: [eth0\nservices: []\n",
	  T "2: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence on line 1)"),
	EXACT(HDR "\t- name: web\n",
	  T "3: YAML syntax error: found character that cannot start any token (while scanning for the next token on line 3)"),
	EXACT("interfaces: [eth0]\nservices: a: b\n",
	  T "2: YAML syntax error: mapping values are not allowed in this context"),
	EXACT("interfaces: [eth0]\nservices: [\xff]\n",
	  T "2: YAML error: invalid leading UTF-8 octet (byte 0xff)"),
	/* libyaml resolves this alias to a cycle; no key table nests itself. */
	EXACT("services: &a [*a]\ninterfaces: [eth0]\n",
	  T "1: services[0]: expected a mapping, got a list"),
	EXACT("interfaces: [eth0]\nservices: []\n---\ninterfaces: [eth1]\n",
	  T "3: more than one YAML document (only one is read)"),
	/* empty file */
	EXACT("", T "1: empty file"),
	EXACT("# all commented out\n\n", T "1: empty file"),
	/* node kinds */
	EXACT("- interfaces\n", T "1: expected a mapping, got a list"),
	EXACT("~\n", T "1: expected a mapping, got an empty value"),
	EXACT("interfaces: eth0\nservices: []\n",
	  T "1: interfaces: expected a list, got \"eth0\""),
	EXACT("interfaces: [eth0]\nservices: {}\n",
	  T "2: services: expected a list, got a mapping"),
	EXACT("interfaces: [eth0]\nservices:\n",
	  T "2: services: expected a list, got an empty value"),
	EXACT(HDR "  - web\n", T "3: services[0]: expected a mapping, got \"web\""),
	EXACT(SVC "    backends: [10.10.2.11]\n",
	  T "6: services[0].backends[0]: expected a mapping, got \"10.10.2.11\""),
	EXACT(HDR "  - name: web\n    vip: [10.100.0.1]\n    backends: []\n",
	  T "4: services[0].vip: expected a single value, got a list"),
	EXACT(HDR "  - name: {first: web}\n    vip: 10.100.0.1\n    backends: []\n",
	  T "3: services[0].name: expected a single value, got a mapping"),
	EXACT("interfaces: [eth0]\nnode: fast\nservices: []\n",
	  T "2: node: expected a mapping, got \"fast\""),
	EXACT("interfaces: [[eth0]]\nservices: []\n",
	  T "1: interfaces[0]: expected a single value, got a list"),
	EXACT(HDR "  - name: web\n    vip:\n    backends: []\n",
	  T "4: services[0].vip: expected a single value, got an empty value"),
	/* unknown keys */
	EXACT("interface: [eth0]\nservices: []\n", T "1: interface: unknown key"),
	EXACT(SVC "    bakends: []\n", T "6: services[0].bakends: unknown key"),
	EXACT("interfaces: [eth0]\nnode:\n  xdp: skb\nservices: []\n",
	  T "3: node.xdp: unknown key"),
	EXACT(SVC "    backends:\n      - address: 10.10.2.11\n        wieght: 2\n",
	  T "8: services[0].backends[0].wieght: unknown key"),
	EXACT("interfaces: [eth0]\nservices: []\n? [a]\n: b\n",
	  T "3: keys must be plain text"),
	/* missing required keys */
	EXACT("services: []\n", T "1: interfaces: missing required key"),
	EXACT("interfaces: [eth0]\n", T "1: services: missing required key"),
	EXACT(HDR "  - vip: 10.100.0.1\n    backends: []\n",
	  T "3: services[0].name: missing required key"),
	EXACT(HDR "  - name: web\n    backends: []\n",
	  T "3: services[0].vip: missing required key"),
	EXACT(SVC, T "3: services[0].backends: missing required key (or give source_service)"),
	EXACT(SVC "    backends:\n      - weight: 1\n",
	  T "7: services[0].backends[0].address: missing required key"),
	/* duplicate keys */
	EXACT("interfaces: [eth0]\ninterfaces: [eth1]\nservices: []\n",
	  T "2: interfaces: duplicate key (first on line 1)"),
	EXACT(SVC "    port: 81\n    backends: []\n",
	  T "6: services[0].port: duplicate key (first on line 5)"),
	EXACT(SVC "    backends: [{address: 10.0.0.1, weight: 1, weight: 2}]\n",
	  T "6: services[0].backends[0].weight: duplicate key (first on line 6)"),
	/* addresses */
	EXACT(SVC "    backends:\n      - address: 10.10.2.11\n      - address: 10.10.2.x\n",
	  T "8: services[0].backends[1].address: \"10.10.2.x\" is not an IPv4 or IPv6 address"),
	EXACT(HDR "  - {name: web, vip: 10.100.0.0/24, backends: []}\n",
	  T "3: services[0].vip: \"10.100.0.0/24\" is not an IPv4 or IPv6 address"),
	EXACT(HDR "  - {name: web, vip: \" 10.100.0.1\", backends: []}\n",
	  T "3: services[0].vip: \" 10.100.0.1\" is not an IPv4 or IPv6 address"),
	EXACT(HDR "  - {name: web, vip: \"\", backends: []}\n",
	  T "3: services[0].vip: \"\" is not an IPv4 or IPv6 address"),
	EXACT(HDR "  - {name: web, vip: 010.100.0.1, backends: []}\n",
	  T "3: services[0].vip: \"010.100.0.1\" is not an IPv4 or IPv6 address"),
	EXACT(HDR "  - {name: web, vip: \"fe80::1%eth0\", backends: []}\n",
	  T "3: services[0].vip: \"fe80::1%eth0\" is not an IPv4 or IPv6 address"),
	EXACT(HDR "  - {name: web, vip: localhost, backends: []}\n",
	  T "3: services[0].vip: \"localhost\" is not an IPv4 or IPv6 address"),
	EXACT("interfaces: [eth0]\nnode:\n  encap_source: \"fd00::\"\nservices: []\n",
	  T "3: node.encap_source: \"fd00::\" is not an IPv4 address"),
	EXACT("interfaces: [eth0]\nnode:\n  encap_source6: 172.16.0.0\nservices: []\n",
	  T "3: node.encap_source6: \"172.16.0.0\" is not an IPv6 address"),
	EXACT("interfaces: [eth0]\nnode:\n  encap_source: 172.16.1.0\nservices: []\n",
	  T "3: node.encap_source: 172.16.1.0 has non-zero low 16 bits, which the dataplane replaces per flow: give a /16 prefix"),
	EXACT("interfaces: [eth0]\nnode:\n  encap_source6: \"fd00:f1b::1:0\"\nservices: []\n",
	  T "3: node.encap_source6: fd00:f1b::1:0 has non-zero low 32 bits, which the dataplane replaces per flow: give a /96 prefix"),
	/* numbers */
	EXACT(HDR "  - {name: web, vip: 10.100.0.1, port: 1e3, backends: []}\n",
	  T "3: services[0].port: \"1e3\" is not a decimal integer"),
	EXACT(HDR "  - {name: web, vip: 10.100.0.1, port: -1, backends: []}\n",
	  T "3: services[0].port: -1 is out of range 0..65535"),
	EXACT(HDR "  - {name: web, vip: 10.100.0.1, port: 0x10, backends: []}\n",
	  T "3: services[0].port: \"0x10\" is not a decimal integer (no leading zeros)"),
	EXACT(HDR "  - {name: web, vip: 10.100.0.1, port: 80abc, backends: []}\n",
	  T "3: services[0].port: \"80abc\" is not a decimal integer"),
	EXACT(HDR "  - {name: web, vip: 10.100.0.1, port: 080, backends: []}\n",
	  T "3: services[0].port: \"080\" is not a decimal integer (no leading zeros)"),
	EXACT(HDR "  - {name: web, vip: 10.100.0.1, port: +80, backends: []}\n",
	  T "3: services[0].port: \"+80\" is not a decimal integer"),
	EXACT(HDR "  - {name: web, vip: 10.100.0.1, port: 70000, backends: []}\n",
	  T "3: services[0].port: 70000 is out of range 0..65535"),
	EXACT(HDR "  - {name: web, vip: 10.100.0.1, port: 99999999999999999999999, backends: []}\n",
	  T "3: services[0].port: 99999999999999999999999 is out of range 0..65535"),
	EXACT(HDR "  - {name: web, vip: 10.100.0.1, port: 18446744073709551616, backends: []}\n",
	  T "3: services[0].port: 18446744073709551616 is out of range 0..65535"),
	EXACT(SVC "    backends: [{address: 10.0.0.1, weight: 10001}]\n",
	  T "6: services[0].backends[0].weight: 10001 is out of range 0..10000"),
	EXACT(SVC "    backends: [{address: 10.0.0.1, weight: 1.5}]\n",
	  T "6: services[0].backends[0].weight: \"1.5\" is not a decimal integer"),
	EXACT(SVC "    table_size: 1000\n    backends: []\n",
	  T "6: services[0].table_size: 1000 is not a prime number"),
	EXACT(SVC "    table_size: 241\n    backends: []\n",
	  T "6: services[0].table_size: 241 is out of range 251..1048573"),
	EXACT(SVC "    table_size: 1048583\n    backends: []\n",
	  T "6: services[0].table_size: 1048583 is out of range 251..1048573"),
	EXACT(SVC "    table_size: big\n    backends: []\n",
	  T "6: services[0].table_size: \"big\" is not \"auto\" or a prime number"),
	/* enums */
	EXACT(SVC "    protocol: sctp\n    backends: []\n",
	  T "6: services[0].protocol: \"sctp\" is not one of: tcp, udp"),
	EXACT(SVC "    protocol: TCP\n    backends: []\n",
	  T "6: services[0].protocol: \"TCP\" is not one of: tcp, udp"),
	EXACT("interfaces: [eth0]\nnode: {xdp_mode: fast}\nservices: []\n",
	  T "2: node.xdp_mode: \"fast\" is not one of: native, skb"),
	/* names and paths */
	EXACT(HDR "  - {name: \"we b\", vip: 10.100.0.1, backends: []}\n",
	  T "3: services[0].name: \"we b\" is not a valid service name (1..63 characters from A-Z a-z 0-9 _ . -)"),
	PREFIX(HDR "  - {name: \"\", vip: 10.100.0.1, backends: []}\n",
	  T "3: services[0].name: \"\" is not a valid service name"),
	PREFIX(HDR "  - {name: a123456789012345678901234567890123456789012345678901234567890123, vip: 10.100.0.1, backends: []}\n",
	  T "3: services[0].name: \"a123456789012345678901234567890123456789012345678901234567890123\" is not a valid service name"),
	PREFIX(HDR "  - {name: \"we\\nb\", vip: 10.100.0.1, backends: []}\n",
	  T "3: services[0].name: \"we?b\" is not a valid service name"),
	EXACT(HDR "  - {name: \"web\\0x\", vip: 10.100.0.1, backends: []}\n",
	  T "3: services[0].name: value contains a NUL character"),
	EXACT("interfaces: []\nservices: []\n",
	      T "1: interfaces: an empty list needs node.pods (a node that only serves its pods)"),
	/* node.pods */
	EXACT("interfaces: []\nnode:\n  pods: {interface: eth1, cidrs: [10.20.0.1/24]}\nservices: []\n",
	      T "3: node.pods.cidrs[0]: \"10.20.0.1/24\" has host bits set"),
	EXACT("interfaces: []\nnode:\n  pods: {interface: eth1, cidrs: [\"fd00::/129\"]}\nservices: []\n",
	      T "3: node.pods.cidrs[0]: \"fd00::/129\": the length must be 0..128"),
	EXACT("interfaces: []\nnode:\n  pods: {interface: eth1, cidrs: [10.20.0.0]}\nservices: []\n",
	      T "3: node.pods.cidrs[0]: \"10.20.0.0\" is not a prefix (ADDRESS/LENGTH)"),
	EXACT("interfaces: []\nnode:\n  pods: {interface: eth1}\nservices: []\n",
	       T "3: node.pods.cidrs: required unless the source is kubernetes (whose endpoints' nodeName says which pods are local)"),
	EXACT("interfaces: [eth0, eth1, eth0]\nservices: []\n",
	  T "1: interfaces[2]: duplicate interface \"eth0\" (also interfaces[0])"),
	EXACT("interfaces: [abcdefghijklmnop]\nservices: []\n",
	  T "1: interfaces[0]: \"abcdefghijklmnop\" is not an interface name (1..15 characters, no '/', ':' or spaces)"),
	PREFIX("interfaces: [eth/0]\nservices: []\n",
	  T "1: interfaces[0]: \"eth/0\" is not an interface name"),
	EXACT("interfaces: [eth0]\nnode: {bpffs: fluxlb}\nservices: []\n",
	  T "2: node.bpffs: \"fluxlb\" is not an absolute path"),
	/* duplicates across entries */
	EXACT(HDR "  - {name: web, vip: 10.100.0.1, backends: []}\n"
	      "  - {name: web, vip: 10.100.0.2, backends: []}\n",
	  T "4: services[1].name: duplicate service name \"web\" (first on line 3)"),
	EXACT(HDR "  - {name: a, vip: 10.100.0.1, port: 80, backends: []}\n"
	      "  - {name: b, vip: 10.100.0.1, port: 80, protocol: tcp, backends: []}\n",
	  T "4: services[1].vip: 10.100.0.1:80/tcp is already the VIP of service \"a\" (line 3)"),
	EXACT(HDR "  - {name: a, vip: \"fd00::1\", protocol: udp, backends: []}\n"
	      "  - {name: b, vip: \"fd00:0::0:1\", protocol: udp, backends: []}\n",
	  T "4: services[1].vip: [fd00::1]:0/udp is already the VIP of service \"a\" (line 3)"),
	EXACT(SVC "    backends:\n"
	      "      - address: 10.10.2.11\n"
	      "      - address: 10.10.2.12\n"
	      "      - address: 10.10.2.13\n"
	      "      - address: 10.10.2.12\n"
	      "      - address: 10.10.2.11\n",
	  T "10: services[0].backends[3].address: duplicate backend 10.10.2.12 (first on line 8)"),
	EXACT(SVC "    backends:\n"
	      "      - weight: 2\n"
	      "        address: \"fd00::a\"\n"
	      "      - {weight: 3, address: \"fd00:0::a\"}\n",
	  T "9: services[0].backends[1].address: duplicate backend fd00::a (first on line 7)"),
	/* backend port */
	EXACT(SVC "    backends: [{address: 10.0.0.1, port: 0}]\n",
	  T "6: services[0].backends[0].port: 0 is out of range 1..65535"),
	EXACT(HDR "  - name: web\n    vip: 10.100.0.1\n    backends: [{address: 10.0.0.1, port: 80}]\n",
	  T "5: services[0].backends[0].port: 80 given but the service has no port (it matches every port and keeps it); omit the backend port"),
	EXACT("interfaces: [eth0]\nnode:\n  conntrack:\n    tcp_timeout: 10\nservices: []\n",
	      T "4: node.conntrack.tcp_timeout: \"10\" is not a duration (like 500ms, 30s, 5m, 1h)"),
	EXACT("interfaces: [eth0]\nnode:\n  conntrack:\n    udp_timeout: 500ms\nservices: []\n",
	      T "4: node.conntrack.udp_timeout: 500ms is out of range 1s..168h"),
	PREFIX("interfaces: [eth0]\nnode:\n  flood: {new_flows_per_second: -1}\nservices: []\n",
	       T "3: node.flood.new_flows_per_second:"),
	PREFIX("interfaces: [eth0]\nnode:\n  flood: {new_flows_per_second: 100000001}\nservices: []\n",
	       T "3: node.flood.new_flows_per_second:"),
	PREFIX("interfaces: [eth0]\nnode:\n  flood: {syns: 5}\nservices: []\n",
	       T "3: node.flood.syns: unknown key"),
	PREFIX("interfaces: [eth0]\nnode:\n  conntrack:\n    icmp_timeout: 1s\nservices: []\n",
	       T "4: node.conntrack.icmp_timeout: unknown key"),
	PREFIX(SVC "    source_service: web\n    backends: [{address: 10.0.0.1}]\n",
	       T "6: services[0].source_service: needs a registry source"),
	PREFIX("interfaces: [eth0]\nsource: {type: consul}\nservices:\n  - {name: web, vip: 10.100.0.1, port: 80, source_service: web, backends: [{address: 10.0.0.1}]}\n",
	       T "4: services[0].backends: a service takes its backends from source_service \"web\" or lists them, not both"),
	EXACT("interfaces: [eth0]\nsource: {type: etcd, endpoints: [127.0.0.1:2379]}\nservices: []\n",
	      T "2: source.endpoints[0]: \"127.0.0.1:2379\" is not an http:// or https:// URL"),
	/* source secrets: files only; etcd TLS and auth keys in pairs */
	EXACT("interfaces: [eth0]\nsource: {type: consul, token: s3cret}\nservices: []\n",
	      T "2: source.token: never an inline token: write it to a file and give token_file"),
	EXACT("interfaces: [eth0]\nsource: {type: etcd, username: u, password: s3cret}\nservices: []\n",
	      T "2: source.password: never an inline password: write it to a file and give password_file"),
	EXACT("interfaces: [eth0]\nsource: {type: etcd, cert_file: /c.pem}\nservices: []\n",
	      T "2: source: cert_file and key_file go together (the client certificate and its key)"),
	EXACT("interfaces: [eth0]\nsource: {type: etcd, username: fluxlbd}\nservices: []\n",
	      T "2: source: username and password_file go together"),
	EXACT("interfaces: [eth0]\nsource: {type: consul, username: u, password_file: /p}\nservices: []\n",
	      T "2: source: cert_file, key_file, username and password_file are etcd keys"),
	EXACT("interfaces: [eth0]\nsource: {type: etcd, password_file: p, username: u}\nservices: []\n",
	      T "2: source.password_file: \"p\" is not an absolute path under 256 characters"),
	EXACT("interfaces: [eth0]\nsource: {type: zookeeper}\nservices: []\n",
	      T "2: source.type: \"zookeeper\" is not one of: file, consul, etcd, kubernetes"),
	/* metrics.listen: the exporter's syntax, checked at load */
	EXACT("interfaces: [eth0]\nmetrics: {listen: \"localhost:9100\"}\nservices: []\n",
	      T "2: metrics.listen: \"localhost:9100\" is not host:port, [v6]:port or :port"),
	EXACT("interfaces: [eth0]\nmetrics: {listen: \":0\"}\nservices: []\n",
	      T "2: metrics.listen: \":0\" is not host:port, [v6]:port or :port"),
	EXACT("interfaces: [eth0]\nmetrics: {listen: \"[::1:9100\"}\nservices: []\n",
	      T "2: metrics.listen: \"[::1:9100\" is not host:port, [v6]:port or :port"),
	/* key order does not matter: the port after the backends still counts */
	PREFIX(HDR "  - name: web\n    backends: [{address: 10.0.0.1, port: 80}]\n    port: 0\n    vip: 10.100.0.1\n",
	  T "4: services[0].backends[0].port: 80 given but the service has no port"),
};

/* Port translation and the node role's section. */
TEST(backend_ports_and_node_pods)
{
	static const char y[] =
		"interfaces: []\n"
		"node:\n"
		"  pods:\n"
		"    interface: eth1\n"
		"    cidrs: [10.20.0.0/24, \"fd00:20::/64\"]\n"
		"services:\n"
		"  - name: web\n"
		"    vip: 10.100.0.1\n"
		"    port: 80\n"
		"    backends: [{address: 10.20.0.11, port: 8080}, {address: 10.20.0.12, port: 80},\n"
		"               {address: 10.20.1.13}]\n";
	struct flb_config cfg;
	struct flb_addr a;
	char err[256];

	if (!ASSERT_OK(config_parse("t.yaml", y, sizeof(y) - 1, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_STREQ(cfg.pods.iface, "eth1", "pods.interface");
	ASSERT_EQ(cfg.pods.n_cidrs, 2, "two cidrs");
	ASSERT_EQ(cfg.pods.cidrs[1].len, 64, "IPv6 length");
	ASSERT_EQ(cfg.services[0].backends[0].port, 8080, "target port");
	ASSERT_EQ(cfg.services[0].backends[1].port, 0, "the service port is no translation");
	ASSERT_STREQ(cfg.services[0].backends[0].id, "10.20.0.11:80",
		     "identity keeps the service port (tables identical on every node)");
	addr_parse("10.20.0.255", &a);
	ASSERT_TRUE(config_pod_local(&cfg.pods, &a), "in 10.20.0.0/24");
	addr_parse("10.20.1.13", &a);
	ASSERT_FALSE(config_pod_local(&cfg.pods, &a), "not in 10.20.0.0/24");
	addr_parse("fd00:20::ffff", &a);
	ASSERT_TRUE(config_pod_local(&cfg.pods, &a), "in fd00:20::/64");
	config_free(&cfg);
}

/* Both roles on one NIC (the DaemonSet case): accepted, no longer refused. */
TEST(node_pods_on_the_balancers_nic)
{
	static const char y[] = "interfaces: [eth0]\n"
				"node:\n  pods: {interface: eth0, cidrs: [10.20.0.0/24]}\n"
				"services: []\n";
	struct flb_config cfg;
	char err[256];

	if (!ASSERT_OK(config_parse("t.yaml", y, sizeof(y) - 1, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_STREQ(cfg.pods.iface, "eth0", "pods.interface");
	ASSERT_STREQ(cfg.iface_spec[0], "eth0", "interfaces");
	config_free(&cfg);
}

/* With the kubernetes source the endpoints' nodeName names the local pods:
 * cidrs may be left out (docs/pods.md "Which pods are local"). */
TEST(node_pods_without_cidrs_with_the_kubernetes_source)
{
	static const char y[] = "interfaces: [auto]\n"
				"node:\n  pods: {interface: auto}\n"
				"source: {type: kubernetes}\n"
				"services: []\n";
	struct flb_config cfg;
	char err[256];

	if (!ASSERT_OK(config_parse("t.yaml", y, sizeof(y) - 1, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_STREQ(cfg.pods.iface, "auto", "pods.interface auto");
	ASSERT_EQ(cfg.pods.n_cidrs, 0, "no cidrs");
	config_free(&cfg);
}

TEST(malformed)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct flb_config cfg;
		char err[512], what[64];
		int ret;

		memset(&cfg, 0xa5, sizeof(cfg));
		snprintf(what, sizeof(what), "bad_cases[%zu]", i);
		ret = parse(c->yaml, &cfg, err, sizeof(err));
		if (!ASSERT_EQ(ret, -EINVAL, what))
			continue;
		if (!c->prefix)
			ASSERT_STREQ(err, c->msg, what);
		else if (strncmp(err, c->msg, strlen(c->msg)))
			flb_test_fail(__FILE__, __LINE__, "%s: got \"%s\", expected a prefix \"%s\"",
				      what, err, c->msg);
		ASSERT_TRUE(strchr(err, '\n') == NULL, what);
		ASSERT_TRUE(is_zeroed(&cfg), what);
	}
}

/* Errors after allocations leave nothing behind and config_free stays safe. */
TEST(failed_parse_leaves_nothing)
{
	static const char yaml[] =
		"interfaces: [eth0]\n"
		"services:\n"
		"  - {name: a, vip: 10.100.0.1, backends: [{address: 10.0.0.1}]}\n"
		"  - {name: b, vip: 10.100.0.2, backends: [{address: 10.0.0.1}, {address: x}]}\n"
		"  - {name: c, vip: 10.100.0.3, backends: []}\n";
	struct flb_config cfg;

	ASSERT_EQ(parse(yaml, &cfg, NULL, 0), -EINVAL, "no err buffer");
	ASSERT_TRUE(is_zeroed(&cfg), "zeroed");
	config_free(&cfg);
	config_free(&cfg);
	ASSERT_TRUE(is_zeroed(&cfg), "still zeroed");

	if (!ASSERT_OK(parse(example, &cfg, NULL, 0), "parse"))
		return;
	config_free(&cfg);
	ASSERT_TRUE(is_zeroed(&cfg), "zeroed by config_free");
	config_free(&cfg);
}

TEST(short_error_buffer)
{
	struct flb_config cfg;
	char err[16];

	ASSERT_EQ(parse("services: []\n", &cfg, err, sizeof(err)), -EINVAL, "ret");
	ASSERT_STREQ(err, "t.yaml:1: inter", "truncated");
}

/* Appends printf output to a growing buffer; aborts on failure (test only). */
static void __attribute__((format(printf, 4, 5)))
cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if ((size_t)n < *cap - *len)
			break;
		*cap *= 2;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			abort();
	}
	*len += (size_t)n;
}

/* A config with n_svc port-less services of n_be backends each. */
static char *gen(int n_ifaces, int n_svc, int n_be, int table_size)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (!buf)
		abort();
	buf[0] = '\0';
	cat(&buf, &len, &cap, "interfaces: [eth0");
	for (int i = 1; i < n_ifaces; i++)
		cat(&buf, &len, &cap, ", e%d", i);
	cat(&buf, &len, &cap, "]\nservices:\n");
	for (int s = 0; s < n_svc; s++) {
		/* Port-less VIPs need distinct addresses. */
		cat(&buf, &len, &cap, "- {name: s%d, vip: 10.100.%d.%d, backends: [",
		    s, s / 250, s % 250);
		for (int b = 0; b < n_be; b++)
			cat(&buf, &len, &cap, "{address: 10.1.%d.%d}, ", b / 250, b % 250);
		if (table_size)
			cat(&buf, &len, &cap, "], table_size: %d}\n", table_size);
		else
			cat(&buf, &len, &cap, "]}\n");
	}
	return buf;
}

TEST(limits)
{
	struct flb_config cfg;
	char err[256];
	char *y;

	y = gen(16, 1, 0, 0);
	if (ASSERT_OK(parse(y, &cfg, err, sizeof(err)), err))
		ASSERT_EQ(cfg.n_ifaces, 16, "16 interfaces");
	config_free(&cfg);
	free(y);
	y = gen(17, 1, 0, 0);
	ASSERT_EQ(parse(y, &cfg, err, sizeof(err)), -EINVAL, "17 interfaces");
	ASSERT_STREQ(err, "t.yaml:1: interfaces: has 17 entries, at most 16 are allowed", "msg");
	free(y);

	y = gen(1, 1024, 1, 0);
	if (ASSERT_OK(parse(y, &cfg, err, sizeof(err)), err))
		ASSERT_EQ(cfg.n_services, 1024, "1024 services");
	config_free(&cfg);
	free(y);
	y = gen(1, 1025, 1, 0);
	ASSERT_EQ(parse(y, &cfg, err, sizeof(err)), -EINVAL, "1025 services");
	ASSERT_STREQ(err, "t.yaml:3: services: has 1025 entries, at most 1024 are allowed", "msg");
	free(y);

	y = gen(1, 1, 4096, 0);
	if (ASSERT_OK(parse(y, &cfg, err, sizeof(err)), err))
		ASSERT_EQ(cfg.services[0].n_backends, 4096, "4096 backends");
	config_free(&cfg);
	free(y);
	y = gen(1, 1, 4097, 0);
	ASSERT_EQ(parse(y, &cfg, err, sizeof(err)), -EINVAL, "4097 backends");
	ASSERT_STREQ(err, "t.yaml:3: services[0].backends: has 4097 entries, at most 4096 are allowed", "msg");
	free(y);

	/* A Maglev table must have a slot for every backend that takes flows. */
	y = gen(1, 1, 251, 251);
	ASSERT_OK(parse(y, &cfg, err, sizeof(err)), err);
	config_free(&cfg);
	free(y);
	y = gen(1, 1, 252, 251);
	ASSERT_EQ(parse(y, &cfg, err, sizeof(err)), -EINVAL, "252 backends");
	ASSERT_STREQ(err, "t.yaml:3: services[0].table_size: 251 is smaller than the number of backends with a non-zero weight (252)", "msg");
	free(y);
}

/* n_svc services of n_be backends each, every address distinct. */
static char *gen_distinct(int n_svc, const int *n_be)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int k = 0;

	if (!buf)
		abort();
	buf[0] = '\0';
	cat(&buf, &len, &cap, "interfaces: [eth0]\nservices:\n");
	for (int s = 0; s < n_svc; s++) {
		cat(&buf, &len, &cap, "- name: s%d\n  vip: 10.100.0.%d\n  backends:\n", s, s + 1);
		for (int b = 0; b < n_be[s]; b++, k++)
			cat(&buf, &len, &cap, "  - address: 10.%d.%d.%d\n", 1 + k / 65536,
			    k / 256 % 256, k % 256);
	}
	return buf;
}

/* What apply refuses, parse (and so --check-config) refuses, through the
 * one validator (config_validate.c), and the validator alone says the same
 * of a configuration built in memory (a registry's backends). */
TEST(validator_refuses_what_the_dataplane_cannot_serve)
{
	static const int fits[] = { 4096, 4095 }, over[] = { 4096, 4096 };
	struct flb_config cfg;
	char err[256];
	char *y;

	ASSERT_EQ(parse("interfaces: [eth0]\nservices:\n"
			"  - name: web6\n    vip: fd00::1\n    port: 80\n    backends:\n"
			"      - address: fd00::11\n      - address: 10.10.2.12\n",
			&cfg, err, sizeof(err)), -EINVAL, "IPv4 backend of an IPv6 VIP");
	ASSERT_STREQ(err, "t.yaml:8: services[0].backends[1].address: 10.10.2.12 is IPv4 but service \"web6\" has an IPv6 VIP (IPv6 cannot be carried in IPv4): an IPv6 VIP needs IPv6 backends", "msg");
	ASSERT_TRUE(is_zeroed(&cfg), "zeroed");

	y = gen_distinct(2, fits);
	ASSERT_OK(parse(y, &cfg, err, sizeof(err)), err);
	config_free(&cfg);
	free(y);
	y = gen_distinct(2, over);
	ASSERT_EQ(parse(y, &cfg, err, sizeof(err)), -EINVAL, "8192 distinct backends");
	ASSERT_STREQ(err, "t.yaml:8200: services[1].backends[4095].address: 10.1.31.255 is distinct backend address 8192; the maps hold at most 8191 (an address shared by services counts once)", "msg");
	free(y);

	/* The same rules on a configuration filled in memory; no line known. */
	if (!ASSERT_OK(parse("interfaces: [eth0]\nservices:\n"
			     "  - {name: web6, vip: 'fd00::1', port: 80, table_size: 251, backends: [{address: 'fd00::11'}]}\n",
			     &cfg, err, sizeof(err)), err))
		return;
	cfg.services[0].backends[0].addr.family = AF_INET;
	cfg.services[0].backends[0].line = 0;
	ASSERT_EQ(config_validate(&cfg, "registry view", err, sizeof(err)), -EINVAL, "in memory");
	ASSERT_STRCONTAINS(err, "registry view: services[0].backends[0].address: ", "no line");
	cfg.services[0].backends[0].addr.family = AF_INET6;
	ASSERT_OK(config_validate(&cfg, "registry view", err, sizeof(err)), err);
	cfg.services[0].table_size = 0;
	config_free(&cfg);
}

TEST(load_file)
{
	char path[] = "/tmp/test_config.XXXXXX", err[512], want[600];
	struct flb_config cfg;
	int fd, ret;

	fd = mkstemp(path);
	if (!ASSERT_GE(fd, 0, "mkstemp"))
		return;
	ret = write(fd, example, strlen(example)) == (ssize_t)strlen(example);
	close(fd);
	if (!ASSERT_TRUE(ret, "write"))
		goto out;
	if (ASSERT_OK(config_load_file(path, &cfg, err, sizeof(err)), err))
		ASSERT_STREQ(cfg.services[0].backends[0].id, "10.10.2.11:80", "id");
	config_free(&cfg);

	/* Messages name the path given. */
	fd = open(path, O_WRONLY | O_APPEND);
	if (!ASSERT_GE(fd, 0, "open"))
		goto out;
	ret = write(fd, "        weight: x\n", 18) == 18;
	close(fd);
	ASSERT_EQ(config_load_file(path, &cfg, err, sizeof(err)), -EINVAL, "bad");
	snprintf(want, sizeof(want), "%s:17: services[0].backends[0].weight: duplicate key (first on line 15)", path);
	ASSERT_STREQ(err, want, "message names the file");
	ASSERT_TRUE(is_zeroed(&cfg), "zeroed");
out:
	unlink(path);
	ASSERT_EQ(config_load_file(path, &cfg, err, sizeof(err)), -ENOENT, "missing");
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	ASSERT_STREQ(err, want, "missing message");
	ASSERT_TRUE(is_zeroed(&cfg), "zeroed");
	ASSERT_EQ(config_load_file("/", &cfg, err, sizeof(err)), -EISDIR, "folder");
	ASSERT_STREQ(err, "/: Is a directory", "folder message");
}

TEST(addr_parse)
{
	static const struct {
		const char *in;
		int family;
		const char *canon;	/* NULL: must be rejected */
	} cases[] = {
		{ "10.10.2.11", AF_INET, "10.10.2.11" },
		{ "0.0.0.0", AF_INET, "0.0.0.0" },
		{ "255.255.255.255", AF_INET, "255.255.255.255" },
		{ "fd00::1", AF_INET6, "fd00::1" },
		{ "FD00:0000:0:0:0:0:0:0001", AF_INET6, "fd00::1" },
		{ "::", AF_INET6, "::" },
		{ "::ffff:10.0.0.1", AF_INET6, "::ffff:10.0.0.1" },
		{ "", 0, NULL },
		{ "10.0.0.0/8", 0, NULL },
		{ "fd00::/64", 0, NULL },
		{ " 10.0.0.1", 0, NULL },
		{ "10.0.0.1 ", 0, NULL },
		{ "10.1", 0, NULL },
		{ "010.0.0.1", 0, NULL },
		{ "0x0a.0.0.1", 0, NULL },
		{ "256.0.0.1", 0, NULL },
		{ "fe80::1%eth0", 0, NULL },
		{ "[fd00::1]", 0, NULL },
		{ "10.10.2.x", 0, NULL },
		{ "localhost", 0, NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct flb_addr a;
		char what[64];

		snprintf(what, sizeof(what), "\"%s\"", cases[i].in);
		memset(&a, 0xa5, sizeof(a));
		if (!cases[i].canon) {
			ASSERT_EQ(addr_parse(cases[i].in, &a), -EINVAL, what);
			continue;
		}
		if (!ASSERT_OK(addr_parse(cases[i].in, &a), what))
			continue;
		addr_is(&a, cases[i].family, cases[i].canon, what);
		if (a.family == AF_INET) {
			static const uint8_t zero[12];

			ASSERT_MEMEQ(a.bytes + 4, zero, sizeof(zero), what);
		}
	}
	ASSERT_EQ(addr_parse(NULL, NULL), -EINVAL, "NULL");
}

TEST(addr_format)
{
	struct flb_addr a4, a6, bad = { .family = AF_UNIX };
	char buf[FLB_ADDR_PORT_STRLEN], small[8];

	if (!ASSERT_OK(addr_parse("10.10.2.11", &a4), "a4") ||
	    !ASSERT_OK(addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &a6), "a6"))
		return;
	ASSERT_EQ(a4.bytes[0], 10, "network order");
	ASSERT_EQ(a4.bytes[3], 11, "network order");
	ASSERT_OK(addr_port_format(&a4, 80, buf, sizeof(buf)), "v4");
	ASSERT_STREQ(buf, "10.10.2.11:80", "v4");
	ASSERT_OK(addr_port_format(&a6, 65535, buf, sizeof(buf)), "longest");
	ASSERT_STREQ(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", "longest");
	ASSERT_EQ(addr_port_format(&a4, 80, small, sizeof(small)), -ENOSPC, "small");
	ASSERT_STREQ(small, "", "emptied");
	ASSERT_EQ(addr_format(&a4, small, sizeof(small)), -ENOSPC, "small");
	ASSERT_EQ(addr_format(&bad, buf, sizeof(buf)), -EAFNOSUPPORT, "family");
	ASSERT_EQ(addr_port_format(&bad, 1, buf, sizeof(buf)), -EAFNOSUPPORT, "family");
	ASSERT_TRUE(addr_cmp(&a4, &a4) == 0, "cmp equal");
	ASSERT_TRUE(addr_cmp(&a4, &a6) < 0, "IPv4 sorts first");
}
