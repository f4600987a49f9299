// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fluxlb tree [VIP] [--watch[=SECONDS]] [--count N] [--sort KEY] [-H]`:
 * each VIP with its service and the backends of its live table (or named
 * by its live conntrack entries), as ipvsadm -Ln shows virtual servers and
 * real servers: service, configured weight, state, slots, live flows,
 * traffic and, from the second frame of --watch on, rates. Service names
 * and weights come from the daemon's flb_svc_names map (pinned_maps.h);
 * everything else from the same maps as the other commands. Columns are
 * as wide as their widest value, so IPv6 rows line up.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_cmds.h"
#include "cli_common.h"
#include "cli_out.h"
#include "cli_units.h"
#include "vip_name.h"

enum sort_key { SORT_ID, SORT_ADDRESS, SORT_WEIGHT, SORT_SLOTS, SORT_FLOWS, SORT_PACKETS,
		SORT_BYTES, SORT_NEW_FLOWS };
static const char *const sort_names[] = { "id", "address", "weight", "slots", "flows",
					  "packets", "bytes", "new_flows" };

struct row {                    /* a backend under one VIP */
	uint32_t id;
	char address[48];
	uint8_t state;              /* FLB_BE_* */
	struct maps_name name;      /* service, weight; service "" when unknown */
	bool named;
	uint64_t slots, flows;
	struct flb_traffic tr;      /* per backend id, all VIPs */
};

struct vip_view {
	char name[VIP_NAME_STRLEN];
	uint32_t id;
	char service[64];
	uint32_t table_size;
	uint64_t flows;
	struct flb_traffic tr;
	struct row *rows;
	size_t n_rows;
};

struct frame {
	struct vip_view *v;
	size_t n;
	uint64_t at_ns;
	/* Totals per id of the previous frame, for rates (NULL: first frame). */
	struct flb_traffic *be_tr;  /* [FLB_MAX_BACKENDS] */
	struct flb_traffic *vip_tr; /* [FLB_MAX_VIPS] */
};

struct scan_ctx {
	const struct cli_vips *v;
	const struct flb_backend *be;
	struct flb_ctl ctl;
	uint64_t now;
	uint64_t *flows;            /* [n VIPs][FLB_MAX_BACKENDS] */
	uint64_t *vip_flows;        /* [n VIPs] */
};

static void count_flow(const struct flb_flow *f, const struct flb_ct *ct, void *arg)
{
	struct scan_ctx *c = arg;
	int vi = cli_vip_of_flow(c->v, f);

	if (vi < 0 || ct->backend >= FLB_MAX_BACKENDS ||
	    !cli_ct_steers(cli_ct_state(f, ct, c->be, &c->ctl, c->now)))
		return;
	c->flows[(size_t)vi * FLB_MAX_BACKENDS + ct->backend]++;
	c->vip_flows[vi]++;
}

static enum sort_key sort_by;

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	uint64_t p = 0, q = 0;

	switch (sort_by) {
	case SORT_ID: return x->id < y->id ? -1 : x->id > y->id;
	case SORT_ADDRESS: return strcmp(x->address, y->address);
	case SORT_WEIGHT: p = x->name.weight; q = y->name.weight; break;
	case SORT_SLOTS: p = x->slots; q = y->slots; break;
	case SORT_FLOWS: p = x->flows; q = y->flows; break;
	case SORT_PACKETS: p = x->tr.packets; q = y->tr.packets; break;
	case SORT_BYTES: p = x->tr.bytes; q = y->tr.bytes; break;
	case SORT_NEW_FLOWS: p = x->tr.new_flows; q = y->tr.new_flows; break;
	}
	if (p != q)
		return p > q ? -1 : 1; /* numbers: largest first */
	return x->id < y->id ? -1 : x->id > y->id;
}

