// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Registration parsing, validation and Consul-shaped rendering (see
 * registry_model.h for the accepted input). Validation builds the canonical
 * object as it goes, so what is stored is exactly what was checked.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "duration.h"
#include "registry_model.h"

#define MAX_TAGS 64
#define MAX_TAG_LEN 255
#define MAX_META 64
#define MAX_META_KEY 128
#define MAX_META_VALUE 512
#define MAX_URL 2048
#define MAX_DURATION_MS (24ull * 3600 * 1000)

/* Sets the error text and returns -EINVAL: `return bad(err, len, "...")`. */
__attribute__((format(printf, 3, 4)))
static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

bool reg_valid_name(const char *s, size_t max)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];

		if (!(isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-') ||
		    (unsigned char)c >= 0x80)
			return false;
	}
	return n >= 1 && n <= max;
}

bool reg_valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

/* ---- key matching ---------------------------------------------------- */

/* Consul's key translation: case-insensitive, underscores ignored. */
static void norm_key(const char *k, char *out, size_t len)
{
	size_t o = 0;

	for (; k && *k && o + 1 < len; k++) {
		if (*k == '_')
			continue;
		out[o++] = (char)tolower((unsigned char)*k);
	}
	out[o] = 0;
	/* a key longer than any we know must not match one by truncation */
	if (k && *k)
		out[0] = '\x01';
}

struct field {
	const char *norm;  /* normalized name */
	const char *canon; /* how error messages and the stored JSON spell it */
	const cJSON *val;
};

/* Sorts obj's members into fields[] by normalized name. An unknown key,
 * or one given twice, is an error. ignored[] lists keys accepted and
 * dropped; refused[] keys that get "not supported". */
static int match_fields(const cJSON *obj, const char *where, struct field *fields,
			size_t nf, const char *const *ignored,
			const char *const *refused, char *err, size_t errlen)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, obj) {
		char k[40];
		bool found = false;

		norm_key(m->string, k, sizeof(k));
		for (size_t i = 0; i < nf; i++) {
			if (strcmp(k, fields[i].norm))
				continue;
			if (fields[i].val)
				return bad(err, errlen, "%s%s: given twice", where, fields[i].canon);
			fields[i].val = m;
			found = true;
		}
		for (size_t i = 0; !found && ignored && ignored[i]; i++)
			found = !strcmp(k, ignored[i]);
		for (size_t i = 0; !found && refused && refused[i]; i++)
			if (!strcmp(k, refused[i]))
				return bad(err, errlen, "%s%.40s: not supported by fluxlb-registry",
					   where, m->string ? m->string : "");
		if (!found)
			return bad(err, errlen, "%sunknown key \"%.40s\"", where,
				   m->string ? m->string : "");
	}
	return 0;
}

static const cJSON *fval(const struct field *f, size_t nf, const char *norm)
{
	for (size_t i = 0; i < nf; i++)
		if (!strcmp(f[i].norm, norm))
			return cJSON_IsNull(f[i].val) ? NULL : f[i].val;
	return NULL;
}

/* A string member, NULL when absent or null; -EINVAL when another type. */
static int get_str(const struct field *f, size_t nf, const char *norm,
		   const char *canon, const char **out, char *err, size_t errlen)
{
	const cJSON *v = fval(f, nf, norm);

	*out = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return bad(err, errlen, "%s: must be a string", canon);
	if (!reg_valid_utf8(v->valuestring, strlen(v->valuestring)))
		return bad(err, errlen, "%s: not valid UTF-8", canon);
	*out = v->valuestring;
	return 0;
}

static int get_int(const cJSON *v, const char *canon, long min, long max,
		   long *out, char *err, size_t errlen)
{
	double d;

	if (!cJSON_IsNumber(v))
		return bad(err, errlen, "%s: must be an integer %ld..%ld", canon, min, max);
	d = v->valuedouble;
	/* in range first, so the cast below is defined; then no fraction */
	if (!(d >= (double)min && d <= (double)max) || d != (double)(long)d)
		return bad(err, errlen, "%s: must be an integer %ld..%ld", canon, min, max);
	*out = (long)d;
	return 0;
}

