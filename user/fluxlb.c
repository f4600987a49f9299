// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fluxlb, the operator's CLI. Reads the pinned maps directly, so it works
 * while the daemon is down, and manages the decap program on backend hosts.
 * A command table maps words to handlers; -j prints JSON (errors too).
 */
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "decap.skel.h"
#include "flb_abi.h"
#include "flb_reasons.h"
#include "log.h"
#include "maps.h"
#include "xdp_attach.h"

#define DEFAULT_BPFFS "/sys/fs/bpf/fluxlb"

static struct {
	bool json;
	char pin_dir[PATH_MAX];
} g;

static const char *const reason_names[] = {
#define NAME(n, label) label,
	FLB_REASONS(NAME)
#undef NAME
};
static const char *const event_names[] = {
#define NAME(n, label) label,
	FLB_EVENTS(NAME)
#undef NAME
};

static const char usage[] =
	"Usage: fluxlb [-j] [--bpffs DIR] COMMAND [ARGS]\n"
	"\n"
	"Inspect the fluxlb balancer through its pinned maps (the daemon need not\n"
	"run) and manage the decap program on backend hosts.\n"
	"\n"
	"Commands:\n"
	"  status                 ready flag, VIP and backend counts\n"
	"  stats                  reason and event counters, traffic per VIP and backend\n"
	"  decap attach IFACE     attach the decap program to IFACE (backend hosts);\n"
	"                         it decapsulates IPIP to the host's addresses as\n"
	"                         they are now: attach again after they change\n"
	"  decap detach IFACE     detach it\n"
	"  decap stats IFACE      counters of the decap program attached to IFACE\n"
	"\n"
	"Options:\n"
	"  -j, --json             JSON output (errors too)\n"
	"      --bpffs DIR        pin folder of the daemon (default " DEFAULT_BPFFS ")\n"
	"      --skb              with decap attach: generic (skb) mode instead of native\n"
	"  -h, --help             this text\n"
	"\n"
	"Exit status: 0 success, 1 failure (message on stderr, or JSON on stdout\n"
	"with -j), 2 usage error.\n";

static int fail(int err, const char *what)
{
	if (g.json)
		printf("{\"error\":\"%s\",\"errno\":%d,\"detail\":\"%s\"}\n", what, -err,
		       strerror(-err));
	else
		fprintf(stderr, "fluxlb: %s: %s\n", what, strerror(-err));
	return 1;
}

static struct flb_maps *open_maps(void)
{
	struct flb_maps *m = maps_open_pinned(g.pin_dir);

	if (!m)
		fail(-errno, "cannot open the pinned maps (is fluxlbd running, and --bpffs right?)");
	return m;
}

static void fmt_vip(const struct flb_vip_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(k->family == FLB_AF_INET6 ? AF_INET6 : AF_INET, k->addr, a, sizeof(a));
	snprintf(buf, len, k->family == FLB_AF_INET6 ? "[%s]:%u/%s" : "%s:%u/%s", a,
		 ntohs(k->port), k->proto == IPPROTO_UDP ? "udp" : "tcp");
}

static int cmd_status(int argc, char **argv)
{
	struct flb_vip_key keys[FLB_MAX_VIPS];
	struct flb_vip vips[FLB_MAX_VIPS];
	struct flb_ctl ctl = {};
	struct flb_maps *m;
	int n, backends = 0;

	(void)argc, (void)argv;
	m = open_maps();
	if (!m)
		return 1;
	maps_get_ctl(m, &ctl);
	n = maps_list_vips(m, keys, vips, FLB_MAX_VIPS);
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		struct flb_backend be;

		if (!maps_get_backend(m, id, &be) && be.state != FLB_BE_UNUSED)
			backends++;
	}
	if (g.json)
		printf("{\"ready\":%s,\"abi\":%d,\"pin_dir\":\"%s\",\"vips\":%d,\"backends\":%d}\n",
		       ctl.ready ? "true" : "false", FLB_ABI_VERSION, g.pin_dir, n, backends);
	else
		printf("ready:    %s\nabi:      v%d\npin_dir:  %s\nvips:     %d\nbackends: %d\n",
		       ctl.ready ? "yes" : "no", FLB_ABI_VERSION, g.pin_dir, n, backends);
	maps_close(m);
	return 0;
}

