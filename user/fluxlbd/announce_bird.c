// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fluxlbd --bird-config`: BIRD 2's configuration for the announce section,
 * so that the ASN, peers and communities live in fluxlbd's one file. BIRD
 * learns the VIP routes fluxlbd keeps in its kernel table (a kernel
 * protocol with `learn`, which follows netlink notifications as they come)
 * and exports them, with the communities, to every peer of the same
 * address family; it imports nothing and installs nothing. docs/bgp.md
 * shows the output and the router side.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include "announce.h"
#include "announce_nl.h"

static void kernel_proto(FILE *out, const char *fam, uint32_t table)
{
	fprintf(out,
		"protocol kernel flb_learn%c {\n"
		"\tkernel table %u;\n"
		"\tlearn;\t\t# the routes fluxlbd adds (protocol %d), not BIRD's own\n"
		"\tscan time 60;\t# changes arrive as netlink notifications; the scan is a safety net\n"
		"\t%s { import all; export none; };\n"
		"}\n\n",
		fam[3], table, FLB_RTPROT, fam);
}

int announce_render_bird(const struct flb_config *cfg, FILE *out, char *err, size_t errlen)
{
	const struct flb_announce_cfg *a = &cfg->announce;
	char ip[48];

	if (!a->enabled || !a->asn) {
		snprintf(err, errlen, "no announce.bgp section: nothing to render");
		return -EINVAL;
	}
	fprintf(out, "# BIRD 2 configuration rendered by `fluxlbd --bird-config` (docs/bgp.md).\n"
		     "# BIRD learns the VIP host routes fluxlbd keeps in kernel table %u and\n"
		     "# announces them to the peers below; it imports and installs nothing.\n",
		a->table);
	if (a->router_id.family) {
		addr_format(&a->router_id, ip, sizeof(ip));
		fprintf(out, "router id %s;\n", ip);
	}
	fprintf(out, "\nprotocol device flb_device { }\n\n");
	kernel_proto(out, "ipv4", a->table);
	kernel_proto(out, "ipv6", a->table);
	fprintf(out, "filter flb_vips {\n"
		     "\tif proto != \"flb_learn4\" && proto != \"flb_learn6\" then reject;\n");
	for (size_t i = 0; i < a->n_communities; i++)
		fprintf(out, "\tbgp_community.add((%u,%u));\n", a->communities[i] >> 16,
			a->communities[i] & 0xffff);
	fprintf(out, "\taccept;\n}\n");
	for (size_t i = 0; i < a->n_peers; i++) {
		addr_format(&a->peers[i].addr, ip, sizeof(ip));
		fprintf(out,
			"\nprotocol bgp flb_peer%zu {\n"
			"\tlocal as %u;\n"
			"\tneighbor %s as %u;\n"
			"\tconnect delay time 1;\t# first attempt 1 s after start, not 5\n"
			"\tconnect retry time 5;\n"
			"\terror wait time 1, 30;\n"
			"\t%s { import none; export filter flb_vips; };\n"
			"}\n",
			i + 1, a->asn, ip, a->peers[i].asn,
			a->peers[i].addr.family == AF_INET ? "ipv4" : "ipv6");
	}
	return 0;
}
