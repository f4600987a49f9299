// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Passive outlier detection, the daemon's side (see outlier_run.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "metrics.h"
#include "outlier.h"
#include "outlier_run.h"

/* The decisions: the main thread's; the lock is for the exporter, which
 * reads them to print. */
static struct outlier det;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The id of addr in the mirror of flb_backends read this round; 0: none. */
static uint32_t id_of(const struct flb_backend *all, const struct flb_addr *a)
{
	uint8_t fam = a->family == AF_INET6 ? FLB_AF_INET6 : FLB_AF_INET;

	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
		if (all[id].family == fam && all[id].state != FLB_BE_UNUSED &&
		    !memcmp(all[id].addr, a->bytes, 16))
			return id;
	return 0;
}

static int read_backends(struct flb_maps *m, struct flb_backend *all)
{
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
		if (maps_get_backend(m, id, &all[id]))
			memset(&all[id], 0, sizeof(all[id]));
	return 0;
}

static void sample_of(struct flb_maps *m, int ofd, const struct flb_backend *all,
		      const struct flb_addr *a, struct outlier_sample *s)
{
	uint32_t id = id_of(all, a);
	struct flb_traffic t;

	memset(s, 0, sizeof(*s));
	if (!id || maps_read_be_stats(m, id, &t) || percpu_sum(ofd, id, &s->retrans, 1))
		return;
	s->new_flows = t.new_flows;
	s->present = true;
}

static void log_event(const struct flb_service_cfg *svc, const struct outlier_event *e)
{
	const struct flb_outlier_cfg *c = &svc->outlier;
	char addr[48];

	addr_format(&svc->backends[e->backend].addr, addr, sizeof(addr));
	if (e->what == OUTLIER_RETURN)
		log_info("outlier returned: cool-down over, takes new flows again",
			 "service=%s backend=%s", svc->name, addr);
	else
		log_warn(e->what == OUTLIER_EJECT ?
				 "outlier ejected: too many SYN retransmits, no new flows until the cool-down ends" :
				 "outlier not ejected: max_ejection_percent reached",
			 "service=%s backend=%s syn_retransmits=%llu new_flows=%llu ratio=%.3f threshold=%.3f ejection_s=%u ejected=%u max_ejection_percent=%u",
			 svc->name, addr, (unsigned long long)e->retrans,
			 (unsigned long long)e->new_flows, e->ratio_pm / 1000.0, c->ratio_pm / 1000.0,
			 e->ejection_ms / 1000, e->ejected_now, c->max_ejection_percent);
}

bool outlier_tick(struct flb_maps *m, const struct flb_config *cfg, uint64_t now_ms)
{
	struct flb_backend *all = NULL;
	struct outlier_sample *s = NULL;
	struct outlier_event ev[16];
	bool changed = false;
	int ofd = -1;

	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct flb_service_cfg *svc = &cfg->services[i];
		size_t n_ev = 0;
		int r;

		if (!svc->outlier.enabled) {
			/* Off: whatever was ejected returns (step with no judgement). */
			bool any = false;

			pthread_mutex_lock(&lock);
			for (size_t b = 0; b < svc->n_backends && !any; b++)
				any = outlier_ejected(&det, svc->name, &svc->backends[b].addr);
			pthread_mutex_unlock(&lock);
			if (!any)
				continue;
		} else if (!all) {
			all = calloc(FLB_MAX_BACKENDS, sizeof(*all));
			ofd = bpf_object__find_map_fd_by_name(maps_object(m), "flb_outlier");
			if (!all || ofd < 0)
				break;
			read_backends(m, all);
		}
		free(s);
		s = calloc(svc->n_backends + 1, sizeof(*s));
		if (!s)
			break;
		for (size_t b = 0; svc->outlier.enabled && b < svc->n_backends; b++)
			sample_of(m, ofd, all, &svc->backends[b].addr, &s[b]);
		pthread_mutex_lock(&lock);
		r = outlier_step(&det, svc, s, now_ms, ev, 16, &n_ev);
		pthread_mutex_unlock(&lock);
		changed |= r > 0;
		for (size_t e = 0; e < n_ev && e < 16; e++)
			log_event(svc, &ev[e]);
	}
	pthread_mutex_lock(&lock);
	outlier_prune(&det);
	pthread_mutex_unlock(&lock);
	free(s);
	free(all);
	return changed;
}

void outlier_mark(struct flb_config *cfg)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < cfg->n_services; i++)
		for (size_t b = 0; b < cfg->services[i].n_backends; b++)
			cfg->services[i].backends[b].ejected =
				outlier_ejected(&det, cfg->services[i].name,
						&cfg->services[i].backends[b].addr);
	pthread_mutex_unlock(&lock);
}

static void put(struct metrics_buf *b, const char *name, const struct outlier_rec *r,
		unsigned long long v)
{
	char addr[48];

	addr_format(&r->addr, addr, sizeof(addr));
	metrics_buf_printf(b, "%s{", name);
	if (b->node && *b->node)
		metrics_buf_printf(b, "node=\"%s\",", b->node);
	metrics_buf_printf(b, "vip_service=\"%s\",backend=\"%s\"} %llu\n", r->svc, addr, v);
}

void outlier_metrics(struct metrics_buf *b)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "fluxlb_outlier_ejected", "gauge",
		  "1 while the passive outlier detector keeps the backend out of the service's new flows." },
		{ "fluxlb_outlier_ejections_total", "counter",
		  "Times the passive outlier detector ejected the backend from the service." },
		{ "fluxlb_outlier_syn_retransmits", "counter",
		  "SYN retransmits the dataplane counted for the backend (flb_outlier), as last read." },
	};

	pthread_mutex_lock(&lock);
	for (size_t f = 0; det.n && f < 3; f++) {
		metrics_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help,
				   fam[f].name, fam[f].type);
		for (size_t i = 0; i < det.n; i++) {
			const struct outlier_rec *r = &det.r[i];

			put(b, fam[f].name, r,
			    f == 0 ? !!r->ejected_until_ms : f == 1 ? r->ejections_total : r->retrans_total);
		}
	}
	pthread_mutex_unlock(&lock);
}

void outlier_reset(void)
{
	pthread_mutex_lock(&lock);
	outlier_free(&det);
	pthread_mutex_unlock(&lock);
}
