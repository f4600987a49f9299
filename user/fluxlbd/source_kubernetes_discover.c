// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Discovery for the Kubernetes source (see k8s_discover() in
 * source_kubernetes.h): pure, over the store and the VIPs of
 * k8s_allocate(), so every node serves the same services.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_alloc.h"
#include "source_kubernetes.h"

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void discovered_free(struct src_service *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(d[i].inst);
	free(d);
}

int k8s_discover(const struct k8s_store *st, const char *class, const struct k8s_vip *vips, size_t n_vips,
		 struct src_service **out, size_t *n)
{
	struct src_service *d = NULL;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	for (size_t v = 0; v < n_vips; v++) {
		const cJSON *svc = cJSON_GetObjectItemCaseSensitive(st->kind[K8S_SERVICES].byname, vips[v].key);
		const cJSON *ports = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(svc, "spec"),
								      "ports");
		const cJSON *p;

		if (!svc || !k8s_vip_served(&vips[v]))
			continue;
		cJSON_ArrayForEach(p, ports) {
			const cJSON *num = cJSON_GetObjectItemCaseSensitive(p, "port");
			const char *pname = str(p, "name"), *proto = str(p, "protocol");
			struct src_service *e;
			char name[sizeof(d->name) + 1], why[160];

			if (!proto)
				proto = "TCP"; /* the API's default */
			if (!cJSON_IsNumber(num) || num->valueint < 1 || num->valueint > 65535 ||
			    (strcmp(proto, "TCP") && strcmp(proto, "UDP")))
				continue;
			if (pname && *pname)
				snprintf(name, sizeof(name), "%s:%s", vips[v].key, pname);
			else
				snprintf(name, sizeof(name), "%s:%d", vips[v].key, num->valueint);
			if (strlen(name) >= sizeof(d->name))
				continue;
			if (*n == cap) {
				size_t c = cap ? cap * 2 : 8;
				struct src_service *g = realloc(d, c * sizeof(*g));

				if (!g)
					goto nomem;
				d = g;
				cap = c;
			}
			e = &d[*n];
			memset(e, 0, sizeof(*e));
			strcpy(e->name, name);
			e->vip = vips[v].addr;
			e->port = (uint16_t)num->valueint;
			e->proto = strcmp(proto, "UDP") ? IPPROTO_TCP : IPPROTO_UDP;
			e->discovered = e->known = true;
			e->affinity_timeout_s = k8s_affinity_timeout(svc);
			if (k8s_instances_at(st, class, vips, n_vips, name, &e->inst, &e->n, why, sizeof(why)))
				goto nomem;
			(*n)++;
		}
	}
	*out = d;
	return 0;
nomem:
	discovered_free(d, *n);
	*n = 0;
	return -ENOMEM;
}
