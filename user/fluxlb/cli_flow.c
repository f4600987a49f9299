// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fluxlb flow list [--vip VIP] [--backend ADDR] [--limit N]`: conntrack
 * entries, most recently used first, with the backend they name (the id's
 * current address), their age, and what the dataplane makes of them now
 * (live, expired, stale). The whole table is read in batches, filtered,
 * sorted, then cut to the limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_cmds.h"
#include "cli_common.h"
#include "cli_out.h"

#define DEFAULT_LIMIT 100

struct entry {
	struct flb_flow flow;
	struct flb_ct ct;
	double idle_s;   /* as the dataplane counts it, at the end of the scan */
};

struct scan {
	const struct cli_vips *v;
	const struct flb_backend *be;
	bool by_vip, by_backend;
	struct cli_vip_sel vip;
	struct flb_addr backend;
	struct entry *e;
	size_t n, cap;
	bool oom;
};

static bool backend_is(const struct flb_backend *be, const struct flb_addr *a)
{
	uint8_t family = a->family == AF_INET6 ? FLB_AF_INET6 : FLB_AF_INET;

	return be->family == family && !memcmp(be->addr, a->bytes, sizeof(be->addr));
}

static void collect(const struct flb_flow *f, const struct flb_ct *ct, void *ctx)
{
	struct scan *s = ctx;

	if (s->by_vip) {
		int i = cli_vip_of_flow(s->v, f);

		if (i < 0 || !cli_vip_sel_match(&s->vip, &s->v->keys[i]))
			return;
	}
	if (s->by_backend &&
	    (ct->backend >= FLB_MAX_BACKENDS || !backend_is(&s->be[ct->backend], &s->backend)))
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct entry *e = realloc(s->e, cap * sizeof(*e));

		if (!e) {
			s->oom = true;
			return;
		}
		s->e = e;
		s->cap = cap;
	}
	s->e[s->n].flow = *f;
	s->e[s->n].ct = *ct;
	s->n++;
}

/* Least idle first; ties by the key bytes. */
static int newest_first(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->idle_s != y->idle_s)
		return x->idle_s < y->idle_s ? -1 : 1;
	return memcmp(&x->flow, &y->flow, sizeof(x->flow));
}

/* Column widths: the IPv4 layout's, wider when an IPv6 value needs it. */
struct widths {
	int src, dst, be;
	char fsrc[16], fdst[16], fbe[16];
};

static void measure(const struct entry *e, const struct flb_backend *bes, struct widths *w)
{
	const struct flb_backend *be = e->ct.backend < FLB_MAX_BACKENDS ? &bes[e->ct.backend] : NULL;
	char buf[64];
	int l;

	cli_endpoint(e->flow.src, e->flow.family, e->flow.sport, buf, sizeof(buf));
	l = (int)strlen(buf);
	w->src = l > w->src ? l : w->src;
	cli_endpoint(e->flow.dst, e->flow.family, e->flow.dport, buf, sizeof(buf));
	l = (int)strlen(buf);
	w->dst = l > w->dst ? l : w->dst;
	if (be && be->family) {
		cli_addr(be->addr, be->family, buf, sizeof(buf));
		l = (int)strlen(buf);
		w->be = l > w->be ? l : w->be;
	}
}

static void print_entry(const struct entry *e, const struct flb_backend *bes,
			const struct flb_ctl *ctl, uint64_t now, const struct widths *w)
{
	const struct flb_backend *be = e->ct.backend < FLB_MAX_BACKENDS ? &bes[e->ct.backend] : NULL;
	char src[64], dst[64], a[48], pbuf[8];

	cli_endpoint(e->flow.src, e->flow.family, e->flow.sport, src, sizeof(src));
	cli_endpoint(e->flow.dst, e->flow.family, e->flow.dport, dst, sizeof(dst));
	if (be && be->family)
		cli_addr(be->addr, be->family, a, sizeof(a));
	cli_obj_open(NULL);
	cli_str("proto", "%-5s", cli_proto_name(e->flow.proto, pbuf, sizeof(pbuf)));
	cli_str("src", w->fsrc, src);
	cli_str("dst", w->fdst, dst);
	cli_str("backend", w->fbe, be && be->family ? a : NULL);
	cli_u64("backend_id", " %5llu", e->ct.backend);
	cli_u64("gen", NULL, e->ct.gen);
	cli_dbl("age_s", " %9.1fs", e->idle_s);
	cli_str("state", " %s\n", cli_ct_state_name(cli_ct_state(&e->flow, &e->ct, bes, ctl, now)));
	cli_obj_close();
}