static int get_duration(const struct field *f, size_t nf, const char *norm,
			const char *canon, const char **text, uint64_t *ms,
			char *err, size_t errlen)
{
	int e = get_str(f, nf, norm, canon, text, err, errlen);

	if (e)
		return e;
	if (!*text)
		return 0;
	e = duration_parse_ms(*text, DURATION_GO, ms);
	if (e == -ERANGE || (!e && *ms > MAX_DURATION_MS))
		return bad(err, errlen, "%s: \"%.40s\" is longer than 24h", canon, *text);
	if (e)
		return bad(err, errlen,
			   "%s: \"%.40s\" is not a duration (e.g. \"10s\", \"1m30s\", \"500ms\")",
			   canon, *text);
	if (*ms == 0)
		return bad(err, errlen, "%s: must be positive", canon);
	return 0;
}

/* ---- the check --------------------------------------------------------- */

static int valid_url(const char *u)
{
	size_t n = strlen(u);

	if (n > MAX_URL)
		return 0;
	if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return 0;
	/* a host must follow the scheme */
	u += u[4] == 's' ? 8 : 7;
	return *u && *u != '/' && *u != '?' && *u != '#';
}

/* host:port, with [v6]:port for IPv6; host made of URL-safe characters. */
static int valid_hostport(const char *s)
{
	const char *colon, *host_end;
	char *end;
	long port;

	if (strlen(s) > 300)
		return 0;
	if (*s == '[') {
		host_end = strchr(s, ']');
		if (!host_end || host_end[1] != ':' || host_end == s + 1)
			return 0;
		colon = host_end + 1;
		for (const char *p = s + 1; p < host_end; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return 0;
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon == s)
			return 0;
		for (const char *p = s; p < colon; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
				return 0;
	}
	if (!isdigit((unsigned char)colon[1]))
		return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return !errno && !*end && port >= 1 && port <= 65535;
}

enum {
	C_HTTP, C_TCP, C_TTL, C_INTERVAL, C_TIMEOUT, C_DEREG, C_TLSSKIP, C_STATUS,
	C_METHOD, C_NAME, C_NOTES, C_CHECKID, C_N
};

static int parse_check(const cJSON *chk, struct reg_check *c, cJSON *canon,
		       char *err, size_t errlen)
{
	static const char *const ignored[] = { "serviceid", NULL };
	static const char *const refused[] = {
		"args", "scriptargs", "script", "grpc", "grpcusetls", "dockercontainerid",
		"shell", "h2ping", "h2pingusetls", "udp", "osservice", "aliasnode",
		"aliasservice", "header", "body", "disableredirects", "tlsservername",
		"successbeforepassing", "failuresbeforewarning", "failuresbeforecritical",
		"outputmaxsize", NULL
	};
	struct field f[C_N] = {
		[C_HTTP] = { "http", "Check.HTTP" },
		[C_TCP] = { "tcp", "Check.TCP" },
		[C_TTL] = { "ttl", "Check.TTL" },
		[C_INTERVAL] = { "interval", "Check.Interval" },
		[C_TIMEOUT] = { "timeout", "Check.Timeout" },
		[C_DEREG] = { "deregistercriticalserviceafter", "Check.DeregisterCriticalServiceAfter" },
		[C_TLSSKIP] = { "tlsskipverify", "Check.TLSSkipVerify" },
		[C_STATUS] = { "status", "Check.Status" },
		[C_METHOD] = { "method", "Check.Method" },
		[C_NAME] = { "name", "Check.Name" },
		[C_NOTES] = { "notes", "Check.Notes" },
		[C_CHECKID] = { "checkid", "Check.CheckID" },
	};
	const char *http, *tcp, *ttl, *ival, *tout, *dereg, *status, *method, *s;
	uint64_t ms = 0;
	const cJSON *v;
	int e, kinds;

	if (!cJSON_IsObject(chk))
		return bad(err, errlen, "Check: must be an object");
	e = match_fields(chk, "Check.", f, C_N, ignored, NULL, err, errlen);
	if (e == -EINVAL && strstr(err, "unknown key")) {
		/* name the unsupported check kinds clearly */
		const cJSON *m;

		cJSON_ArrayForEach(m, chk) {
			char k[40];

			norm_key(m->string, k, sizeof(k));
			for (size_t i = 0; refused[i]; i++)
				if (!strcmp(k, refused[i]))
					return bad(err, errlen,
						   "Check.%.40s: not supported (fluxlb-registry runs HTTP, TCP and TTL checks)",
						   m->string);
		}
	}
	if (e)
		return e;
	if ((e = get_str(f, C_N, "http", "Check.HTTP", &http, err, errlen)) ||
	    (e = get_str(f, C_N, "tcp", "Check.TCP", &tcp, err, errlen)) ||
	    (e = get_str(f, C_N, "status", "Check.Status", &status, err, errlen)) ||
	    (e = get_str(f, C_N, "method", "Check.Method", &method, err, errlen)) ||
	    (e = get_str(f, C_N, "name", "Check.Name", &s, err, errlen)) ||
	    (e = get_str(f, C_N, "notes", "Check.Notes", &s, err, errlen)) ||
	    (e = get_str(f, C_N, "checkid", "Check.CheckID", &s, err, errlen)))
		return e;
	if (http && !*http)
		http = NULL;
	if (tcp && !*tcp)
		tcp = NULL;
	if ((e = get_duration(f, C_N, "ttl", "Check.TTL", &ttl, &c->ttl_ms, err, errlen)) ||
	    (e = get_duration(f, C_N, "interval", "Check.Interval", &ival, &c->interval_ms, err, errlen)) ||
	    (e = get_duration(f, C_N, "timeout", "Check.Timeout", &tout, &c->timeout_ms, err, errlen)) ||
	    (e = get_duration(f, C_N, "deregistercriticalserviceafter",
			      "Check.DeregisterCriticalServiceAfter", &dereg, &ms, err, errlen)))
		return e;
	kinds = !!http + !!tcp + !!ttl;
	if (kinds == 0)
		return bad(err, errlen, "Check: one of HTTP, TCP or TTL is required");
	if (kinds > 1)
		return bad(err, errlen, "Check: only one of HTTP, TCP or TTL may be given");
	if (method && strcmp(method, "GET"))
		return bad(err, errlen, "Check.Method: only GET is supported");
	v = fval(f, C_N, "tlsskipverify");
	if (v && !cJSON_IsBool(v))
		return bad(err, errlen, "Check.TLSSkipVerify: must be true or false");
	c->tls_skip_verify = cJSON_IsTrue(v);
	if (status) {
		if (reg_status_parse(status, &c->status))
			return bad(err, errlen,
				   "Check.Status: must be \"passing\", \"warning\" or \"critical\"");
		c->has_status = true;
	}
	if (http) {
		if (!valid_url(http))
			return bad(err, errlen,
				   "Check.HTTP: must be an http:// or https:// URL with a host (at most %d bytes, no spaces)",
				   MAX_URL);
		c->kind = REG_CHECK_HTTP;
		c->target = http;
	} else if (tcp) {
		if (!valid_hostport(tcp))
			return bad(err, errlen,
				   "Check.TCP: must be \"host:port\" (\"[v6]:port\" for IPv6) with a port 1..65535");
		c->kind = REG_CHECK_TCP;
		c->target = tcp;
	} else {
		c->kind = REG_CHECK_TTL;
		if (ival || tout)
			return bad(err, errlen, "Check: Interval and Timeout do not apply to a TTL check");
	}
	if (c->kind != REG_CHECK_TTL) {
		if (!ival)
			c->interval_ms = REG_DEFAULT_INTERVAL_MS;
		if (c->interval_ms < REG_MIN_INTERVAL_MS)
			c->interval_ms = REG_MIN_INTERVAL_MS;
		if (!tout)
			c->timeout_ms = REG_DEFAULT_TIMEOUT_MS;
	}

	/* canonical form: the keys given, in Consul's spelling */
	if ((http && !cJSON_AddStringToObject(canon, "HTTP", http)) ||
	    (tcp && !cJSON_AddStringToObject(canon, "TCP", tcp)) ||
	    (ttl && !cJSON_AddStringToObject(canon, "TTL", ttl)) ||
	    (ival && !cJSON_AddStringToObject(canon, "Interval", ival)) ||
	    (tout && !cJSON_AddStringToObject(canon, "Timeout", tout)) ||
	    (c->tls_skip_verify && !cJSON_AddTrueToObject(canon, "TLSSkipVerify")) ||
	    (status && !cJSON_AddStringToObject(canon, "Status", status)) ||
	    (dereg && !cJSON_AddStringToObject(canon, "DeregisterCriticalServiceAfter", dereg)))
		return -ENOMEM;
	/* the stored strings are the canonical object's own */
	if (c->target)
		c->target = cJSON_GetObjectItemCaseSensitive(canon, http ? "HTTP" : "TCP")->valuestring;
	return 0;
}

/* ---- the instance ---------------------------------------------------- */

enum {
	F_ID, F_NAME, F_ADDRESS, F_PORT, F_TAGS, F_META, F_WEIGHTS, F_CHECK, F_CHECKS,
	F_KIND, F_N
};

static int parse_tags(const cJSON *v, cJSON *out, char *err, size_t errlen)
{
	const cJSON *t;
	int n = 0;

	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return bad(err, errlen, "Tags: must be an array of strings");
	cJSON_ArrayForEach(t, v) {
		size_t l;

		if (++n > MAX_TAGS)
			return bad(err, errlen, "Tags: at most %d", MAX_TAGS);
		if (!cJSON_IsString(t) || !t->valuestring)
			return bad(err, errlen, "Tags[%d]: must be a string", n - 1);
		l = strlen(t->valuestring);
		if (l > MAX_TAG_LEN)
			return bad(err, errlen, "Tags[%d]: longer than %d bytes", n - 1, MAX_TAG_LEN);
		if (!reg_valid_utf8(t->valuestring, l))
			return bad(err, errlen, "Tags[%d]: not valid UTF-8", n - 1);
		if (!cJSON_AddItemToArray(out, cJSON_CreateString(t->valuestring)))
			return -ENOMEM;
	}
	return 0;
}

static bool valid_meta_key(const char *k)
{
	size_t n = 0;

	for (; k[n]; n++)
		if (!(isalnum((unsigned char)k[n]) || k[n] == '_' || k[n] == '-') ||
		    (unsigned char)k[n] >= 0x80)
			return false;
	return n >= 1 && n <= MAX_META_KEY && strncmp(k, "consul-", 7);
}

static int parse_meta(const cJSON *v, cJSON *out, char *err, size_t errlen)
{
	const cJSON *m;
	int n = 0;

	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return bad(err, errlen, "Meta: must be an object of strings");
	cJSON_ArrayForEach(m, v) {
		size_t l;

		if (++n > MAX_META)
			return bad(err, errlen, "Meta: at most %d keys", MAX_META);
		if (!m->string || !valid_meta_key(m->string))
			return bad(err, errlen,
				   "Meta: key \"%.40s\" must be [A-Za-z0-9_-]{1,128} and not start with \"consul-\"",
				   m->string ? m->string : "");
		if (cJSON_GetObjectItemCaseSensitive(out, m->string))
			return bad(err, errlen, "Meta.%s: given twice", m->string);
		if (!cJSON_IsString(m) || !m->valuestring)
			return bad(err, errlen, "Meta.%s: must be a string", m->string);
		l = strlen(m->valuestring);
		if (l > MAX_META_VALUE)
			return bad(err, errlen, "Meta.%s: longer than %d bytes", m->string, MAX_META_VALUE);
		if (!reg_valid_utf8(m->valuestring, l))
			return bad(err, errlen, "Meta.%s: not valid UTF-8", m->string);
		if (!cJSON_AddStringToObject(out, m->string, m->valuestring))
			return -ENOMEM;
	}
	return 0;
}

static int parse_weights(const cJSON *v, struct reg_instance *in, char *err,
			 size_t errlen)
{
	struct field f[2] = { { "passing", "Weights.Passing", NULL },
			      { "warning", "Weights.Warning", NULL } };
	const cJSON *p, *w;
	long n;
	int e;

	in->weight_passing = 1;
	in->weight_warning = 1;
	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return bad(err, errlen, "Weights: must be an object {\"Passing\": n, \"Warning\": n}");
	e = match_fields(v, "Weights.", f, 2, NULL, NULL, err, errlen);
	if (e)
		return e;
	p = fval(f, 2, "passing");
	w = fval(f, 2, "warning");
	if (p) {
		if ((e = get_int(p, "Weights.Passing", 1, 10000, &n, err, errlen)))
			return e;
		in->weight_passing = (int)n;
	}
	if (w) {
		if ((e = get_int(w, "Weights.Warning", 0, 10000, &n, err, errlen)))
			return e;
		in->weight_warning = (int)n;
	}
	return 0;
}

static int parse_body(const cJSON *root, const char *peer,
		      struct reg_instance *in, char *err, size_t errlen)
{
	static const char *const ignored[] = {
		"enabletagoverride", "taggedaddresses", "namespace", "partition", NULL
	};
	static const char *const refused[] = { "proxy", "connect", "socketpath", NULL };
	struct field f[F_N] = {
		[F_ID] = { "id", "ID" },
		[F_NAME] = { "name", "Name" },
		[F_ADDRESS] = { "address", "Address" },
		[F_PORT] = { "port", "Port" },
		[F_TAGS] = { "tags", "Tags" },
		[F_META] = { "meta", "Meta" },
		[F_WEIGHTS] = { "weights", "Weights" },
		[F_CHECK] = { "check", "Check" },
		[F_CHECKS] = { "checks", "Checks" },
		[F_KIND] = { "kind", "Kind" },
	};
	const char *id, *name, *addr, *kind;
	char addr_buf[64];
	struct flb_addr a;
	const cJSON *v;
	cJSON *o = in->json, *tags, *meta, *weights, *chk = NULL;
	long port;
	int e;

	if (!cJSON_IsObject(root))
		return bad(err, errlen, "the body must be a JSON object");
	if ((e = match_fields(root, "", f, F_N, ignored, refused, err, errlen)))
		return e;
	if ((e = get_str(f, F_N, "id", "ID", &id, err, errlen)) ||
	    (e = get_str(f, F_N, "name", "Name", &name, err, errlen)) ||
	    (e = get_str(f, F_N, "address", "Address", &addr, err, errlen)) ||
	    (e = get_str(f, F_N, "kind", "Kind", &kind, err, errlen)))
		return e;
	if (kind && *kind)
		return bad(err, errlen, "Kind: only typical services (Kind \"\") are supported");
	if (!name || !*name)
		return bad(err, errlen, "Name: required");
	if (!reg_valid_name(name, REG_NAME_MAX))
		return bad(err, errlen, "Name: \"%.64s\" must be [A-Za-z0-9_.-]{1,%d}", name,
			   REG_NAME_MAX);
	if (!id || !*id)
		id = name;
	if (!reg_valid_name(id, REG_ID_MAX))
		return bad(err, errlen, "ID: \"%.64s\" must be [A-Za-z0-9_.-]{1,%d}", id, REG_ID_MAX);
	if (!addr || !*addr) {
		if (!peer)
			return bad(err, errlen, "Address: required");
		addr = peer;
	}
	if (addr_parse(addr, &a) || addr_format(&a, addr_buf, sizeof(addr_buf)))
		return bad(err, errlen,
			   "Address: \"%.64s\" is not an IPv4 or IPv6 address (host names are not resolved: register the address, or leave Address empty to use the connection's)",
			   addr);
	v = fval(f, F_N, "port");
	if (!v)
		return bad(err, errlen, "Port: required");
	if ((e = get_int(v, "Port", 1, 65535, &port, err, errlen)))
		return e;
	v = fval(f, F_N, "checks");
	if (v && (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 0))
		return bad(err, errlen,
			   "Checks: several checks per instance are not supported; give one Check");

	if (!cJSON_AddStringToObject(o, "ID", id) || !cJSON_AddStringToObject(o, "Name", name) ||
	    !cJSON_AddStringToObject(o, "Address", addr_buf) ||
	    !cJSON_AddNumberToObject(o, "Port", (double)port) ||
	    !(tags = cJSON_AddArrayToObject(o, "Tags")) ||
	    !(meta = cJSON_AddObjectToObject(o, "Meta")) ||
	    !(weights = cJSON_AddObjectToObject(o, "Weights")))
		return -ENOMEM;
	if ((e = parse_tags(fval(f, F_N, "tags"), tags, err, errlen)) ||
	    (e = parse_meta(fval(f, F_N, "meta"), meta, err, errlen)) ||
	    (e = parse_weights(fval(f, F_N, "weights"), in, err, errlen)))
		return e;
	if (!cJSON_AddNumberToObject(weights, "Passing", in->weight_passing) ||
	    !cJSON_AddNumberToObject(weights, "Warning", in->weight_warning))
		return -ENOMEM;
	v = fval(f, F_N, "check");
	if (v) {
		if (!(chk = cJSON_AddObjectToObject(o, "Check")))
			return -ENOMEM;
		if ((e = parse_check(v, &in->check, chk, err, errlen)))
			return e;
	}
	in->id = cJSON_GetObjectItemCaseSensitive(o, "ID")->valuestring;
	in->name = cJSON_GetObjectItemCaseSensitive(o, "Name")->valuestring;
	in->address = cJSON_GetObjectItemCaseSensitive(o, "Address")->valuestring;
	in->port = (uint16_t)port;
	return 0;
}

int reg_parse_instance(const char *body, size_t len, const char *peer,
		       struct reg_instance *out, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *root;
	int e;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = 0;
	if (!body || !len)
		return bad(err, errlen, "empty body: a JSON object is required");
	if (len > REG_BODY_MAX)
		return bad(err, errlen, "body larger than %d bytes", REG_BODY_MAX);
	root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!root) {
		size_t at = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;

		return bad(err, errlen, "bad JSON near byte %zu", at);
	}
	/* only whitespace may follow the object */
	for (const char *p = end; p && p < body + len; p++) {
		if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != 0) {
			cJSON_Delete(root);
			return bad(err, errlen, "bad JSON: data after the object at byte %zu",
				   (size_t)(p - body));
		}
	}
	out->json = cJSON_CreateObject();
	if (!out->json) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	e = parse_body(root, peer, out, err, errlen);
	cJSON_Delete(root);
	if (e) {
		if (e == -ENOMEM)
			bad(err, errlen, "out of memory");
		reg_instance_free(out);
	}
	return e;
}

