// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The YAML walker (see yaml_walk.h): loading one document with libyaml's
 * document API, reading scalars, lists and keyed mappings, and writing every
 * error as one line that names the file, the line and the key path. libyaml
 * marks are 0-based; every line printed here is 1-based. libyaml does not
 * reject duplicate keys, nor does it resolve types: all scalars are text and
 * their syntax is checked here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "yaml_walk.h"

size_t yw_push_key(struct yw_ctx *ctx, const char *key)
{
	size_t len = strlen(ctx->path);

	/* An unknown key is user text: cap it so the rest of the path fits. */
	snprintf(ctx->path + len, sizeof(ctx->path) - len, "%s%.64s",
		 len ? "." : "", key);
	return len;
}

size_t yw_push_index(struct yw_ctx *ctx, size_t idx)
{
	size_t len = strlen(ctx->path);

	snprintf(ctx->path + len, sizeof(ctx->path) - len, "[%zu]", idx);
	return len;
}

void yw_pop(struct yw_ctx *ctx, size_t mark)
{
	if (mark < sizeof(ctx->path))
		ctx->path[mark] = '\0';
}

int yw_line(const yaml_node_t *node)
{
	return node ? (int)node->start_mark.line + 1 : 1;
}

static void vset_err(struct yw_ctx *ctx, int line, const char *fmt, va_list ap)
{
	size_t off = 0;
	int n;

	if (!ctx->err || !ctx->errlen)
		return;
	if (line > 0)
		n = snprintf(ctx->err, ctx->errlen, "%s:%d: ", ctx->name, line);
	else
		n = snprintf(ctx->err, ctx->errlen, "%s: ", ctx->name);
	if (n > 0)
		off = (size_t)n;
	if (ctx->path[0] && off < ctx->errlen) {
		n = snprintf(ctx->err + off, ctx->errlen - off, "%s: ", ctx->path);
		if (n > 0)
			off += (size_t)n;
	}
	if (off < ctx->errlen)
		vsnprintf(ctx->err + off, ctx->errlen - off, fmt, ap);
	/*
	 * Messages quote user text, which may hold escaped newlines or other
	 * control characters; the contract is one line, so mask them.
	 */
	for (char *c = ctx->err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

int yw_err(struct yw_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_err(ctx, yw_line(node), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int yw_err_line(struct yw_ctx *ctx, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_err(ctx, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int yw_nomem(struct yw_ctx *ctx)
{
	ctx->path[0] = '\0';
	yw_err_line(ctx, 0, "out of memory");
	return -ENOMEM;
}

static int load_error(struct yw_ctx *ctx, const yaml_parser_t *p,
		      const char *buf, size_t len)
{
	int line = 1;

	if (p->error == YAML_MEMORY_ERROR)
		return yw_nomem(ctx);
	if (p->error == YAML_READER_ERROR) {
		/* Reader errors (bad UTF-8, control bytes) carry an offset, no mark. */
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			line += buf[i] == '\n';
		if (p->problem_value != -1)
			return yw_err_line(ctx, line, "YAML error: %s (byte 0x%02x)",
					   p->problem, p->problem_value & 0xff);
		return yw_err_line(ctx, line, "YAML error: %s", p->problem);
	}
	line = (int)p->problem_mark.line + 1;
	if (p->context)
		return yw_err_line(ctx, line, "YAML syntax error: %s (%s on line %d)",
				   p->problem, p->context,
				   (int)p->context_mark.line + 1);
	return yw_err_line(ctx, line, "YAML syntax error: %s",
			   p->problem ? p->problem : "unknown problem");
}

int yw_load(struct yw_ctx *ctx, const char *buf, size_t len,
	    yaml_document_t *doc)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	int err = 0;

	memset(doc, 0, sizeof(*doc));
	if (!yaml_parser_initialize(&parser))
		return yw_nomem(ctx);
	yaml_parser_set_input_string(&parser, (const unsigned char *)(buf ? buf : ""),
				     buf ? len : 0);
	/*
	 * yaml_document_delete() zeroes what it frees, so calling it on a
	 * document that a failed load already released is safe.
	 */
	if (!yaml_parser_load(&parser, doc)) {
		err = load_error(ctx, &parser, buf, len);
		yaml_document_delete(doc);
		goto out;
	}
	if (!yaml_document_get_root_node(doc))
		goto out;
	/* A second document would be silently ignored: refuse it instead. */
	if (!yaml_parser_load(&parser, &extra)) {
		err = load_error(ctx, &parser, buf, len);
	} else if (yaml_document_get_root_node(&extra)) {
		err = yw_err_line(ctx, (int)extra.start_mark.line + 1,
				  "more than one YAML document (only one is read)");
	}
	yaml_document_delete(&extra);
	if (err)
		yaml_document_delete(doc);
out:
	yaml_parser_delete(&parser);
	return err;
}

/* libyaml does not resolve tags: a plain "", "~" or "null" is YAML's null. */
static int is_null(const yaml_node_t *node)
{
	const char *s = (const char *)node->data.scalar.value;

	if (node->type != YAML_SCALAR_NODE ||
	    node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return !strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int expect(struct yw_ctx *ctx, yaml_node_t *node, yaml_node_type_t type)
{
	const char *want;

	if (node->type == type && !is_null(node))
		return 0;
	want = type == YAML_SEQUENCE_NODE ? "a list" :
	       type == YAML_MAPPING_NODE ? "a mapping" : "a single value";
	if (node->type == YAML_SEQUENCE_NODE)
		return yw_err(ctx, node, "expected %s, got a list", want);
	if (node->type == YAML_MAPPING_NODE)
		return yw_err(ctx, node, "expected %s, got a mapping", want);
	if (is_null(node))
		return yw_err(ctx, node, "expected %s, got an empty value", want);
	return yw_err(ctx, node, "expected %s, got \"%s\"", want,
		      (const char *)node->data.scalar.value);
}

int yw_str(struct yw_ctx *ctx, yaml_node_t *node, const char **out)
{
	const char *s;
	int err;

	err = expect(ctx, node, YAML_SCALAR_NODE);
	if (err)
		return err;
	s = (const char *)node->data.scalar.value;
	/* A "\0" escape would silently cut the value short in C. */
	if (strlen(s) != node->data.scalar.length)
		return yw_err(ctx, node, "value contains a NUL character");
	*out = s;
	return 0;
}

int yw_uint(struct yw_ctx *ctx, yaml_node_t *node, uint64_t min, uint64_t max,
	    uint64_t *out)
{
	int overflow = 0, err;
	uint64_t v = 0;
	const char *s = NULL, *p;

	err = yw_str(ctx, node, &s);
	if (err)
		return err;
	p = s[0] == '-' ? s + 1 : s;
	if (*p < '0' || *p > '9')
		return yw_err(ctx, node, "\"%s\" is not a decimal integer", s);
	/* YAML 1.1 reads a leading zero as octal; accept neither reading. */
	if (p[0] == '0' && p[1])
		return yw_err(ctx, node,
			      "\"%s\" is not a decimal integer (no leading zeros)", s);
	for (; *p; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (*p < '0' || *p > '9')
			return yw_err(ctx, node, "\"%s\" is not a decimal integer", s);
		if (v > (UINT64_MAX - d) / 10)
			overflow = 1;
		else
			v = v * 10 + d;
	}
	if (s[0] == '-' || overflow || v < min || v > max)
		return yw_err(ctx, node, "%s is out of range %llu..%llu", s,
			      (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int yw_enum(struct yw_ctx *ctx, yaml_node_t *node, const struct yw_enum *vals,
	    size_t n_vals, int *out)
{
	char list[128] = "";
	const char *s = NULL;
	size_t off = 0;
	int err;

	err = yw_str(ctx, node, &s);
	if (err)
		return err;
	for (size_t i = 0; i < n_vals; i++) {
		if (!strcmp(s, vals[i].name)) {
			*out = vals[i].value;
			return 0;
		}
	}
	for (size_t i = 0; i < n_vals && off < sizeof(list); i++) {
		int n = snprintf(list + off, sizeof(list) - off, "%s%s",
				 i ? ", " : "", vals[i].name);

		if (n < 0)
			break;
		off += (size_t)n;
	}
	return yw_err(ctx, node, "\"%s\" is not one of: %s", s, list);
}

int yw_seq_len(struct yw_ctx *ctx, yaml_node_t *node, size_t min, size_t max,
	       size_t *n)
{
	size_t len;
	int err;

	err = expect(ctx, node, YAML_SEQUENCE_NODE);
	if (err)
		return err;
	len = (size_t)(node->data.sequence.items.top -
		       node->data.sequence.items.start);
	if (len < min)
		return yw_err(ctx, node, "needs at least %zu entr%s", min,
			      min == 1 ? "y" : "ies");
	if (len > max)
		return yw_err(ctx, node, "has %zu entries, at most %zu are allowed",
			      len, max);
	*n = len;
	return 0;
}

int yw_seq_each(struct yw_ctx *ctx, yaml_node_t *node, yw_item_fn fn, void *obj)
{
	yaml_node_item_t *it;
	size_t idx = 0;

	for (it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++, idx++) {
		yaml_node_t *item = yaml_document_get_node(ctx->doc, *it);
		size_t mark = yw_push_index(ctx, idx);
		int err = fn(ctx, item, idx, obj);

		if (err)
			return err;
		yw_pop(ctx, mark);
	}
	return 0;
}

/* The key's text when it is a scalar; libyaml keys may be any node. */
static const char *key_text(const yaml_node_t *key)
{
	if (key->type != YAML_SCALAR_NODE ||
	    strlen((const char *)key->data.scalar.value) != key->data.scalar.length)
		return NULL;
	return (const char *)key->data.scalar.value;
}

int yw_mapping(struct yw_ctx *ctx, yaml_node_t *node, const struct yw_key *keys,
	       size_t n_keys, void *obj)
{
	const yaml_node_pair_t *found[YW_MAX_KEYS] = { NULL };
	const yaml_node_pair_t *pair;
	size_t mark, i;
	int err;

	if (n_keys > YW_MAX_KEYS)
		return -E2BIG;
	err = expect(ctx, node, YAML_MAPPING_NODE);
	if (err)
		return err;
	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = yaml_document_get_node(ctx->doc, pair->key);
		const char *name = key_text(key);

		if (!name)
			return yw_err(ctx, key, "keys must be plain text");
		for (i = 0; i < n_keys && strcmp(name, keys[i].name); i++)
			;
		mark = yw_push_key(ctx, name);
		if (i == n_keys)
			return yw_err(ctx, key, "unknown key");
		if (found[i])
			return yw_err(ctx, key, "duplicate key (first on line %d)",
				      yw_line(yaml_document_get_node(ctx->doc,
								     found[i]->key)));
		yw_pop(ctx, mark);
		found[i] = pair;
	}
	for (i = 0; i < n_keys; i++) {
		mark = yw_push_key(ctx, keys[i].name);
		if (!found[i]) {
			if (keys[i].flags & YW_REQUIRED)
				return yw_err(ctx, node, "missing required key");
		} else {
			err = keys[i].parse(ctx,
					    yaml_document_get_node(ctx->doc,
								   found[i]->value),
					    obj);
			if (err)
				return err;
		}
		yw_pop(ctx, mark);
	}
	return 0;
}

yaml_node_t *yw_map_get(struct yw_ctx *ctx, yaml_node_t *map, const char *key)
{
	const yaml_node_pair_t *pair;

	if (map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		const char *name =
			key_text(yaml_document_get_node(ctx->doc, pair->key));

		if (name && !strcmp(name, key))
			return yaml_document_get_node(ctx->doc, pair->value);
	}
	return NULL;
}
