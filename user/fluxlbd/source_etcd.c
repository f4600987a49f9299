// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The etcd source: reads fluxlb-registry's keys directly (docs/registry.md, "The
 * registry's data in etcd"):
 *   <prefix>services/<name>/<id>  the instance (Consul's JSON shape)
 *   <prefix>health/<name>/<id>    {"Status": "passing|warning|critical", ...}
 * It lists the prefix once, then watches it from the listed revision + 1.
 * A broken stream resumes from the last revision seen + 1; a compacted
 * revision (-ERANGE) makes it list again. Outages keep the last view.
 * An instance without a health key counts as passing when it has no check
 * and as critical when it has one (Consul's default before the first check).
 * TLS and credentials (ca_file, cert_file/key_file, username/password_file)
 * go to the client as they are; a refused certificate or login is a source
 * down with etcd's reason, retried every second like an outage.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcd.h"
#include "log.h"
#include "source.h"

struct entry {
	char *key;
	char *value;
};

struct state {
	struct source *s;
	const struct flb_source_cfg *cfg;
	const char *const *services;
	size_t n_services;
	struct entry *e;
	size_t n, cap;
	int64_t revision;      /* last revision seen */
	bool dirty;
};

static void state_clear(struct state *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->e[i].key);
		free(st->e[i].value);
	}
	st->n = 0;
}

static void state_set(struct state *st, const char *key, const char *value, bool del)
{
	size_t i;

	for (i = 0; i < st->n && strcmp(st->e[i].key, key); i++)
		;
	if (del) {
		if (i < st->n) {
			free(st->e[i].key);
			free(st->e[i].value);
			st->e[i] = st->e[--st->n];
		}
		return;
	}
	if (i == st->n) {
		if (st->n == st->cap) {
			size_t cap = st->cap ? st->cap * 2 : 64;
			struct entry *grown = realloc(st->e, cap * sizeof(*grown));

			if (!grown)
				return;
			st->e = grown;
			st->cap = cap;
		}
		st->e[i].key = strdup(key);
		st->e[i].value = NULL;
		st->n++;
	}
	free(st->e[i].value);
	st->e[i].value = strdup(value ? value : "");
}

static const char *state_get(const struct state *st, const char *key)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->e[i].key, key))
			return st->e[i].value;
	return NULL;
}

static int status_of(const struct state *st, const char *service, const char *id, bool has_check)
{
	char key[512];
	const char *v;
	cJSON *h, *s;
	int status = has_check ? SRC_CRITICAL : SRC_PASSING;

	snprintf(key, sizeof(key), "%shealth/%s/%s", st->cfg->prefix, service, id);
	v = state_get(st, key);
	h = v ? cJSON_Parse(v) : NULL;
	s = cJSON_GetObjectItemCaseSensitive(h, "Status");
	if (cJSON_IsString(s))
		status = !strcmp(s->valuestring, "passing") ? SRC_PASSING :
			 !strcmp(s->valuestring, "warning") ? SRC_WARNING : SRC_CRITICAL;
	cJSON_Delete(h);
	return status;
}

static bool parse_instance(const struct state *st, const char *service, const char *json,
			   struct src_instance *out)
{
	cJSON *j = cJSON_Parse(json);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "ID");
	const cJSON *addr = cJSON_GetObjectItemCaseSensitive(j, "Address");
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(j, "Port");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "Weights"), *wv;
	bool ok = cJSON_IsString(id) && cJSON_IsString(addr) && cJSON_IsNumber(port) &&
		  port->valuedouble >= 1 && port->valuedouble <= 65535 &&
		  !addr_parse(addr->valuestring, &out->addr);

	if (ok) {
		snprintf(out->id, sizeof(out->id), "%s", id->valuestring);
		out->port = (uint16_t)port->valuedouble;
		out->status = status_of(st, service, id->valuestring,
					cJSON_GetObjectItemCaseSensitive(j, "Check") != NULL);
		wv = cJSON_GetObjectItemCaseSensitive(w, out->status == SRC_WARNING ? "Warning" : "Passing");
		out->weight = !cJSON_IsNumber(wv) ? 1 : wv->valuedouble < 0 ? 0 :
			      wv->valuedouble > 10000 ? 10000 : (uint32_t)wv->valuedouble;
	} else {
		log_warn("registry instance skipped: needs ID, Port and an IP Address", "service=%s",
			 service);
	}
	cJSON_Delete(j);
	return ok;
}