void reg_instance_free(struct reg_instance *in)
{
	if (!in)
		return;
	cJSON_Delete(in->json);
	memset(in, 0, sizeof(*in));
}

char *reg_instance_to_json(const struct reg_instance *in)
{
	return cJSON_PrintUnformatted(in->json);
}

static int64_t ceil_s(uint64_t ms)
{
	return (int64_t)((ms + 999) / 1000);
}

int64_t reg_lease_ttl_s(const struct reg_instance *in, int64_t min_s)
{
	const struct reg_check *c = &in->check;
	int64_t t;

	switch (c->kind) {
	case REG_CHECK_HTTP:
	case REG_CHECK_TCP:
		t = ceil_s(c->interval_ms * 3);
		if (ceil_s(c->interval_ms + c->timeout_ms) + 1 > t)
			t = ceil_s(c->interval_ms + c->timeout_ms) + 1;
		return t > min_s ? t : min_s;
	case REG_CHECK_TTL:
		t = ceil_s(c->ttl_ms);
		return t > 2 ? t : 2;
	default:
		return min_s > REG_NOCHECK_LEASE_S ? min_s : REG_NOCHECK_LEASE_S;
	}
}

bool reg_same_check(const struct reg_check *a, const struct reg_check *b)
{
	if (a->kind != b->kind)
		return false;
	if (!a->target || !b->target)
		return a->target == b->target;
	return !strcmp(a->target, b->target);
}

