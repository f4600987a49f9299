// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The status writer's Lease (see k8s_lease.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s_http.h"
#include "k8s_lease.h"

enum k8s_lease_action k8s_lease_step(struct k8s_lease_state *s, const struct k8s_lease_rec *rec,
				     const char *me, double now)
{
	int dur = rec->duration_s > 0 ? rec->duration_s : 15;

	if (!rec->exists) {
		s->leader = false;
		return K8S_LEASE_CREATE;
	}
	if (strcmp(rec->holder, s->seen.holder) || strcmp(rec->renew, s->seen.renew) ||
	    strcmp(rec->rv, s->seen.rv) || !s->seen.exists) {
		s->seen = *rec;
		s->seen_at = now;
	}
	s->seen = *rec;
	if (!strcmp(rec->holder, me))
		return K8S_LEASE_RENEW;
	s->leader = false;
	if (!rec->holder[0] || now - s->seen_at > dur)
		return K8S_LEASE_TAKE;
	return K8S_LEASE_WAIT;
}

void k8s_lease_done(struct k8s_lease_state *s, enum k8s_lease_action a, bool ok, double now)
{
	if (a == K8S_LEASE_WAIT)
		return;
	s->leader = ok;
	if (ok)
		s->renewed_at = now;
}

bool k8s_lease_held(const struct k8s_lease_state *s, double now, int duration_s)
{
	return s->leader && now - s->renewed_at < duration_s * 2.0 / 3.0;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

int k8s_lease_parse(const char *json, struct k8s_lease_rec *rec)
{
	cJSON *o = cJSON_Parse(json);
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(o, "spec"), *v;

	memset(rec, 0, sizeof(*rec));
	if (!cJSON_IsObject(md) || !*str(md, "resourceVersion")) {
		cJSON_Delete(o);
		return -EBADMSG;
	}
	rec->exists = true;
	snprintf(rec->rv, sizeof(rec->rv), "%s", str(md, "resourceVersion"));
	snprintf(rec->holder, sizeof(rec->holder), "%s", str(spec, "holderIdentity"));
	snprintf(rec->acquire, sizeof(rec->acquire), "%s", str(spec, "acquireTime"));
	snprintf(rec->renew, sizeof(rec->renew), "%s", str(spec, "renewTime"));
	v = cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds");
	rec->duration_s = cJSON_IsNumber(v) ? v->valueint : 0;
	v = cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions");
	rec->transitions = cJSON_IsNumber(v) ? v->valueint : 0;
	cJSON_Delete(o);
	return 0;
}

char *k8s_lease_body(const struct k8s_lease_rec *rec, enum k8s_lease_action a, const char *ns,
		     const char *name, const char *me, int duration_s, const char *now_text)
{
	cJSON *o = cJSON_CreateObject(), *md, *spec;
	bool take = a == K8S_LEASE_TAKE || a == K8S_LEASE_CREATE;
	char *out;

	cJSON_AddStringToObject(o, "apiVersion", "coordination.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "Lease");
	md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", ns);
	if (a != K8S_LEASE_CREATE)
		cJSON_AddStringToObject(md, "resourceVersion", rec->rv);
	spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "holderIdentity", me);
	cJSON_AddNumberToObject(spec, "leaseDurationSeconds", *me ? duration_s : 1);
	cJSON_AddStringToObject(spec, "acquireTime", take || !rec->acquire[0] ? now_text : rec->acquire);
	cJSON_AddStringToObject(spec, "renewTime", now_text);
	cJSON_AddNumberToObject(spec, "leaseTransitions",
				rec->transitions + (a == K8S_LEASE_TAKE && rec->holder[0] ? 1 : 0));
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

static void micro_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%.19s.%06dZ", s, (int)(ts.tv_nsec / 1000 % 1000000));
}

static void lease_url(const struct k8s_lease_cfg *lc, char *buf, size_t len, bool one)
{
	char path[256];

	snprintf(path, sizeof(path), "apis/coordination.k8s.io/v1/namespaces/%s/leases%s%s", lc->ns,
		 one ? "/" : "", one ? lc->name : "");
	k8s_url(lc->auth, buf, len, path);
}

/* Writes the Lease; on success *after is what the server stored. */
static long write_lease(CURL *c, const struct k8s_lease_cfg *lc, const struct k8s_lease_rec *rec,
			enum k8s_lease_action a, const char *me, struct k8s_lease_rec *after, char *why,
			size_t why_len)
{
	char url[512], now[40], *body, *reply;
	long code;

	micro_now(now, sizeof(now));
	body = k8s_lease_body(rec, a, lc->ns, lc->name, me, lc->duration_s, now);
	if (!body) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	lease_url(lc, url, sizeof(url), a != K8S_LEASE_CREATE);
	code = k8s_request(c, lc->auth, a == K8S_LEASE_CREATE ? "POST" : "PUT", url, body, &reply, why, why_len);
	free(body);
	if ((code == 200 || code == 201) && (!reply || k8s_lease_parse(reply, after)))
		code = -1; /* a success without the Lease: we cannot renew it */
	free(reply);
	return code;
}

bool k8s_lease_round(CURL *c, const struct k8s_lease_cfg *lc, struct k8s_lease_state *s, double now,
		     char *why, size_t why_len)
{
	struct k8s_lease_rec rec = {}, after;
	enum k8s_lease_action a;
	char url[512], *reply;
	long code;

	why[0] = 0;
	lease_url(lc, url, sizeof(url), true);
	code = k8s_request(c, lc->auth, "GET", url, NULL, &reply, why, why_len);
	if (code == 200 && k8s_lease_parse(reply, &rec))
		snprintf(why, why_len, "GET %s: not a Lease", url);
	free(reply);
	if (code != 200 && code != 404) {
		/* No answer: keep holding until the deadline says otherwise. */
		return k8s_lease_held(s, now, lc->duration_s);
	}
	if (code == 200 && !rec.exists)
		return k8s_lease_held(s, now, lc->duration_s);
	a = k8s_lease_step(s, &rec, lc->me, now);
	if (a == K8S_LEASE_WAIT)
		return false;
	code = write_lease(c, lc, &rec, a, lc->me, &after, why, why_len);
	k8s_lease_done(s, a, code == 200 || code == 201, now);
	if (code == 200 || code == 201) {
		s->seen = after;
		s->seen_at = now;
	}
	if (code == 409)
		snprintf(why, why_len, "Lease %s/%s changed under us (409 Conflict)", lc->ns, lc->name);
	else if (code == 200 || code == 201)
		why[0] = 0;
	return k8s_lease_held(s, now, lc->duration_s);
}

void k8s_lease_release(CURL *c, const struct k8s_lease_cfg *lc, struct k8s_lease_state *s)
{
	struct k8s_lease_rec after;
	char why[256];

	if (!s->leader)
		return;
	write_lease(c, lc, &s->seen, K8S_LEASE_RENEW, "", &after, why, sizeof(why));
	s->leader = false;
}
