// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The node role's plan: desired state -> flb_node_nat writes (see node_plan.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "node_plan.h"

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct flb_nat_key));
}

int node_want(const struct flb_config *cfg, struct node_nat **out, size_t *n)
{
	size_t cap = 0, k = 0;
	struct node_nat *w;

	for (size_t s = 0; s < cfg->n_services; s++)
		cap += cfg->services[s].n_backends;
	w = calloc(cap + 1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];

		if (!svc->port)
			continue;
		for (size_t b = 0; b < svc->n_backends; b++) {
			const struct flb_backend_cfg *be = &svc->backends[b];
			struct node_nat *e = &w[k];

			/* Local: in node.pods.cidrs, or on this node by name. */
			if (be->addr.family != svc->vip.family ||
			    !(be->on_node || config_pod_local(&cfg->pods, &be->addr)))
				continue;
			memset(e, 0, sizeof(*e));
			memcpy(e->key.vip, svc->vip.bytes, 16);
			memcpy(e->key.pod, be->addr.bytes, 16);
			e->key.vport = htons(svc->port);
			e->key.proto = svc->proto;
			e->key.family = svc->vip.family == AF_INET6 ? FLB_AF_INET6 : FLB_AF_INET;
			e->val.tport = htons(be->port ? be->port : svc->port);
			k++;
		}
	}
	qsort(w, k, sizeof(*w), cmp_key);
	/* The validator refuses repeated VIPs and backends; keep the first anyway. */
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (!*n || cmp_key(&w[*n - 1].key, &w[i].key))
			w[(*n)++] = w[i];
	*out = w;
	return 0;
}

int node_plan(const struct node_nat *want, size_t n_want, const struct node_nat *have,
	      size_t n_have, struct node_plan *p)
{
	struct node_nat *sorted = calloc(n_have + 1, sizeof(*sorted));

	memset(p, 0, sizeof(*p));
	p->put = calloc(n_want + 1, sizeof(*p->put));
	p->del = calloc(n_have + 1, sizeof(*p->del));
	if (!sorted || !p->put || !p->del) {
		free(sorted);
		node_plan_free(p);
		return -ENOMEM;
	}
	memcpy(sorted, have, n_have * sizeof(*have));
	qsort(sorted, n_have, sizeof(*sorted), cmp_key);
	p->n_want = n_want;
	for (size_t i = 0; i < n_want; i++) {
		const struct node_nat *h =
			bsearch(&want[i].key, sorted, n_have, sizeof(*sorted), cmp_key);

		if (!h || h->val.tport != want[i].val.tport)
			p->put[p->n_put++] = want[i];
	}
	for (size_t j = 0; j < n_have; j++)
		if (!bsearch(&sorted[j].key, want, n_want, sizeof(*want), cmp_key))
			p->del[p->n_del++] = sorted[j].key;
	free(sorted);
	return 0;
}

void node_plan_free(struct node_plan *p)
{
	free(p->put);
	free(p->del);
	memset(p, 0, sizeof(*p));
}
