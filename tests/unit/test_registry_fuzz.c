// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A seeded mutator fuzz of the registry's request handlers that take
 * untrusted text: the registration body (reg_parse_instance), the stored
 * records read back from etcd (reg_parse_instance without a peer,
 * reg_health_parse), rendering of what was accepted, and the path, query
 * and duration parsers. Bodies start from real requests (the platform
 * client's, python3-consul's, every field) and are mutated byte-wise
 * (flips, interesting bytes, JSON tokens, deletions, duplications,
 * splices, deep nesting) and structurally (a random JSON node replaced by a
 * value of another type), so most of them get past the JSON parser and
 * reach validation.
 *
 * Properties: nothing crashes; whatever is accepted is canonical (its
 * stored form parses back to the same bytes) and renders; under
 * `make SAN=1` ASan/UBSan check every access and LeakSanitizer every
 * allocation at exit. FLB_FUZZ_SEED and FLB_REG_FUZZ_COUNT (default 20000,
 * at least 10000 is what the issue asks) choose the run; the seed is
 * printed so a failure can be replayed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "duration.h"
#include "flb_test.h"
#include "registry_model.h"
#include "registry_request.h"

static const char *const seeds[] = {
	"{\"ID\": \"web-host1\", \"Name\": \"web\", \"Port\": 8000, \"Check\": {\"HTTP\": "
	"\"http://host1:8000/health\", \"Interval\": \"10s\", \"Timeout\": \"1s\"}, \"Meta\": "
	"{\"version\": \"1.4.2\"}}",
	"{\"name\": \"api\", \"id\": \"api-1\", \"address\": \"127.0.0.1\", \"port\": 9000, "
	"\"tags\": [\"v1\"], \"check\": {\"http\": \"http://127.0.0.1:9000/health\", "
	"\"interval\": \"1s\", \"timeout\": \"1s\"}}",
	"{\"ID\":\"db-1\",\"Name\":\"db\",\"Address\":\"fd00::5\",\"Port\":5432,\"Tags\":[\"a\",\"b\"],"
	"\"Meta\":{\"k\":\"v\",\"zone\":\"eu\"},\"Weights\":{\"Passing\":10,\"Warning\":1},"
	"\"Check\":{\"TCP\":\"[fd00::5]:5432\",\"Interval\":\"2s\",\"Timeout\":\"500ms\","
	"\"DeregisterCriticalServiceAfter\":\"1m\",\"TLSSkipVerify\":false,\"Status\":\"warning\"},"
	"\"EnableTagOverride\":false,\"Checks\":[]}",
	"{\"Name\":\"job\",\"Port\":1,\"Check\":{\"TTL\":\"15s\",\"Notes\":\"n\",\"Name\":\"x\"}}",
	"{\"Name\":\"plain\",\"Port\":65535,\"Check\":null,\"TaggedAddresses\":{}}",
	"{\"Status\":\"passing\",\"Output\":\"HTTP GET x: 200\",\"Updated\":\"2024-01-01T00:00:00Z\"}",
};

static const char *const tokens[] = {
	"{", "}", "[", "]", ",", ":", "\"", "null", "true", "false", "0", "-1", "1e999",
	"65535", "65536", "4294967296", "0.5", "\"\"", "\"\\u0000\"", "\"\\ud800\"",
	"\"\\uDFFF\"", "\"\xff\xfe\"", "\"\xc3\"", "\"Port\"", "\"Name\"", "\"ID\"", "\"Check\"",
	"\"HTTP\"", "\"TCP\"", "\"TTL\"", "\"Interval\"", "\"Timeout\"", "\"Meta\"", "\"Tags\"",
	"\"Weights\"", "\"Address\"", "\"Checks\"", "\"name\"", "\"port\"", "\"10s\"",
	"\"1.5h\"", "\"-1s\"", "\"9999999999h\"", "\"http://a/\"", "\"a:1\"", "\"::1\"",
	"\"1.2.3.4\"", "\"consul-x\"", "\"Passing\"", "\"passing\"", "\"critical\"",
	"\"service:a\"", "{}", "[]", "\\", "\\u", "\n", " ",
};

