/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-node interfaces: the entries of `interfaces` (after the node
 * overrides and $FLUXLB_INTERFACES, config.c) are names, globs (fnmatch:
 * "eth*", "ens[0-9]") or the single word "auto", the NIC of the default
 * route. This turns them into the names of links that exist now in the
 * process's network namespace; the daemon resolves again while an entry
 * finds nothing (it stays not ready and retries, as for a missing name).
 */
#ifndef FLB_IFACE_RESOLVE_H
#define FLB_IFACE_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* True when name holds glob characters or is "auto". */
bool iface_is_pattern(const char *name);
/* The interface of the default route: IPv4 (/proc/net/route, lowest
 * metric), else IPv6 (/proc/net/ipv6_route). 0, or -ENOENT when there is
 * no default route. */
int iface_default_route(char *out, size_t len);
/* cfg->ifaces from cfg->iface_spec: names as they are, "auto" and globs
 * expanded (links matching a glob sorted by name; lo never matches), no
 * duplicates, at most FLB_CFG_MAX_IFACES. An entry that finds nothing is
 * kept as written, so that the daemon reports it missing. Returns true
 * when every entry found something. */
bool iface_resolve(struct flb_config *cfg);

#endif