static void print_counters(const char *title, const char *const *names, const uint64_t *v,
			   int n, bool last)
{
	if (g.json) {
		printf("\"%s\":{", title);
		for (int i = 0; i < n; i++)
			printf("%s\"%s\":%llu", i ? "," : "", names[i], (unsigned long long)v[i]);
		printf("}%s", last ? "" : ",");
		return;
	}
	printf("%s:\n", title);
	for (int i = 0; i < n; i++)
		printf("  %-18s %llu\n", names[i], (unsigned long long)v[i]);
}

static int cmd_stats(int argc, char **argv)
{
	struct flb_vip_key keys[FLB_MAX_VIPS];
	struct flb_vip vips[FLB_MAX_VIPS];
	uint64_t reasons[FLB_R_MAX], events[FLB_E_MAX];
	struct flb_maps *m;
	bool first = true;
	int n;

	(void)argc, (void)argv;
	m = open_maps();
	if (!m)
		return 1;
	if (maps_read_reasons(m, reasons) || maps_read_events(m, events)) {
		maps_close(m);
		return fail(-EIO, "cannot read counters");
	}
	if (g.json)
		printf("{");
	print_counters("reasons", reason_names, reasons, FLB_R_MAX, false);
	print_counters("events", event_names, events, FLB_E_MAX, false);

	n = maps_list_vips(m, keys, vips, FLB_MAX_VIPS);
	printf(g.json ? "\"vips\":[" : "vips:\n");
	for (int i = 0; i < n; i++) {
		struct flb_traffic t = {};
		char name[80];

		maps_read_vip_stats(m, vips[i].id, &t);
		fmt_vip(&keys[i], name, sizeof(name));
		if (g.json)
			printf("%s{\"vip\":\"%s\",\"id\":%u,\"packets\":%llu,\"bytes\":%llu,\"new_flows\":%llu}",
			       i ? "," : "", name, vips[i].id, (unsigned long long)t.packets,
			       (unsigned long long)t.bytes, (unsigned long long)t.new_flows);
		else
			printf("  %-28s packets %-10llu bytes %-12llu new_flows %llu\n", name,
			       (unsigned long long)t.packets, (unsigned long long)t.bytes,
			       (unsigned long long)t.new_flows);
	}
	printf(g.json ? "],\"backends\":[" : "backends:\n");
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		struct flb_backend be;
		struct flb_traffic t = {};
		char a[INET6_ADDRSTRLEN];

		if (maps_get_backend(m, id, &be) || be.state == FLB_BE_UNUSED)
			continue;
		maps_read_be_stats(m, id, &t);
		inet_ntop(be.family == FLB_AF_INET6 ? AF_INET6 : AF_INET, be.addr, a, sizeof(a));
		if (g.json)
			printf("%s{\"backend\":\"%s\",\"id\":%u,\"gen\":%u,\"state\":\"%s\",\"packets\":%llu,\"bytes\":%llu,\"new_flows\":%llu}",
			       first ? "" : ",", a, id, be.gen,
			       be.state == FLB_BE_ACTIVE ? "active" : "draining",
			       (unsigned long long)t.packets, (unsigned long long)t.bytes,
			       (unsigned long long)t.new_flows);
		else
			printf("  %-28s id %-5u packets %-10llu bytes %-12llu new_flows %llu\n", a, id,
			       (unsigned long long)t.packets, (unsigned long long)t.bytes,
			       (unsigned long long)t.new_flows);
		first = false;
	}
	printf(g.json ? "]}\n" : "");
	maps_close(m);
	return 0;
}

static bool skb_mode;

/* Every address of this host (all interfaces of the namespace): an IPIP
 * packet to any of them is for us. */
static int decap_fill_addrs(struct decap *skel)
{
	int fd = bpf_map__fd(skel->maps.flb_dcp_addrs), n = 0;
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		struct flb_dcp_addr key = {};
		__u32 val = if_nametoindex(i->ifa_name);

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			key.family = FLB_AF_INET;
			key.addr[0] = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			key.family = FLB_AF_INET6;
			memcpy(key.addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		if (!bpf_map_update_elem(fd, &key, &val, BPF_ANY))
			n++;
	}
	freeifaddrs(ifa);
	return n;
}