static const char *const status_names[] = { "passing", "warning", "critical" };

const char *reg_status_name(enum reg_status s)
{
	return (unsigned)s <= REG_CRITICAL ? status_names[s] : "critical";
}

int reg_status_parse(const char *s, enum reg_status *out)
{
	for (int i = 0; i <= REG_CRITICAL; i++) {
		if (s && !strcmp(s, status_names[i])) {
			*out = (enum reg_status)i;
			return 0;
		}
	}
	return -EINVAL;
}

enum reg_status reg_initial_status(const struct reg_instance *in)
{
	if (in->check.kind == REG_CHECK_NONE)
		return REG_PASSING;
	return in->check.has_status ? in->check.status : REG_CRITICAL;
}

/* ---- health records -------------------------------------------------- */

char *reg_health_json(enum reg_status status, const char *output, time_t when)
{
	cJSON *o = cJSON_CreateObject();
	char ts[32], out[REG_OUTPUT_MAX + 1];
	struct tm tm;
	char *s = NULL;
	size_t l;

	if (!o)
		return NULL;
	gmtime_r(&when, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* keep at most REG_OUTPUT_MAX bytes, cut on a character boundary */
	l = snprintf(out, sizeof(out), "%s", output ? output : "");
	if (l > REG_OUTPUT_MAX)
		l = REG_OUTPUT_MAX;
	while (l > 0 && !reg_valid_utf8(out, l))
		l--;
	out[l] = 0;
	if (cJSON_AddStringToObject(o, "Status", reg_status_name(status)) &&
	    cJSON_AddStringToObject(o, "Output", out) &&
	    cJSON_AddStringToObject(o, "Updated", ts))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

int reg_health_parse(const char *json, size_t len, struct reg_health *out)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *st, *op, *up;
	int e = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!o)
		return -EINVAL;
	st = cJSON_GetObjectItemCaseSensitive(o, "Status");
	op = cJSON_GetObjectItemCaseSensitive(o, "Output");
	up = cJSON_GetObjectItemCaseSensitive(o, "Updated");
	if (cJSON_IsString(st) && !reg_status_parse(st->valuestring, &out->status)) {
		out->output = strdup(cJSON_IsString(op) && op->valuestring ? op->valuestring : "");
		out->updated = strdup(cJSON_IsString(up) && up->valuestring ? up->valuestring : "");
		e = out->output && out->updated ? 0 : -ENOMEM;
		if (e)
			reg_health_free(out);
	}
	cJSON_Delete(o);
	return e;
}

