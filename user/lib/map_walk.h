/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Whole-map reads of a BPF hash map in batches (BPF_MAP_LOOKUP_BATCH), and
 * pruning built on them. A prune reads the whole map first and deletes
 * after: a delete during a walk of a hash map may restart or skip the walk.
 */
#ifndef FLB_MAP_WALK_H
#define FLB_MAP_WALK_H

#include <stdbool.h>
#include <stddef.h>

/* Called for each entry; a non-zero return ends the walk with that value. */
typedef int (*map_visit_fn)(const void *key, const void *val, void *arg);
typedef bool (*map_keep_fn)(const void *key, const void *val, void *arg);

/* Visits every entry, batch entries per read. 0, -errno of a failed read,
 * or what visit returned. */
int map_walk(int fd, size_t key_size, size_t val_size, unsigned batch, map_visit_fn visit,
	     void *arg);

/* Deletes the entries keep() does not keep. 0, or -errno of the first
 * failed read or delete (an entry already gone is no failure). */
int map_prune(int fd, size_t key_size, size_t val_size, map_keep_fn keep, void *arg);

#endif
