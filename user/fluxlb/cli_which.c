// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fluxlb which PROTO SRC:PORT DST:PORT`: the backend the dataplane picks
 * for a flow, computed as bpf/pick.h does it: the VIP of the
 * destination (exact key, else the address's port-less VIP), the shared
 * flow hash (include/flb_hash.h) modulo the live table's size, the slot's
 * backend id; then the conntrack entry of the 5-tuple, which decides for
 * the flow's non-SYN packets while it is live or closing (same id and
 * generation, not expired by include/flb_ct.h's rule, measured on
 * CLOCK_MONOTONIC like bpf_ktime_get_ns()). A TCP SYN always takes the
 * Maglev pick.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_cmds.h"
#include "cli_common.h"
#include "cli_explain.h"
#include "cli_out.h"
#include "flb_hash.h"
#include "vip_name.h"

static int parse_proto(const char *s, uint8_t *proto)
{
	if (!strcasecmp(s, "tcp") || !strcmp(s, "6"))
		*proto = IPPROTO_TCP;
	else if (!strcasecmp(s, "udp") || !strcmp(s, "17"))
		*proto = IPPROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

static int parse_flow(int argc, char **argv, struct flb_flow *f)
{
	struct flb_addr src, dst;
	uint16_t sport, dport;

	if (argc != 4)
		return cli_usage(&cli_cmd_which, "expected PROTO SRC:PORT DST:PORT");
	memset(f, 0, sizeof(*f));
	if (parse_proto(argv[1], &f->proto))
		return cli_usage(&cli_cmd_which, "bad protocol '%s' (tcp, udp)", argv[1]);
	if (cli_parse_endpoint(argv[2], &src, &sport))
		return cli_usage(&cli_cmd_which, "bad source '%s'", argv[2]);
	if (cli_parse_endpoint(argv[3], &dst, &dport))
		return cli_usage(&cli_cmd_which, "bad destination '%s'", argv[3]);
	if (src.family != dst.family)
		return cli_usage(&cli_cmd_which, "source and destination of different families");
	memcpy(f->src, src.bytes, sizeof(f->src));
	memcpy(f->dst, dst.bytes, sizeof(f->dst));
	f->sport = htons(sport);
	f->dport = htons(dport);
	f->family = src.family == AF_INET6 ? FLB_AF_INET6 : FLB_AF_INET;
	return 0;
}

/* A backend the dataplane can encapsulate to for this flow (an IPv6 flow
 * cannot go to an IPv4 backend). */
static bool usable(const struct flb_backend *be, const struct flb_flow *f)
{
	return be->family && !(f->family == FLB_AF_INET6 && be->family != FLB_AF_INET6);
}

/* backend, backend_id, identity of id (null when the id names nothing);
 * translated: where the backend's node sends the flow, address:its own
 * port, when that port is not the service's (docs/pods.md; null else). */
static void print_backend_ref(const struct flb_maps *m, uint32_t vip_id, uint32_t id,
			      const struct flb_backend *bes, uint16_t port)
{
	const struct flb_backend *be = id < FLB_MAX_BACKENDS ? &bes[id] : NULL;
	char a[48], ident[FLB_ADDR_PORT_STRLEN], to[FLB_ADDR_PORT_STRLEN];
	bool known = id && be && be->family, translated = false;
	struct maps_name nm;

	if (known) {
		cli_addr(be->addr, be->family, a, sizeof(a));
		cli_identity(be, port, ident, sizeof(ident));
		translated = port && !maps_get_name(m, vip_id, id, &nm) && nm.port &&
			     nm.port != port && !cli_identity(be, nm.port, to, sizeof(to));
	}
	cli_str("backend", "%s", known ? a : NULL);
	cli_u64("backend_id", " (id %llu", id);
	cli_str("identity", ", %s)", known ? ident : NULL);
	cli_str("translated", translated ? " -> %s on its node" : NULL, translated ? to : NULL);
}

struct pick {
	const struct flb_maps *m;
	const struct flb_flow *f;
	const struct flb_backend *bes;
	uint16_t vip_port;
	uint32_t hash, size, slot, maglev_id;
	bool have_ct;
	struct flb_ct ct;
	enum cli_ct_state ct_state;
	double age_s;
	bool ready;
};

static void print_pick(const struct pick *p, const char *vname, uint32_t vip_id)
{
	bool live = p->have_ct && cli_ct_steers(p->ct_state);
	uint32_t id = live ? p->ct.backend : p->maglev_id;
	/* Ids read back from the kernel are bounds-checked before use. */
	bool ok = id && id < FLB_MAX_BACKENDS && usable(&p->bes[id], p->f);
	const char *verdict = !p->ready ? "pass_not_ready" : ok ? "forward" : "drop_no_backend";

	cli_str("vip", "vip:        %s", vname);
	cli_u64("vip_id", " (id %llu)\n", vip_id);
	cli_bool("ready", NULL, p->ready);
	cli_u64("hash", "maglev:     hash 0x%08llx", p->hash);
	cli_u64("table_size", " %% %llu", p->size);
	cli_u64("slot", " = slot %llu -> ", p->slot);
	cli_obj_open("maglev");
	print_backend_ref(p->m, vip_id, p->maglev_id, p->bes, p->vip_port);
	cli_obj_close();
	cli_text("\n");
	if (p->have_ct) {
		char a[48] = "";
		const struct flb_backend *be =
			p->ct.backend < FLB_MAX_BACKENDS ? &p->bes[p->ct.backend] : NULL;

		if (be && be->family)
			cli_addr(be->addr, be->family, a, sizeof(a));
		cli_obj_open("conntrack");
		cli_str("state", "conntrack:  %s entry -> ", cli_ct_state_name(p->ct_state));
		cli_str("backend", "%s", be && be->family ? a : NULL);
		cli_u64("backend_id", " (id %llu", p->ct.backend);
		cli_u64("gen", ", gen %llu)", p->ct.gen);
		cli_dbl("age_s", ", idle %.1fs\n", p->age_s);
		cli_obj_close();
	} else {
		cli_str("conntrack", "conntrack:  no entry\n", NULL);
	}
	cli_bool("conntrack_overrides", NULL, live && p->ct.backend != p->maglev_id);
	cli_str("decided_by", NULL, live ? "conntrack" : "maglev");
	cli_text("backend:    ");
	print_backend_ref(p->m, vip_id, ok ? id : 0, p->bes, p->vip_port);
	cli_str("verdict", " -> %s", verdict);
	if (live && p->f->proto == IPPROTO_TCP)
		cli_text("\n            (the live entry decides for packets of this connection; a new\n"
			 "            connection's SYN takes the Maglev pick: %s)\n",
			 p->ct.backend == p->maglev_id ? "the same backend" : "ANOTHER backend");
	else
		cli_text(" (decided by %s)\n", live ? "conntrack" : "maglev");
}

static int cmd_which(int argc, char **argv)
{
	char vname[VIP_NAME_STRLEN], src[64], dst[64], pbuf[8];
	struct flb_backend *bes = NULL;
	struct cli_vips *v = NULL;
	struct flb_ctl ctl = {};
	struct flb_maps *m = NULL;
	struct flb_flow f;
	struct pick p = { .f = &f };
	uint32_t *ids = NULL;
	int rc, err, vi;

	rc = parse_flow(argc, argv, &f);
	if (rc)
		return rc;
	rc = CLI_FAIL;
	m = cli_open_maps();
	if (!m)
		return rc;
	p.m = m;
	v = cli_read_vips(m);
	p.bes = bes = cli_read_backends(m);
	err = !v || !bes ? -ENOMEM : maps_get_ctl(m, &ctl);
	if (err) {
		cli_fail(err, "cannot read the maps");
		goto out;
	}
	vi = cli_vip_of_flow(v, &f);
	if (vi >= 0 && !v->keys[vi].port && f.dport && !(ctl.flags & FLB_CTL_PORTLESS))
		vi = -1; /* the dataplane does not try port-less VIPs then */
	if (vi < 0) {
		cli_fail(-ENOENT, "no VIP has this destination: the balancer passes the packet unchanged");
		goto out;
	}
	p.ready = ctl.ready;
	p.vip_port = ntohs(v->keys[vi].port);
	err = maps_get_ring(m, v->vips[vi].id, &ids, &p.size);
	if (err && err != -ENOENT) {
		cli_fail(err, "cannot read the VIP's table");
		goto out;
	}
	p.hash = flb_flow_hash(&f);
	if (p.size) {
		p.slot = p.hash % p.size;
		p.maglev_id = ids[p.slot];
	}
	err = maps_ct_lookup(m, &f, &p.ct);
	p.have_ct = !err;
	if (p.have_ct) {
		uint64_t now = clock_ns();

		p.ct_state = cli_ct_state(&f, &p.ct, bes, &ctl, now);
		p.age_s = cli_ct_age_s(&p.ct, now);
	}

	cli_endpoint(f.src, f.family, f.sport, src, sizeof(src));
	cli_endpoint(f.dst, f.family, f.dport, dst, sizeof(dst));
	vip_name(&v->keys[vi], vname, sizeof(vname));
	cli_obj_open(NULL);
	cli_str("proto", "flow:       %s", cli_proto_name(f.proto, pbuf, sizeof(pbuf)));
	cli_str("src", " %s", src);
	cli_str("dst", " -> %s\n", dst);
	print_pick(&p, vname, v->vips[vi].id);
	cli_explain_policy(m, v->vips[vi].id, ids, p.size, p.slot, bes);
	cli_obj_close();
	rc = CLI_OK;
out:
	free(ids);
	free(bes);
	free(v);
	maps_close(m);
	return rc;
}

const struct cli_cmd cli_cmd_which = {
	"which", cmd_which, "the backend the dataplane picks for a flow, and why",
	"Usage: fluxlb [-j] which PROTO SRC:PORT DST:PORT\n"
	"\n"
	"Computes the backend the balancer picks for the flow PROTO (tcp, udp)\n"
	"from SRC:PORT to DST:PORT (IPv6 as [ADDR]:PORT), from the live maps: the\n"
	"VIP of the destination, the shared flow hash modulo the size of the VIP's\n"
	"table, and the backend id in that slot (what a new connection, and every\n"
	"TCP SYN, gets). Then the conntrack entry of the flow: while it is live\n"
	"or closing (same backend id and generation, not expired) it decides\n"
	"for the flow's other packets, whichever backend the table names now.\n"
	"A destination that is no VIP is an error (the balancer passes it).\n"
	"\n"
	"JSON: {proto, src, dst, vip, vip_id, ready, hash, table_size, slot,\n"
	"\"maglev\": {backend, backend_id, identity, translated},\n"
	"\"conntrack\": null or {state (live, closing, expired, stale), backend,\n"
	"backend_id, gen, age_s}, conntrack_overrides (a live or closing entry\n"
	"names another backend than the table), decided_by (conntrack, maglev),\n"
	"backend, backend_id, identity (the pick for the flow's next non-SYN\n"
	"packet; null and 0 when none), translated (ADDR:PORT the backend's\n"
	"node translates the flow to when the backend's port is not the\n"
	"service's, else null), verdict (forward, drop_no_backend,\n"
	"pass_not_ready), policy (\"maglev\", or the VIP's new-flow policy and\n"
	"the candidates a new flow would try: docs/policies.md)}.\n",
};
