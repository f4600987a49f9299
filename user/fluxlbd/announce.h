/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which VIPs this node announces (docs/bgp.md): a VIP address is announced
 * while the daemon is ready and at least one service on that address has a
 * usable backend (weight > 0, not down by the registry or our checks), and
 * withdrawn otherwise, and first thing on shutdown. Announcing is a host
 * route in the kernel table of announce.table (announce_nl.c); BIRD learns
 * the table and speaks BGP. The daemon's thread only; logs say what and
 * why; the counters go to the status draft.
 */
#ifndef FLB_ANNOUNCE_H
#define FLB_ANNOUNCE_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "status.h"

struct announcer;

/* Opens the netlink socket and reads the routes of ours already in the
 * table (a daemon that did not stop cleanly left them): the next sync keeps
 * those still wanted and deletes the rest. NULL with errno set. */
struct announcer *announcer_new(const struct flb_announce_cfg *cfg);
void announcer_free(struct announcer *a);
uint32_t announcer_table(const struct announcer *a);

/* Pure: the distinct VIP addresses of cfg to announce when ready (none when
 * not), in cfg order, at most max into out; returns how many. */
size_t announce_wanted(const struct flb_config *cfg, bool ready, struct flb_addr *out, size_t max);

/* Makes the table hold exactly announce_wanted(cfg, st->ready): adds what
 * is missing, deletes what is not wanted, logs each with its reason, and
 * writes the counters and each VIP row's `announced` into st. cfg may be
 * NULL (nothing applied yet). Returns 0 or the first -errno (the rest is
 * still tried; a failed route is retried on the next sync). */
int announcer_sync(struct announcer *a, const struct flb_config *cfg, struct flb_status *st);

/* Deletes every route of ours (shutdown, announce turned off); why goes
 * to the log. Returns 0 or the first -errno. */
int announcer_withdraw_all(struct announcer *a, struct flb_status *st, const char *why);

/* --cleanup: deletes the routes of ours in table (no announcer needed). */
int announce_cleanup(uint32_t table);

/* `fluxlbd --bird-config`: BIRD 2's configuration for cfg's announce
 * section (announce_bird.c). Returns 0 or -EINVAL with err filled (no
 * bgp keys). */
int announce_render_bird(const struct flb_config *cfg, FILE *out, char *err, size_t errlen);

#endif
