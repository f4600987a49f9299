/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The map writer: the only code that opens, loads and writes the balancer's
 * BPF maps. Maps are pinned under <bpffs>/v<FLB_ABI_VERSION>/ and reused
 * when already pinned there (restart adopts them; conntrack survives).
 * Readers (exporter, CLI) use the maps_read_* helpers. Each Maglev table
 * (inner map of flb_rings) is pinned too, as <pin_dir>/rings/<vip_id>, so
 * that readers open it by path: the kernel opens maps by id only for
 * CAP_SYS_ADMIN.
 */
#ifndef FLB_PINNED_MAPS_H
#define FLB_PINNED_MAPS_H

#include <stddef.h>
#include <stdint.h>

#include "flb_abi.h"
#include "flb_reasons.h"

struct flb_maps;

/* The folder of the tables' pins under the pin folder. */
#define FLB_RING_PIN_DIR "rings"

/* Opens and loads the balancer object with its maps pinned under
 * pin_dir (created if missing). NULL pin_dir: nothing pinned (tests).
 * Returns NULL with errno set, the reason logged. */
struct flb_maps *maps_open(const char *pin_dir);
/* Opens the maps pinned in pin_dir without loading anything (CLI,
 * exporter in another process). NULL with errno set when a pin is missing. */
struct flb_maps *maps_open_pinned(const char *pin_dir);
void maps_close(struct flb_maps *m);

/* Makes <pin_dir>/rings match flb_rings: removes pins of tables no longer
 * swapped in (and interrupted ones), pins the tables of an older fluxlbd
 * that did not pin them where the kernel allows opening them by id.
 * maps_open calls it; 0 or -errno. */
int maps_sync_ring_pins(struct flb_maps *m);
/* Removes <pin_dir>/rings and every pin in it (fluxlbd --cleanup). */
int maps_unpin_rings(const char *pin_dir);

int maps_prog_fd(const struct flb_maps *m);
struct bpf_object *maps_object(const struct flb_maps *m);

int maps_get_ctl(const struct flb_maps *m, struct flb_ctl *ctl);
int maps_set_ctl(struct flb_maps *m, const struct flb_ctl *ctl);

int maps_get_backend(const struct flb_maps *m, uint32_t id, struct flb_backend *be);
int maps_set_backend(struct flb_maps *m, uint32_t id, const struct flb_backend *be);

int maps_set_vip(struct flb_maps *m, const struct flb_vip_key *key, const struct flb_vip *vip);
int maps_del_vip(struct flb_maps *m, const struct flb_vip_key *key);
/* Iterates the VIP map; returns the count copied (at most max). */
int maps_list_vips(const struct flb_maps *m, struct flb_vip_key *keys, struct flb_vip *vips,
		   size_t max);

/* Fragment VIPs (flb_vip_addrs). Pruning removes, in one walk of the map,
 * every entry naming a VIP id that is not in keep[0..n_keep). */
int maps_set_vip_addr(struct flb_maps *m, const struct flb_vip_addr *a, uint32_t vip_id);
int maps_prune_vip_addrs(struct flb_maps *m, const uint32_t *keep, size_t n_keep);

/* Builds a new inner table [M, ids[0..M)] and swaps it in for vip_id in one
 * update, so the datapath sees the old table or the new one, never a mix. */
int maps_set_ring(struct flb_maps *m, uint32_t vip_id, const uint32_t *ids, uint32_t size);
int maps_del_ring(struct flb_maps *m, uint32_t vip_id);

/* The same for n tables at once. Every update or delete of an
 * array-of-maps waits for an RCU grace period (the kernel's
 * maybe_wait_bpf_programs(): about 0.1-2 ms here), so one table at a time
 * costs seconds for a thousand. maps_set_rings builds every inner table,
 * then swaps them all in with one batch update (one wait); each table is
 * still swapped whole. maps_del_rings deletes from several threads, whose
 * waits share grace periods (the kernel has no batch delete for this map
 * type). *done: how many of the n were written (in order) before an error. */
int maps_set_rings(struct flb_maps *m, size_t n, const uint32_t *vip_ids,
		   const uint32_t *const *ids, const uint32_t *sizes, size_t *done);
