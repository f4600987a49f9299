/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * State that must outlive the daemon process, kept where the dataplane's
 * state is: in the pin folder, as a BPF hash map of its own, flb_state,
 * that only fluxlbd reads and writes (the datapath never looks at it).
 * Not a file: a bpffs holds BPF objects only, and a map pinned beside the
 * others lives exactly as long as they do (same ABI folder, removed by
 * --cleanup, gone at reboot with everything else). Two kinds of entry:
 *
 *  - health verdicts: (service, backend address, check port) -> DOWN. A
 *    backend that was down when the daemon stopped starts down after a
 *    restart and needs `rise` successful checks to serve again, instead
 *    of taking new flows until `fall` checks fail once more.
 *  - drain starts: backend id -> CLOCK_MONOTONIC ns when it began to
 *    drain, so a drain ends drain_timeout after it started, not after the
 *    restart.
 *
 * Each is written when it changes (one map update per change: atomic, and
 * a SIGKILL loses nothing written before it). A daemon without the map
 * (it could not be created) works as before and says so once.
 */
#ifndef FLB_PERSIST_H
#define FLB_PERSIST_H

#include <stdint.h>

#include "health.h"

#define FLB_STATE_MAP "flb_state"
#define FLB_STATE_MAX 65536

struct persist;

/* Opens (or creates and pins) <pin_dir>/flb_state. NULL with errno set,
 * logged. */
struct persist *persist_open(const char *pin_dir);
void persist_close(struct persist *p);

/* Hands every saved DOWN verdict to h (health_restore). Returns how many. */
int persist_load_health(struct persist *p, struct health *h);
/* Makes the saved verdicts those of h: DOWN targets are saved, the rest
 * removed. */
void persist_save_health(struct persist *p, const struct health *h);

/* start[id] = saved drain start of id, 0 when none (FLB_MAX_BACKENDS ids). */
void persist_load_drain(struct persist *p, uint64_t *start);
/* Saves the drain starts that differ from the last saved ones. */
void persist_save_drain(struct persist *p, const uint64_t *start);

#endif