static int parse_args(int argc, char **argv, struct scan *s, long *limit)
{
	static const struct option opts[] = {
		{ "vip", required_argument, NULL, 'v' },
		{ "backend", required_argument, NULL, 'b' },
		{ "limit", required_argument, NULL, 'l' },
		{}
	};
	int c;

	optind = 0; /* glibc: reinitialise (main parsed its own options) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'v':
			if (cli_parse_vip_sel(optarg, &s->vip))
				return cli_usage(&cli_cmd_flow_list, "bad --vip '%s'", optarg);
			s->by_vip = true;
			break;
		case 'b':
			if (addr_parse(optarg, &s->backend))
				return cli_usage(&cli_cmd_flow_list,
						 "bad --backend '%s' (an address, no port)", optarg);
			s->by_backend = true;
			break;
		case 'l':
			*limit = strtol(optarg, &end, 10);
			if (*end || !*optarg || *limit < 0)
				return cli_usage(&cli_cmd_flow_list, "bad --limit '%s'", optarg);
			break;
		default:
			return cli_usage(&cli_cmd_flow_list, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_flow_list, "unexpected argument '%s'", argv[optind]);
	return 0;
}

static int cmd_flow_list(int argc, char **argv)
{
	struct scan s = {};
	struct flb_ctl ctl = {};
	struct flb_maps *m = NULL;
	struct flb_backend *be = NULL;
	struct cli_vips *v = NULL;
	struct widths w = { .src = 21, .dst = 21, .be = 15 };
	long limit = DEFAULT_LIMIT;
	size_t shown;
	uint64_t now;
	int rc, err;

	rc = parse_args(argc, argv, &s, &limit);
	if (rc)
		return rc;
	rc = CLI_FAIL;
	m = cli_open_maps();
	if (!m)
		return rc;
	s.v = v = cli_read_vips(m);
	s.be = be = cli_read_backends(m);
	err = !v || !be ? -ENOMEM : maps_get_ctl(m, &ctl);
	if (!err)
		err = maps_ct_scan(m, collect, &s);
	if (!err && s.oom)
		err = -ENOMEM;
	if (err) {
		cli_fail(err, "cannot read conntrack");
		goto out;
	}
	now = clock_ns(); /* after the scan: no entry is newer */
	for (size_t i = 0; i < s.n; i++)
		s.e[i].idle_s = cli_ct_age_s(&s.e[i].ct, now);
	qsort(s.e, s.n, sizeof(*s.e), newest_first);
	shown = limit && (size_t)limit < s.n ? (size_t)limit : s.n;

	for (size_t i = 0; i < shown; i++)
		measure(&s.e[i], be, &w);
	snprintf(w.fsrc, sizeof(w.fsrc), " %%-%ds", w.src);
	snprintf(w.fdst, sizeof(w.fdst), " %%-%ds", w.dst);
	snprintf(w.fbe, sizeof(w.fbe), " %%-%ds", w.be);
	cli_obj_open(NULL);
	cli_text("%-5s %-*s %-*s %-*s %5s %10s %s\n", "PROTO", w.src, "SOURCE", w.dst, "DESTINATION",
		 w.be, "BACKEND", "ID", "IDLE", "STATE");
	cli_arr_open("flows");
	for (size_t i = 0; i < shown; i++)
		print_entry(&s.e[i], be, &ctl, now, &w);
	cli_arr_close();
	cli_u64("matched", "%llu entries matched", s.n);
	cli_u64("shown", ", %llu shown", shown);
	cli_u64("limit", " (--limit %llu; 0 shows all)\n", limit);
	cli_obj_close();
	rc = CLI_OK;
out:
	free(s.e);
	free(be);
	free(v);
	maps_close(m);
	return rc;
}

const struct cli_cmd cli_cmd_flow_list = {
	"flow list", cmd_flow_list, "conntrack entries with their backend and age",
	"Usage: fluxlb [-j] flow list [--vip VIP] [--backend ADDR] [--limit N]\n"
	"\n"
	"Conntrack entries, least idle first: protocol, source and\n"
	"destination as the client sent them, the backend the entry names (its\n"
	"id's current address) and id, seconds since its last packet, and what\n"
	"the dataplane makes of the entry now: live (it steers the flow's non-SYN\n"
	"packets), closing (the same, but the client sent a FIN or RST: it\n"
	"expires 10 s after its last packet), expired (idle past its life:\n"
	"ignored and replaced) or stale (the id was freed, is down, or belongs to\n"
	"another address now).\n"
	"\n"
	"  --vip VIP       entries of the VIPs matching ADDR[:PORT][/tcp|/udp]\n"
	"  --backend ADDR  entries naming the backend with that address\n"
	"  --limit N       show at most N entries (default 100; 0: all)\n"
	"\n"
	"JSON: {\"flows\": [{proto, src, dst, backend, backend_id, gen, age_s, state}],\n"
	"\"matched\", \"shown\", \"limit\"}.\n",
};