static void frame_free(struct frame *f)
{
	for (size_t i = 0; f->v && i < f->n; i++)
		free(f->v[i].rows);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

/* One VIP's rows: ids with slots in its table or flows in conntrack. */
static int read_vip(const struct flb_maps *m, const struct cli_vips *v, int vi,
		    const struct flb_backend *be, const uint64_t *flows, struct vip_view *out)
{
	uint64_t *slots = calloc(FLB_MAX_BACKENDS, sizeof(*slots));
	uint32_t *ids = NULL, size = 0;
	struct maps_name vn;
	size_t n = 0;
	int err;

	if (!slots)
		return -ENOMEM;
	vip_name(&v->keys[vi], out->name, sizeof(out->name));
	out->id = v->vips[vi].id;
	if (!maps_get_name(m, out->id, 0, &vn))
		snprintf(out->service, sizeof(out->service), "%s", vn.service);
	maps_read_vip_stats(m, out->id, &out->tr);
	err = maps_get_ring(m, out->id, &ids, &size);
	if (err == -ENOENT)
		err = 0;
	if (err)
		goto out;
	out->table_size = size;
	for (uint32_t s = 0; s < size; s++)
		if (ids[s] && ids[s] < FLB_MAX_BACKENDS)
			slots[ids[s]]++;
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
		n += slots[id] || flows[id];
	out->rows = calloc(n + 1, sizeof(*out->rows));
	if (!out->rows) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		struct row *r = &out->rows[out->n_rows];

		if (!slots[id] && !flows[id])
			continue;
		r->id = id;
		cli_addr(be[id].addr, be[id].family, r->address, sizeof(r->address));
		r->state = be[id].state;
		r->named = !maps_get_name(m, out->id, id, &r->name);
		r->slots = slots[id];
		r->flows = flows[id];
		maps_read_be_stats(m, id, &r->tr);
		out->n_rows++;
	}
	qsort(out->rows, out->n_rows, sizeof(*out->rows), cmp_rows);
out:
	free(ids);
	free(slots);
	return err;
}

static int read_frame(const struct flb_maps *m, const struct cli_vip_sel *sel, struct frame *f)
{
	struct scan_ctx c = {};
	struct cli_vips *v = cli_read_vips(m);
	struct flb_backend *be = cli_read_backends(m);
	int err = !v || !be ? -ENOMEM : maps_get_ctl(m, &c.ctl);

	if (err)
		goto out;
	c.v = v;
	c.be = be;
	c.now = clock_ns();
	c.flows = calloc((size_t)v->n * FLB_MAX_BACKENDS + 1, sizeof(*c.flows));
	c.vip_flows = calloc((size_t)v->n + 1, sizeof(*c.vip_flows));
	f->v = calloc((size_t)v->n + 1, sizeof(*f->v));
	if (!c.flows || !c.vip_flows || !f->v) {
		err = -ENOMEM;
		goto out;
	}
	err = maps_ct_scan(m, count_flow, &c);
	for (int i = 0; !err && i < v->n; i++) {
		if (sel && !cli_vip_sel_match(sel, &v->keys[i]))
			continue;
		err = read_vip(m, v, i, be, c.flows + (size_t)i * FLB_MAX_BACKENDS, &f->v[f->n]);
		f->v[f->n].flows = c.vip_flows[i];
		f->n++;
	}
	f->at_ns = clock_ns();
out:
	free(c.flows);
	free(c.vip_flows);
	free(be);
	free(v);
	return err;
}

/* Per second between the previous frame and this one; -1: no rate yet. */
static double rate(uint64_t now, uint64_t before, double dt)
{
	return dt > 0 && now >= before ? (double)(now - before) / dt : -1;
}

struct widths {
	int name, service;
};

static void print_rates(const struct flb_traffic *now, const struct flb_traffic *before, double dt,
			bool human)
{
	double pps = before ? rate(now->packets, before->packets, dt) : -1;
	double bps = before ? rate(now->bytes, before->bytes, dt) : -1;
	double nps = before ? rate(now->new_flows, before->new_flows, dt) : -1;
	char buf[24];

	if (cli_out_json()) {
		if (pps < 0) {
			cli_str("rates", NULL, NULL);
			return;
		}
		cli_obj_open("rates");
		cli_dbl("packets_per_s", NULL, pps);
		cli_dbl("bytes_per_s", NULL, bps);
		cli_dbl("new_flows_per_s", NULL, nps);
		cli_obj_close();
		return;
	}
	cli_text(" %8s", pps < 0 ? "-" : cli_fmt_count(pps, human, buf, sizeof(buf)));
	cli_text(" %9s", bps < 0 ? "-" : cli_fmt_bytes(bps, human, buf, sizeof(buf)));
	cli_text(" %7s", nps < 0 ? "-" : cli_fmt_count(nps, human, buf, sizeof(buf)));
}

static void print_traffic(const struct flb_traffic *t, bool human)
{
	char buf[24];

	if (cli_out_json()) {
		cli_u64("packets", NULL, t->packets);
		cli_u64("bytes", NULL, t->bytes);
		cli_u64("new_flows", NULL, t->new_flows);
		return;
	}
	cli_text(" %10s", cli_fmt_count((double)t->packets, human, buf, sizeof(buf)));
	cli_text(" %10s", cli_fmt_bytes((double)t->bytes, human, buf, sizeof(buf)));
	cli_text(" %9s", cli_fmt_count((double)t->new_flows, human, buf, sizeof(buf)));
}

