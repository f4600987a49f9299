// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Interface names from patterns and the default route (see iface_resolve.h). */
#include <errno.h>
#include <fnmatch.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iface_resolve.h"

bool iface_is_pattern(const char *name)
{
	return !strcmp(name, "auto") || strpbrk(name, "*?[");
}

/* /proc/net/route: "Iface Destination Gateway Flags RefCnt Use Metric Mask ...",
 * hex in host order; the default route has Destination and Mask 0. */
static int default4(char *out, size_t len)
{
	FILE *f = fopen("/proc/net/route", "r");
	unsigned long best = ~0UL;
	char line[256];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char ifname[IF_NAMESIZE + 1];
		unsigned long dst, gw, flags, refcnt, use, metric, mask;

		if (sscanf(line, "%16s %lx %lx %lx %lu %lu %lu %lx", ifname, &dst, &gw, &flags,
			   &refcnt, &use, &metric, &mask) != 8)
			continue; /* the header */
		if (dst || mask || !(flags & 0x1 /* RTF_UP */) || metric >= best)
			continue;
		best = metric;
		snprintf(out, len, "%s", ifname);
		err = 0;
	}
	fclose(f);
	return err;
}

/* /proc/net/ipv6_route: "dst dst_len src src_len nexthop metric refcnt use flags dev". */
static int default6(char *out, size_t len)
{
	FILE *f = fopen("/proc/net/ipv6_route", "r");
	unsigned long best = ~0UL;
	char line[512];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char dst[33], src[33], nh[33], ifname[IF_NAMESIZE + 1];
		unsigned int dlen, slen;
		unsigned long metric, refcnt, use, flags;

		if (sscanf(line, "%32s %x %32s %x %32s %lx %lx %lx %lx %16s", dst, &dlen, src, &slen,
			   nh, &metric, &refcnt, &use, &flags, ifname) != 10)
			continue;
		if (dlen || strspn(dst, "0") != 32 || !strcmp(ifname, "lo") ||
		    !(flags & 0x1 /* RTF_UP */) || metric >= best)
			continue;
		best = metric;
		snprintf(out, len, "%s", ifname);
		err = 0;
	}
	fclose(f);
	return err;
}

int iface_default_route(char *out, size_t len)
{
	return default4(out, len) && default6(out, len) ? -ENOENT : 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct if_nameindex *)a)->if_name,
		      ((const struct if_nameindex *)b)->if_name);
}

static void add(struct flb_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_ifaces; i++)
		if (!strcmp(cfg->ifaces[i], name))
			return;
	if (cfg->n_ifaces < FLB_CFG_MAX_IFACES)
		snprintf(cfg->ifaces[cfg->n_ifaces++], sizeof(cfg->ifaces[0]), "%s", name);
}

bool iface_resolve(struct flb_config *cfg)
{
	struct if_nameindex *links = if_nameindex();
	size_t n_links = 0;
	bool all = true;

	while (links && links[n_links].if_index)
		n_links++;
	if (links)
		qsort(links, n_links, sizeof(*links), by_name);
	cfg->n_ifaces = 0;
	for (size_t s = 0; s < cfg->n_iface_spec; s++) {
		const char *spec = cfg->iface_spec[s];
		size_t before = cfg->n_ifaces;
		char name[IF_NAMESIZE];

		if (!iface_is_pattern(spec)) {
			add(cfg, spec);
			continue;
		}
		if (!strcmp(spec, "auto")) {
			if (!iface_default_route(name, sizeof(name)))
				add(cfg, name);
		} else {
			for (size_t i = 0; i < n_links; i++)
				if (strcmp(links[i].if_name, "lo") &&
				    !fnmatch(spec, links[i].if_name, 0))
					add(cfg, links[i].if_name);
		}
		if (cfg->n_ifaces == before) {
			add(cfg, spec); /* nothing found: reported missing, retried */
			all = false;
		}
	}
	if (links)
		if_freenameindex(links);
	return all;
}
