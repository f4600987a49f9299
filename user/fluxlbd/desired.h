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
void desired_free(struct flb_config *eff);

#endif