void reg_health_free(struct reg_health *h)
{
	if (!h)
		return;
	free(h->output);
	free(h->updated);
	memset(h, 0, sizeof(*h));
}

enum reg_status reg_effective_status(const struct reg_instance *in,
				     const struct reg_health *h)
{
	return h ? h->status : reg_initial_status(in);
}

/* ---- rendering --------------------------------------------------------- */

static cJSON *dup_member(const cJSON *o, const char *name)
{
	return cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(o, name), true);
}

/* The service object common to /v1/agent/services and /v1/health/service. */
static cJSON *render_service(const struct reg_instance *in)
{
	cJSON *s = cJSON_CreateObject();

	if (!s)
		return NULL;
	if (!cJSON_AddStringToObject(s, "ID", in->id) ||
	    !cJSON_AddStringToObject(s, "Service", in->name) ||
	    !cJSON_AddItemToObject(s, "Tags", dup_member(in->json, "Tags")) ||
	    !cJSON_AddItemToObject(s, "Meta", dup_member(in->json, "Meta")) ||
	    !cJSON_AddNumberToObject(s, "Port", in->port) ||
	    !cJSON_AddStringToObject(s, "Address", in->address) ||
	    !cJSON_AddItemToObject(s, "Weights", dup_member(in->json, "Weights")) ||
	    !cJSON_AddFalseToObject(s, "EnableTagOverride")) {
		cJSON_Delete(s);
		return NULL;
	}
	return s;
}

