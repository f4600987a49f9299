/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Health checks, run by exactly one replica at a time: the leader.
 *
 * Election: every replica tries once a second to create P/leader (value:
 * its replica id) on a fresh 3 s lease, in a transaction that succeeds only
 * when the key does not exist. The one that succeeds leads and renews that
 * lease every second. It stops leading, and stops writing, as soon as a
 * renewal says the lease is gone, or when 2.5 s have passed since the last
 * renewal that etcd confirmed (so while etcd is unreachable it never acts on
 * a lease that may have expired). When the leader dies, its lease expires
 * within 3 s and another replica creates the key at its next try: checks
 * resume within about 4 s. A replica that stops cleanly revokes its lease
 * first, so another takes over within a second. Every health write is a
 * transaction conditional on P/leader still holding the writer's lease and
 * on the instance still holding its own lease: a deposed leader, or a
 * result about an instance that was replaced meanwhile, writes nothing.
 *
 * The leader lists every instance once a second, checks each HTTP/TCP
 * instance every Interval (the first check at once, when an instance
 * appears or when a replica becomes leader), each check on its own thread
 * with its own Timeout (at most 256 at a time), and writes a health record
 * when the status changes (or when only the output changed, at most every
 * 5 minutes, as Consul's check_update_interval). After each passing or
 * warning result it renews the instance's lease; a critical instance is not
 * renewed, so one whose server is gone and that never deregisters is
 * deleted by etcd when its lease runs out ("what is not renewed
 * disappears"). Instances without a check are renewed every third of their
 * lease; TTL-check instances are renewed by their own pass/warn calls.
 *
 * Instance leases of HTTP/TCP checks are at least --min-lease (default
 * 10 s): a shorter lease could run out during a leader fail-over (up to
 * ~4 s without renewals) and delete healthy instances.
 */
#ifndef FLB_REGISTRY_LEADER_H
#define FLB_REGISTRY_LEADER_H

#include <stdbool.h>

#include "registry_store.h"

#define REG_LEADER_TTL_S 3

struct reg_leader;

/* Starts the election and check thread (cfg must outlive it).
 * NULL with errno set on failure. */
struct reg_leader *reg_leader_start(const struct reg_cfg *cfg);
/* Stops it; a leader revokes its lease so another takes over at once. */
void reg_leader_stop(struct reg_leader *l);
bool reg_leader_leading(struct reg_leader *l);

#endif
