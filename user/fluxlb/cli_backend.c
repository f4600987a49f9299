// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fluxlb backend list [VIP]`: backend ids in use with address, generation,
 * state, table slots, live conntrack entries naming them, and their traffic
 * counters. With a VIP, only the backends in its table or named by its
 * conntrack entries (a draining backend has no slots but may have flows),
 * and slots and flows count that VIP only; traffic counters are per backend
 * id, all VIPs together, as the dataplane keeps them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_cmds.h"
#include "cli_common.h"
#include "cli_out.h"

struct tally {
	const struct cli_vips *v;
	const bool *vip_on;         /* [FLB_MAX_VIPS] by index in v: counted */
	const struct flb_backend *be;
	struct flb_ctl ctl;
	uint64_t now;
	uint64_t *flows;            /* [FLB_MAX_BACKENDS] */
	bool *shown;                /* [FLB_MAX_BACKENDS] */
};

static void tally_flow(const struct flb_flow *f, const struct flb_ct *ct, void *ctx)
{
	struct tally *t = ctx;
	int vip = cli_vip_of_flow(t->v, f);

	if (vip < 0 || !t->vip_on[vip] || !cli_ct_steers(cli_ct_state(f, ct, t->be, &t->ctl, t->now)))
		return;
	t->flows[ct->backend]++;
	t->shown[ct->backend] = true;
}

/* Slots per backend id over the counted VIPs' tables; those ids are shown. */
static int tally_slots(const struct flb_maps *m, const struct tally *t, uint64_t *slots)
{
	for (int i = 0; i < t->v->n; i++) {
		uint32_t *ids, size;
		int err;

		if (!t->vip_on[i])
			continue;
		err = maps_get_ring(m, t->v->vips[i].id, &ids, &size);
		if (err == -ENOENT)
			continue;
		if (err)
			return err;
		for (uint32_t s = 0; s < size; s++) {
			if (!ids[s] || ids[s] >= FLB_MAX_BACKENDS)
				continue;
			slots[ids[s]]++;
			t->shown[ids[s]] = true;
		}
		free(ids);
	}
	return 0;
}

static void print_backend(const struct flb_maps *m, uint32_t id, const struct flb_backend *be,
			  uint64_t slots, uint64_t flows, const char *addr_fmt)
{
	struct flb_traffic tr = {};
	char a[48];

	maps_read_be_stats(m, id, &tr);
	cli_addr(be->addr, be->family, a, sizeof(a));
	cli_obj_open(NULL);
	cli_u64("id", "%5llu", id);
	cli_str("address", addr_fmt, be->family ? a : NULL);
	cli_u64("gen", " %5llu", be->gen);
	cli_str("state", " %-9s", cli_state_name(be->state));
	cli_u64("slots", " %8llu", slots);
	cli_u64("flows", " %8llu", flows);
	cli_u64("packets", " %12llu", tr.packets);
	cli_u64("bytes", NULL, tr.bytes);
	cli_u64("new_flows", " %10llu\n", tr.new_flows);
	cli_obj_close();
}

static int cmd_backend_list(int argc, char **argv)
{
	bool *vip_on = calloc(FLB_MAX_VIPS, sizeof(*vip_on));
	uint64_t *slots = calloc(FLB_MAX_BACKENDS, sizeof(*slots));
	struct tally t = {
		.flows = calloc(FLB_MAX_BACKENDS, sizeof(*t.flows)),
		.shown = calloc(FLB_MAX_BACKENDS, sizeof(*t.shown)),
		.vip_on = vip_on,
	};
	struct flb_backend *be = NULL;
	struct cli_vips *v = NULL;
	struct flb_maps *m = NULL;
	struct cli_vip_sel sel;
	char addr_fmt[16];
	int rc = CLI_FAIL, err, width = 15;

	if (argc > 2) {
		rc = cli_usage(&cli_cmd_backend_list, "unexpected argument '%s'", argv[2]);
		goto out;
	}
	if (argc == 2 && cli_parse_vip_sel(argv[1], &sel)) {
		rc = cli_usage(&cli_cmd_backend_list, "bad VIP '%s'", argv[1]);
		goto out;
	}
	m = cli_open_maps();
	if (!m)
		goto out;
	t.v = v = cli_read_vips(m);
	t.be = be = cli_read_backends(m);
	err = !v || !be || !vip_on || !slots || !t.flows || !t.shown ? -ENOMEM :
								       maps_get_ctl(m, &t.ctl);
	if (err) {
		cli_fail(err, "cannot read the maps");
		goto out;
	}
	for (int i = 0; i < v->n; i++)
		vip_on[i] = argc < 2 || cli_vip_sel_match(&sel, &v->keys[i]);
	if (argc < 2)
		for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
			t.shown[id] = be[id].state != FLB_BE_UNUSED;
	t.now = clock_ns();
	err = tally_slots(m, &t, slots);
	if (!err)
		err = maps_ct_scan(m, tally_flow, &t);
	if (err) {
		cli_fail(err, "cannot read the tables or conntrack");
		goto out;
	}

	/* The address column: 15 wide (IPv4), wider for IPv6 rows that need it. */
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		char a[48];

		if (!t.shown[id] || !be[id].family)
			continue;
		cli_addr(be[id].addr, be[id].family, a, sizeof(a));
		width = (int)strlen(a) > width ? (int)strlen(a) : width;
	}
	snprintf(addr_fmt, sizeof(addr_fmt), "  %%-%ds", width);
	cli_obj_open(NULL);
	cli_str("vip", NULL, argc == 2 ? argv[1] : NULL);
	cli_text("%5s  %-*s %5s %-9s %8s %8s %12s %10s\n", "ID", width, "ADDRESS", "GEN", "STATE",
		 "SLOTS", "FLOWS", "PACKETS", "NEW_FLOWS");
	cli_arr_open("backends");
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
		if (t.shown[id])
			print_backend(m, id, &be[id], slots[id], t.flows[id], addr_fmt);
	cli_arr_close();
	cli_obj_close();
	rc = CLI_OK;
out:
	free(t.shown);
	free(t.flows);
	free(slots);
	free(vip_on);
	free(be);
	free(v);
	maps_close(m);
	return rc;
}

const struct cli_cmd cli_cmd_backend_list = {
	"backend list", cmd_backend_list, "backends with state, slots, live flows and traffic",
	"Usage: fluxlb [-j] backend list [VIP]\n"
	"\n"
	"Every backend id in use, or with VIP (ADDR[:PORT][/tcp|/udp], IPv6 as\n"
	"[ADDR]:PORT) the backends in that VIP's table or named by its live\n"
	"conntrack entries. Columns: id, address, generation (bumped when the id\n"
	"goes to another address), state (active, draining, down), slots in the\n"
	"table(s), flows (live or closing conntrack entries naming this id and\n"
	"generation, not expired: a closed connection's entry stops counting 10 s\n"
	"after its last packet), and the id's packets, bytes and new flows\n"
	"(all VIPs together: the dataplane counts per backend id).\n"
	"JSON: {\"vip\": VIP or null, \"backends\": [{id, address, gen, state, slots,\n"
	"flows, packets, bytes, new_flows}]}.\n",
};
