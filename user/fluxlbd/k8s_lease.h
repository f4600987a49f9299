/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One status writer among the nodes: a coordination.k8s.io/v1 Lease, held
 * the way client-go's leader election holds one. Every lease_duration/3 a
 * node reads the Lease; its holder renews it (PUT with the read
 * resourceVersion: a concurrent writer gets 409 and loses), a node takes
 * it over when the record has not changed for leaseDurationSeconds by its
 * own clock (never by comparing renewTime with its clock: nodes' clocks
 * differ) or when holderIdentity is empty (released), and creates it when
 * it is missing (POST: of two creators one gets 409). The holder steps
 * down when it has not renewed for 2/3 of the duration, so it stops
 * writing before anyone else may start. A clean stop releases the Lease
 * (holderIdentity "", leaseDurationSeconds 1).
 *
 * The decisions are pure (k8s_lease_step, k8s_lease_done) for the unit
 * tests; k8s_lease_round() does one round against the API server.
 */
#ifndef FLB_K8S_LEASE_H
#define FLB_K8S_LEASE_H

#include <curl/curl.h>
#include <stdbool.h>

#include "source_kubernetes.h"

struct k8s_lease_rec {           /* what the Lease says */
	bool exists;
	char holder[128];
	int duration_s;
	int transitions;
	char acquire[40], renew[40]; /* MicroTime texts */
	char rv[64];
};

struct k8s_lease_state {         /* what this node remembers */
	struct k8s_lease_rec seen;   /* the last record read */
	double seen_at;              /* local time it last changed */
	bool leader;
	double renewed_at;           /* local time of our last successful write */
};

enum k8s_lease_action {
	K8S_LEASE_CREATE,            /* no Lease: POST one holding it */
	K8S_LEASE_RENEW,             /* ours: PUT a new renewTime */
	K8S_LEASE_TAKE,              /* expired or released: PUT us as holder */
	K8S_LEASE_WAIT,              /* another node holds it */
};

/* Takes a fresh read of the Lease at local time now (seconds) and says
 * what to do; the holder loses leadership here when rec names another. */
enum k8s_lease_action k8s_lease_step(struct k8s_lease_state *s, const struct k8s_lease_rec *rec,
				     const char *me, double now);
/* The outcome of that write: ok makes (or keeps) us the holder. */
void k8s_lease_done(struct k8s_lease_state *s, enum k8s_lease_action a, bool ok, double now);
/* True while we hold it: written within 2/3 of duration_s. */
bool k8s_lease_held(const struct k8s_lease_state *s, double now, int duration_s);

/* Parses a Lease object (JSON) into rec; -EBADMSG when it is not one. */
int k8s_lease_parse(const char *json, struct k8s_lease_rec *rec);
/* The Lease body to write for action a (RENEW, TAKE, CREATE; release with
 * me == ""), caller frees. now_text: a MicroTime. */
char *k8s_lease_body(const struct k8s_lease_rec *rec, enum k8s_lease_action a, const char *ns,
		     const char *name, const char *me, int duration_s, const char *now_text);

struct k8s_lease_cfg {
	const struct k8s_auth *auth;
	char ns[64], name[64], me[128];
	int duration_s;
};

/* One round: read, decide, write. Returns whether we hold the Lease; why
 * says what failed (why[0] == 0 otherwise). */
bool k8s_lease_round(CURL *c, const struct k8s_lease_cfg *lc, struct k8s_lease_state *s, double now,
		     char *why, size_t why_len);
/* Gives the Lease up if we hold it. */
void k8s_lease_release(CURL *c, const struct k8s_lease_cfg *lc, struct k8s_lease_state *s);

#endif
