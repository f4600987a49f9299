/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Active health checks of the backends: TCP connect or HTTP GET with an
 * expected status range, each with interval, timeout, rise and fall, all
 * non-blocking on one epoll set, with jittered schedules so checks of many
 * backends do not go out in bursts. A backend starts UNKNOWN (serving:
 * a restarted daemon must not empty its tables), goes DOWN after `fall`
 * failures in a row and comes back UP after `rise` successes in a row.
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
/* An epoll fd that becomes readable when a check has I/O to do. */
int health_fd(const struct health *h);
/* Does the I/O that is ready, fails checks past their timeout and starts
 * the checks that are due. Returns true when a backend went UP or DOWN. */
bool health_run(struct health *h, uint64_t now_ms);
/* The health of one backend of a service; h is the struct health. The
 * daemon copies it into the desired state (flb_backend_cfg.check_down). */
enum flb_be_health health_get(void *h, const char *service, const struct flb_addr *a);
/* Copies state and result counters into st->backends (matching service and address). */
void health_publish(const struct health *h, struct flb_status *st);

#endif
