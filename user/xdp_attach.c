// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XDP attachment (see xdp_attach.h). libxdp first tries its multi-program
 * dispatcher and, where the kernel refuses it (on this kind of machine the
 * lockdown LSM denies the freplace load), attaches the program alone; the
 * log says which. Replacing our own running program uses the kernel's
 * XDP_FLAGS_REPLACE so no packet sees an empty hook.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <xdp/libxdp.h>

#include "log.h"
#include "xdp_attach.h"

static enum xdp_attach_mode to_libxdp(enum xdp_attach_mode_flb mode)
{
	return mode == FLB_ATTACH_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE;
}

/* The program id at ifname's hook (0: none), and its name. */
static __u32 attached_prog(int ifindex, char *name, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 id = 0, info_len = sizeof(info);
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int fd;

	name[0] = 0;
	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	id = q.prog_id;
	if (!id)
		return 0;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return id;
	if (!bpf_obj_get_info_by_fd(fd, &info, &info_len))
		snprintf(name, len, "%s", info.name);
	close(fd);
	return id;
}

int xdp_attach(const char *ifname, int prog_fd, const char *prog_name,
	       enum xdp_attach_mode_flb mode)
{
	int ifindex = if_nametoindex(ifname), err, old_fd;
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	struct xdp_program *prog;
	char cur[BPF_OBJ_NAME_LEN];
	__u32 cur_id;

	if (!ifindex)
		return log_err(-ENODEV, "no such interface", "iface=%s", ifname);
	cur_id = attached_prog(ifindex, cur, sizeof(cur));
	if (cur_id && strcmp(cur, prog_name))
		return log_err(-EBUSY, "interface already runs another XDP program; refusing to replace it",
			       "iface=%s prog=%s id=%u", ifname, cur[0] ? cur : "?", cur_id);
	if (cur_id) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		/* Already this very program (a reload): nothing to do. */
		if (!bpf_obj_get_info_by_fd(prog_fd, &info, &len) && info.id == cur_id)
			return 0;
		/* Our own program (an earlier daemon's): swap in place. */
		old_fd = bpf_prog_get_fd_by_id(cur_id);
		if (old_fd < 0)
			return log_err(-errno, "cannot open the attached program", "iface=%s id=%u",
				       ifname, cur_id);
		opts.old_prog_fd = old_fd;
		err = bpf_xdp_attach(ifindex, prog_fd,
				     XDP_FLAGS_REPLACE | (mode == FLB_ATTACH_SKB ?
							  XDP_FLAGS_SKB_MODE :
							  XDP_FLAGS_DRV_MODE),
				     &opts);
		close(old_fd);
		if (err)
			return log_err(err, "cannot replace the attached program", "iface=%s err=\"%s\"",
				       ifname, strerror(-err));
		log_info("replaced attached XDP program", "iface=%s old_id=%u prog=%s", ifname,
			 cur_id, prog_name);
		return 0;
	}

	prog = xdp_program__from_fd(prog_fd);
	err = libxdp_get_error(prog);
	if (err)
		return log_err(err, "libxdp cannot use the program", "iface=%s err=\"%s\"", ifname,
			       strerror(-err));
	err = xdp_program__attach(prog, ifindex, to_libxdp(mode), 0);
	xdp_program__close(prog);
	if (err)
		return log_err(err, "cannot attach XDP program", "iface=%s mode=%s err=\"%s\"",
			       ifname, mode == FLB_ATTACH_SKB ? "skb" : "native", strerror(-err));
	cur_id = attached_prog(ifindex, cur, sizeof(cur));
	log_info("attached XDP program", "iface=%s prog=%s mode=%s via=%s", ifname, prog_name,
		 mode == FLB_ATTACH_SKB ? "skb" : "native",
		 strcmp(cur, prog_name) ? "libxdp-dispatcher" : "direct");
	return 0;
}

int xdp_detach(const char *ifname, const char *prog_name)
{
	int ifindex = if_nametoindex(ifname), err;
	struct xdp_multiprog *mp;
	char cur[BPF_OBJ_NAME_LEN];
	__u32 cur_id;

	if (!ifindex)
		return 0;
	cur_id = attached_prog(ifindex, cur, sizeof(cur));
	if (!cur_id)
		return 0;
	if (!strcmp(cur, prog_name)) {
		/* Attached alone: detach only if it is still the same program. */
		LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
		int fd = bpf_prog_get_fd_by_id(cur_id);

		opts.old_prog_fd = fd;
		err = bpf_xdp_attach(ifindex, -1, fd >= 0 ? XDP_FLAGS_REPLACE : 0, &opts);
		if (fd >= 0)
			close(fd);
		return err ? log_err(err, "cannot detach XDP program", "iface=%s err=\"%s\"",
				     ifname, strerror(-err)) : 0;
	}
	/* Behind libxdp's dispatcher: let libxdp take the dispatcher down. */
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	err = libxdp_get_error(mp);
	if (err || !mp)
		return 0;
	err = xdp_multiprog__detach(mp);
	xdp_multiprog__close(mp);
	return err;
}

bool xdp_is_attached(const char *ifname, const char *prog_name)
{
	int ifindex = if_nametoindex(ifname);
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	char cur[BPF_OBJ_NAME_LEN];
	bool found = false;

	if (!ifindex || !attached_prog(ifindex, cur, sizeof(cur)))
		return false;
	if (!strcmp(cur, prog_name))
		return true;
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(mp) || !mp)
		return false;
	for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp))
		if (!strcmp(xdp_program__name(p), prog_name))
			found = true;
	xdp_multiprog__close(mp);
	return found;
}
