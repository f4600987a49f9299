/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Delete the entries of a hash map that a predicate does not keep. The
 * whole map is read first (in batches), the deletes follow: a delete
 * during a walk of a hash map may restart or skip the walk.
 */
#ifndef FLB_MAP_PRUNE_H
#define FLB_MAP_PRUNE_H

#include <stdbool.h>
#include <stddef.h>

typedef bool (*map_keep_fn)(const void *key, const void *val, void *arg);

/* 0, or -errno of the first failed read or delete (an entry already gone
 * is no failure). The batch token of a hash map is its bucket index. */
int map_prune(int fd, size_t key_size, size_t val_size, map_keep_fn keep, void *arg);

#endif
