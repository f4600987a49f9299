// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XDP attachment (see xdp_attach.h). With CAP_SYS_ADMIN, libxdp first tries
 * its multi-program dispatcher and, where the kernel refuses it (on this
 * kind of machine the lockdown LSM denies the freplace load), attaches the
 * program alone; without CAP_SYS_ADMIN libxdp 1.3 cannot work (it opens
 * programs by id, and crashes when that fails), so the program is attached
 * directly. The log says which. Replacing our own running program uses
 * XDP_FLAGS_REPLACE so no packet sees an empty hook; only a change of mode
 * cannot (switch_mode()).
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <xdp/libxdp.h>

#include "clock.h"
#include "log.h"
#include "xdp_attach.h"

static __u32 mode_flags(enum xdp_attach_mode_flb mode)
{
	return mode == FLB_ATTACH_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

static const char *mode_name(enum xdp_attach_mode_flb mode)
{
	return mode == FLB_ATTACH_SKB ? "skb" : "native";
}

static bool have_sys_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[CAP_SYS_ADMIN / 32].effective & (1U << (CAP_SYS_ADMIN % 32));
}

static __u32 prog_id_of(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* The id of the program attached to ifindex (0: none), and in which mode:
 * native and generic cannot be attached at the same time (the kernel says
 * EEXIST), so there is one. */
static __u32 attached(int ifindex, enum xdp_attach_mode_flb *mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	if (mode)
		*mode = q.attach_mode == XDP_ATTACHED_SKB ? FLB_ATTACH_SKB : FLB_ATTACH_NATIVE;
	return q.prog_id;
}

static __u32 attached_id(int ifindex)
{
	return attached(ifindex, NULL);
}

static void pin_path(char *buf, size_t len, const char *pin_dir, const char *ifname)
{
	snprintf(buf, len, "%s/prog_%s", pin_dir, ifname);
}

/* An fd of the attached program when it is ours (same id as our pin, or,
 * without a pin, the same name: that lookup needs CAP_SYS_ADMIN). -ENOENT
 * when nothing is attached; -EBUSY when it is somebody else's. */
static int ours(int ifindex, const char *ifname, const char *prog_name, const char *pin_dir,
		__u32 *cur)
{
	char path[PATH_MAX], name[BPF_OBJ_NAME_LEN] = "";
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd;

	*cur = attached_id(ifindex);
	if (!*cur)
		return -ENOENT;
	if (pin_dir) {
		pin_path(path, sizeof(path), pin_dir, ifname);
		fd = bpf_obj_get(path);
		if (fd >= 0 && prog_id_of(fd) == *cur)
			return fd;
		if (fd >= 0)
			close(fd);
	}
	fd = bpf_prog_get_fd_by_id(*cur);
	if (fd < 0)
		return log_err(-errno, "cannot tell whose XDP program is attached (no pin of ours, and opening it by id needs CAP_SYS_ADMIN)",
			       "iface=%s id=%u err=\"%s\"", ifname, *cur, strerror(errno));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		snprintf(name, sizeof(name), "%s", info.name);
	if (!strcmp(name, prog_name))
		return fd;
	close(fd);
	return -EBUSY; /* somebody else's, or libxdp's dispatcher: see in_dispatcher() */
}

static void repin(int prog_fd, const char *ifname, const char *pin_dir)
{
	char path[PATH_MAX];

	if (!pin_dir)
		return;
	pin_path(path, sizeof(path), pin_dir, ifname);
	unlink(path);
	if (bpf_obj_pin(prog_fd, path))
		log_warn("cannot pin the attached program; a restart without CAP_SYS_ADMIN will not adopt it",
			 "path=%s err=\"%s\"", path, strerror(errno));
}

static int attach_new(int ifindex, const char *ifname, int prog_fd, const char *prog_name,
		      enum xdp_attach_mode_flb mode)
{
	struct xdp_program *prog;
	const char *via = "direct";
	int err;

	if (have_sys_admin()) {
		prog = xdp_program__from_fd(prog_fd);
		err = libxdp_get_error(prog);
		if (!err) {
			err = xdp_program__attach(prog, ifindex,
						  mode == FLB_ATTACH_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
			xdp_program__close(prog);
		}
		if (!err)
			via = attached_id(ifindex) == prog_id_of(prog_fd) ? "direct" : "libxdp-dispatcher";
	} else {
		err = bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_UPDATE_IF_NOEXIST | mode_flags(mode),
				     NULL);
		via = "direct (no CAP_SYS_ADMIN for libxdp)";
	}
	if (err)
		return log_err(err, "cannot attach XDP program", "iface=%s mode=%s err=\"%s\"", ifname,
			       mode_name(mode), strerror(-err));
	log_info("attached XDP program", "iface=%s prog=%s mode=%s via=\"%s\"", ifname, prog_name,
		 mode_name(mode), via);
	return 0;
}

/*
 * libxdp's dispatcher runs the interface's programs (where the kernel
 * allows it): ours is one of them when one has our name. The same program:
 * nothing to do (a reload). An earlier one: the new one joins the
 * dispatcher first, then the old one leaves (libxdp swaps the dispatcher
 * each time, so the hook is never empty; for a moment both run, and the
 * first to return TX or REDIRECT ends the chain). Somebody else's
 * dispatcher without ours: -EBUSY as before.
 */
static int in_dispatcher(int ifindex, const char *ifname, int prog_fd, const char *prog_name,
			 enum xdp_attach_mode_flb mode, const char *pin_dir)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p, *old = NULL;
	int err = -EBUSY;

	if (libxdp_get_error(mp) || !mp || xdp_multiprog__is_legacy(mp)) {
		if (!libxdp_get_error(mp))
			xdp_multiprog__close(mp);
		return log_err(-EBUSY, "interface already runs another XDP program; refusing to replace it",
			       "iface=%s id=%u", ifname, attached_id(ifindex));
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp))
		if (!strcmp(xdp_program__name(p), prog_name))
			old = p;
	if (!old) {
		log_error("interface runs a dispatcher without our program; refusing to join it",
			  "iface=%s", ifname);
	} else if (xdp_multiprog__attach_mode(mp) !=
		   (mode == FLB_ATTACH_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE)) {
		log_error("cannot change xdp_mode: the interface runs libxdp's dispatcher, whose other programs would change mode too; detach it (fluxlbd --cleanup, xdp-loader unload) first",
			  "iface=%s mode=%s", ifname, mode_name(mode));
	} else if (xdp_program__id(old) == prog_id_of(prog_fd)) {
		err = 0;
	} else {
		err = attach_new(ifindex, ifname, prog_fd, prog_name, mode);
		if (!err)
			err = xdp_program__detach(old, ifindex,
						  mode == FLB_ATTACH_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
		if (!err) {
			repin(prog_fd, ifname, pin_dir);
			log_info("replaced our program in the libxdp dispatcher", "iface=%s old_id=%u",
				 ifname, xdp_program__id(old));
		}
	}
	xdp_multiprog__close(mp);
	return err;
}

