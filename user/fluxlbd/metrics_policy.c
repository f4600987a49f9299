// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The new-flow policy families (docs/observability.md, docs/policies.md),
 * read from flb_be_load and flb_pol_be for every backend of a service that
 * has a policy (a pair in the maps); services on plain Maglev have none.
 * Appended after metrics_render()'s output, with its node label.
 */
#include <inttypes.h>
#include <string.h>

#include "metrics.h"
#include "metrics_policy.h"
#include "policy_maps.h"

struct pol_row {
	const struct flb_status_backend *be;
	struct flb_be_load ld;
	struct flb_pol_be pb;
};

static uint32_t vip_id_of(const struct flb_status *st, const char *service)
{
	for (size_t i = 0; i < st->n_vips; i++)
		if (!strcmp(st->vips[i].service, service))
			return st->vips[i].vip_id;
	return FLB_MAX_VIPS;
}

static void labels(struct metrics_buf *b, const char *node, const struct flb_status_backend *be)
{
	/* Service names and addresses are plain (config_service.c): no escaping needed. */
	if (node && *node)
		metrics_buf_printf(b, "{node=\"%s\",vip_service=\"%s\",backend=\"%s\"", node,
				   be->service, be->address);
	else
		metrics_buf_printf(b, "{vip_service=\"%s\",backend=\"%s\"", be->service, be->address);
}

void metrics_policy_render(const struct flb_maps *m, const struct flb_status *st,
			   const char *node, struct metrics_buf *b)
{
	static const char *const names[] = {
		"fluxlb_policy_active_flows", "fluxlb_policy_spills_total",
		"fluxlb_policy_refused_total",
	};
	static const char *const help[] = {
		"gauge Active flows of the backend in the service as the new-flow policy counts them "
		"(entries made under least_conn or max_active_flows, no client FIN/RST, not expired).",
		"counter New flows that passed over the backend to a later candidate: why=bound "
		"(over its least_conn bound) or why=cap (over a per-backend cap).",
		"counter New flows dropped because every candidate was over a cap (counted on the "
		"first candidate).",
	};

	if (!m || !st)
		return;
	for (int f = 0; f < 3; f++) {
		const char *type_end = strchr(help[f], ' ');

		metrics_buf_printf(b, "# HELP %s %s\n# TYPE %s %.*s\n", names[f], type_end + 1,
				   names[f], (int)(type_end - help[f]), help[f]);
		for (size_t i = 0; i < st->n_backends; i++) {
			const struct flb_status_backend *be = &st->backends[i];
			uint32_t vip = vip_id_of(st, be->service);
			struct pol_row r = { .be = be };

			if (vip >= FLB_MAX_VIPS || policy_pair(m, vip, be->backend_id, &r.pb, &r.ld))
				continue;
			if (f == 0) {
				int64_t a = (int64_t)r.ld.active + (int64_t)r.pb.adjust;

				metrics_buf_printf(b, "%s", names[f]);
				labels(b, node, be);
				metrics_buf_printf(b, "} %" PRId64 "\n", a < 0 ? 0 : a);
			} else if (f == 1) {
				metrics_buf_printf(b, "%s", names[f]);
				labels(b, node, be);
				metrics_buf_printf(b, ",why=\"bound\"} %" PRIu64 "\n", (uint64_t)r.ld.bound_spill);
				metrics_buf_printf(b, "%s", names[f]);
				labels(b, node, be);
				metrics_buf_printf(b, ",why=\"cap\"} %" PRIu64 "\n", (uint64_t)r.ld.cap_spill);
			} else {
				metrics_buf_printf(b, "%s", names[f]);
				labels(b, node, be);
				metrics_buf_printf(b, "} %" PRIu64 "\n", (uint64_t)r.ld.refused);
			}
		}
	}
}