static int decap_attach(const char *ifname)
{
	struct decap *skel = decap__open_and_load();
	int err;

	if (!skel)
		return fail(-errno, "cannot load the decap program");
	err = decap_fill_addrs(skel);
	if (err <= 0) {
		decap__destroy(skel);
		return fail(err ? err : -EADDRNOTAVAIL, "no local address to decapsulate for");
	}
	err = xdp_attach(ifname, bpf_program__fd(skel->progs.decap), "decap",
			 skb_mode ? FLB_ATTACH_SKB : FLB_ATTACH_NATIVE);
	decap__destroy(skel); /* the attachment keeps program and map alive */
	if (err)
		return fail(err, "cannot attach decap");
	if (g.json)
		printf("{\"attached\":\"%s\"}\n", ifname);
	return 0;
}

/* The decap counters: found through the program attached to ifname. */
static int decap_stats(const char *ifname)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), map_ids[8], n;
	int ifindex = if_nametoindex(ifname), fd, mfd = -1;
	uint64_t v[FLB_R_MAX] = {};

	if (!ifindex)
		return fail(-ENODEV, "no such interface");
	if (bpf_xdp_query(ifindex, 0, &q) || !q.prog_id)
		return fail(-ENOENT, "no XDP program attached");
	fd = bpf_prog_get_fd_by_id(q.prog_id);
	if (fd < 0)
		return fail(-errno, "cannot open the attached program");
	info.nr_map_ids = 8;
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || strcmp(info.name, "decap")) {
		close(fd);
		return fail(-ENOENT, "the attached program is not fluxlb's decap");
	}
	close(fd);
	n = info.nr_map_ids < 8 ? info.nr_map_ids : 8;
	for (__u32 i = 0; i < n && mfd < 0; i++) {
		struct bpf_map_info mi = {};
		__u32 ml = sizeof(mi);
		int f = bpf_map_get_fd_by_id(map_ids[i]);

		if (f >= 0 && !bpf_obj_get_info_by_fd(f, &mi, &ml) &&
		    !strcmp(mi.name, "flb_dcp_reasons"))
			mfd = f;
		else if (f >= 0)
			close(f);
	}
	if (mfd < 0)
		return fail(-ENOENT, "decap counters not found");
	for (int r = FLB_R_DECAP_OK; r <= FLB_R_DECAP_BAD; r++)
		percpu_sum(mfd, r, &v[r], 1);
	close(mfd);
	if (g.json)
		printf("{");
	print_counters("decap", reason_names + FLB_R_DECAP_OK, v + FLB_R_DECAP_OK,
		       FLB_R_DECAP_BAD - FLB_R_DECAP_OK + 1, true);
	if (g.json)
		printf("}\n");
	return 0;
}

static int cmd_decap(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "Usage: fluxlb decap attach|detach|stats IFACE\n");
		return 2;
	}
	if (!strcmp(argv[1], "attach"))
		return decap_attach(argv[2]);
	if (!strcmp(argv[1], "detach"))
		return xdp_detach(argv[2], "decap") ? fail(-EIO, "cannot detach decap") : 0;
	if (!strcmp(argv[1], "stats"))
		return decap_stats(argv[2]);
	fprintf(stderr, "fluxlb decap: unknown subcommand '%s'\n", argv[1]);
	return 2;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "status", cmd_status },
	{ "stats", cmd_stats },
	{ "decap", cmd_decap },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "bpffs", required_argument, NULL, 'b' },
		{ "skb", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *bpffs = DEFAULT_BPFFS;
	int c;

	while ((c = getopt_long(argc, argv, "+jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			g.json = true;
			break;
		case 'b':
			bpffs = optarg;
			break;
		case 's':
			skb_mode = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs("Try 'fluxlb --help'.\n", stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	log_setup(LOG_WARN, false);
	log_route_libs();
	snprintf(g.pin_dir, sizeof(g.pin_dir), "%s/v%d", bpffs, FLB_ABI_VERSION);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[optind], commands[i].name))
			return commands[i].fn(argc - optind, argv + optind);
	fprintf(stderr, "fluxlb: unknown command '%s'\nTry 'fluxlb --help'.\n", argv[optind]);
	return 2;
}