static void print_frame(const struct frame *f, const struct frame *prev, bool human)
{
	double dt = prev && prev->at_ns ? (double)(f->at_ns - prev->at_ns) / 1e9 : 0;
	struct widths w = { .name = 13, .service = 7 };

	for (size_t i = 0; i < f->n; i++) {
		const struct vip_view *x = &f->v[i];
		int l = (int)strlen(x->name);

		w.name = l > w.name ? l : w.name;
		l = (int)strlen(x->service);
		w.service = l > w.service ? l : w.service;
		for (size_t k = 0; k < x->n_rows; k++) {
			l = 3 + (int)strlen(x->rows[k].address);
			w.name = l > w.name ? l : w.name;
		}
	}
	cli_obj_open(NULL);
	cli_text("%-*s  %-*s %6s %-9s %6s %7s %10s %10s %9s %8s %9s %7s\n", w.name,
		 "VIP / BACKEND", w.service, "SERVICE", "WEIGHT", "STATE", "SLOTS", "FLOWS",
		 "PACKETS", "BYTES", "NEW_FLOWS", "PKT/S", "BYTES/S", "NEW/S");
	cli_arr_open("vips");
	for (size_t i = 0; i < f->n; i++) {
		const struct vip_view *x = &f->v[i];

		cli_obj_open(NULL);
		cli_str("vip", NULL, x->name);
		cli_text("%-*s", w.name, x->name);
		cli_u64("id", NULL, x->id);
		cli_str("service", NULL, x->service[0] ? x->service : NULL);
		cli_text("  %-*s %6s %-9s", w.service, x->service[0] ? x->service : "-", "", "");
		cli_u64("table_size", " %6llu", x->table_size);
		cli_u64("flows", " %7llu", x->flows);
		print_traffic(&x->tr, human);
		print_rates(&x->tr, prev && prev->vip_tr ? &prev->vip_tr[x->id] : NULL, dt, human);
		cli_text("\n");
		cli_arr_open("backends");
		for (size_t k = 0; k < x->n_rows; k++) {
			const struct row *r = &x->rows[k];
			char tree[64];

			snprintf(tree, sizeof(tree), "%s %s", k + 1 < x->n_rows ? "├─" : "└─",
				 r->address);
			cli_obj_open(NULL);
			cli_u64("id", NULL, r->id);
			cli_str("address", NULL, r->address);
			/* The glyphs are 3 bytes each in UTF-8: pad by characters. */
			cli_text("%-*s", w.name + 4, tree);
			cli_str("service", NULL, r->named ? r->name.service : NULL);
			cli_text("  %-*s", w.service, r->named ? r->name.service : "-");
			if (r->named)
				cli_u64("weight", " %6llu", r->name.weight);
			else
				cli_str("weight", " %6s", NULL);
			cli_str("state", " %-9s", cli_state_name(r->state));
			cli_u64("slots", " %6llu", r->slots);
			cli_u64("flows", " %7llu", r->flows);
			print_traffic(&r->tr, human);
			print_rates(&r->tr, prev && prev->be_tr ? &prev->be_tr[r->id] : NULL, dt,
				    human);
			cli_text("\n");
			cli_obj_close();
		}
		cli_arr_close();
		cli_obj_close();
	}
	cli_arr_close();
	cli_obj_close();
}

/* Remembers this frame's totals for the next one's rates. */
static int keep_totals(const struct frame *f, struct frame *prev)
{
	if (!prev->be_tr)
		prev->be_tr = calloc(FLB_MAX_BACKENDS, sizeof(*prev->be_tr));
	if (!prev->vip_tr)
		prev->vip_tr = calloc(FLB_MAX_VIPS, sizeof(*prev->vip_tr));
	if (!prev->be_tr || !prev->vip_tr)
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++) {
		if (f->v[i].id < FLB_MAX_VIPS)
			prev->vip_tr[f->v[i].id] = f->v[i].tr;
		for (size_t k = 0; k < f->v[i].n_rows; k++)
			prev->be_tr[f->v[i].rows[k].id] = f->v[i].rows[k].tr;
	}
	prev->at_ns = f->at_ns;
	return 0;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct tree_opts {
	double watch_s;             /* 0: one frame */
	long count;                 /* frames with --watch; 0: until interrupted */
	bool human;
	bool have_sel;
	struct cli_vip_sel sel;
};

