// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The registry's etcd layout and operations (see registry_store.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "registry_store.h"

#define KEY_MAX 512

struct etcd *reg_etcd_new(const struct reg_cfg *cfg)
{
	struct etcd *e = etcd_new(cfg->endpoints, cfg->etcd_timeout_ms);
	int err = e ? etcd_secure(e, &cfg->etcd_sec) : 0;

	if (err) {
		etcd_free(e);
		errno = -err;
		return NULL;
	}
	return e;
}

int reg_key(char *buf, size_t len, const struct reg_cfg *cfg, const char *kind,
	    const char *name, const char *id)
{
	int n;

	if (!name)
		n = snprintf(buf, len, "%s%s/", cfg->prefix, kind);
	else if (!id)
		n = snprintf(buf, len, "%s%s/%s/", cfg->prefix, kind, name);
	else
		n = snprintf(buf, len, "%s%s/%s/%s", cfg->prefix, kind, name, id);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Splits "P/<kind>/<name>/<id>" into pointers to name (up to '/') and id. */
static bool split_key(const char *key, size_t skip, const char **name,
		      size_t *name_len, const char **id)
{
	const char *rest, *slash;

	if (strlen(key) <= skip)
		return false;
	rest = key + skip;
	slash = strchr(rest, '/');
	if (!slash || slash == rest || !slash[1] || strchr(slash + 1, '/'))
		return false;
	*name = rest;
	*name_len = (size_t)(slash - rest);
	*id = slash + 1;
	return true;
}

void reg_entries_free(struct reg_entry *es, size_t n)
{
	for (size_t i = 0; es && i < n; i++) {
		reg_instance_free(&es[i].in);
		reg_health_free(&es[i].health);
	}
	free(es);
}

int reg_store_list(struct etcd *e, const struct reg_cfg *cfg, const char *name,
		   struct reg_entry **out, size_t *n, int64_t *revision)
{
	char sp[KEY_MAX], hp[KEY_MAX];
	struct etcd_kv *svc = NULL, *hl = NULL;
	size_t ns = 0, nh = 0, k = 0, h = 0;
	struct reg_entry *es = NULL;
	int64_t rev = 0;
	int err;

	*out = NULL;
	*n = 0;
	if ((err = reg_key(sp, sizeof(sp), cfg, "services", name, NULL)) ||
	    (err = reg_key(hp, sizeof(hp), cfg, "health", name, NULL)))
		return err;
	/* Services first: the revision answered is that of the older read,
	 * so a watch from it + 1 can only see too much, never too little. */
	err = etcd_get_prefix(e, sp, &svc, &ns, &rev);
	if (!err)
		err = etcd_get_prefix(e, hp, &hl, &nh, NULL);
	if (err)
		goto out;
	if (ns) {
		es = calloc(ns, sizeof(*es));
		if (!es) {
			err = -ENOMEM;
			goto out;
		}
	}
	size_t sskip = strlen(cfg->prefix) + strlen("services/");
	size_t hskip = strlen(cfg->prefix) + strlen("health/");

	for (size_t i = 0; i < ns; i++) {
		struct reg_entry *en = &es[k];
		const char *nm, *id;
		size_t nl;
		char why[160];

		if (!split_key(svc[i].key, sskip, &nm, &nl, &id))
			continue;
		if (reg_parse_instance(svc[i].value, svc[i].value_len, NULL, &en->in, why,
				       sizeof(why))) {
			log_debug("skipping an unreadable instance record", "key=\"%s\" error=\"%s\"",
				  svc[i].key, why);
			continue;
		}
		if (strlen(en->in.name) != nl || strncmp(en->in.name, nm, nl) ||
		    strcmp(en->in.id, id)) {
			log_debug("skipping an instance record under the wrong key", "key=\"%s\"",
				  svc[i].key);
			reg_instance_free(&en->in);
			continue;
		}
		en->lease = svc[i].lease;
		en->mod_revision = svc[i].mod_revision;
		/* Both lists are in key order, and "<name>/<id>" orders them
		 * alike: merge. */
		for (; h < nh; h++) {
			const char *hn, *hid;
			size_t hnl;
			int c;

			if (!split_key(hl[h].key, hskip, &hn, &hnl, &hid))
				continue;
			c = strcmp(hl[h].key + hskip, svc[i].key + sskip);
			if (c > 0)
				break;
			if (c == 0) {
				en->has_health = !reg_health_parse(hl[h].value, hl[h].value_len,
								   &en->health);
				h++;
				break;
			}
		}
		k++;
	}
	*out = es;
	*n = k;
	es = NULL;
	if (revision)
		*revision = rev;
out:
	reg_entries_free(es, 0);
	etcd_kvs_free(svc, ns);
	etcd_kvs_free(hl, nh);
	return err;
}

/* Every service key whose ID is id (normally at most one). */
static int find_by_id(struct etcd *e, const struct reg_cfg *cfg, const char *id,
		      struct etcd_kv **found, size_t *nfound)
{
	char sp[KEY_MAX];
	struct etcd_kv *kvs = NULL;
	size_t n = 0, k = 0, skip;
	int err;

	*found = NULL;
	*nfound = 0;
	if ((err = reg_key(sp, sizeof(sp), cfg, "services", NULL, NULL)))
		return err;
	err = etcd_get_prefix_keys(e, sp, &kvs, &n, NULL);
	if (err)
		return err;
	skip = strlen(sp);
	for (size_t i = 0; i < n; i++) {
		const char *nm, *kid;
		size_t nl;

		if (split_key(kvs[i].key, skip, &nm, &nl, &kid) && !strcmp(kid, id))
			kvs[k++] = kvs[i];
		else
			etcd_kv_free(&kvs[i]);
	}
	if (!k) {
		free(kvs);
		return -ENOENT;
	}
	*found = kvs;
	*nfound = k;
	return 0;
}

/* The <name> of a service key, copied into buf. */
static void key_name(const struct reg_cfg *cfg, const char *key, char *buf, size_t len)
{
	size_t skip = strlen(cfg->prefix) + strlen("services/");
	const char *nm, *id;
	size_t nl;

	buf[0] = 0;
	if (split_key(key, skip, &nm, &nl, &id))
		snprintf(buf, len, "%.*s", (int)nl, nm);
}

int reg_store_register(struct etcd *e, const struct reg_cfg *cfg,
		       const struct reg_instance *in)
{
	char skey[KEY_MAX], hkey[KEY_MAX], okeys[8][2][KEY_MAX];
	struct etcd_op ops[2 + 2 * 8];
	struct etcd_kv *old = NULL;
	size_t nold = 0, nops = 0;
	enum reg_status st = reg_initial_status(in);
	const char *output = "";
	struct reg_health oh = { 0 };
	char *sval = NULL, *hval = NULL;
	int64_t lease = 0;
	int err;

	if ((err = reg_key(skey, sizeof(skey), cfg, "services", in->name, in->id)) ||
	    (err = reg_key(hkey, sizeof(hkey), cfg, "health", in->name, in->id)))
		return err;
	err = find_by_id(e, cfg, in->id, &old, &nold);
	if (err && err != -ENOENT)
		return err;
	if (nold > 8)
		nold = 8; /* cannot happen through this API; bound the work anyway */
	/* The same instance registered again keeps its status while its check
	 * is the same (a restarted application re-registers). */
	for (size_t i = 0; i < nold; i++) {
		struct etcd_kv sk = { 0 }, hk = { 0 };
		struct reg_instance prev;
		char why[8];

		if (strcmp(old[i].key, skey))
			continue;
		if (!etcd_get(e, skey, &sk) && !etcd_get(e, hkey, &hk) &&
		    !reg_parse_instance(sk.value, sk.value_len, NULL, &prev, why, sizeof(why))) {
			if (reg_same_check(&prev.check, &in->check) &&
			    !reg_health_parse(hk.value, hk.value_len, &oh)) {
				st = oh.status;
				output = oh.output;
			}
			reg_instance_free(&prev);
		}
		etcd_kv_free(&sk);
		etcd_kv_free(&hk);
	}
	err = etcd_lease_grant(e, reg_lease_ttl_s(in, cfg->lease_min_s), &lease);
	if (err)
		goto out;
	sval = reg_instance_to_json(in);
	hval = reg_health_json(st, output, time(NULL));
	if (!sval || !hval) {
		err = -ENOMEM;
		goto out;
	}
	ops[nops++] = (struct etcd_op){ ETCD_OP_PUT, skey, sval, strlen(sval), lease };
	ops[nops++] = (struct etcd_op){ ETCD_OP_PUT, hkey, hval, strlen(hval), lease };
	for (size_t i = 0; i < nold; i++) {
		char nm[REG_NAME_MAX + 1];

		if (!strcmp(old[i].key, skey))
			continue;
		/* The same ID under another name: the new one replaces it. */
		key_name(cfg, old[i].key, nm, sizeof(nm));
		snprintf(okeys[i][0], KEY_MAX, "%s", old[i].key);
		if (reg_key(okeys[i][1], KEY_MAX, cfg, "health", nm, in->id))
			continue;
		ops[nops++] = (struct etcd_op){ .type = ETCD_OP_DELETE, .key = okeys[i][0] };
		ops[nops++] = (struct etcd_op){ .type = ETCD_OP_DELETE, .key = okeys[i][1] };
	}
	err = etcd_txn(e, NULL, 0, ops, nops, NULL, NULL);
	if (err)
		goto out;
	for (size_t i = 0; i < nold; i++)
		if (old[i].lease && old[i].lease != lease)
			etcd_lease_revoke(e, old[i].lease); /* holds no key any more */
	lease = 0;
out:
	if (lease)
		etcd_lease_revoke(e, lease); /* the txn failed: do not leak it */
	free(sval);
	free(hval);
	reg_health_free(&oh);
	etcd_kvs_free(old, nold);
	return err;
}

int reg_store_deregister(struct etcd *e, const struct reg_cfg *cfg, const char *id)
{
	struct etcd_kv *old = NULL;
	size_t nold = 0;
	int err;

	err = find_by_id(e, cfg, id, &old, &nold);
	for (size_t i = 0; !err && i < nold; i++) {
		char nm[REG_NAME_MAX + 1], hkey[KEY_MAX];
		struct etcd_op ops[2];

		/* Revoking the lease deletes both keys at one revision. */
		if (old[i].lease) {
			err = etcd_lease_revoke(e, old[i].lease);
			if (err != -ENOENT)
				continue;
		}
		/* No lease (or it just expired): delete the keys themselves. */
		key_name(cfg, old[i].key, nm, sizeof(nm));
		err = reg_key(hkey, sizeof(hkey), cfg, "health", nm, id);
		if (err)
			break;
		ops[0] = (struct etcd_op){ .type = ETCD_OP_DELETE, .key = old[i].key };
		ops[1] = (struct etcd_op){ .type = ETCD_OP_DELETE, .key = hkey };
		err = etcd_txn(e, NULL, 0, ops, 2, NULL, NULL);
	}
	etcd_kvs_free(old, nold);
	return err;
}

int reg_store_set_ttl_status(struct etcd *e, const struct reg_cfg *cfg,
			     const char *id, enum reg_status st, const char *note)
{
	struct etcd_kv *old = NULL, sk = { 0 };
	struct reg_instance in = { 0 };
	size_t nold = 0;
	char why[160], hkey[KEY_MAX], *hval = NULL;
	int64_t ttl = 0;
	bool ok = false;
	int err;

	err = find_by_id(e, cfg, id, &old, &nold);
	if (err)
		return err;
	err = etcd_get(e, old[0].key, &sk);
	if (err)
		goto out;
	if (reg_parse_instance(sk.value, sk.value_len, NULL, &in, why, sizeof(why))) {
		err = -EIO;
		goto out;
	}
	if (in.check.kind != REG_CHECK_TTL) {
		err = -EINVAL;
		goto out;
	}
	err = reg_key(hkey, sizeof(hkey), cfg, "health", in.name, in.id);
	if (err)
		goto out;
	hval = reg_health_json(st, note ? note : "", time(NULL));
	if (!hval) {
		err = -ENOMEM;
		goto out;
	}
	{
		struct etcd_cmp c = { .key = sk.key, .target = ETCD_CMP_LEASE, .value = sk.lease };
		struct etcd_op op = { ETCD_OP_PUT, hkey, hval, strlen(hval), sk.lease };

		err = etcd_txn(e, &c, 1, &op, 1, &ok, NULL);
	}
	if (!err && !ok)
		err = -ENOENT; /* replaced or expired meanwhile */
	if (!err && st != REG_CRITICAL) {
		err = etcd_lease_keepalive(e, sk.lease, &ttl);
		if (!err && ttl == 0)
			err = -ENOENT;
	}
out:
	free(hval);
	reg_instance_free(&in);
	etcd_kv_free(&sk);
	etcd_kvs_free(old, nold);
	return err;
}

int reg_store_write_health(struct etcd *e, const struct reg_cfg *cfg,
			   const char *name, const char *id, int64_t lease,
			   enum reg_status st, const char *output,
			   int64_t leader_lease, bool *applied)
{
	char skey[KEY_MAX], hkey[KEY_MAX], lkey[KEY_MAX], *hval;
	int err;

	*applied = false;
	if ((err = reg_key(skey, sizeof(skey), cfg, "services", name, id)) ||
	    (err = reg_key(hkey, sizeof(hkey), cfg, "health", name, id)))
		return err;
	if (snprintf(lkey, sizeof(lkey), "%sleader", cfg->prefix) >= (int)sizeof(lkey))
		return -ENAMETOOLONG;
	hval = reg_health_json(st, output, time(NULL));
	if (!hval)
		return -ENOMEM;
	struct etcd_cmp c[2] = {
		{ .key = skey, .target = ETCD_CMP_LEASE, .value = lease },
		{ .key = lkey, .target = ETCD_CMP_LEASE, .value = leader_lease },
	};
	struct etcd_op op = { ETCD_OP_PUT, hkey, hval, strlen(hval), lease };

	err = etcd_txn(e, c, 2, &op, 1, applied, NULL);
	free(hval);
	return err;
}

int reg_store_ready(struct etcd *e, const struct reg_cfg *cfg)
{
	char lkey[KEY_MAX];
	size_t n;

	snprintf(lkey, sizeof(lkey), "%sleader", cfg->prefix);
	return etcd_count_prefix(e, lkey, &n, NULL);
}
