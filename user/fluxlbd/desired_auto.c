// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Discovered services in the desired state (see desired_discovered() in
 * desired.h and docs/kubernetes.md): every Service the kubernetes source
 * discovered is served, with the file's defaults or the settings of the
 * file entry that names it. Pure but for the counter the daemon bumps.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desired.h"
#include "log.h"
#include "metrics.h"

static _Atomic unsigned long vip_mismatches;
static _Atomic bool kubernetes; /* a kubernetes desired state was built: show the counter */

/* Does file entry f (source_service "<ns>/<svc>[:<port>]") name d
 * ("<ns>/<svc>:<port name or number>")? */
static bool names(const struct flb_service_cfg *f, const struct src_service *d)
{
	const char *ss = f->source_service, *slash = strchr(ss, '/');
	const char *colon = slash ? strchr(slash, ':') : NULL;
	size_t klen = colon ? (size_t)(colon - ss) : strlen(ss);
	const char *dsel = d->name + klen + 1;
	char num[8];

	if (!slash || strncmp(d->name, ss, klen) || d->name[klen] != ':' || strchr(dsel, ':'))
		return false;
	if (f->port && f->port != d->port)
		return false;
	snprintf(num, sizeof(num), "%u", d->port);
	return !colon || !strcmp(colon + 1, dsel) || !strcmp(colon + 1, num);
}

static const struct flb_service_cfg *by_name(const struct flb_config *c, const char *name)
{
	for (size_t i = 0; c && i < c->n_services; i++)
		if (!strcmp(c->services[i].name, name))
			return &c->services[i];
	return NULL;
}

/* Appends a copy of svc (backends duplicated); room was made. */
static int append_copy(struct flb_config *eff, const struct flb_service_cfg *svc)
{
	struct flb_service_cfg *dst = &eff->services[eff->n_services];

	*dst = *svc;
	dst->backends = calloc(svc->n_backends + 1, sizeof(*dst->backends));
	if (!dst->backends)
		return -ENOMEM;
	memcpy(dst->backends, svc->backends, svc->n_backends * sizeof(*svc->backends));
	eff->n_services++;
	return 0;
}

/* A file entry naming discovered services: takes their VIP, port and
 * protocol, keeps its own settings. Returns how many it took (used[]
 * marked), 0 when it names none, -errno. */
static int override(struct flb_service_cfg *f, const struct src_view *view, bool *used,
		    const struct flb_config *prev, struct flb_config *eff, struct desired_report *rep,
		    bool *drop)
{
	const struct src_service *d = NULL;
	char want[64] = "", have[64] = "";
	int n = 0;

	for (size_t i = 0; i < view->n; i++) {
		if (!view->svc[i].discovered || !names(f, &view->svc[i]))
			continue;
		if (!n++)
			d = &view->svc[i];
	}
	*drop = false;
	if (!n) {
		if (!f->vip.family) {
			log_warn("service not served yet: its Service has no VIP of our class", "service=%s source_service=%s",
				 f->name, f->source_service);
			*drop = true;
		}
		return 0;
	}
	if (n > 1) {
		log_error("file entry names a Service with several ports; name one as <namespace>/<service>:<port>",
			  "service=%s source_service=%s", f->name, f->source_service);
		*drop = true;
		return 0;
	}
	used[d - view->svc] = true;
	if (f->vip.family && addr_cmp(&f->vip, &d->vip)) {
		/* What served it last: this entry, or the Service with the defaults. */
		const struct flb_service_cfg *old = by_name(prev, f->name) ?: by_name(prev, d->name);

		addr_format(&f->vip, want, sizeof(want));
		addr_format(&d->vip, have, sizeof(have));
		log_error("file entry's vip is not its Service's VIP; entry refused, the service keeps its last good state",
			  "service=%s source_service=%s vip=%s service_vip=%s last_good=%s", f->name,
			  f->source_service, want, have, old ? "kept" : "none");
		if (rep)
			rep->vip_mismatch++;
		*drop = true;
		return old ? append_copy(eff, old) : 0;
	}
	f->vip = d->vip;
	f->port = d->port;
	f->proto = d->proto;
	free(f->backends);
	f->backends = NULL;
	return desired_fill(f, d);
}