int maps_del_rings(struct flb_maps *m, size_t n, const uint32_t *vip_ids, size_t *done);
/* Second chance (docs/bgp.md): from now on, every table swap keeps the
 * table it replaces as the VIP's previous one for window_s seconds
 * (pinned_chance.h); 0 turns it off and ends every window. */
void maps_set_chance_window(struct flb_maps *m, uint32_t window_s);
/* Reads the table of vip_id into *ids (malloc'd, caller frees) and its size. */
int maps_get_ring(const struct flb_maps *m, uint32_t vip_id, uint32_t **ids, uint32_t *size);
/* Only the size M of vip_id's table (one lookup, not the whole table). */
int maps_get_ring_size(const struct flb_maps *m, uint32_t vip_id, uint32_t *size);

/* What the maps do not say but operators ask for: the service name of each
 * VIP and the configured weight of each of its backends, in the daemon-
 * owned hash map <pin_dir>/flb_svc_names (no BTF; the datapath never reads
 * it), key {vip_id, backend_id} (backend_id 0: the VIP's own row). Written
 * by the daemon after each apply, read by the CLI (fluxlb tree). */
#define FLB_NAMES_MAP "flb_svc_names"
#define FLB_NAMES_MAX (FLB_MAX_VIPS + FLB_MAX_BACKENDS * 4)
struct maps_name_key {
	uint32_t vip_id;
	uint32_t backend_id;
};
struct maps_name {
	char service[64];
	uint32_t weight;                /* configured weight; VIP rows: 0 */
	uint16_t port;                  /* the backend's own port, translated on its node
					 * (docs/pods.md); 0: the service port */
	uint16_t pad;
};
/* Makes the map hold exactly keys[0..n) -> vals[0..n): updates in one
 * batch, then deletes the keys not among them. 0 or -errno; no-op
 * without a pin folder. */
int maps_set_names(struct flb_maps *m, const struct maps_name_key *keys,
		   const struct maps_name *vals, size_t n);
/* One row; -ENOENT when missing or when the map is not there (an older
 * fluxlbd). */
int maps_get_name(const struct flb_maps *m, uint32_t vip_id, uint32_t backend_id,
		  struct maps_name *out);

/* Per-CPU counters summed over CPUs. */
int maps_read_reasons(const struct flb_maps *m, uint64_t out[FLB_R_MAX]);
int maps_read_events(const struct flb_maps *m, uint64_t out[FLB_E_MAX]);
/* flb_flood at monotonic time now_ns: how many CPUs are in flood mode (mode
 * set, window begun less than 2 s ago) and the new flows counted in the
 * CPUs' current windows (those begun less than 1 s ago). */
int maps_read_flood(const struct flb_maps *m, uint64_t now_ns, uint32_t *cpus_in_flood,
		    uint64_t *window_new_flows);
int maps_read_vip_stats(const struct flb_maps *m, uint32_t vip_id, struct flb_traffic *out);
int maps_read_be_stats(const struct flb_maps *m, uint32_t id, struct flb_traffic *out);

/* Calls fn for every conntrack entry, reading in batches (one syscall per
 * few thousand entries). Returns 0 or -errno. */
typedef void (*ct_visit_fn)(const struct flb_flow *flow, const struct flb_ct *ct, void *ctx);
int maps_ct_scan(const struct flb_maps *m, ct_visit_fn fn, void *ctx);

/* Entries in an LRU table and its capacity (max_entries). The kernel keeps
 * no count of a hash map that userspace can read, so this walks the table
 * in batches of 8192 keys and values: cost grows with the entries (the
 * full conntrack table: 32 syscalls, ~19 MiB copied, 0.24-0.31 s here). */
enum maps_fill_map { MAPS_FILL_CONNTRACK, MAPS_FILL_FRAGS };
int maps_fill(const struct flb_maps *m, enum maps_fill_map which, uint64_t *entries,
	      uint32_t *capacity);

int maps_ct_lookup(const struct flb_maps *m, const struct flb_flow *flow, struct flb_ct *ct);

/* Sums a per-CPU array element of value_size bytes made of u64 fields. */
int percpu_sum(int fd, uint32_t key, uint64_t *out, size_t n_u64);

/* The fd of the map named name (one of FLB_MAP_NAMES), or -ENOENT. */
int maps_fd(const struct flb_maps *m, const char *name);

#endif