/*
 * Our program attached in the other mode (node.xdp_mode changed): the
 * kernel refuses a native and a generic program side by side, so this
 * interface's hook is emptied and filled again in the new mode by two
 * syscalls in a row (no libxdp on this path: its dispatcher attempt would
 * widen the gap). Packets arriving in between go to the kernel's stack as
 * if no balancer ran; other interfaces are not touched. If the new mode
 * fails, the old program goes back in its mode.
 */
static int switch_mode(int ifindex, const char *ifname, int old_fd,
		       enum xdp_attach_mode_flb old_mode, int prog_fd, const char *prog_name,
		       enum xdp_attach_mode_flb mode)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_fd);
	__u64 a, b;
	int err;

	a = clock_ns();
	err = bpf_xdp_attach(ifindex, -1, XDP_FLAGS_REPLACE | mode_flags(old_mode), &opts);
	if (err)
		return log_err(err, "cannot detach the attached program to change xdp_mode",
			       "iface=%s from=%s to=%s err=\"%s\"", ifname, mode_name(old_mode),
			       mode_name(mode), strerror(-err));
	err = bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_UPDATE_IF_NOEXIST | mode_flags(mode), NULL);
	b = clock_ns();
	if (err) {
		int back = bpf_xdp_attach(ifindex, old_fd,
					  XDP_FLAGS_UPDATE_IF_NOEXIST | mode_flags(old_mode), NULL);

		return log_err(err, "cannot attach XDP program in the new xdp_mode",
			       "iface=%s from=%s to=%s err=\"%s\" old_program=%s", ifname,
			       mode_name(old_mode), mode_name(mode), strerror(-err),
			       back ? "detached" : "back");
	}
	log_info("re-attached XDP program in another mode", "iface=%s prog=%s from=%s to=%s gap_us=%llu",
		 ifname, prog_name, mode_name(old_mode), mode_name(mode),
		 (unsigned long long)((b - a) / 1000));
	return 0;
}

