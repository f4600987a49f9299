// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* node.flood.prefix into flb_pfx_cfg (see flood_prefix.h). */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flood_prefix.h"
#include "log.h"

int flood_prefix_sync(struct flb_maps *m, const struct flb_config *cfg)
{
	struct flb_pfx_cfg want = { .nfps = cfg->flood_pfx_nfps,
				    .len4 = cfg->flood_pfx_len4 ? cfg->flood_pfx_len4 : 24,
				    .len6 = cfg->flood_pfx_len6 ? cfg->flood_pfx_len6 : 64 }, cur;
	int fd = bpf_object__find_map_fd_by_name(maps_object(m), "flb_pfx_cfg");
	uint32_t zero = 0;

	if (fd < 0)
		return -ENOENT;
	if (!bpf_map_lookup_elem(fd, &zero, &cur) && !memcmp(&cur, &want, sizeof(cur)))
		return 0;
	if (bpf_map_update_elem(fd, &zero, &want, BPF_ANY)) {
		int err = -errno;

		log_error("cannot write the per-prefix flood limit", "err=\"%s\"", strerror(errno));
		return err;
	}
	if (want.nfps)
		log_info("per-prefix SYN limit on", "new_flows_per_second=%u ipv4=/%u ipv6=/%u",
			 want.nfps, want.len4, want.len6);
	return 0;
}
