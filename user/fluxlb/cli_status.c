// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fluxlb status` (the ready flag, timeouts, how many VIPs, backends and
 * conntrack entries) and `fluxlb stats` (every reason and event counter,
 * traffic per VIP and per backend id), straight from the pinned maps.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli_cmds.h"
#include "cli_common.h"
#include "cli_out.h"
#include "xdp_query.h"
#include "flb_reasons.h"
#include "vip_name.h"

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

static void count_entry(const struct flb_flow *flow, const struct flb_ct *ct, void *ctx)
{
	(void)flow, (void)ct;
	(*(uint64_t *)ctx)++;
}

/* The interfaces fluxlbd attached to, as the kernel sees their hooks now. */
static void print_ifaces(void)
{
	struct xdp_iface_state x[16];
	size_t n = xdp_query_pinned(cli.pin_dir, x, 16);

	cli_text("interfaces:");
	if (!n)
		cli_text(" none\n");
	cli_arr_open("interfaces");
	for (size_t i = 0; i < n; i++) {
		cli_obj_open(NULL);
		cli_str("name", " %s", x[i].name);
		cli_str("mode", " %s", x[i].mode);
		cli_str("program", " (%s)", x[i].program);
		cli_text(i + 1 < n ? "," : "\n");
		cli_obj_close();
	}
	cli_arr_close();
}

/* Flood defence (docs/circuit-breaking.md): the threshold as the daemon
 * wrote it (per CPU, and times the online CPUs as configured), CPUs in flood
 * mode now, new flows in the CPUs' current one-second windows. */
static void print_flood(const struct flb_maps *m, const struct flb_ctl *ctl)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t node = (uint64_t)ctl->flood_nfps * (uint64_t)(cpus > 0 ? cpus : 1), rate = 0;
	uint32_t in_flood = 0;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	maps_read_flood(m, (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec, &in_flood,
			&rate);
	cli_obj_open("flood");
	cli_bool("on", "flood:      %s", ctl->flood_nfps != 0);
	if (ctl->flood_nfps) {
		cli_u64("threshold", ", threshold %llu new flows/s", node);
		cli_u64("threshold_cpu", " (%llu per CPU)", ctl->flood_nfps);
		cli_u64("cpus_in_flood", ", CPUs in flood mode %llu", in_flood);
	} else {
		cli_u64("threshold", NULL, 0);
		cli_u64("threshold_cpu", NULL, 0);
		cli_u64("cpus_in_flood", NULL, 0);
	}
	cli_u64("rate", ", rate %llu new flows/s\n", rate);
	cli_obj_close();
}

static int cmd_status(int argc, char **argv)
{
	uint64_t states[4] = {}, entries = 0;
	struct flb_backend *be = NULL;
	struct cli_vips *v = NULL;
	struct flb_ctl ctl = {};
	struct flb_maps *m;
	int rc = CLI_FAIL, err;

	(void)argv;
	if (argc > 1)
		return cli_usage(&cli_cmd_status, "unexpected argument '%s'", argv[1]);
	m = cli_open_maps();
	if (!m)
		return CLI_FAIL;
	v = cli_read_vips(m);
	be = cli_read_backends(m);
	err = !v || !be ? -ENOMEM : maps_get_ctl(m, &ctl);
	if (!err)
		err = maps_ct_scan(m, count_entry, &entries);
	if (err) {
		cli_fail(err, "cannot read the maps");
		goto out;
	}
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
		if (be[id].state < 4)
			states[be[id].state]++;

	cli_obj_open(NULL);
	cli_bool("ready", "ready:      %s\n", ctl.ready);
	cli_u64("abi", "abi:        v%llu\n", FLB_ABI_VERSION);
	cli_str("pin_dir", "pin_dir:    %s\n", cli.pin_dir);
	cli_u64("vips", "vips:       %llu\n", (uint64_t)v->n);
	cli_u64("backends", "backends:   %llu", states[1] + states[2] + states[3]);
	cli_u64("backends_active", " (active %llu", states[1]);
	cli_u64("backends_draining", ", draining %llu", states[2]);
	cli_u64("backends_down", ", down %llu)\n", states[3]);
	cli_u64("conntrack_entries", "conntrack:  %llu entries\n", entries);
	cli_u64("tcp_timeout_s", "timeouts:   tcp %llus", ctl.tcp_timeout_s);
	cli_u64("udp_timeout_s", ", udp %llus\n", ctl.udp_timeout_s);
	print_flood(m, &ctl);
	print_ifaces();
	cli_obj_close();
	rc = CLI_OK;
out:
	free(be);
	free(v);
	maps_close(m);
	return rc;
}

