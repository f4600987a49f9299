// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Shared CLI helpers (see cli_common.h). Addresses in keys and values are
 * in network order; the selectors and endpoints parsed here are what an
 * operator types, turned into the same form.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "cli_out.h"
#include "flb_ct.h"
#include "maglev.h"

struct cli_opts cli;

static void print_error(int err, const char *what, const char *detail)
{
	cli_out_discard();
	if (cli.json) {
		printf("{\"error\":");
		cli_json_string(stdout, what);
		printf(",\"errno\":%d,\"detail\":", err < 0 ? -err : err);
		cli_json_string(stdout, detail);
		printf("}\n");
	} else {
		fprintf(stderr, "fluxlb: %s: %s\n", what, detail);
	}
}

int cli_fail(int err, const char *what)
{
	char detail[PATH_MAX + 256];

	/* The CLI reads everything through pins (CAP_BPF and the folder's file
	 * permissions suffice); EPERM left means a table without a pin, which
	 * the kernel opens by id only for CAP_SYS_ADMIN. */
	if (err == -EPERM || err == EPERM)
		snprintf(detail, sizeof(detail),
			 "%s (needs CAP_BPF; a Maglev table not pinned under %s/%s, as an older fluxlbd left it, needs CAP_SYS_ADMIN: restart fluxlbd to pin it)",
			 strerror(EPERM), cli.pin_dir, FLB_RING_PIN_DIR);
	else
		snprintf(detail, sizeof(detail), "%s", strerror(err < 0 ? -err : err));
	print_error(err, what, detail);
	return CLI_FAIL;
}

int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
{
	char msg[256], first[256];
	const char *nl = strchr(cmd->usage, '\n');
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(first, sizeof(first), "%.*s", nl ? (int)(nl - cmd->usage) : (int)strlen(cmd->usage),
		 cmd->usage);
	if (cli.json) {
		print_error(EINVAL, msg, first);
	} else {
		cli_out_discard();
		fprintf(stderr, "fluxlb %s: %s\n%s\nTry 'fluxlb %s --help'.\n", cmd->name, msg, first,
			cmd->name);
	}
	return CLI_USAGE;
}

struct flb_maps *cli_open_maps(void)
{
	struct flb_maps *m = maps_open_pinned(cli.pin_dir);

	if (!m)
		cli_fail(-errno, "cannot open the pinned maps (is --bpffs right? fluxlbd creates them)");
	return m;
}

