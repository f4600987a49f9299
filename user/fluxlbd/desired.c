// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Desired state from configuration and registry view (see desired.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "desired.h"
#include "log.h"

static const struct src_service *find(const struct src_view *view, const char *name)
{
	for (size_t i = 0; view && i < view->n; i++)
		if (!strcmp(view->svc[i].name, name))
			return &view->svc[i];
	return NULL;
}

static int fill(struct flb_service_cfg *svc, const struct src_service *src)
{
	size_t skipped = 0;

	svc->backends = calloc(src->n + 1, sizeof(*svc->backends));
	if (!svc->backends)
		return -ENOMEM;
	svc->n_backends = 0;
	/* src->inst is sorted by ID: the first of an address wins. */
	for (size_t i = 0; i < src->n; i++) {
		const struct src_instance *in = &src->inst[i];
		struct flb_backend_cfg *be = &svc->backends[svc->n_backends];
		bool dup = false;

		for (size_t j = 0; j < svc->n_backends && !dup; j++)
			dup = !addr_cmp(&svc->backends[j].addr, &in->addr);
		if (dup || (svc->vip.family == AF_INET6 && in->addr.family != AF_INET6)) {
			skipped++;
			continue;
		}
		be->addr = in->addr;
		be->weight = in->weight;
		/* Port translation (docs/pods.md); a port-less VIP keeps every port. */
		be->port = svc->port && in->port != svc->port ? in->port : 0;
		be->down = in->status == SRC_CRITICAL;
		be->on_node = in->local;
		addr_port_format(&in->addr, svc->port, be->id, sizeof(be->id));
		svc->n_backends++;
	}
	if (skipped)
		log_warn("registry instances skipped: duplicate address, or IPv4 for an IPv6 VIP",
			 "service=%s source_service=%s skipped=%zu", svc->name, src->name, skipped);
	return 0;
}

/* The registry's backends pass the file's validator (config.h) before
 * anything is planned; a refusal keeps the last good state serving. */
static int validate(struct flb_config *eff)
{
	char err[512], q[600];
	int ret = config_validate(eff, "registry view", err, sizeof(err));

	if (!ret)
		return 0;
	log_error("desired state refused; the running state keeps serving", "reason=%s",
		  log_quote(q, sizeof(q), err));
	desired_free(eff);
	return ret;
}

int desired_build_from(const struct flb_config *cfg, const struct src_view *view,
		       const struct flb_config *prev, struct flb_config *eff, struct desired_report *rep)
{
	int derr;

	*eff = *cfg;
	eff->services = calloc(cfg->n_services + 1, sizeof(*eff->services));
	if (!eff->services)
		return -ENOMEM;
	for (size_t s = 0; s < cfg->n_services; s++) {
		struct flb_service_cfg *svc = &eff->services[s];
		const struct src_service *src;
		int err;

		*svc = cfg->services[s];
		svc->backends = NULL;
		if (!svc->source_service[0]) {
			/* A copy: eff outlives cfg when a reload waits for the registry. */
			svc->backends = calloc(svc->n_backends + 1, sizeof(*svc->backends));
			if (!svc->backends) {
				desired_free(eff);
				return -ENOMEM;
			}
			memcpy(svc->backends, cfg->services[s].backends,
			       svc->n_backends * sizeof(*svc->backends));
			continue;
		}
		svc->n_backends = 0;
		src = find(view, svc->source_service);
		err = src && src->known ? fill(svc, src) : -EAGAIN;
		if (err) {
			desired_free(eff);
			return err;
		}
	}
	derr = desired_discovered(cfg, view, prev, eff, rep);
	if (derr) {
		desired_free(eff);
		return derr;
	}
	return validate(eff);
}

int desired_build(const struct flb_config *cfg, const struct src_view *view,
		  struct flb_config *eff)
{
	return desired_build_from(cfg, view, NULL, eff, NULL);
}

int desired_fill(struct flb_service_cfg *svc, const struct src_service *src)
{
	return fill(svc, src);
}

void desired_free(struct flb_config *eff)
{
	for (size_t s = 0; eff->services && s < eff->n_services; s++)
		free(eff->services[s].backends);
	free(eff->services);
	memset(eff, 0, sizeof(*eff));
}