/* A discovered service nobody named: the file's defaults. */
static int add_default(struct flb_config *eff, const struct flb_config *cfg, const struct src_service *d)
{
	struct flb_service_cfg *svc = &eff->services[eff->n_services];
	char vip[64] = "";

	for (size_t i = 0; i < eff->n_services; i++) {
		const struct flb_service_cfg *o = &eff->services[i];

		if (!addr_cmp(&o->vip, &d->vip) && o->port == d->port && o->proto == d->proto) {
			addr_format(&d->vip, vip, sizeof(vip));
			log_error("discovered service not served: the file serves its VIP and port already",
				  "service=%s vip=%s port=%u other=%s", d->name, vip, d->port, o->name);
			return 0;
		}
	}
	memset(svc, 0, sizeof(*svc));
	snprintf(svc->name, sizeof(svc->name), "%s", d->name);
	snprintf(svc->source_service, sizeof(svc->source_service), "%s", d->name);
	svc->vip = d->vip;
	svc->port = d->port;
	svc->proto = d->proto;
	svc->affinity_timeout_s = d->affinity_timeout_s;
	svc->health = cfg->health;
	svc->on_unhealthy = cfg->on_unhealthy;
	eff->n_services++;
	return desired_fill(svc, d);
}

int desired_discovered(const struct flb_config *cfg, const struct src_view *view,
		       const struct flb_config *prev, struct flb_config *eff, struct desired_report *rep)
{
	struct flb_service_cfg *grown;
	size_t n0 = eff->n_services, kept = 0;
	bool *used, drop;
	int err = 0;

	if (cfg->source.type != FLB_SRC_KUBERNETES)
		return 0;
	kubernetes = true;
	if (!view || !view->discovered_known)
		return -EAGAIN; /* nothing to apply before the first answer */
	used = calloc(view->n + 1, sizeof(*used));
	/* Room for a last-good copy per file entry and every discovered one. */
	grown = realloc(eff->services, (2 * n0 + view->n + 1) * sizeof(*grown));
	if (!used || !grown) {
		free(used);
		if (grown)
			eff->services = grown;
		return -ENOMEM;
	}
	eff->services = grown;
	for (size_t s = 0; s < n0 && !err; s++) {
		struct flb_service_cfg *f = &eff->services[s];

		if (!f->source_service[0])
			continue;
		err = override(f, view, used, prev, eff, rep, &drop);
		if (drop)
			f->name[0] = 0; /* compacted below */
	}
	/* Dropped file entries leave; copies appended after n0 stay. */
	for (size_t s = 0; s < eff->n_services; s++) {
		if (!eff->services[s].name[0]) {
			free(eff->services[s].backends);
			continue;
		}
		eff->services[kept++] = eff->services[s];
	}
	eff->n_services = kept;
	for (size_t i = 0; i < view->n && !err; i++)
		if (view->svc[i].discovered && !used[i])
			err = add_default(eff, cfg, &view->svc[i]);
	free(used);
	return err;
}

void desired_count(const struct desired_report *rep)
{
	vip_mismatches += rep->vip_mismatch;
}

void desired_metrics(struct metrics_buf *b)
{
	if (!kubernetes)
		return;
	metrics_buf_printf(b, "# HELP fluxlb_k8s_vip_mismatch_total File entries refused because their vip is not their Service's VIP.\n"
			      "# TYPE fluxlb_k8s_vip_mismatch_total counter\nfluxlb_k8s_vip_mismatch_total %lu\n",
			   (unsigned long)vip_mismatches);
}
