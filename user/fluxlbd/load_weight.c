// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Load-aware weights: report -> factor -> level (see load_weight.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "load_weight.h"
#include "maglev.h"

/* Rounds a value >= 0 to the nearest integer (no libm). */
static long rnd(double v)
{
	return (long)(v + 0.5);
}

const char *lw_from_name(enum flb_load_from from)
{
	switch (from) {
	case FLB_LOAD_CPU:
		return "cpu_percent";
	case FLB_LOAD_MEMORY:
		return "memory_percent";
	case FLB_LOAD_WEIGHT:
		return "weight";
	default:
		return "off";
	}
}

void lw_backend_init(const struct flb_load_cfg *c, struct lw_backend *b)
{
	*b = (struct lw_backend){ .level_pm = c->max_pm, .prev_pm = c->max_pm };
}

int lw_parse_body(const struct flb_load_cfg *c, const char *body, double *out)
{
	cJSON *root = body ? cJSON_Parse(body) : NULL;
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, lw_from_name(c->from));
	int err = -EINVAL;

	if (cJSON_IsNumber(f) && isfinite(f->valuedouble) && f->valuedouble >= 0 &&
	    f->valuedouble <= 100) {
		*out = f->valuedouble;
		err = 0;
	}
	cJSON_Delete(root);
	return err;
}

bool lw_report(struct lw_backend *b, int err, double value)
{
	bool first_bad = err && !b->bad;

	if (err) {
		b->bad_reports++;
		b->bad = true;
		return first_bad;
	}
	b->bad = false;
	b->reported = true;
	b->value = value;
	return false;
}

static uint32_t clamp(const struct flb_load_cfg *c, long v)
{
	return v < (long)c->min_pm ? c->min_pm : v > (long)c->max_pm ? c->max_pm : (uint32_t)v;
}

uint32_t lw_raw_pm(const struct flb_load_cfg *c, double value)
{
	double f = c->from == FLB_LOAD_WEIGHT ? 10 * value : 1000 - 10 * value;

	return clamp(c, rnd(f));
}

uint32_t lw_quantise_pm(const struct flb_load_cfg *c, uint32_t raw_pm)
{
	long level = rnd((double)raw_pm * c->steps / 1000);

	return clamp(c, rnd((double)level * 1000 / c->steps));
}

/* Whether b's level should move now, and to what. */
static bool wants(const struct flb_load_cfg *c, const struct lw_backend *b, uint32_t *to)
{
	uint32_t raw, q;
	long dist;

	if (!b->reported)
		return false;
	raw = lw_raw_pm(c, b->value);
	q = lw_quantise_pm(c, raw);
	dist = labs((long)raw - (long)b->level_pm);
	if (q == b->level_pm || 2 * dist <= 1000 / (long)c->steps + 2 * (long)c->hysteresis_pm)
		return false;
	*to = q;
	return true;
}

bool lw_step(const struct flb_load_cfg *c, struct lw_service *s, struct lw_backend *b, size_t n,
	     uint64_t now_ms)
{
	bool any = false;
	uint32_t to;

	for (size_t i = 0; i < n && !any; i++)
		any = wants(c, &b[i], &to);
	if (!any || (s->changed_once && now_ms - s->last_change_ms < c->interval_ms))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!wants(c, &b[i], &to))
			continue;
		b[i].prev_pm = b[i].level_pm;
		b[i].level_pm = to;
	}
	s->changed_once = true;
	s->last_change_ms = now_ms;
	s->changes++;
	return true;
}

uint32_t lw_weight(uint32_t configured, uint32_t factor_pm)
{
	uint64_t w;

	if (!configured || !factor_pm)
		return configured;
	w = ((uint64_t)configured * factor_pm + 5) / 10;
	return w < 1 ? 1 : w > MAGLEV_MAX_WEIGHT ? MAGLEV_MAX_WEIGHT : (uint32_t)w;
}
