// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The status writer (see k8s_status.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "k8s_alloc.h"
#include "k8s_http.h"
#include "k8s_lease.h"
#include "k8s_status.h"
#include "log.h"
#include "metrics.h"

#define RESYNC_S 30.0 /* compare every status again this often, changed or not */

struct k8s_writer_stats k8s_writer_stats;

struct pending {
	char ns[128], name[128];
	char *body;          /* the Service with the new status */
	struct flb_addr addr;
	bool has_addr;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sets obj's status.loadBalancer.ingress to [{ip}] or []. */
static void set_ingress(cJSON *obj, const struct flb_addr *addr)
{
	cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status"), *lb, *ing, *one;
	char ip[64];

	if (!cJSON_IsObject(st)) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
		st = cJSON_AddObjectToObject(obj, "status");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(st, "loadBalancer");
	lb = cJSON_AddObjectToObject(st, "loadBalancer");
	ing = cJSON_AddArrayToObject(lb, "ingress");
	if (addr && !addr_format(addr, ip, sizeof(ip))) {
		one = cJSON_CreateObject();
		cJSON_AddStringToObject(one, "ip", ip);
		cJSON_AddItemToArray(ing, one);
	}
}

static char *service_body(const cJSON *svc, const struct flb_addr *addr)
{
	cJSON *o = cJSON_Duplicate(svc, true);
	char *out;

	if (!o)
		return NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(o, "apiVersion");
	cJSON_DeleteItemFromObjectCaseSensitive(o, "kind");
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "Service");
	set_ingress(o, addr);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

/* Logs a Service's VIP problem once per reason; last: key -> reason. */
static void note(cJSON *last, const struct k8s_vip *v)
{
	const char *r = k8s_vip_result_name(v->result);
	const cJSON *was = cJSON_GetObjectItemCaseSensitive(last, v->key);
	bool problem = v->result >= K8S_VIP_CONFLICT;

	if (problem && !(cJSON_IsString(was) && !strcmp(was->valuestring, r))) {
		log_warn("kubernetes service has no VIP; it is not served", "service=%s reason=%s detail=\"%s\"",
			 v->key, r, v->why);
		if (v->result == K8S_VIP_CONFLICT || v->result == K8S_VIP_BAD)
			k8s_writer_stats.vip_conflict++;
		else if (v->result == K8S_VIP_EXHAUSTED)
			k8s_writer_stats.vip_exhausted++;
		else
			k8s_writer_stats.vip_none++;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(last, v->key);
	if (problem)
		cJSON_AddStringToObject(last, v->key, r);
}

/* The writes the store needs; w->lock held. */
static size_t plan_writes(struct k8s_writer *w, cJSON *last, struct pending **out)
{
	const cJSON *services = w->store->kind[K8S_SERVICES].byname;
	struct k8s_vip *v;
	size_t nv, np = 0;

	*out = NULL;
	if (k8s_allocate(services, w->cfg->lb_class, w->cfg->pool, w->cfg->n_pool, &v, &nv))
		return 0;
	*out = calloc(nv + 1, sizeof(**out));
	for (size_t i = 0; *out && i < nv; i++) {
		const cJSON *svc = cJSON_GetObjectItemCaseSensitive(services, v[i].key);
		bool has = v[i].result <= K8S_VIP_POOL;
		struct pending *p = &(*out)[np];
		const char *slash = strchr(v[i].key, '/');

		note(last, &v[i]);
		if (!svc || !slash || k8s_status_is(svc, has ? &v[i].addr : NULL))
			continue;
		snprintf(p->ns, sizeof(p->ns), "%.*s", (int)(slash - v[i].key), v[i].key);
		snprintf(p->name, sizeof(p->name), "%s", slash + 1);
		p->addr = v[i].addr;
		p->has_addr = has;
		if ((p->body = service_body(svc, has ? &v[i].addr : NULL)))
			np++;
	}
	free(v);
	return np;
}

static long put_status(CURL *c, const struct k8s_auth *a, const struct pending *p, const char *body,
		       char *why, size_t len)
{
	char path[400], url[700], *reply;
	long code;

	snprintf(path, sizeof(path), "api/v1/namespaces/%s/services/%s/status", p->ns, p->name);
	k8s_url(a, url, sizeof(url), path);
	code = k8s_request(c, a, "PUT", url, body, &reply, why, len);
	free(reply);
	return code;
}

/* After a 409: the Service as it is now, with our status. */
static char *reread(CURL *c, const struct k8s_auth *a, const struct pending *p, char *why, size_t len)
{
	char path[400], url[700], *reply, *body = NULL;
	cJSON *svc;

	snprintf(path, sizeof(path), "api/v1/namespaces/%s/services/%s", p->ns, p->name);
	k8s_url(a, url, sizeof(url), path);
	if (k8s_request(c, a, "GET", url, NULL, &reply, why, len) == 200 && (svc = cJSON_Parse(reply))) {
		if (!k8s_status_is(svc, p->has_addr ? &p->addr : NULL))
			body = service_body(svc, p->has_addr ? &p->addr : NULL);
		else
			body = strdup(""); /* someone wrote the same already */
		cJSON_Delete(svc);
	}
	free(reply);
	return body;
}

static void write_one(CURL *c, const struct k8s_auth *a, const struct pending *p)
{
	char why[300] = "", ip[64] = "";
	long code = put_status(c, a, p, p->body, why, sizeof(why));

	if (code == 409) {
		char *again = reread(c, a, p, why, sizeof(why));

		k8s_writer_stats.status_conflict++;
		log_info("kubernetes service status changed under us (409 Conflict); read it again",
			 "service=%s/%s", p->ns, p->name);
		code = again && !*again ? 200 : again ? put_status(c, a, p, again, why, sizeof(why)) : -1;
		free(again);
	}
	if (p->has_addr)
		addr_format(&p->addr, ip, sizeof(ip));
	if (code == 200 || code == 201) {
		k8s_writer_stats.status_ok++;
		log_info("kubernetes service status written", "service=%s/%s ingress=%s", p->ns, p->name,
			 *ip ? ip : "(none)");
	} else {
		k8s_writer_stats.status_failed++;
		log_warn("kubernetes service status write failed; retrying later", "service=%s/%s reason=\"%s\"",
			 p->ns, p->name, why);
	}
}

static void node_name(const struct flb_source_cfg *cfg, char *buf, size_t len)
{
	const char *env = getenv("NODE_NAME");

	if (cfg->node_name[0])
		snprintf(buf, len, "%s", cfg->node_name);
	else if (env && *env)
		snprintf(buf, len, "%s", env);
	else if (gethostname(buf, len))
		snprintf(buf, len, "fluxlbd-%d", (int)getpid());
	buf[len - 1] = 0;
}

static void *writer_main(void *arg)
{
	struct k8s_writer *w = arg;
	const struct flb_source_cfg *cfg = w->cfg;
	struct k8s_lease_cfg lc = { .auth = w->auth };
	struct k8s_lease_state ls = {};
	CURL *c = curl_easy_init();
	cJSON *last = cJSON_CreateObject();
	double next_lease = 0, next_sync = 0;
	bool held = false;
	char why[300], lastwhy[300] = "";

	if (!c || !last)
		goto out;
	lc.duration_s = cfg->lease_duration_ms ? (int)(cfg->lease_duration_ms / 1000) : 15;
	snprintf(lc.name, sizeof(lc.name), "%s", cfg->lease_name[0] ? cfg->lease_name : "fluxlbd-status-writer");
	snprintf(lc.ns, sizeof(lc.ns), "%s",
		 cfg->lease_namespace[0] ? cfg->lease_namespace
		 : cfg->k8s_namespace[0] ? cfg->k8s_namespace : "default");
	node_name(cfg, lc.me, sizeof(lc.me));
	log_info("kubernetes status writer", "lease=%s/%s holder=%s lease_duration=%ds pool_ranges=%zu", lc.ns,
		 lc.name, lc.me, lc.duration_s, cfg->n_pool);
	while (!source_stopping(w->s)) {
		double now = mono();
		bool dirty;

		if (now >= next_lease) {
			bool was = held;

			held = k8s_lease_round(c, &lc, &ls, now, why, sizeof(why));
			next_lease = now + lc.duration_s / 3.0;
			if (*why && strcmp(why, lastwhy)) {
				k8s_writer_stats.lease_failures++;
				log_warn("kubernetes Lease request failed", "lease=%s/%s reason=\"%s\"", lc.ns, lc.name, why);
			}
			snprintf(lastwhy, sizeof(lastwhy), "%s", why);
			if (held != was) {
				if (held)
					k8s_writer_stats.lease_acquired++;
				log_info(held ? "became the kubernetes status writer" : "no longer the kubernetes status writer",
					 "lease=%s/%s holder=%s", lc.ns, lc.name, held ? lc.me : ls.seen.holder);
				next_sync = 0;
			}
			k8s_writer_stats.leader = held;
		}
		pthread_mutex_lock(w->lock);
		dirty = *w->dirty;
		*w->dirty = false;
		pthread_mutex_unlock(w->lock);
		if (held && (dirty || now >= next_sync) && w->store->kind[K8S_SERVICES].synced) {
			struct pending *p;
			size_t n;

			pthread_mutex_lock(w->lock);
			n = plan_writes(w, last, &p);
			pthread_mutex_unlock(w->lock);
			for (size_t i = 0; i < n && k8s_lease_held(&ls, mono(), lc.duration_s); i++)
				write_one(c, w->auth, &p[i]);
			for (size_t i = 0; i < n; i++)
				free(p[i].body);
			free(p);
			next_sync = now + RESYNC_S;
		} else if (dirty && !held) {
			pthread_mutex_lock(w->lock);
			*w->dirty = true; /* for when we lead */
			pthread_mutex_unlock(w->lock);
		}
		usleep(100 * 1000);
	}
	if (held) {
		k8s_lease_release(c, &lc, &ls);
		log_info("released the kubernetes status writer Lease", "lease=%s/%s", lc.ns, lc.name);
	}
	k8s_writer_stats.leader = false;
out:
	cJSON_Delete(last);
	curl_easy_cleanup(c);
	return NULL;
}

int k8s_writer_start(struct k8s_writer *w)
{
	k8s_writer_stats.enabled = true;
	return -pthread_create(&w->thread, NULL, writer_main, w);
}

void k8s_writer_join(struct k8s_writer *w)
{
	pthread_join(w->thread, NULL);
}

void k8s_writer_metrics(struct metrics_buf *b)
{
	struct k8s_writer_stats *s = &k8s_writer_stats;

	if (!s->enabled)
		return;
	metrics_buf_printf(b, "# HELP fluxlb_k8s_leader 1 while this node holds the status writer Lease.\n"
			      "# TYPE fluxlb_k8s_leader gauge\nfluxlb_k8s_leader %d\n", s->leader ? 1 : 0);
	metrics_buf_printf(b, "# HELP fluxlb_k8s_lease_acquired_total Times this node became the status writer.\n"
			      "# TYPE fluxlb_k8s_lease_acquired_total counter\nfluxlb_k8s_lease_acquired_total %lu\n",
			   (unsigned long)s->lease_acquired);
	metrics_buf_printf(b, "# HELP fluxlb_k8s_lease_failures_total Lease requests that failed (network, 403, 409).\n"
			      "# TYPE fluxlb_k8s_lease_failures_total counter\nfluxlb_k8s_lease_failures_total %lu\n",
			   (unsigned long)s->lease_failures);
	metrics_buf_printf(b, "# HELP fluxlb_k8s_status_writes_total Writes of a Service's status.loadBalancer by result.\n"
			      "# TYPE fluxlb_k8s_status_writes_total counter\n"
			      "fluxlb_k8s_status_writes_total{result=\"ok\"} %lu\n"
			      "fluxlb_k8s_status_writes_total{result=\"conflict\"} %lu\n"
			      "fluxlb_k8s_status_writes_total{result=\"failed\"} %lu\n",
			   (unsigned long)s->status_ok, (unsigned long)s->status_conflict,
			   (unsigned long)s->status_failed);
	metrics_buf_printf(b, "# HELP fluxlb_k8s_vip_unassigned_total Services left without a VIP, by reason.\n"
			      "# TYPE fluxlb_k8s_vip_unassigned_total counter\n"
			      "fluxlb_k8s_vip_unassigned_total{reason=\"conflict\"} %lu\n"
			      "fluxlb_k8s_vip_unassigned_total{reason=\"exhausted\"} %lu\n"
			      "fluxlb_k8s_vip_unassigned_total{reason=\"none\"} %lu\n",
			   (unsigned long)s->vip_conflict, (unsigned long)s->vip_exhausted, (unsigned long)s->vip_none);
}
