// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The map ABI as operators see it: every map name of both BPF objects
 * (including libbpf's internal .rodata/.bss maps) fits in the kernel's 15
 * characters, so `bpftool map dump name X` works; reason and event labels
 * are unique and Prometheus-safe. Opens the built objects without loading
 * them: needs no privilege.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "flb_abi.h"
#include "flb_reasons.h"
#include "flb_test.h"

#define MAX_NAME 15 /* BPF_OBJ_NAME_LEN - 1 */

static void check_object(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_map *map;
	int n = 0;

	if (!ASSERT_TRUE(obj != NULL, path))
		return;
	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);

		ASSERT_LE(strlen(name), MAX_NAME, name);
		n++;
	}
	ASSERT_GE(n, 1, "maps in object");
	bpf_object__close(obj);
}

TEST(map_names_fit_balancer)
{
	check_object("build/bpf/balancer.bpf.o");
}

TEST(map_names_fit_decap)
{
	check_object("build/bpf/decap.bpf.o");
}

TEST(abi_name_lists_fit)
{
#define CHECK(name) ASSERT_LE(strlen(#name), MAX_NAME, #name);
	FLB_MAP_NAMES(CHECK)
	FLB_DECAP_MAP_NAMES(CHECK)
	FLB_NODE_MAP_NAMES(CHECK)
#undef CHECK
}

static bool label_ok(const char *s)
{
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

TEST(reason_labels_unique_and_safe)
{
	static const char *const labels[] = {
#define L(n, label) label,
		FLB_REASONS(L) FLB_EVENTS(L)
#undef L
	};
	size_t n = sizeof(labels) / sizeof(labels[0]);

	ASSERT_EQ(n, FLB_R_MAX + FLB_E_MAX, "label count");
	for (size_t i = 0; i < n; i++) {
		ASSERT_TRUE(label_ok(labels[i]), labels[i]);
		for (size_t j = i + 1; j < n; j++)
			ASSERT_TRUE(strcmp(labels[i], labels[j]) != 0, labels[i]);
	}
}

/* docs/observability.md's counter tables list every reason and every event
 * at its index: operators read flb_reasons and flb_events by position. */
TEST(docs_list_every_reason_and_event)
{
	static const char *const reasons[] = {
#define L(n, label) label,
		FLB_REASONS(L)
#undef L
	};
	static const char *const events[] = {
#define L(n, label) label,
		FLB_EVENTS(L)
#undef L
	};
	static const char page[] = "docs/observability.md";
	static char text[1 << 18];
	FILE *f = fopen(page, "r");
	size_t n;

	if (!ASSERT_TRUE(f != NULL, page))
		return;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	/* strstr, not ASSERT_STRCONTAINS: a miss names the row, not the page. */
	for (int i = 0; i < FLB_R_MAX; i++) {
		char row[96];

		snprintf(row, sizeof(row), "| %d | `%s` |", i, reasons[i]);
		ASSERT_TRUE(strstr(text, row) != NULL, row);
	}
	for (int i = 0; i < FLB_E_MAX; i++) {
		char row[96];

		snprintf(row, sizeof(row), "| %d | `%s` |", i, events[i]);
		ASSERT_TRUE(strstr(text, row) != NULL, row);
	}
}