int xdp_attach(const char *ifname, int prog_fd, const char *prog_name,
	       enum xdp_attach_mode_flb mode, const char *pin_dir)
{
	int ifindex = if_nametoindex(ifname), old_fd, err;
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	enum xdp_attach_mode_flb cur_mode = mode;
	__u32 cur;

	if (!ifindex)
		return log_err(-ENODEV, "no such interface", "iface=%s", ifname);
	old_fd = ours(ifindex, ifname, prog_name, pin_dir, &cur);
	attached(ifindex, &cur_mode);
	if (old_fd == -EBUSY)
		return in_dispatcher(ifindex, ifname, prog_fd, prog_name, mode, pin_dir);
	if (old_fd == -ENOENT) {
		err = attach_new(ifindex, ifname, prog_fd, prog_name, mode);
		if (!err)
			repin(prog_fd, ifname, pin_dir);
		return err;
	}
	if (old_fd < 0)
		return old_fd;
	if (cur_mode != mode) {
		err = switch_mode(ifindex, ifname, old_fd, cur_mode, prog_fd, prog_name, mode);
		close(old_fd);
		if (!err)
			repin(prog_fd, ifname, pin_dir);
		return err;
	}
	if (cur == prog_id_of(prog_fd)) { /* already this very program: a reload */
		close(old_fd);
		return 0;
	}
	/* Our own program (an earlier daemon's): swap in place. */
	opts.old_prog_fd = old_fd;
	err = bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_REPLACE | mode_flags(mode), &opts);
	close(old_fd);
	if (err)
		return log_err(err, "cannot replace the attached program", "iface=%s err=\"%s\"", ifname,
			       strerror(-err));
	repin(prog_fd, ifname, pin_dir);
	log_info("replaced attached XDP program", "iface=%s old_id=%u prog=%s", ifname, cur, prog_name);
	return 0;
}

int xdp_detach(const char *ifname, const char *prog_name, const char *pin_dir)
{
	int ifindex = if_nametoindex(ifname), fd, err = 0;
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	struct xdp_multiprog *mp;
	char path[PATH_MAX];
	__u32 cur;

	fd = ifindex ? ours(ifindex, ifname, prog_name, pin_dir, &cur) : -ENOENT;
	if (pin_dir) {
		pin_path(path, sizeof(path), pin_dir, ifname);
		unlink(path);
	}
	if (fd == -ENOENT)
		return 0;
	if (fd >= 0) {
		/* Attached alone: detach only if it is still the same program,
		 * in the mode it runs in. */
		enum xdp_attach_mode_flb mode = FLB_ATTACH_NATIVE;

		attached(ifindex, &mode);
		opts.old_prog_fd = fd;
		err = bpf_xdp_attach(ifindex, -1, XDP_FLAGS_REPLACE | mode_flags(mode), &opts);
		close(fd);
		return err ? log_err(err, "cannot detach XDP program", "iface=%s err=\"%s\"", ifname,
				     strerror(-err)) : 0;
	}
	if (fd != -EBUSY)
		return fd;
	/* Somebody's dispatcher: ours may be one of its programs. */
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(mp) || !mp)
		return 0;
	for (struct xdp_program *p = xdp_multiprog__next_prog(NULL, mp); p;
	     p = xdp_multiprog__next_prog(p, mp))
		if (!strcmp(xdp_program__name(p), prog_name))
			err = xdp_program__detach(p, ifindex, XDP_MODE_UNSPEC, 0);
	xdp_multiprog__close(mp);
	return err;
}
