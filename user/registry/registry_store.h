/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The registry's state in etcd. Replicas keep nothing of their own: every
 * request reads or writes etcd, so any replica can answer any request.
 *
 * Layout under the prefix P (default "/fluxlb/"):
 *   P/services/<name>/<id>  the instance as registered, normalized (see
 *                           registry_model.h), attached to the instance's lease
 *   P/health/<name>/<id>    {"Status", "Output", "Updated"}, same lease
 *   P/leader                the health-check leader's replica id, on the
 *                           leader's own lease (see registry_leader.h)
 * Both keys of an instance are written in one transaction and share one
 * lease, so when the lease expires or is revoked etcd deletes both at one
 * revision. IDs are unique across names: registering an ID again replaces
 * the instance, under whatever name it had.
 *
 * Every function takes the calling thread's etcd handle and returns 0 or
 * -errno (etcd's errors as etcd.h lists them; -ENOENT for an unknown ID).
 */
#ifndef FLB_REGISTRY_STORE_H
#define FLB_REGISTRY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd.h"
#include "registry_model.h"

struct reg_cfg {
	const char *prefix;      /* ends with '/' */
	const char *endpoints;   /* etcd endpoints (etcd_new) */
	long etcd_timeout_ms;
	int64_t lease_min_s;     /* floor of HTTP/TCP instance leases */
	const char *replica_id;  /* written to P/leader when leading */
	const char *token;       /* NULL: writes are open */
	struct etcd_security etcd_sec; /* TLS and credentials for etcd (etcd_secure) */
};

/* A new etcd handle for cfg: endpoints, timeout, TLS and credentials.
 * NULL with errno set on failure. */
struct etcd *reg_etcd_new(const struct reg_cfg *cfg);

/* One instance as listed, with its health record when it has one. */
struct reg_entry {
	struct reg_instance in;
	struct reg_health health;
	bool has_health;
	int64_t lease;        /* of the service key */
	int64_t mod_revision; /* of the service key */
};

/* "P/<kind>/<name>/<id>"; name and id may be NULL to stop early
 * ("P/services/" or "P/services/<name>/"). */
int reg_key(char *buf, size_t len, const struct reg_cfg *cfg, const char *kind,
	    const char *name, const char *id);

/* Every instance (name NULL) or those of one name, in key order (name,
 * then ID), and the revision of the read: the data is at least as new as
 * that revision. Records that do not parse are skipped (logged at debug). */
int reg_store_list(struct etcd *e, const struct reg_cfg *cfg, const char *name,
		   struct reg_entry **out, size_t *n, int64_t *revision);
void reg_entries_free(struct reg_entry *es, size_t n);

/* Registers (or replaces) an instance: new lease, both keys in one txn,
 * then the old lease revoked. A replaced instance with the same check keeps
 * its status; else the initial status applies (reg_initial_status). */
int reg_store_register(struct etcd *e, const struct reg_cfg *cfg,
		       const struct reg_instance *in);

/* Revokes the instance's lease (etcd deletes both keys). -ENOENT if no
 * instance has that ID. */
int reg_store_deregister(struct etcd *e, const struct reg_cfg *cfg, const char *id);

/* PUT /v1/agent/check/pass|warn|fail: sets a TTL check's status (output:
 * note) and, for pass and warn, renews the lease. -ENOENT for an unknown
 * ID; -EINVAL when the instance has no TTL check (msg says so). */
int reg_store_set_ttl_status(struct etcd *e, const struct reg_cfg *cfg,
			     const char *id, enum reg_status st, const char *note);

/* The leader's write of a check result: applied only while the instance
 * still holds lease and the leader key still holds leader_lease (so a
 * deposed leader or a replaced instance is never written over). */
int reg_store_write_health(struct etcd *e, const struct reg_cfg *cfg,
			   const char *name, const char *id, int64_t lease,
			   enum reg_status st, const char *output,
			   int64_t leader_lease, bool *applied);

/* Ready = a linearizable read through etcd succeeds. */
int reg_store_ready(struct etcd *e, const struct reg_cfg *cfg);

#endif
