/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The node role (docs/pods.md): on a host whose pods are backends, fluxlbd
 * loads the decap program (with its translation for pods) and the reverse
 * NAT, attaches them to node.pods.interface (XDP, tc egress; when the
 * balancer runs on that NIC too, decap is its tail call), pins their
 * maps beside the balancer's, and keeps flb_node_nat in step with the
 * desired state: node_plan.c decides, node_sync() only writes.
 */
#ifndef FLB_NODE_H
#define FLB_NODE_H

#include "config.h"

struct node;

/* Loads (adopting maps already pinned in pin_dir, so flows survive a
 * restart), fills this host's addresses, attaches. NULL with errno set
 * (logged) on failure. */
struct node *node_open(const struct flb_config *cfg, const char *pin_dir);
/* Brings flb_node_nat to what eff asks (node_want + node_plan); an entry
 * that is no longer asked for stays eff->drain_timeout_ms (node_tick) so its
 * pod's established flows keep being translated. 0 or -errno
 * (logged); on error the table keeps what was written so far, never less. */
int node_sync(struct node *n, const struct flb_config *eff);
/* Removes the entries whose pods left the desired state drain_timeout ago
 * (their established flows still need them meanwhile). n may be NULL. */
void node_tick(struct node *n);
/* Empties the balancer's tail call into decap (bpf/tail.h): the node role
 * is off, or has a NIC of its own. 0 or -errno. */
int node_tail_clear(const char *pin_dir);
/* `fluxlbd --cleanup` for the node role: detaches decap (its own XDP
 * program, or the balancer's tail call) and the tc reverse NAT from
 * cfg->pods.iface, removes its pins from pin_dir. 0 or -EIO (logged). */
int node_cleanup(const struct flb_config *cfg, const char *pin_dir);
/* Frees; the programs stay attached and the maps pinned (hitless restart). */
void node_close(struct node *n);

#endif
