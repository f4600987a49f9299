// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fluxlb decap attach|detach|stats IFACE`: the decap program on backend
 * hosts. It is not pinned: attach loads it, fills its address map with the
 * host's addresses and attaches it; stats finds its counters through the
 * program attached to the interface.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli_cmds.h"
#include "cli_common.h"
#include "cli_out.h"
#include "decap.skel.h"
#include "decap_addrs.h"
#include "flb_reasons.h"
#include "pinned_maps.h"
#include "xdp_attach.h"

static int attach(const char *ifname)
{
	struct decap *skel = decap__open();
	int err;

	/* No pods here (that is fluxlbd's node role, docs/pods.md): the
	 * translation tables need no room. */
	if (!skel || bpf_map__set_max_entries(skel->maps.flb_node_nat, 1) ||
	    bpf_map__set_max_entries(skel->maps.flb_node_flows, 1) || decap__load(skel)) {
		err = -errno;
		decap__destroy(skel);
		return cli_fail(err, "cannot load the decap program");
	}
	err = decap_addrs_fill(bpf_map__fd(skel->maps.flb_dcp_addrs));
	if (err <= 0) {
		decap__destroy(skel);
		return cli_fail(err ? err : -EADDRNOTAVAIL, "no local address to decapsulate for");
	}
	err = xdp_attach(ifname, bpf_program__fd(skel->progs.decap), "decap",
			 cli.skb ? FLB_ATTACH_SKB : FLB_ATTACH_NATIVE, NULL);
	decap__destroy(skel); /* the attachment keeps program and map alive */
	if (err)
		return cli_fail(err, "cannot attach decap");
	cli_obj_open(NULL);
	cli_str("attached", NULL, ifname);
	cli_obj_close();
	return CLI_OK;
}

static int detach(const char *ifname)
{
	if (xdp_detach(ifname, "decap", NULL))
		return cli_fail(-EIO, "cannot detach decap");
	cli_obj_open(NULL);
	cli_str("detached", NULL, ifname);
	cli_obj_close();
	return CLI_OK;
}

/* The fd of the decap counters, found through the program on ifindex. */
static int counters_fd(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), map_ids[8], n;
	int fd, mfd = -ENOENT;

	if (bpf_xdp_query(ifindex, 0, &q) || !q.prog_id)
		return -ENOENT;
	fd = bpf_prog_get_fd_by_id(q.prog_id);
	if (fd < 0)
		return -errno;
	info.nr_map_ids = 8;
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || strcmp(info.name, "decap")) {
		close(fd);
		return -ENOENT;
	}
	close(fd);
	n = info.nr_map_ids < 8 ? info.nr_map_ids : 8;
	for (__u32 i = 0; i < n && mfd < 0; i++) {
		struct bpf_map_info mi = {};
		__u32 ml = sizeof(mi);
		int f = bpf_map_get_fd_by_id(map_ids[i]);

		if (f >= 0 && !bpf_obj_get_info_by_fd(f, &mi, &ml) &&
		    !strcmp(mi.name, "flb_dcp_reasons"))
			mfd = f;
		else if (f >= 0)
			close(f);
	}
	return mfd;
}

static int stats(const char *ifname)
{
	static const char *const names[] = {
#define NAME(n, label) label,
		FLB_REASONS(NAME)
#undef NAME
	};
	int ifindex = if_nametoindex(ifname), fd;

	if (!ifindex)
		return cli_fail(-ENODEV, "no such interface");
	fd = counters_fd(ifindex);
	if (fd < 0)
		return cli_fail(fd, "no fluxlb decap program attached to the interface");
	cli_obj_open(NULL);
	cli_text("decap:\n");
	cli_obj_open("decap");
	for (int r = FLB_R_DECAP_OK; r <= FLB_R_DECAP_BAD; r++) {
		uint64_t v = 0;

		percpu_sum(fd, r, &v, 1);
		cli_text("  %-18s", names[r]);
		cli_u64(names[r], " %llu\n", v);
	}
	cli_obj_close();
	cli_obj_close();
	close(fd);
	return CLI_OK;
}

static int cmd_attach(int argc, char **argv)
{
	if (argc != 2)
		return cli_usage(&cli_cmd_decap_attach, "expected IFACE");
	return attach(argv[1]);
}

static int cmd_detach(int argc, char **argv)
{
	if (argc != 2)
		return cli_usage(&cli_cmd_decap_detach, "expected IFACE");
	return detach(argv[1]);
}

static int cmd_stats(int argc, char **argv)
{
	if (argc != 2)
		return cli_usage(&cli_cmd_decap_stats, "expected IFACE");
	return stats(argv[1]);
}

const struct cli_cmd cli_cmd_decap_attach = {
	"decap attach", cmd_attach, "IFACE: decapsulate tunnel packets to this host's addresses",
	"Usage: fluxlb [-j] [--skb] decap attach IFACE\n"
	"\n"
	"On a backend host: loads the decap program, gives it the host's addresses\n"
	"as they are now (attach again after they change) and attaches it to IFACE\n"
	"(native XDP; --skb: generic mode). JSON: {\"attached\": IFACE}.\n",
};

const struct cli_cmd cli_cmd_decap_detach = {
	"decap detach", cmd_detach, "IFACE: remove the decap program",
	"Usage: fluxlb [-j] decap detach IFACE\n"
	"\n"
	"Detaches fluxlb's decap program from IFACE. JSON: {\"detached\": IFACE}.\n",
};

const struct cli_cmd cli_cmd_decap_stats = {
	"decap stats", cmd_stats, "IFACE: counters of the decap program",
	"Usage: fluxlb [-j] decap stats IFACE\n"
	"\n"
	"Counters of the decap program attached to IFACE, summed over CPUs.\n"
	"JSON: {\"decap\": {\"decap_ok\": n, \"decap_pass_other\": n, \"decap_bad\": n}}.\n",
};
