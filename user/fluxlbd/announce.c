// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The announcer (see announce.h): keeps the set of VIP routes in the kernel
 * equal to what the applied state says this node can serve. It remembers
 * what it put in the table (cur) and only writes differences, so a sync
 * after an apply that changed nothing costs no syscall.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "announce.h"
#include "announce_nl.h"
#include "log.h"

#define MAX_ROUTES FLB_CFG_MAX_SERVICES

struct announcer {
	int fd;
	uint32_t table;
	struct flb_addr cur[MAX_ROUTES];
	size_t n_cur;
	struct flb_addr want[MAX_ROUTES];
};

static bool has(const struct flb_addr *set, size_t n, const struct flb_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (!addr_cmp(&set[i], a))
			return true;
	return false;
}

static bool usable(const struct flb_service_cfg *svc)
{
	for (size_t b = 0; b < svc->n_backends; b++) {
		const struct flb_backend_cfg *be = &svc->backends[b];

		if (be->weight && !be->down && !be->check_down)
			return true;
	}
	return false;
}

size_t announce_wanted(const struct flb_config *cfg, bool ready, struct flb_addr *out, size_t max)
{
	size_t n = 0;

	if (!ready || !cfg)
		return 0;
	for (size_t s = 0; s < cfg->n_services && n < max; s++)
		if (usable(&cfg->services[s]) && !has(out, n, &cfg->services[s].vip))
			out[n++] = cfg->services[s].vip;
	return n;
}

struct announcer *announcer_new(const struct flb_announce_cfg *cfg)
{
	struct announcer *a = calloc(1, sizeof(*a));
	char ip[48];
	int err;

	if (!a)
		return NULL;
	a->table = cfg->table;
	a->fd = nl_open();
	err = a->fd < 0 ? a->fd : nl_route_dump(a->fd, a->table, a->cur, MAX_ROUTES, &a->n_cur);
	if (err) {
		log_error("cannot open the announce table", "table=%u err=\"%s\"", a->table,
			  strerror(-err));
		if (a->fd >= 0)
			close(a->fd);
		free(a);
		errno = -err;
		return NULL;
	}
	for (size_t i = 0; i < a->n_cur; i++) {
		addr_format(&a->cur[i], ip, sizeof(ip));
		log_info("VIP route found from an earlier run; kept only while still servable",
			 "vip=%s table=%u", ip, a->table);
	}
	return a;
}

void announcer_free(struct announcer *a)
{
	if (!a)
		return;
	close(a->fd);
	free(a);
}

uint32_t announcer_table(const struct announcer *a)
{
	return a->table;
}

/* Why a VIP is not wanted, for the log line. */
static const char *withdraw_reason(const struct flb_config *cfg, bool ready,
				   const struct flb_addr *vip)
{
	bool configured = false;

	if (!ready)
		return "not ready";
	for (size_t s = 0; cfg && s < cfg->n_services; s++)
		configured |= !addr_cmp(&cfg->services[s].vip, vip);
	return configured ? "no usable backend" : "VIP no longer configured";
}

/* Marks the VIP rows whose address is announced. */
static void mark_rows(const struct announcer *a, const struct flb_config *cfg,
		      struct flb_status *st)
{
	for (size_t i = 0; i < st->n_vips; i++) {
		st->vips[i].announced = false;
		for (size_t s = 0; cfg && s < cfg->n_services; s++) {
			/* Rows follow the services' order (reconcile.c publish()). */
			size_t k = (i + s) % cfg->n_services;

			if (!strcmp(cfg->services[k].name, st->vips[i].service)) {
				st->vips[i].announced = has(a->cur, a->n_cur, &cfg->services[k].vip);
				break;
			}
		}
	}
}

static int withdraw(struct announcer *a, size_t i, struct flb_status *st, const char *why)
{
	char ip[48];
	int err = nl_route_del(a->fd, a->table, &a->cur[i]);

	addr_format(&a->cur[i], ip, sizeof(ip));
	if (err) {
		st->announce_errors++;
		return log_err(err, "cannot withdraw VIP", "vip=%s table=%u why=\"%s\" err=\"%s\"", ip,
			       a->table, why, strerror(-err));
	}
	st->withdraws++;
	log_info("VIP withdrawn", "vip=%s table=%u why=\"%s\"", ip, a->table, why);
	a->cur[i] = a->cur[--a->n_cur];
	return 0;
}

int announcer_sync(struct announcer *a, const struct flb_config *cfg, struct flb_status *st)
{
	size_t n = announce_wanted(cfg, st->ready, a->want, MAX_ROUTES);
	char ip[48];
	int first = 0, err;

	st->announce_on = true;
	for (size_t i = a->n_cur; i-- > 0;)
		if (!has(a->want, n, &a->cur[i]) &&
		    (err = withdraw(a, i, st, withdraw_reason(cfg, st->ready, &a->cur[i]))) && !first)
			first = err;
	for (size_t i = 0; i < n; i++) {
		if (has(a->cur, a->n_cur, &a->want[i]))
			continue;
		addr_format(&a->want[i], ip, sizeof(ip));
		err = nl_route_add(a->fd, a->table, &a->want[i]);
		if (err) {
			st->announce_errors++;
			log_error("cannot announce VIP", "vip=%s table=%u err=\"%s\"", ip, a->table,
				  strerror(-err));
			first = first ? first : err;
			continue;
		}
		a->cur[a->n_cur++] = a->want[i];
		st->announces++;
		log_info("VIP announced", "vip=%s table=%u why=\"ready, a backend is usable\"", ip,
			 a->table);
	}
	st->vips_announced = a->n_cur;
	mark_rows(a, cfg, st);
	return first;
}

int announcer_withdraw_all(struct announcer *a, struct flb_status *st, const char *why)
{
	int first = 0, err;

	for (size_t i = a->n_cur; i-- > 0;)
		if ((err = withdraw(a, i, st, why)) && !first)
			first = err;
	st->vips_announced = a->n_cur;
	mark_rows(a, NULL, st);
	return first;
}

int announce_cleanup(uint32_t table)
{
	struct flb_addr *got = calloc(MAX_ROUTES, sizeof(*got));
	size_t n = 0;
	int fd = nl_open(), err;

	err = fd < 0 ? fd : got ? nl_route_dump(fd, table, got, MAX_ROUTES, &n) : -ENOMEM;
	for (size_t i = 0; !err && i < n; i++)
		err = nl_route_del(fd, table, &got[i]);
	if (err)
		log_error("cannot remove the VIP routes", "table=%u err=\"%s\"", table, strerror(-err));
	else
		log_info("VIP routes removed", "table=%u routes=%zu", table, n);
	if (fd >= 0)
		close(fd);
	free(got);
	return err;
}