const char *cli_state_name(uint8_t state)
{
	static const char *const names[] = { "unused", "active", "draining", "down" };

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

const char *cli_proto_name(uint8_t proto, char *buf, size_t len)
{
	if (proto == IPPROTO_TCP)
		return "tcp";
	if (proto == IPPROTO_UDP)
		return "udp";
	snprintf(buf, len, "%u", proto);
	return buf;
}

void cli_addr(const __be32 addr[4], uint8_t family, char *buf, size_t len)
{
	if (!inet_ntop(family == FLB_AF_INET6 ? AF_INET6 : AF_INET, addr, buf, len))
		snprintf(buf, len, "?");
}

void cli_endpoint(const __be32 addr[4], uint8_t family, __be16 port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	cli_addr(addr, family, a, sizeof(a));
	snprintf(buf, len, family == FLB_AF_INET6 ? "[%s]:%u" : "%s:%u", a, ntohs(port));
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

/* Splits "[V6]:REST", "V4:REST", "V6" or "V4" into host and the text after
 * the port colon (NULL when there is no port). */
static int split_host(const char *s, char *host, size_t hlen, const char **rest)
{
	const char *colon;
	size_t n;

	*rest = NULL;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -EINVAL;
		n = close - s - 1;
		if (close[1] == ':')
			*rest = close + 2;
		s++;
	} else {
		colon = strchr(s, ':');
		/* Two colons or more: a bare IPv6 address, no port. */
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;
		n = colon ? (size_t)(colon - s) : strlen(s);
		if (colon)
			*rest = colon + 1;
	}
	if (n >= hlen)
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = 0;
	return 0;
}

int cli_parse_endpoint(const char *s, struct flb_addr *a, uint16_t *port)
{
	char host[INET6_ADDRSTRLEN];
	const char *rest;

	if (split_host(s, host, sizeof(host), &rest) || !rest || addr_parse(host, a) ||
	    parse_port(rest, port))
		return -EINVAL;
	/* IPv6 needs brackets to carry a port. */
	if (a->family == AF_INET6 && *s != '[')
		return -EINVAL;
	return 0;
}

int cli_parse_vip_sel(const char *s, struct cli_vip_sel *sel)
{
	char host[INET6_ADDRSTRLEN], buf[128];
	const char *rest, *slash;
	uint16_t port;

	sel->port = sel->proto = -1;
	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -EINVAL;
	slash = strrchr(buf, '/');
	if (slash) {
		if (!strcmp(slash, "/tcp"))
			sel->proto = IPPROTO_TCP;
		else if (!strcmp(slash, "/udp"))
			sel->proto = IPPROTO_UDP;
		else
			return -EINVAL;
		buf[slash - buf] = 0;
	}
	if (split_host(buf, host, sizeof(host), &rest) || addr_parse(host, &sel->addr))
		return -EINVAL;
	if (rest) {
		if (parse_port(rest, &port))
			return -EINVAL;
		sel->port = port;
	}
	return 0;
}

bool cli_vip_sel_match(const struct cli_vip_sel *sel, const struct flb_vip_key *k)
{
	uint8_t family = sel->addr.family == AF_INET6 ? FLB_AF_INET6 : FLB_AF_INET;

	return k->family == family && !memcmp(k->addr, sel->addr.bytes, sizeof(k->addr)) &&
	       (sel->port < 0 || ntohs(k->port) == sel->port) &&
	       (sel->proto < 0 || k->proto == sel->proto);
}

static int by_id(const void *a, const void *b, void *ctx)
{
	const struct cli_vips *v = ctx;
	uint32_t x = v->vips[*(const int *)a].id, y = v->vips[*(const int *)b].id;

	return x < y ? -1 : x > y;
}

struct cli_vips *cli_read_vips(const struct flb_maps *m)
{
	struct cli_vips *v = calloc(1, sizeof(*v)), *sorted = calloc(1, sizeof(*sorted));
	int order[FLB_MAX_VIPS];

	if (!v || !sorted) {
		free(v);
		free(sorted);
		errno = ENOMEM;
		return NULL;
	}
	v->n = maps_list_vips(m, v->keys, v->vips, FLB_MAX_VIPS);
	for (int i = 0; i < v->n; i++)
		order[i] = i;
	qsort_r(order, v->n, sizeof(order[0]), by_id, v);
	for (int i = 0; i < v->n; i++) {
		sorted->keys[i] = v->keys[order[i]];
		sorted->vips[i] = v->vips[order[i]];
	}
	sorted->n = v->n;
	free(v);
	return sorted;
}

struct flb_backend *cli_read_backends(const struct flb_maps *m)
{
	struct flb_backend *be = calloc(FLB_MAX_BACKENDS, sizeof(*be));

	if (!be)
		return NULL;
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		int err = maps_get_backend(m, id, &be[id]);

		if (err) {
			free(be);
			errno = -err;
			return NULL;
		}
	}
	return be;
}

int cli_vip_of_flow(const struct cli_vips *v, const struct flb_flow *f)
{
	int portless = -1;

	for (int i = 0; i < v->n; i++) {
		const struct flb_vip_key *k = &v->keys[i];

		if (k->family != f->family || k->proto != f->proto ||
		    memcmp(k->addr, f->dst, sizeof(k->addr)))
			continue;
		if (k->port == f->dport)
			return i;
		if (!k->port)
			portless = i;
	}
	return portless;
}