static uint64_t rng;

static uint64_t next(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static size_t below(size_t n)
{
	return n ? (size_t)(next() % n) : 0;
}

struct buf {
	char *p;
	size_t len, cap;
};

static void reserve(struct buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	b->cap = (b->len + more + 1) * 2;
	b->p = realloc(b->p, b->cap);
	if (!b->p)
		abort();
}

static void insert(struct buf *b, size_t at, const char *s, size_t n)
{
	reserve(b, n);
	memmove(b->p + at + n, b->p + at, b->len - at);
	memcpy(b->p + at, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void erase(struct buf *b, size_t at, size_t n)
{
	if (at + n > b->len)
		n = b->len - at;
	memmove(b->p + at, b->p + at + n, b->len - at - n);
	b->len -= n;
	b->p[b->len] = 0;
}

static void mutate_bytes(struct buf *b)
{
	size_t at = below(b->len + 1);

	switch (below(8)) {
	case 0: /* bit flip */
		if (b->len)
			b->p[below(b->len)] ^= (char)(1u << below(8));
		break;
	case 1: { /* an interesting byte */
		static const char bytes[] = "{}[]\":,0123456789-.eE\\ntfu \x00\x7f\x80\xff";

		if (b->len)
			b->p[below(b->len)] = bytes[below(sizeof(bytes) - 1)];
		break;
	}
	case 2:
	case 3: { /* a JSON token */
		const char *t = tokens[below(sizeof(tokens) / sizeof(tokens[0]))];

		insert(b, at, t, strlen(t));
		break;
	}
	case 4: /* delete a range */
		if (b->len)
			erase(b, at < b->len ? at : b->len - 1, 1 + below(16));
		break;
	case 5: { /* duplicate a range */
		size_t from = below(b->len + 1), n = below(32);
		char tmp[32];

		if (from + n > b->len)
			n = b->len - from;
		memcpy(tmp, b->p + from, n);
		insert(b, at, tmp, n);
		break;
	}
	case 6: { /* splice in part of another seed */
		const char *s = seeds[below(sizeof(seeds) / sizeof(seeds[0]))];
		size_t sl = strlen(s), from = below(sl), n = below(sl - from + 1);

		insert(b, at, s + from, n);
		break;
	}
	default: { /* deep nesting */
		size_t depth = 1 + below(1500);
		char *open = malloc(depth);

		if (!open)
			abort();
		memset(open, below(2) ? '[' : '{', depth);
		insert(b, at, open, depth);
		free(open);
		break;
	}
	}
}

/* A random value of a random type. */
static cJSON *random_value(void)
{
	static const char *const strs[] = {
		"", "web", "a b", "10s", "0s", "-5s", "1.5h", "http://x:1/h", "ftp://x", "x:1", "[::1]:80",
		"127.0.0.1", "fd00::1", "host.example", "passing", "warning", "critical", "\xff",
		"service:x", "consul-meta", "GET", "POST",
	};

	switch (below(7)) {
	case 0: return cJSON_CreateNull();
	case 1: return cJSON_CreateBool(below(2));
	case 2: {
		static const double nums[] = { 0, 1, -1, 80, 8000, 65535, 65536, 1e300, 0.5, 10000,
					       10001, -0.0 };

		return cJSON_CreateNumber(nums[below(sizeof(nums) / sizeof(nums[0]))]);
	}
	case 3: return cJSON_CreateString(strs[below(sizeof(strs) / sizeof(strs[0]))]);
	case 4: {
		cJSON *a = cJSON_CreateArray();

		for (size_t i = below(4); i > 0; i--)
			cJSON_AddItemToArray(a, cJSON_CreateString(strs[below(sizeof(strs) / sizeof(strs[0]))]));
		return a;
	}
	default: {
		cJSON *o = cJSON_CreateObject();

		for (size_t i = below(4); i > 0; i--)
			cJSON_AddItemToObject(o, strs[below(sizeof(strs) / sizeof(strs[0]))],
					      cJSON_CreateString(strs[below(sizeof(strs) / sizeof(strs[0]))]));
		return o;
	}
	}
}

/* Collects every node under root (pre-order) into nodes[]. */
static size_t collect(cJSON *root, cJSON **nodes, size_t n, size_t cap)
{
	cJSON *c;

	if (n < cap)
		nodes[n++] = root;
	cJSON_ArrayForEach(c, root)
		n = collect(c, nodes, n, cap);
	return n;
}

static cJSON *parent_of(cJSON **nodes, size_t n, const cJSON *victim)
{
	for (size_t i = 0; i < n; i++) {
		cJSON *c;

		cJSON_ArrayForEach(c, nodes[i])
			if (c == victim)
				return nodes[i];
	}
	abort(); /* every node but the root has a parent among the nodes */
}

/* Replaces, removes or adds one member of a parsed seed; re-serializes. */
static void mutate_tree(struct buf *b, const char *seed)
{
	cJSON *root = cJSON_Parse(seed), *nodes[64], *victim;
	size_t n;
	char *s;

	if (!root)
		abort();
	n = collect(root, nodes, 0, 64);
	victim = nodes[below(n)];
	switch (below(3)) {
	case 0:
		if (victim != root)
			cJSON_ReplaceItemViaPointer(parent_of(nodes, n, victim), victim, random_value());
		break;
	case 1:
		/* cJSON trusts the parent it is given: it must be the real one */
		if (victim != root)
			cJSON_Delete(cJSON_DetachItemViaPointer(parent_of(nodes, n, victim), victim));
		break;
	default:
		if (cJSON_IsObject(victim)) {
			static const char *const keys[] = { "Port", "port", "Name", "ID", "Check", "HTTP",
							    "Interval", "Tags", "Meta", "Weights",
							    "Address", "Checks", "Kind", "Whatever" };

			cJSON_AddItemToObject(victim, keys[below(sizeof(keys) / sizeof(keys[0]))],
					      random_value());
		}
	}
	s = below(2) ? cJSON_PrintUnformatted(root) : cJSON_Print(root);
	cJSON_Delete(root);
	if (!s)
		abort();
	b->len = 0;
	insert(b, 0, s, strlen(s));
	free(s);
}

static unsigned long accepted, rejected;
static uint64_t seed_used;
static unsigned long count;

int flb_test_setup(char *why, size_t len)
{
	const char *s = getenv("FLB_FUZZ_SEED"), *c = getenv("FLB_REG_FUZZ_COUNT");

	(void)why;
	(void)len;
	seed_used = s ? strtoull(s, NULL, 0) : 0x5eed2024ULL;
	count = c ? strtoul(c, NULL, 0) : 20000;
	rng = seed_used ? seed_used : 1;
	printf("# registry fuzz: FLB_FUZZ_SEED=%llu FLB_REG_FUZZ_COUNT=%lu\n",
	       (unsigned long long)seed_used, count);
	return 0;
}

/* Checks what an accepted body must satisfy. */
static bool check_accepted(struct reg_instance *in)
{
	struct reg_instance again;
	char err[300], *s, *s2;
	struct reg_health h = { .status = (enum reg_status)below(3), .output = "o", .updated = "" };
	cJSON *r;
	bool ok = true;

	ok &= ASSERT_TRUE(reg_valid_name(in->name, REG_NAME_MAX), "accepted name is valid");
	ok &= ASSERT_TRUE(reg_valid_name(in->id, REG_ID_MAX), "accepted id is valid");
	ok &= ASSERT_TRUE(in->port >= 1, "accepted port");
	ok &= ASSERT_GE(reg_lease_ttl_s(in, 10), 2, "lease ttl");
	s = reg_instance_to_json(in);
	if (!ASSERT_TRUE(s != NULL, "stored form"))
		return false;
	if (ASSERT_OK(reg_parse_instance(s, strlen(s), NULL, &again, err, sizeof(err)), err)) {
		s2 = reg_instance_to_json(&again);
		ok &= ASSERT_STREQ(s2, s, "stored form round-trips");
		free(s2);
		reg_instance_free(&again);
	} else {
		ok = false;
	}
	free(s);
	r = reg_render_health_entry(in, below(2) ? &h : NULL);
	ok &= ASSERT_TRUE(r != NULL, "renders");
	cJSON_Delete(r);
	r = reg_render_agent_service(in);
	ok &= ASSERT_TRUE(r != NULL, "renders");
	cJSON_Delete(r);
	return ok;
}

TEST(mutated_registration_bodies)
{
	struct buf b = { 0 };
	unsigned long failures = 0;

	for (unsigned long i = 0; i < count && failures < 10; i++) {
		const char *seed = seeds[below(sizeof(seeds) / sizeof(seeds[0]))];
		struct reg_instance in;
		struct reg_health h;
		char err[300];
		int rc;

		if (below(2)) {
			mutate_tree(&b, seed);
		} else {
			b.len = 0;
			insert(&b, 0, seed, strlen(seed));
		}
		for (size_t m = below(4); m > 0; m--)
			mutate_bytes(&b);
		if (below(50) == 0)
			b.len = below(b.len + 1); /* truncated */
		rc = reg_parse_instance(b.p, b.len, below(2) ? "10.0.0.1" : NULL, &in, err,
					sizeof(err));
		if (rc == 0) {
			accepted++;
			if (!check_accepted(&in)) {
				failures++;
				printf("# input %lu: %.*s\n", i, (int)b.len, b.p);
			}
			reg_instance_free(&in);
		} else {
			rejected++;
			if (!ASSERT_EQ(rc, -EINVAL, "rejections are -EINVAL") ||
			    !ASSERT_TRUE(err[0] != 0, "rejections say why") ||
			    !ASSERT_TRUE(in.json == NULL, "nothing allocated after a rejection"))
				failures++;
		}
		if (!reg_health_parse(b.p, b.len, &h))
			reg_health_free(&h);
	}
	printf("# %lu bodies: %lu accepted, %lu rejected\n", accepted + rejected, accepted, rejected);
	ASSERT_GE(accepted + rejected, 10000 < count ? 10000 : count, "bodies run");
	/* the mutator must reach past the JSON parser, or it tests nothing */
	ASSERT_GE(accepted, (accepted + rejected) / 50, "a share of bodies is valid");
	free(b.p);
}

TEST(mutated_paths_queries_and_durations)
{
	static const char *const paths[] = {
		"/v1/agent/service/register", "/v1/agent/service/deregister/web-1",
		"/v1/agent/check/pass/service:web-1", "/v1/health/service/web", "/v1/catalog/services",
		"/health", "/ready", "10s", "1h30m", "127.0.0.1:8500", "[::1]:8500", "12345",
	};
	static const char *const methods[] = { "GET", "PUT", "HEAD", "POST", "DELETE", "" };
	struct buf b = { 0 };

	for (unsigned long i = 0; i < count; i++) {
		const char *p = paths[below(sizeof(paths) / sizeof(paths[0]))];
		struct sockaddr_storage ss;
		struct reg_route r;
		uint64_t v;
		bool any;

		b.len = 0;
		insert(&b, 0, p, strlen(p));
		for (size_t m = 1 + below(3); m > 0; m--)
			mutate_bytes(&b);
		/* these take NUL-terminated strings, as libmicrohttpd gives them */
		reg_route_parse(methods[below(sizeof(methods) / sizeof(methods[0]))], b.p, &r);
		if (!ASSERT_TRUE(r.arg != NULL, "route arg"))
			break;
		if (r.kind == RT_CHECK)
			(void)reg_check_service_id(r.arg);
		(void)duration_parse_ms(b.p, DURATION_GO, &v);
		(void)reg_parse_wait(b.p, &v);
		(void)reg_parse_index(b.p, &v);
		(void)reg_parse_listen(b.p, &ss, &any);
		(void)reg_token_equal("token", b.p);
	}
	free(b.p);
}