static void publish_all(struct state *st)
{
	for (size_t k = 0; k < st->n_services; k++) {
		char pre[512];
		size_t plen, n = 0;
		struct src_instance *inst = calloc(st->n + 1, sizeof(*inst));

		if (!inst)
			return;
		plen = snprintf(pre, sizeof(pre), "%sservices/%s/", st->cfg->prefix, st->services[k]);
		for (size_t i = 0; i < st->n; i++)
			if (!strncmp(st->e[i].key, pre, plen) && !strchr(st->e[i].key + plen, '/'))
				n += parse_instance(st, st->services[k], st->e[i].value, &inst[n]);
		source_publish(st->s, st->services[k], inst, n);
	}
	st->dirty = false;
}

static int list(struct state *st, struct etcd *e)
{
	struct etcd_kv *kvs = NULL;
	size_t n = 0;
	int err = etcd_get_prefix(e, st->cfg->prefix, &kvs, &n, &st->revision);

	if (err)
		return err;
	state_clear(st);
	for (size_t i = 0; i < n; i++)
		state_set(st, kvs[i].key, kvs[i].value, false);
	etcd_kvs_free(kvs, n);
	publish_all(st);
	return 0;
}

static int on_event(void *ctx, enum etcd_event type, const struct etcd_kv *kv, int64_t revision)
{
	struct state *st = ctx;

	char health[256];

	state_set(st, kv->key, kv->value, type == ETCD_DELETE);
	st->revision = revision;
	/* A deregistration or an expired lease deletes health/ and services/
	 * keys in one revision, health/ first: publishing in between would show
	 * the instance critical (re-steering its flows) instead of gone
	 * (draining). The services/ delete that follows publishes. */
	snprintf(health, sizeof(health), "%shealth/", st->cfg->prefix);
	if (type == ETCD_DELETE && !strncmp(kv->key, health, strlen(health)))
		return 0;
	publish_all(st);
	return 0;
}

static void pause_1s(struct source *s)
{
	for (int i = 0; i < 10 && !source_stopping(s); i++)
		usleep(100 * 1000);
}

static void run(struct source *s, const struct flb_source_cfg *cfg, const char *const *services,
		size_t n)
{
	struct state st = { .s = s, .cfg = cfg, .services = services, .n_services = n };
	struct etcd *e = etcd_new(cfg->endpoints, 5000);
	const struct etcd_security sec = {
		.ca_file = cfg->ca_file[0] ? cfg->ca_file : NULL,
		.cert_file = cfg->cert_file[0] ? cfg->cert_file : NULL,
		.key_file = cfg->key_file[0] ? cfg->key_file : NULL,
		.username = cfg->username[0] ? cfg->username : NULL,
		.password_file = cfg->password_file[0] ? cfg->password_file : NULL,
	};
	bool listed = false, up = false;
	char why[240];

	if (e && etcd_secure(e, &sec)) {
		etcd_free(e);
		e = NULL;
	}

	while (e && !source_stopping(s)) {
		size_t count;
		/* After a broken watch, one read proves etcd answers (and takes
		 * our certificate and login) before the source counts as up. */
		int err = !listed ? list(&st, e) :
			  !up ? etcd_count_prefix(e, cfg->prefix, &count, NULL) : 0;

		if (err) {
			snprintf(why, sizeof(why), "%s: %s", listed ? "read" : "list",
				 *etcd_last_error(e) ? etcd_last_error(e) : strerror(-err));
			source_set_up(s, false, why);
			pause_1s(s);
			continue;
		}
		listed = true;
		up = true;
		source_set_up(s, true, NULL);
		err = etcd_watch(e, cfg->prefix, st.revision + 1, on_event, &st, source_stop_flag(s));
		if (!err || source_stopping(s))
			break;
		if (err == -ERANGE) {
			log_info("watch revision compacted; listing again", "revision=%lld",
				 (long long)st.revision + 1);
			listed = false;
			continue;
		}
		snprintf(why, sizeof(why), "watch: %s",
			 *etcd_last_error(e) ? etcd_last_error(e) : strerror(-err));
		up = false;
		source_set_up(s, false, why);
		pause_1s(s);
	}
	state_clear(&st);
	free(st.e);
	etcd_free(e);
}

const struct source_kind source_etcd = { .name = "etcd", .run = run };