cJSON *reg_render_agent_service(const struct reg_instance *in)
{
	cJSON *s = render_service(in);

	if (s && !cJSON_AddStringToObject(s, "Datacenter", "dc1")) {
		cJSON_Delete(s);
		return NULL;
	}
	return s;
}

static const char *check_type(enum reg_check_kind k)
{
	return k == REG_CHECK_HTTP ? "http" : k == REG_CHECK_TCP ? "tcp" : "ttl";
}

cJSON *reg_render_health_entry(const struct reg_instance *in,
			       const struct reg_health *h)
{
	cJSON *e = cJSON_CreateObject(), *node, *checks, *c;
	char cid[REG_ID_MAX + 16], cname[REG_NAME_MAX + 32];

	if (!e)
		return NULL;
	node = cJSON_AddObjectToObject(e, "Node");
	if (!node || !cJSON_AddStringToObject(node, "ID", "") ||
	    /* A Consul node is the host the agent runs on: here, the address
	     * the instance runs at. */
	    !cJSON_AddStringToObject(node, "Node", in->address) ||
	    !cJSON_AddStringToObject(node, "Address", in->address) ||
	    !cJSON_AddStringToObject(node, "Datacenter", "dc1") ||
	    !cJSON_AddObjectToObject(node, "Meta") ||
	    !cJSON_AddItemToObject(e, "Service", render_service(in)) ||
	    !(checks = cJSON_AddArrayToObject(e, "Checks")))
		goto fail;
	if (in->check.kind == REG_CHECK_NONE)
		return e;
	snprintf(cid, sizeof(cid), "service:%s", in->id);
	snprintf(cname, sizeof(cname), "Service '%s' check", in->name);
	c = cJSON_CreateObject();
	if (!c || !cJSON_AddItemToArray(checks, c)) {
		cJSON_Delete(c);
		goto fail;
	}
	if (!cJSON_AddStringToObject(c, "Node", in->address) ||
	    !cJSON_AddStringToObject(c, "CheckID", cid) ||
	    !cJSON_AddStringToObject(c, "Name", cname) ||
	    !cJSON_AddStringToObject(c, "Status",
				     reg_status_name(reg_effective_status(in, h))) ||
	    !cJSON_AddStringToObject(c, "Notes", "") ||
	    !cJSON_AddStringToObject(c, "Output", h && h->output ? h->output : "") ||
	    !cJSON_AddStringToObject(c, "ServiceID", in->id) ||
	    !cJSON_AddStringToObject(c, "ServiceName", in->name) ||
	    !cJSON_AddItemToObject(c, "ServiceTags", dup_member(in->json, "Tags")) ||
	    !cJSON_AddStringToObject(c, "Type", check_type(in->check.kind)))
		goto fail;
	return e;
fail:
	cJSON_Delete(e);
	return NULL;
}