/* Idle time: now - last_seen; negative as s64 when the entry was touched
 * after now was read (0 then). */
static uint64_t idle_ns(const struct flb_ct *ct, uint64_t now_ns)
{
	int64_t d = (int64_t)(now_ns - ct->last_seen);

	return d > 0 ? (uint64_t)d : 0;
}

enum cli_ct_state cli_ct_state(const struct flb_flow *f, const struct flb_ct *ct,
			       const struct flb_backend *bes, const struct flb_ctl *ctl,
			       uint64_t now_ns)
{
	const struct flb_backend *be;

	if (flb_ct_expired(ct, f->proto, ctl, now_ns))
		return CLI_CT_EXPIRED;
	if (ct->backend >= FLB_MAX_BACKENDS)
		return CLI_CT_STALE;
	be = &bes[ct->backend];
	if (be->gen != ct->gen || (be->state != FLB_BE_ACTIVE && be->state != FLB_BE_DRAINING))
		return CLI_CT_STALE;
	return ct->flags & FLB_CT_CLOSING ? CLI_CT_CLOSING : CLI_CT_LIVE;
}

bool cli_ct_steers(enum cli_ct_state s)
{
	return s == CLI_CT_LIVE || s == CLI_CT_CLOSING;
}

const char *cli_ct_state_name(enum cli_ct_state s)
{
	switch (s) {
	case CLI_CT_LIVE:
		return "live";
	case CLI_CT_CLOSING:
		return "closing";
	case CLI_CT_EXPIRED:
		return "expired";
	default:
		return "stale";
	}
}

double cli_ct_age_s(const struct flb_ct *ct, uint64_t now_ns)
{
	return idle_ns(ct, now_ns) / 1e9;
}

int cli_identity(const struct flb_backend *be, uint16_t port, char *buf, size_t len)
{
	struct flb_addr a = { .family = be->family == FLB_AF_INET6 ? AF_INET6 : AF_INET };

	if (be->family != FLB_AF_INET && be->family != FLB_AF_INET6) {
		snprintf(buf, len, "?");
		return -ENOENT;
	}
	memcpy(a.bytes, be->addr, sizeof(a.bytes));
	return addr_port_format(&a, port, buf, len);
}

int cli_table_fingerprint(const uint32_t *ids, uint32_t size, const struct flb_backend *bes,
			  uint16_t port, uint64_t *fp)
{
	uint32_t *index = calloc(FLB_MAX_BACKENDS, sizeof(*index));
	uint32_t *slots = malloc((size_t)size * sizeof(*slots));
	struct maglev_backend *mb = calloc(FLB_MAX_BACKENDS, sizeof(*mb));
	char (*names)[FLB_ADDR_PORT_STRLEN] = calloc(FLB_MAX_BACKENDS, sizeof(*names));
	uint32_t n = 0;
	int err = 0;

	if (!index || !slots || !mb || !names) {
		err = -ENOMEM;
		goto out;
	}
	/* index[id] = 1 + position in mb[]; ids outside the map hash as
	 * "out of range", as they would in the daemon. */
	for (uint32_t i = 0; i < size; i++) {
		uint32_t id = ids[i];

		if (!id) {
			slots[i] = MAGLEV_EMPTY;
			continue;
		}
		if (id >= FLB_MAX_BACKENDS) {
			slots[i] = FLB_MAX_BACKENDS;
			continue;
		}
		if (!index[id]) {
			mb[n].name = cli_identity(&bes[id], port, names[n], sizeof(names[n])) ?
					     NULL :
					     names[n];
			mb[n].weight = 1;
			index[id] = ++n;
		}
		slots[i] = index[id] - 1;
	}
	*fp = maglev_fingerprint(slots, size, mb, n);
out:
	free(names);
	free(mb);
	free(slots);
	free(index);
	return err;
}