static void print_counters(const char *key, const char *title, const char *const *names,
			   const uint64_t *vals, int n)
{
	cli_text("%s:\n", title);
	cli_obj_open(key);
	for (int i = 0; i < n; i++) {
		cli_text("  %-18s", names[i]);
		cli_u64(names[i], " %llu\n", vals[i]);
	}
	cli_obj_close();
}

static void print_traffic(const struct flb_traffic *t)
{
	cli_u64("packets", "  packets %-10llu", t->packets);
	cli_u64("bytes", " bytes %-12llu", t->bytes);
	cli_u64("new_flows", " new_flows %llu\n", t->new_flows);
}

static int cmd_stats(int argc, char **argv)
{
	uint64_t reasons[FLB_R_MAX], events[FLB_E_MAX];
	struct flb_backend *be = NULL;
	struct cli_vips *v = NULL;
	struct flb_maps *m;
	int rc = CLI_FAIL, err;

	if (argc > 1)
		return cli_usage(&cli_cmd_stats, "unexpected argument '%s'", argv[1]);
	m = cli_open_maps();
	if (!m)
		return CLI_FAIL;
	v = cli_read_vips(m);
	be = cli_read_backends(m);
	err = !v || !be ? -ENOMEM : maps_read_reasons(m, reasons);
	if (!err)
		err = maps_read_events(m, events);
	if (err) {
		cli_fail(err, "cannot read counters");
		goto out;
	}
	cli_obj_open(NULL);
	print_counters("reasons", "reasons", reason_names, reasons, FLB_R_MAX);
	print_counters("events", "events", event_names, events, FLB_E_MAX);

	cli_text("vips:\n");
	cli_arr_open("vips");
	for (int i = 0; i < v->n; i++) {
		struct flb_traffic t = {};
		char name[VIP_NAME_STRLEN];

		maps_read_vip_stats(m, v->vips[i].id, &t);
		vip_name(&v->keys[i], name, sizeof(name));
		cli_obj_open(NULL);
		cli_str("vip", "  %-28s", name);
		cli_u64("id", " id %-5llu", v->vips[i].id);
		print_traffic(&t);
		cli_obj_close();
	}
	cli_arr_close();

	cli_text("backends:\n");
	cli_arr_open("backends");
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		struct flb_traffic t = {};
		char a[48];

		if (be[id].state == FLB_BE_UNUSED)
			continue;
		maps_read_be_stats(m, id, &t);
		cli_addr(be[id].addr, be[id].family, a, sizeof(a));
		cli_obj_open(NULL);
		cli_str("backend", "  %-28s", a);
		cli_u64("id", " id %-5llu", id);
		cli_u64("gen", NULL, be[id].gen);
		cli_str("state", " %-9s", cli_state_name(be[id].state));
		print_traffic(&t);
		cli_obj_close();
	}
	cli_arr_close();
	cli_obj_close();
	rc = CLI_OK;
out:
	free(be);
	free(v);
	maps_close(m);
	return rc;
}

const struct cli_cmd cli_cmd_status = {
	"status", cmd_status, "ready flag, timeouts, VIP, backend and conntrack entry counts",
	"Usage: fluxlb [-j] status\n"
	"\n"
	"The balancer's state from the pinned maps: the ready flag (set by fluxlbd\n"
	"once the maps are filled), the conntrack timeouts, how many VIPs, backend\n"
	"ids by state (active, draining, down) and conntrack entries there are.\n"
	"JSON keys: ready, abi, pin_dir, vips, backends, backends_active,\n"
	"backends_draining, backends_down, conntrack_entries, tcp_timeout_s,\n"
	"udp_timeout_s, flood {on, threshold (new flows per second, node-wide),\n"
	"threshold_cpu, cpus_in_flood, rate (new flows in the CPUs' current\n"
	"one-second windows; counted only while flood defence is on)}, interfaces [{name, mode (native, skb, offload, none),\n"
	"program (balancer, other: libxdp's dispatcher or someone else's, none)}]:\n"
	"the interfaces fluxlbd attached to (a prog_IFACE pin) as the kernel\n"
	"reports their XDP hook now.\n",
};

const struct cli_cmd cli_cmd_stats = {
	"stats", cmd_stats, "reason and event counters, traffic per VIP and per backend",
	"Usage: fluxlb [-j] stats\n"
	"\n"
	"Every counter of the balancer, summed over CPUs: packets by reason (each\n"
	"packet counts one), events (conntrack hits, misses, inserts, ...), and\n"
	"packets, bytes and new flows per VIP and per backend id in use.\n"
	"JSON: {\"reasons\": {NAME: n}, \"events\": {NAME: n}, \"vips\": [{vip, id,\n"
	"packets, bytes, new_flows}], \"backends\": [{backend, id, gen, state,\n"
	"packets, bytes, new_flows}]}.\n",
};
