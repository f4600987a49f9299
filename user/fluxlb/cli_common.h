/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the CLI's commands share: global options, error and usage exits,
 * and the views of the pinned maps several commands need (VIPs sorted by
 * id, the backend slots, a VIP's live table and its fingerprint, addresses
 * and selectors as operators type them). Everything here only reads maps.
 */
#ifndef FLB_CLI_COMMON_H
#define FLB_CLI_COMMON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "clock.h"
#include "flb_abi.h"
#include "pinned_maps.h"

#define CLI_DEFAULT_BPFFS "/sys/fs/bpf/fluxlb"

/* Exit status, as --help documents it. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

struct cli_opts {
	bool json;
	bool skb;                 /* decap attach: generic mode */
	char pin_dir[PATH_MAX];   /* <bpffs>/v<ABI> */
};
extern struct cli_opts cli;

/* A command: argv[0] is its name (sub-command words already consumed). */
struct cli_cmd {
	const char *name;         /* "vip list" */
	int (*fn)(int argc, char **argv);
	const char *summary;      /* one line for the global --help */
	const char *usage;        /* its own --help */
};

/* Prints the error (JSON on stdout with -j, else a line on stderr), drops
 * buffered output, returns CLI_FAIL. err is a -errno. */
int cli_fail(int err, const char *what);
/* The same for a usage error: names the command's usage, returns CLI_USAGE. */
int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* maps_open_pinned(cli.pin_dir), or NULL after cli_fail(). */
struct flb_maps *cli_open_maps(void);

/* "unused", "active", "draining", "down" (FLB_BE_* values). */
const char *cli_state_name(uint8_t state);
/* "tcp", "udp" or the number. */
const char *cli_proto_name(uint8_t proto, char *buf, size_t len);
/* Address of a key or value field: "10.10.2.11", "fd00::1". */
void cli_addr(const __be32 addr[4], uint8_t family, char *buf, size_t len);
/* "10.10.1.2:41001" or "[fd00::2]:41001"; port in network order. */
void cli_endpoint(const __be32 addr[4], uint8_t family, __be16 port, char *buf, size_t len);
/* Parses "ADDR:PORT" or "[V6ADDR]:PORT". Returns 0 or -EINVAL. */
int cli_parse_endpoint(const char *s, struct flb_addr *a, uint16_t *port);

/* VIP selector "ADDR[:PORT][/tcp|/udp]" ("[V6]:PORT/udp", "fd00::1"):
 * matches every VIP with that address and, when given, port and protocol. */
struct cli_vip_sel {
	struct flb_addr addr;
	int port;                 /* -1: any */
	int proto;                /* -1: any */
};
int cli_parse_vip_sel(const char *s, struct cli_vip_sel *sel);
bool cli_vip_sel_match(const struct cli_vip_sel *sel, const struct flb_vip_key *k);

/* The VIPs in the maps, by id. */
struct cli_vips {
	struct flb_vip_key keys[FLB_MAX_VIPS];
	struct flb_vip vips[FLB_MAX_VIPS];
	int n;
};
struct cli_vips *cli_read_vips(const struct flb_maps *m);   /* NULL: ENOMEM */

/* Every backend slot [0, FLB_MAX_BACKENDS); unused ones have family 0. */
struct flb_backend *cli_read_backends(const struct flb_maps *m); /* NULL: errno */

/* Index in v of the VIP a flow belongs to (exact key, else the port-less
 * VIP of its address, as the dataplane looks it up), or -1. */
int cli_vip_of_flow(const struct cli_vips *v, const struct flb_flow *f);

/* What the dataplane makes of a conntrack entry for a non-SYN packet now:
 * live (it decides the backend), closing (the same, but the client sent a
 * FIN or RST: it expires 10 s after its last packet), expired (idle past its
 * life, include/flb_ct.h) or stale (its backend id was freed, is down, or
 * was given to another address: generation differs). Checked in the
 * dataplane's order. */
enum cli_ct_state { CLI_CT_LIVE, CLI_CT_CLOSING, CLI_CT_EXPIRED, CLI_CT_STALE };
enum cli_ct_state cli_ct_state(const struct flb_flow *f, const struct flb_ct *ct,
			       const struct flb_backend *bes, const struct flb_ctl *ctl,
			       uint64_t now_ns);
/* Live or closing: the entry decides its flow's backend (and a draining
 * backend counts it). */
bool cli_ct_steers(enum cli_ct_state s);
const char *cli_ct_state_name(enum cli_ct_state s);
/* Seconds since the entry's last packet. */
double cli_ct_age_s(const struct flb_ct *ct, uint64_t now_ns);

/* "10.10.2.11:80": the Maglev identity of a backend behind a VIP port. */
int cli_identity(const struct flb_backend *be, uint16_t port, char *buf, size_t len);

/* maglev_fingerprint of a live table (backend ids, 0 = empty), with each id
 * named by its identity under the VIP's port: what the daemon logs as
 * "table updated ... fingerprint=" for the same table. Returns 0 or -errno. */
int cli_table_fingerprint(const uint32_t *ids, uint32_t size, const struct flb_backend *bes,
			  uint16_t port, uint64_t *fp);

#endif
