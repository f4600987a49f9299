// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Session affinity, the daemon's side (see affinity.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "affinity.h"
#include "log.h"
#include "plan.h"

void affinity_members(const uint32_t *ids, uint32_t size, struct flb_aff_vip *out)
{
	memset(out->members, 0, sizeof(out->members));
	for (uint32_t i = 0; i < size; i++)
		if (ids[i] && ids[i] < FLB_MAX_BACKENDS)
			out->members[ids[i] / 64] |= 1ULL << (ids[i] % 64);
}

static const struct flb_service_cfg *service_of(const struct flb_config *cfg,
						const struct flb_vip_key *key)
{
	struct flb_vip_key k;

	for (size_t i = 0; i < cfg->n_services; i++) {
		plan_vip_key(&cfg->services[i], &k);
		if (!memcmp(&k, key, sizeof(k)))
			return &cfg->services[i];
	}
	return NULL;
}

int affinity_sync(struct flb_maps *m, const struct flb_config *cfg)
{
	struct flb_vip_key *keys = calloc(FLB_MAX_VIPS, sizeof(*keys));
	struct flb_vip *vips = calloc(FLB_MAX_VIPS, sizeof(*vips));
	struct flb_aff_vip *want = calloc(FLB_MAX_VIPS, sizeof(*want)), cur;
	int fd = bpf_object__find_map_fd_by_name(maps_object(m), "flb_aff_vips");
	int n, err = 0;

	if (!keys || !vips || !want || fd < 0) {
		err = fd < 0 ? -ENOENT : -ENOMEM;
		goto out;
	}
	n = maps_list_vips(m, keys, vips, FLB_MAX_VIPS);
	for (int i = 0; i < n; i++) {
		const struct flb_service_cfg *svc = service_of(cfg, &keys[i]);
		uint32_t id = vips[i].id, *ids = NULL, size = 0;

		if (id >= FLB_MAX_VIPS || !svc || !svc->affinity_timeout_s)
			continue;
		want[id].timeout_s = svc->affinity_timeout_s;
		if (!maps_get_ring(m, id, &ids, &size))
			affinity_members(ids, size, &want[id]);
		free(ids);
	}
	for (uint32_t id = 0; id < FLB_MAX_VIPS; id++) {
		if (!bpf_map_lookup_elem(fd, &id, &cur) && !memcmp(&cur, &want[id], sizeof(cur)))
			continue;
		if (bpf_map_update_elem(fd, &id, &want[id], BPF_ANY) && !err) {
			err = -errno;
			log_error("cannot write a VIP's affinity", "vip_id=%u err=\"%s\"", id,
				  strerror(errno));
		}
	}
out:
	free(want);
	free(vips);
	free(keys);
	return err;
}
