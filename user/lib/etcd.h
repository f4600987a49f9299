/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A small etcd v3 client over etcd's JSON gateway (the grpc-gateway every
 * etcd >= 3.3 serves on its client port under /v3/), built on libcurl and
 * cJSON. Used by fluxlb-registry and by fluxlbd's etcd source.
 *
 * Threads: a handle is used by one thread at a time (one handle per thread);
 * distinct handles share nothing and may run concurrently. etcd_new() may be
 * called from any thread (libcurl's global init runs once).
 *
 * Endpoints: a comma-separated list of base URLs ("http://127.0.0.1:2379,
 * http://127.0.0.1:22379"). A call goes to the endpoint that answered last;
 * on a connection error, a timeout or an "unavailable" answer (a member
 * without a leader, a member shutting down) it fails over to the next one,
 * each endpoint at most once per call. Every call returns 0 or -errno:
 *   -ECONNREFUSED  no endpoint answered (connection errors on all of them;
 *                  a TLS failure is one: etcd_last_error() then starts "tls:")
 *   -ETIMEDOUT     the last endpoint tried timed out
 *   -EAGAIN        every endpoint answered "unavailable" (no quorum)
 *   -ENOENT        the key or lease does not exist (where documented)
 *   -ERANGE        the revision asked for was compacted
 *   -EINVAL        etcd refused the request as invalid
 *   -EACCES        etcd's auth refused the request, or logging in failed
 *   -EPROTO        the answer was not what the gateway should send
 *   -ENOMEM        allocation failed
 *   -EIO           any other etcd error
 * A failure is logged once, with the endpoint and etcd's own message; the
 * same failure repeated on the same handle is logged at debug level only,
 * until a call succeeds again (then "etcd reachable again" is logged).
 *
 * Wire notes (etcd 3.4's gateway): keys and values travel base64-encoded,
 * 64-bit numbers as JSON strings, and fields equal to their default (0,
 * false, empty) are omitted; this file hides all of that.
 */
#ifndef FLB_ETCD_H
#define FLB_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct etcd;

/* endpoints as above; timeout_ms bounds each request (connect included);
 * watches use it for the connect only. NULL with errno set on failure. */
struct etcd *etcd_new(const char *endpoints, long timeout_ms);
void etcd_free(struct etcd *e);

/* The endpoint the next call goes to first (for log lines). */
const char *etcd_endpoint(const struct etcd *e);
/* The last failure as "kind: text" (kind tls, auth or etcd), "" after a
 * success: what a status line or a source's "why" shows. */
const char *etcd_last_error(const struct etcd *e);

/*
 * TLS and credentials (docs/registry.md, "Securing etcd"). Every field may
 * be NULL. ca_file verifies https:// endpoints (default: the system store);
 * cert_file and key_file (both or neither) are the client certificate for
 * etcd's --client-cert-auth: with auth enabled, etcd's JSON gateway refuses
 * a client certificate that has a CommonName, so issue it without one.
 * username and password_file (both or neither) log in through
 * /v3/auth/authenticate; the password is read from the file at each login
 * (rotation needs no restart) and never logged. The token is sent on every
 * request; when etcd answers "invalid auth token" (expired, revoked) the
 * call logs in again and retries once. Returns 0, -EINVAL (a pair half set,
 * an empty path) or -ENOMEM; files are only read when used.
 */
struct etcd_security {
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	const char *username;
	const char *password_file;
};
int etcd_secure(struct etcd *e, const struct etcd_security *sec);

/* Failures counted process-wide since start, every handle together:
 * TLS (certificate verify failed, client certificate refused) and auth
 * (wrong user or password, unreadable password file, permission denied). */
enum etcd_fail { ETCD_FAIL_TLS, ETCD_FAIL_AUTH, ETCD_FAIL_MAX };
unsigned long long etcd_failures(enum etcd_fail kind);

/* One key as etcd stores it. key and value are NUL-terminated copies (value
 * may also hold NULs: value_len is its length); lease is 0 when none. */
struct etcd_kv {
	char *key;
	char *value;
	size_t value_len;
	int64_t mod_revision;
	int64_t create_revision;
	int64_t lease;
};

void etcd_kv_free(struct etcd_kv *kv);           /* frees the fields, not kv */
void etcd_kvs_free(struct etcd_kv *kvs, size_t n); /* frees the fields and the array */

/* Puts key = val (len bytes), attached to lease (0 = none). */
int etcd_put(struct etcd *e, const char *key, const void *val, size_t len,
	     int64_t lease);

/* Reads one key into *out (free with etcd_kv_free). -ENOENT if absent. */
int etcd_get(struct etcd *e, const char *key, struct etcd_kv *out);

/*
 * Reads every key that starts with prefix, in key order, into a new array
 * *kvs of *n entries (NULL and 0 when none; free with etcd_kvs_free), and
 * the store's revision at the time of the read into *revision (may be NULL):
 * a watch from *revision + 1 sees every change after this read.
 */
int etcd_get_prefix(struct etcd *e, const char *prefix, struct etcd_kv **kvs,
		    size_t *n, int64_t *revision);
/* The same with only keys, revisions and leases (every value is ""). */
int etcd_get_prefix_keys(struct etcd *e, const char *prefix,
			 struct etcd_kv **kvs, size_t *n, int64_t *revision);
/* The store's current revision and the number of keys under prefix. */
int etcd_count_prefix(struct etcd *e, const char *prefix, size_t *n,
		      int64_t *revision);

/* Deletes one key (0 also when it did not exist), or every key under prefix. */
int etcd_delete(struct etcd *e, const char *key);
int etcd_delete_prefix(struct etcd *e, const char *prefix);

/* Creates key only if it does not exist (a txn on create_revision == 0);
 * *created says whether it did. */
int etcd_create(struct etcd *e, const char *key, const void *val, size_t len,
		int64_t lease, bool *created);

/*
 * Transactions: if every comparison holds, every operation is applied, all
 * at one revision; else nothing is. *succeeded (may be NULL) says which;
 * *revision (may be NULL) is the store's revision after the txn.
 * A comparison is "key's <target> == value"; a key that does not exist has
 * create, mod revision, version and lease all 0.
 */
enum etcd_cmp_target { ETCD_CMP_CREATE, ETCD_CMP_MOD, ETCD_CMP_VERSION, ETCD_CMP_LEASE };
struct etcd_cmp {
	const char *key;
	enum etcd_cmp_target target;
	int64_t value;
};
enum etcd_op_type { ETCD_OP_PUT, ETCD_OP_DELETE, ETCD_OP_DELETE_PREFIX };
struct etcd_op {
	enum etcd_op_type type;
	const char *key;
	const void *val; /* PUT only */
	size_t len;      /* PUT only */
	int64_t lease;   /* PUT only; 0 = none */
};
int etcd_txn(struct etcd *e, const struct etcd_cmp *cmps, size_t ncmp,
	     const struct etcd_op *ops, size_t nops, bool *succeeded,
	     int64_t *revision);

/*
 * Leases. etcd's minimum TTL is 2 s (it raises smaller ones). A key put with
 * a lease is deleted when the lease expires or is revoked (watchers see a
 * DELETE). keepalive runs one round: *ttl_left is the TTL restarted (the
 * lease's full TTL), or 0 when the lease had already expired or never
 * existed (then the call still returns 0). revoke returns -ENOENT for an
 * unknown lease.
 */
int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id);
int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl_left);
int etcd_lease_revoke(struct etcd *e, int64_t id);

/*
 * Watch. Streams the events of every key under prefix from start_revision
 * (0 = from now on) and calls cb for each, in revision order; revision is
 * the event's own revision (for a DELETE: the deletion's; kv then has only
 * key and mod_revision). The events of one revision (a txn, or a lease
 * expiry deleting several keys) arrive together, before any later one.
 * Runs until:
 *   cb returns non-zero, or *stop becomes non-zero (checked every 200 ms;
 *     stop may be NULL)                                      -> returns 0
 *   the stream breaks or the endpoint closes it          -> -ECONNRESET,
 *     or -EIO when etcd cancelled the watch for another reason: re-list,
 *     then watch again from the last revision seen + 1
 *   start_revision was compacted away                    -> -ERANGE:
 *     re-list (etcd_get_prefix), then watch from its revision + 1
 *   no endpoint could be reached                         -> as any call
 * etcd_watch_for() also stops after max_ms (0 = never) with -ETIMEDOUT.
 */
enum etcd_event { ETCD_PUT, ETCD_DELETE };
typedef int (*etcd_watch_cb)(void *ctx, enum etcd_event type,
			     const struct etcd_kv *kv, int64_t revision);
int etcd_watch(struct etcd *e, const char *prefix, int64_t start_revision,
	       etcd_watch_cb cb, void *ctx, volatile int *stop);
int etcd_watch_for(struct etcd *e, const char *prefix, int64_t start_revision,
		   etcd_watch_cb cb, void *ctx, volatile int *stop, long max_ms);

/* Base64 (RFC 4648, with padding), exposed for tests. encode returns a
 * malloc'd NUL-terminated string or NULL; decode returns 0 or -EINVAL and
 * a malloc'd buffer (NUL-terminated, *len bytes before the NUL). */
char *etcd_b64_encode(const void *data, size_t len);
int etcd_b64_decode(const char *s, char **out, size_t *len);

#endif
