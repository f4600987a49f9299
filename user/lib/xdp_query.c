// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The XDP hook of every interface the daemon attached to (see
 * xdp_query.h), for fluxlb_interface_xdp_info and `fluxlb status`: the
 * interfaces are those with a
 * prog_<iface> pin in the pin folder (xdp_attach.c pins the program it
 * attaches), the mode and program ids are what the kernel reports now
 * (netlink, no privilege needed), and "ours" is the pinned program's id
 * (read from the pin: no CAP_SYS_ADMIN needed either).
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "xdp_query.h"

static __u32 prog_id_of_pin(const char *path)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);
	__u32 id = 0;

	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		id = info.id;
	close(fd);
	return id;
}

static void query(struct xdp_iface_state *x, __u32 ours)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	unsigned int ifindex = if_nametoindex(x->name);

	x->mode = "none";
	x->program = "none";
	if (!ifindex || bpf_xdp_query((int)ifindex, 0, &q))
		return;
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV: x->mode = "native"; break;
	case XDP_ATTACHED_SKB: x->mode = "skb"; break;
	case XDP_ATTACHED_HW: x->mode = "offload"; break;
	case XDP_ATTACHED_MULTI:
		x->mode = ours && q.skb_prog_id == ours ? "skb" : "native";
		break;
	default: return;
	}
	x->program = ours && (q.prog_id == ours || q.drv_prog_id == ours || q.skb_prog_id == ours) ?
			     "balancer" : "other";
}

size_t xdp_query_pinned(const char *pin_dir, struct xdp_iface_state *out, size_t max)
{
	struct dirent *d;
	size_t n = 0;
	DIR *dir = opendir(pin_dir);

	if (!dir)
		return 0;
	while (n < max && (d = readdir(dir))) {
		char path[4352];

		if (strncmp(d->d_name, "prog_", 5) || strlen(d->d_name + 5) >= sizeof(out->name))
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", d->d_name + 5);
		snprintf(path, sizeof(path), "%s/%s", pin_dir, d->d_name);
		query(&out[n], prog_id_of_pin(path));
		n++;
	}
	closedir(dir);
	return n;
}