static int parse(int argc, char **argv, struct tree_opts *o)
{
	static const struct option opts[] = {
		{ "watch", optional_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ "human", no_argument, NULL, 'H' },
		{}
	};
	char *end;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "Hw::n:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			o->watch_s = optarg ? strtod(optarg, &end) : 2.0;
			if (optarg && (*end || o->watch_s < 0.1 || o->watch_s > 3600))
				return cli_usage(&cli_cmd_tree, "bad --watch '%s' (0.1..3600 s)", optarg);
			break;
		case 'n':
			o->count = strtol(optarg, &end, 10);
			if (*end || o->count < 1)
				return cli_usage(&cli_cmd_tree, "bad --count '%s'", optarg);
			break;
		case 's': {
			size_t k;

			for (k = 0; k < sizeof(sort_names) / sizeof(sort_names[0]); k++)
				if (!strcmp(optarg, sort_names[k]))
					break;
			if (k == sizeof(sort_names) / sizeof(sort_names[0]))
				return cli_usage(&cli_cmd_tree, "bad --sort '%s'", optarg);
			sort_by = (enum sort_key)k;
			break;
		}
		case 'H':
			o->human = true;
			break;
		default:
			return cli_usage(&cli_cmd_tree, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc - 1)
		return cli_usage(&cli_cmd_tree, "unexpected argument '%s'", argv[optind + 1]);
	if (optind == argc - 1) {
		if (cli_parse_vip_sel(argv[optind], &o->sel))
			return cli_usage(&cli_cmd_tree, "bad VIP '%s'", argv[optind]);
		o->have_sel = true;
	}
	if (o->count && !o->watch_s)
		return cli_usage(&cli_cmd_tree, "--count needs --watch");
	return CLI_OK;
}

static int cmd_tree(int argc, char **argv)
{
	struct tree_opts o = {};
	struct frame prev = {};
	struct flb_maps *m;
	bool tty = isatty(STDOUT_FILENO);
	int rc = parse(argc, argv, &o), err = 0;

	if (rc != CLI_OK)
		return rc;
	m = cli_open_maps();
	if (!m)
		return CLI_FAIL;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (long frame = 1; !stop; frame++) {
		struct frame f = {};

		err = read_frame(m, o.have_sel ? &o.sel : NULL, &f);
		if (err) {
			frame_free(&f);
			break;
		}
		if (o.watch_s && tty && !cli_out_json())
			cli_text("\033[H\033[2J"); /* a screen per frame, as watch(1) */
		print_frame(&f, frame > 1 ? &prev : NULL, o.human);
		err = keep_totals(&f, &prev);
		frame_free(&f);
		if (err || !o.watch_s || (o.count && frame >= o.count))
			break;
		/* Each frame is written as it is ready (JSON: one object per line). */
		if (cli_out_end()) {
			err = -EIO;
			break;
		}
		cli_out_begin(cli.json);
		nanosleep(&(struct timespec){ .tv_sec = (time_t)o.watch_s,
					      .tv_nsec = (long)((o.watch_s - (time_t)o.watch_s) * 1e9) },
			  NULL);
	}
	free(prev.be_tr);
	free(prev.vip_tr);
	maps_close(m);
	if (err)
		return cli_fail(err, "cannot read the maps");
	return CLI_OK;
}

const struct cli_cmd cli_cmd_tree = {
	"tree", cmd_tree, "VIPs and their backends: service, weight, slots, flows, rates",
	"Usage: fluxlb [-j] tree [VIP] [--watch[=SECONDS]] [--count N] [--sort KEY] [-H]\n"
	"\n"
	"Every VIP (or those VIP selects: ADDR[:PORT][/tcp|/udp], IPv6 as\n"
	"[ADDR]:PORT) with its service and table size, and under it each backend\n"
	"of its live table or named by its live conntrack entries: service and\n"
	"configured weight (from the daemon's flb_svc_names map; \"-\" when an\n"
	"older fluxlbd wrote the maps), state (active: holds slots; draining:\n"
	"flows only), slots, flows (live or closing conntrack entries of this\n"
	"VIP), and packets, bytes and new flows. VIP rows count the VIP's\n"
	"traffic; backend rows the backend id's, all VIPs together (the\n"
	"dataplane counts per id).\n"
	"\n"
	"  --watch[=SECONDS]  redraw every SECONDS (default 2, 0.1..3600) until\n"
	"                     interrupted; from the second frame on, the rate\n"
	"                     columns show packets, bytes and new flows per second\n"
	"                     over the last interval (\"-\" before). With -j, one\n"
	"                     JSON object per line per frame.\n"
	"  --count N          with --watch: stop after N frames\n"
	"  --sort KEY         order of the backends: id (default), address,\n"
	"                     weight, slots, flows, packets, bytes, new_flows\n"
	"                     (numbers largest first)\n"
	"  -H, --human        counts as 1.2k/3.4M, bytes as KiB/MiB (text only)\n"
	"\n"
	"JSON: {\"vips\": [{vip, id, service, table_size, flows, packets, bytes,\n"
	"new_flows, rates: null or {packets_per_s, bytes_per_s, new_flows_per_s},\n"
	"\"backends\": [{id, address, service, weight, state, slots, flows,\n"
	"packets, bytes, new_flows, rates}]}]}.\n",
};
