// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The checks that span the whole configuration and decide whether the
 * dataplane can serve it (see config_validate() in config.h). One function
 * for every caller: config_parse() runs it on the file (so --check-config
 * refuses what apply would refuse), desired_build() on the configuration
 * with the registry's backends filled in, and the planner once more before
 * it hands out ids, so nothing the validator passes is refused later for a
 * reason known in advance. What stays dynamic: ids still held by draining
 * backends that left the configuration (the planner refuses with -ENOSPC).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "flb_abi.h"

/* Open addressing over a power of two above twice the id count. */
#define SET_SLOTS 16384
_Static_assert(SET_SLOTS >= 2 * FLB_MAX_BACKENDS, "address set keeps a free slot");

__attribute__((format(printf, 6, 7)))
static int bad(const char *name, int line, char *err, size_t errlen, const char *path,
	       const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && errlen && line > 0)
		snprintf(err, errlen, "%s:%d: %s: %s", name, line, path, msg);
	else if (err && errlen)
		snprintf(err, errlen, "%s: %s: %s", name, path, msg);
	return -EINVAL;
}

static uint32_t addr_hash(const struct flb_addr *a)
{
	uint32_t h = 2166136261u ^ (uint32_t)a->family;

	for (size_t i = 0; i < sizeof(a->bytes); i++)
		h = (h ^ a->bytes[i]) * 16777619u;
	return h;
}

/* Adds a to the set; returns 1 when it was new, 0 when already there. */
static int set_add(const struct flb_addr **set, const struct flb_addr *a)
{
	uint32_t i = addr_hash(a) & (SET_SLOTS - 1);

	for (; set[i]; i = (i + 1) & (SET_SLOTS - 1))
		if (!addr_cmp(set[i], a))
			return 0;
	set[i] = a;
	return 1;
}

int config_validate(const struct flb_config *cfg, const char *name, char *err, size_t errlen)
{
	const struct flb_addr **set = calloc(SET_SLOTS, sizeof(*set));
	size_t distinct = 0;
	char path[96];
	int ret = 0;

	if (!set) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	for (size_t s = 0; s < cfg->n_services && !ret; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];
		size_t active = 0;

		for (size_t b = 0; b < svc->n_backends && !ret; b++) {
			const struct flb_backend_cfg *be = &svc->backends[b];
			char a[FLB_ADDR_PORT_STRLEN];

			snprintf(path, sizeof(path), "services[%zu].backends[%zu].address", s, b);
			active += be->weight > 0;
			addr_format(&be->addr, a, sizeof(a));
			/* IPv4 goes in IPv4 or IPv6 tunnels, IPv6 only in IPv6 ones (as Katran). */
			if (svc->vip.family == AF_INET6 && be->addr.family != AF_INET6)
				ret = bad(name, be->line, err, errlen, path,
					  "%s is IPv4 but service \"%s\" has an IPv6 VIP (IPv6 cannot be carried in IPv4): an IPv6 VIP needs IPv6 backends",
					  a, svc->name);
			else if ((distinct += set_add(set, &be->addr)) > FLB_MAX_BACKENDS - 1)
				ret = bad(name, be->line, err, errlen, path,
					  "%s is distinct backend address %zu; the maps hold at most %d (an address shared by services counts once)",
					  a, distinct, FLB_MAX_BACKENDS - 1);
		}
		/* With more weighted backends than slots, some would get no slot. */
		if (!ret && svc->table_size && active > svc->table_size) {
			snprintf(path, sizeof(path), "services[%zu].table_size", s);
			ret = bad(name, svc->line, err, errlen, path,
				  "%u is smaller than the number of backends with a non-zero weight (%zu)",
				  svc->table_size, active);
		}
	}
	free(set);
	return ret;
}
