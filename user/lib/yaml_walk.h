/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Walking a libyaml document with precise errors. A walker keeps the key path
 * of the node being read ("services[0].backends[1].address") and formats every
 * error as one line "FILE:LINE: key.path: problem", with 1-based lines. A
 * mapping is read through a table of known keys (struct yw_key), so adding a
 * key to the config is one table row and one parse function; the walker
 * rejects unknown, duplicate and missing required keys itself. Every function
 * returns 0 or -errno (-EINVAL for a bad document, with the message written).
 */
#ifndef FLB_YAML_WALK_H
#define FLB_YAML_WALK_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

struct yw_ctx {
	const char *name;      /* file name for messages */
	yaml_document_t *doc;
	char *err;             /* may be NULL */
	size_t errlen;
	char path[256];        /* key path of the current node; truncated if longer */
};

/* Marks returned by the push functions, given back to yw_pop(). */
size_t yw_push_key(struct yw_ctx *ctx, const char *key);
size_t yw_push_index(struct yw_ctx *ctx, size_t idx);
void yw_pop(struct yw_ctx *ctx, size_t mark);

/* 1-based line where node starts. */
int yw_line(const yaml_node_t *node);

/* Write "FILE:LINE: path: problem" to ctx->err. Return -EINVAL. */
int yw_err(struct yw_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int yw_err_line(struct yw_ctx *ctx, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "FILE: out of memory". Returns -ENOMEM. */
int yw_nomem(struct yw_ctx *ctx);

/*
 * Load exactly one document from buf into *doc (set ctx->doc = doc after).
 * Syntax errors and a second document are errors; an empty stream leaves
 * *doc without a root node, for the caller to reject in its own words. On
 * error *doc needs no yaml_document_delete().
 */
int yw_load(struct yw_ctx *ctx, const char *buf, size_t len,
	    yaml_document_t *doc);

/* Sets *out to the node's scalar text; rejects lists, mappings, nulls and NULs. */
int yw_str(struct yw_ctx *ctx, yaml_node_t *node, const char **out);

/* Decimal digits only, no sign, no leading zero, in [min, max]. */
int yw_uint(struct yw_ctx *ctx, yaml_node_t *node, uint64_t min, uint64_t max,
	    uint64_t *out);

struct yw_enum {
	const char *name;
	int value;
};

/* Exact, case-sensitive match of the scalar against names. */
int yw_enum(struct yw_ctx *ctx, yaml_node_t *node, const struct yw_enum *vals,
	    size_t n_vals, int *out);

/* Checks node is a list of min..max items and sets *n to its length. */
int yw_seq_len(struct yw_ctx *ctx, yaml_node_t *node, size_t min, size_t max,
	       size_t *n);

typedef int (*yw_item_fn)(struct yw_ctx *ctx, yaml_node_t *item, size_t idx,
			  void *obj);

/* Calls fn on each item of a list (check it with yw_seq_len first). */
int yw_seq_each(struct yw_ctx *ctx, yaml_node_t *node, yw_item_fn fn,
		void *obj);

#define YW_REQUIRED 0x1
#define YW_MAX_KEYS 32

typedef int (*yw_parse_fn)(struct yw_ctx *ctx, yaml_node_t *value, void *obj);

struct yw_key {
	const char *name;
	unsigned int flags;  /* YW_REQUIRED */
	yw_parse_fn parse;
};

/*
 * Reads a mapping through a table of at most YW_MAX_KEYS keys. Unknown,
 * duplicate and non-scalar keys are checked first, in file order; then each
 * present key is parsed in table order, so a parse function may rely on the
 * keys listed above it (a backend's port is checked against the service port,
 * which comes first in the service table). A missing required key is an error
 * at the mapping's line; absent optional keys leave obj as the caller set it.
 */
int yw_mapping(struct yw_ctx *ctx, yaml_node_t *node, const struct yw_key *keys,
	       size_t n_keys, void *obj);

/* Value of key in a mapping already checked by yw_mapping(), or NULL. */
yaml_node_t *yw_map_get(struct yw_ctx *ctx, yaml_node_t *map, const char *key);

#endif
