// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Kubernetes source's store and mapping (see source_kubernetes.h): pure
 * functions over cJSON, no network. Field names and their meanings are the
 * API's: core/v1 Service and discovery.k8s.io/v1 EndpointSlice. Where a
 * condition is absent the API's own rule applies: a nil ready or serving
 * counts as true, a nil terminating as false.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_alloc.h"
#include "source_kubernetes.h"

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = get(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "<namespace>/<name>" of an object; false when either is missing. */
static bool key_of(const cJSON *obj, char *buf, size_t len)
{
	const cJSON *md = get(obj, "metadata");
	const char *ns = str(md, "namespace"), *name = str(md, "name");

	if (!ns || !name || (size_t)snprintf(buf, len, "%s/%s", ns, name) >= len)
		return false;
	return true;
}

static void set_rv(struct k8s_objects *o, const cJSON *obj)
{
	const char *rv = str(get(obj, "metadata"), "resourceVersion");

	if (rv && strlen(rv) < sizeof(o->rv))
		strcpy(o->rv, rv);
}

void k8s_store_free(struct k8s_store *st)
{
	for (int k = 0; k < K8S_KINDS; k++)
		cJSON_Delete(st->kind[k].byname);
	memset(st, 0, sizeof(*st));
}

int k8s_store_list(struct k8s_store *st, enum k8s_kind kind, const char *body)
{
	struct k8s_objects *o = &st->kind[kind];
	cJSON *root = cJSON_Parse(body), *byname = NULL, *it;
	const cJSON *items = get(root, "items");
	char key[320];
	int err = -EBADMSG;

	if (!cJSON_IsObject(root) || !str(get(root, "metadata"), "resourceVersion") ||
	    !(cJSON_IsArray(items) || cJSON_IsNull(items)))
		goto out;
	byname = cJSON_CreateObject();
	if (!byname) {
		err = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, items) {
		if (!key_of(it, key, sizeof(key)))
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(byname, key);
		cJSON_AddItemToObject(byname, key, cJSON_Duplicate(it, true));
	}
	cJSON_Delete(o->byname);
	o->byname = byname;
	o->rv[0] = 0;
	set_rv(o, root);
	o->synced = true;
	err = 0;
out:
	cJSON_Delete(root);
	return err;
}

int k8s_store_event(struct k8s_store *st, enum k8s_kind kind, const char *line)
{
	struct k8s_objects *o = &st->kind[kind];
	cJSON *ev = cJSON_Parse(line);
	const cJSON *obj = get(ev, "object");
	const char *type = str(ev, "type");
	char key[320];
	int ret = -EBADMSG;

	if (!type || !cJSON_IsObject(obj))
		goto out;
	if (!strcmp(type, "ERROR")) {
		/* obj is a metav1.Status; 410 Gone means our resourceVersion
		 * is older than what the server keeps. */
		const cJSON *code = get(obj, "code");

		ret = cJSON_IsNumber(code) && code->valueint == 410 ? K8S_EV_GONE : K8S_EV_ERROR;
		goto out;
	}
	if (!strcmp(type, "BOOKMARK")) {
		set_rv(o, obj);
		ret = K8S_EV_BOOKMARK;
		goto out;
	}
	if ((strcmp(type, "ADDED") && strcmp(type, "MODIFIED") && strcmp(type, "DELETED")) ||
	    !key_of(obj, key, sizeof(key)))
		goto out;
	if (!o->byname && !(o->byname = cJSON_CreateObject())) {
		ret = -ENOMEM;
		goto out;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(o->byname, key);
	if (strcmp(type, "DELETED"))
		cJSON_AddItemToObject(o->byname, key, cJSON_Duplicate(obj, true));
	set_rv(o, obj);
	ret = K8S_EV_APPLIED;
out:
	cJSON_Delete(ev);
	return ret;
}

/* A condition with the API's default for nil. */
static bool cond(const cJSON *conds, const char *k, bool dflt)
{
	const cJSON *v = get(conds, k);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

static const char *proto_of(const cJSON *port)
{
	const char *p = str(port, "protocol");

	return p ? p : "TCP"; /* the API's default */
}

/* The Service port that sel names (number or name; NULL: the only one). */
static const cJSON *service_port(const cJSON *ports, const char *sel)
{
	const cJSON *p, *found = NULL;
	int n = 0;

	cJSON_ArrayForEach(p, ports) {
		const cJSON *num = get(p, "port");
		const char *name = str(p, "name");
		char nb[16];

		n++;
		if (!sel) {
			found = p;
			continue;
		}
		snprintf(nb, sizeof(nb), "%d", cJSON_IsNumber(num) ? num->valueint : -1);
		if (!strcmp(sel, nb) || (name && !strcmp(sel, name)))
			return p;
	}
	return !sel && n == 1 ? found : NULL;
}

/* The port of a slice for the Service port's name and protocol; 0 when the
 * slice has none. An unnamed Service port matches an unnamed slice port. */
static int slice_port(const cJSON *slice, const char *name, const char *proto)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, get(slice, "ports")) {
		const char *pn = str(p, "name");
		const cJSON *num = get(p, "port");

		if (strcmp(pn ? pn : "", name ? name : "") || strcmp(proto_of(p), proto) ||
		    !cJSON_IsNumber(num) || num->valueint < 1 || num->valueint > 65535)
			continue;
		return num->valueint;
	}
	return 0;
}

static int add_slice(const cJSON *slice, const char *skey, int port, const char *node,
		     struct src_instance **inst, size_t *n, size_t *cap)
{
	const char *at = str(slice, "addressType");
	const cJSON *ep;

	if (!at || (strcmp(at, "IPv4") && strcmp(at, "IPv6")))
		return 0; /* FQDN endpoints cannot be backends */
	cJSON_ArrayForEach(ep, get(slice, "endpoints")) {
		const cJSON *conds = get(ep, "conditions"), *a;
		bool ready = cond(conds, "ready", true);
		bool serving = cond(conds, "serving", ready);
		bool terminating = cond(conds, "terminating", false);
		const char *nn = str(ep, "nodeName");
		bool local = node && *node && nn && !strcmp(nn, node);

		cJSON_ArrayForEach(a, get(ep, "addresses")) {
			struct src_instance *in;

			if (!cJSON_IsString(a))
				continue;
			if (*n == *cap) {
				size_t c = *cap ? *cap * 2 : 16;
				struct src_instance *g = realloc(*inst, c * sizeof(*g));

				if (!g)
					return -ENOMEM;
				*inst = g;
				*cap = c;
			}
			in = &(*inst)[*n];
			memset(in, 0, sizeof(*in));
			if (addr_parse(a->valuestring, &in->addr))
				continue;
			snprintf(in->id, sizeof(in->id), "%s/%s", skey, a->valuestring);
			in->port = (uint16_t)port;
			in->local = local;
			if (ready) {
				in->status = SRC_PASSING;
				in->weight = 1;
			} else if (serving && terminating) {
				in->status = SRC_PASSING;
				in->weight = 0; /* draining: held flows stay, no new ones */
			} else {
				in->status = SRC_CRITICAL;
			}
			(*n)++;
		}
	}
	return 0;
}

int k8s_instances_at(const struct k8s_store *st, const char *class, const struct k8s_vip *vips, size_t n_vips,
		     const char *source_service, struct src_instance **out, size_t *n, char *why, size_t why_len)
{
	char ns[128], name[128], sel[64], key[320];
	const char *slash = strchr(source_service, '/'), *colon;
	const cJSON *svc, *spec, *sp, *slice;
	const struct k8s_vip *vip;
	const char *lbc, *type, *pname;
	size_t cap = 0;
	int port, err = 0;

	*out = NULL;
	*n = 0;
	why[0] = 0;
	colon = slash ? strchr(slash, ':') : NULL;
	if (!slash || slash == source_service || (size_t)(slash - source_service) >= sizeof(ns) ||
	    strlen(slash + 1) >= sizeof(name)) {
		snprintf(why, why_len, "not <namespace>/<service>[:<port>]");
		return 0;
	}
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - source_service), source_service);
	snprintf(name, sizeof(name), "%.*s", (int)(colon ? colon - slash - 1 : (long)strlen(slash + 1)),
		 slash + 1);
	snprintf(sel, sizeof(sel), "%s", colon ? colon + 1 : "");
	snprintf(key, sizeof(key), "%s/%s", ns, name);

	svc = get(st->kind[K8S_SERVICES].byname, key);
	spec = get(svc, "spec");
	type = str(spec, "type");
	lbc = str(spec, "loadBalancerClass");
	if (!svc) {
		snprintf(why, why_len, "no such Service");
		return 0;
	}
	if (!type || strcmp(type, "LoadBalancer") || !lbc || strcmp(lbc, class)) {
		snprintf(why, why_len, "not type LoadBalancer with loadBalancerClass %s", class);
		return 0;
	}
	vip = k8s_vip_find(vips, n_vips, key);
	if (!k8s_vip_served(vip)) {
		if (vip && vip->result == K8S_VIP_POOL)
			snprintf(why, why_len, "no VIP yet: the status writer has not written the pool address");
		else
			snprintf(why, why_len, "%s", vip && vip->why[0] ? vip->why : "no VIP");
		return 0;
	}
	sp = service_port(get(spec, "ports"), *sel ? sel : NULL);
	if (!sp) {
		snprintf(why, why_len, *sel ? "no Service port %s" : "several Service ports: name one", sel);
		return 0;
	}
	if (strcmp(proto_of(sp), "TCP") && strcmp(proto_of(sp), "UDP")) {
		snprintf(why, why_len, "protocol %s is neither TCP nor UDP", proto_of(sp));
		return 0;
	}
	pname = str(sp, "name");
	cJSON_ArrayForEach(slice, st->kind[K8S_SLICES].byname) {
		const cJSON *md = get(slice, "metadata");
		const char *owner = str(get(md, "labels"), "kubernetes.io/service-name");
		const char *sns = str(md, "namespace");

		if (!owner || !sns || strcmp(owner, name) || strcmp(sns, ns))
			continue;
		port = slice_port(slice, pname, proto_of(sp));
		if (port && (err = add_slice(slice, slice->string, port, st->node, out, n, &cap)))
			break;
	}
	if (err) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}

int k8s_instances(const struct k8s_store *st, const char *class, const char *source_service,
		  struct src_instance **out, size_t *n, char *why, size_t why_len)
{
	struct k8s_vip *v;
	size_t nv;
	int err = k8s_allocate(st->kind[K8S_SERVICES].byname, class, NULL, 0, &v, &nv);

	if (!err)
		err = k8s_instances_at(st, class, v, nv, source_service, out, n, why, why_len);
	free(v);
	return err;
}

uint32_t k8s_affinity_timeout(const cJSON *svc)
{
	const cJSON *spec = get(svc, "spec");
	const char *aff = str(spec, "sessionAffinity");
	const cJSON *t = get(get(get(spec, "sessionAffinityConfig"), "clientIP"), "timeoutSeconds");

	if (!aff || strcmp(aff, "ClientIP"))
		return 0;
	if (!cJSON_IsNumber(t) || t->valuedouble < 1 || t->valuedouble > 86400)
		return 10800;
	return (uint32_t)t->valuedouble;
}
