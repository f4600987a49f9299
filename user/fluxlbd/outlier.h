/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Passive outlier detection, the decision (docs/circuit-breaking.md): per
 * (service, backend address), the backend's cumulative SYN retransmits and
 * new flows as the dataplane counts them (bpf/outlier.h, flb_be_stats) are
 * turned into a ratio per window of outlier_detection.window. A window with
 * at least min_new_flows new flows and retransmits / new flows at or above
 * syn_retransmit_ratio ejects the backend for base_ejection_time times the
 * number of times it was ejected (capped at FLB_OUTLIER_MAX_MULT), unless
 * max_ejection_percent of the service's weighted backends are ejected
 * already; when the cool-down ends it returns and is judged afresh. Each
 * cool-down served without a new ejection lowers the multiplier by one.
 * Pure: no maps, no clock, no logging; the caller (outlier_run.c) reads
 * the counters, logs the events and asks outlier_ejected() per backend.
 */
#ifndef FLB_OUTLIER_H
#define FLB_OUTLIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"

#define FLB_OUTLIER_MAX_MULT 10

/* A backend's counters since the dataplane started (cumulative). present:
 * the backend has an id in the maps (else it is not judged). */
struct outlier_sample {
	uint64_t retrans, new_flows;
	bool present;
};

enum outlier_what { OUTLIER_EJECT = 1, OUTLIER_RETURN, OUTLIER_CAPPED };

/* What a step decided, for the log. */
struct outlier_event {
	enum outlier_what what;
	size_t backend;          /* index in the service's backends */
	uint64_t retrans, new_flows; /* of the window judged */
	uint32_t ratio_pm;
	uint32_t ejection_ms;    /* EJECT: the cool-down */
	uint32_t ejected_now;    /* backends of the service ejected after the event */
};

struct outlier_rec {
	char svc[64];
	struct flb_addr addr;
	bool seen;               /* base counters valid */
	uint64_t win_start_ms;
	uint64_t base_retrans, base_new;
	uint64_t ejected_until_ms; /* 0: not ejected */
	uint64_t quiet_since_ms;   /* returned at; the multiplier decays from here */
	uint32_t mult;             /* ejections not yet forgiven */
	uint64_t ejections_total;
	uint64_t retrans_total;    /* the last cumulative count seen */
	uint32_t last_ratio_pm;
	bool live;                 /* named by the last step of its service */
};

struct outlier {
	struct outlier_rec *r;
	size_t n, cap;
};

void outlier_free(struct outlier *o);
/* One judgement of svc at now_ms over s[b] (one per backend of svc). Fills
 * ev (up to max_ev) and *n_ev. Returns the number of ejections and returns
 * (the state changed: re-plan), or -ENOMEM. A service without
 * outlier_detection has its backends returned and forgotten. */
int outlier_step(struct outlier *o, const struct flb_service_cfg *svc,
		 const struct outlier_sample *s, uint64_t now_ms, struct outlier_event *ev,
		 size_t max_ev, size_t *n_ev);
/* Whether the backend addr of service svc is ejected now. */
bool outlier_ejected(const struct outlier *o, const char *svc, const struct flb_addr *addr);
/* Drops the records no step named since the last call (their service or
 * backend left the configuration). */
void outlier_prune(struct outlier *o);

#endif
