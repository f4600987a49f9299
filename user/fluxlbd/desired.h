/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Desired state: the configuration with every registry-backed service's
 * backends filled in from the source's view. The result has the shape of a
 * configuration so the reconciler and the health checker take either.
 */
#ifndef FLB_DESIRED_H
#define FLB_DESIRED_H

#include "config.h"
#include "source.h"

/* Fills eff from cfg and view (view may be NULL when cfg has no registry
 * services). An instance's port other than the service port becomes the
 * backend's port (translated on the backend's node, docs/pods.md); duplicates of
 * an address keep the instance with the smallest ID, critical instances
 * are marked down. eff owns copies of everything (it may outlive cfg).
 * Returns 0, -EAGAIN while some registry service has not
 * been heard from yet (nothing to apply: the pinned state keeps serving),
 * -EINVAL when the result fails config_validate() (logged with the
 * reason: the file's rules hold for registry backends too), or -ENOMEM. Free eff with desired_free(). */
int desired_build(const struct flb_config *cfg, const struct src_view *view,
		  struct flb_config *eff);

/* What a build refused, for the daemon's counters. */
struct desired_report {
	unsigned vip_mismatch;   /* file overrides whose vip is not the Service's */
};

/* desired_build() plus, with source.type kubernetes, the discovered
 * services of view (desired_auto.c; docs/kubernetes.md): each is served
 * with the file's defaults, or with the settings of a file entry whose
 * source_service names it (a file entry's vip, when given, must be the
 * Service's: else the entry is refused, logged, counted in rep, and the
 * service keeps what prev served under that name). -EAGAIN until the
 * source published its first discovered set. prev (what serves now) and
 * rep may be NULL. */
int desired_build_from(const struct flb_config *cfg, const struct src_view *view,
		       const struct flb_config *prev, struct flb_config *eff, struct desired_report *rep);
/* The discovered part of desired_build_from() on eff, which holds the
 * file's services already (desired_auto.c). */
int desired_discovered(const struct flb_config *cfg, const struct src_view *view,
		       const struct flb_config *prev, struct flb_config *eff, struct desired_report *rep);
/* Fills svc's backends from src's instances (desired.c's rules). */
int desired_fill(struct flb_service_cfg *svc, const struct src_service *src);
/* Counts rep into fluxlb_k8s_vip_mismatch_total and prints that family. */
struct metrics_buf;
void desired_count(const struct desired_report *rep);
void desired_metrics(struct metrics_buf *b);
void desired_free(struct flb_config *eff);

#endif
