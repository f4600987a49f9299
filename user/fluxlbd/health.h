/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Active health checks of the backends: TCP connect or HTTP GET with an
 * expected status range, each with interval, timeout, rise and fall, all
 * non-blocking on one epoll set, with jittered schedules so checks of many
 * backends do not go out in bursts. A backend starts UNKNOWN (serving:
 * a restarted daemon must not empty its tables), goes DOWN after `fall`
 * failures in a row and comes back UP after `rise` successes in a row.
 * A target is (service, backend address, check port): the same address
 * in two services is two targets, each with its own verdict. A verdict
 * of DOWN survives a restart: the daemon saves it (persist.c) and hands
 * it back with health_restore() before the first health_configure(), so
 * such a backend starts DOWN and needs `rise` successes to serve again.
 * A passing HTTP check of a load-weighted service (load_weights) also
 * carries the load its body reports; health_run() moves the backends'
 * factors (load_weight.h: hysteresis, one change per interval) and counts
 * that as a change, so the tables follow. Factors start at max and are
 * not saved across restarts.
 */
#ifndef FLB_HEALTH_H
#define FLB_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "status.h"

struct health;

struct health *health_new(void);
void health_free(struct health *h);
/* The targets of cfg (every backend of every service with a check); a
 * target whose service, address and check settings are unchanged keeps its
 * state. Returns 0 or -errno. */
int health_configure(struct health *h, const struct flb_config *cfg);
/* A verdict saved by an earlier daemon: the next health_configure() gives
 * it to the target (service, a, port) when that target is new. Restored
 * verdicts not taken by that call are dropped. Returns 0 or -ENOMEM. */
int health_restore(struct health *h, const char *service, const struct flb_addr *a,
		   uint16_t port, enum flb_be_health state);
/* Calls fn for every target with its verdict. */
typedef void (*health_each_fn)(void *ctx, const char *service, const struct flb_addr *a,
			       uint16_t port, enum flb_be_health state);
void health_each(const struct health *h, health_each_fn fn, void *ctx);
/* The verdict of the target (service, a, port); UNKNOWN when there is none. */
enum flb_be_health health_target(const struct health *h, const char *service,
				 const struct flb_addr *a, uint16_t port);
/* An epoll fd that becomes readable when a check has I/O to do. */
int health_fd(const struct health *h);
/* Does the I/O that is ready, fails checks past their timeout and starts
 * the checks that are due. Returns true when a backend went UP or DOWN. */
bool health_run(struct health *h, uint64_t now_ms);
/* The health of one backend of a service; h is the struct health. The
 * daemon copies it into the desired state (flb_backend_cfg.check_down). */
enum flb_be_health health_get(void *h, const char *service, const struct flb_addr *a);
/* The load_weights factor (per mille) of one backend of a service, for
 * flb_backend_cfg.load_pm; 0 when the service is not load-weighted. */
uint32_t health_load_pm(void *h, const char *service, const struct flb_addr *a);
/* Copies state and result counters into st->backends (matching service and address). */
void health_publish(const struct health *h, struct flb_status *st);

#endif
