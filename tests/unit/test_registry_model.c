// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fluxlb-registry without etcd or HTTP: registration parsing and validation
 * (one case per rule), Go durations, the stored form's round trip, health
 * records, Consul-shaped rendering, lease TTLs, routes, query parameters,
 * tokens and --listen. What needs etcd is in tests/e2e/test_registry.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "flb_test.h"
#include "registry_model.h"
#include "registry_request.h"

#define PLATFORM_BODY                                                                  \
	"{\"ID\": \"web-host1\", \"Name\": \"web\", \"Port\": 8000, "                      \
	"\"Check\": {\"HTTP\": \"http://host1:8000/health\", \"Interval\": \"10s\", "     \
	"\"Timeout\": \"1s\"}, \"Meta\": {\"version\": \"1.4.2\"}}"

static int parse(const char *body, const char *peer, struct reg_instance *in, char *err,
		 size_t len)
{
	return reg_parse_instance(body, strlen(body), peer, in, err, len);
}

TEST(platform_request_is_accepted_as_is)
{
	struct reg_instance in;
	char err[300];
	const cJSON *meta;

	if (!ASSERT_OK(parse(PLATFORM_BODY, "10.1.2.3", &in, err, sizeof(err)), err))
		return;
	ASSERT_STREQ(in.id, "web-host1", "id");
	ASSERT_STREQ(in.name, "web", "name");
	ASSERT_STREQ(in.address, "10.1.2.3", "address defaults to the peer");
	ASSERT_EQ(in.port, 8000, "port");
	ASSERT_EQ(in.check.kind, REG_CHECK_HTTP, "http check");
	ASSERT_STREQ(in.check.target, "http://host1:8000/health", "url");
	ASSERT_EQ(in.check.interval_ms, 10000, "interval");
	ASSERT_EQ(in.check.timeout_ms, 1000, "timeout");
	ASSERT_EQ(in.weight_passing, 1, "default weights");
	ASSERT_EQ(in.weight_warning, 1, "default weights");
	meta = cJSON_GetObjectItemCaseSensitive(in.json, "Meta");
	ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(meta, "version")->valuestring, "1.4.2", "meta");
	ASSERT_EQ(reg_initial_status(&in), REG_CRITICAL, "a checked instance starts critical");
	ASSERT_EQ(reg_lease_ttl_s(&in, 10), 30, "lease = 3 x interval");
	reg_instance_free(&in);
}

TEST(stored_form_is_canonical_and_round_trips)
{
	/* python3-consul's spelling: lower-case keys */
	const char *body = "{\"name\": \"api\", \"id\": \"api-1\", \"address\": \"FD00::0:1\", "
			   "\"port\": 9000, \"tags\": [\"v1\", \"blue\"], \"check\": {\"http\": "
			   "\"http://[fd00::1]:9000/h\", \"interval\": \"1s\", \"timeout\": \"500ms\", "
			   "\"DeregisterCriticalServiceAfter\": \"1m\"}, "
			   "\"weights\": {\"passing\": 3, \"warning\": 0}}";
	struct reg_instance in, again;
	char err[300], *s, *s2;

	if (!ASSERT_OK(parse(body, NULL, &in, err, sizeof(err)), err))
		return;
	s = reg_instance_to_json(&in);
	ASSERT_STREQ(s,
		     "{\"ID\":\"api-1\",\"Name\":\"api\",\"Address\":\"fd00::1\",\"Port\":9000,"
		     "\"Tags\":[\"v1\",\"blue\"],\"Meta\":{},\"Weights\":{\"Passing\":3,\"Warning\":0},"
		     "\"Check\":{\"HTTP\":\"http://[fd00::1]:9000/h\",\"Interval\":\"1s\","
		     "\"Timeout\":\"500ms\",\"DeregisterCriticalServiceAfter\":\"1m\"}}",
		     "canonical JSON");
	if (ASSERT_OK(parse(s, NULL, &again, err, sizeof(err)), err)) {
		s2 = reg_instance_to_json(&again);
		ASSERT_STREQ(s2, s, "parsing the stored form gives it back");
		free(s2);
		reg_instance_free(&again);
	}
	free(s);
	reg_instance_free(&in);
}

TEST(keys_are_case_and_underscore_insensitive)
{
	struct reg_instance in;
	char err[300];

	if (!ASSERT_OK(parse("{\"NAME\":\"a\",\"pOrT\":1,\"check\":{\"tcp\":\"db:5432\","
			     "\"tls_skip_verify\":true,\"INTERVAL\":\"2s\"}}",
			     "127.0.0.1", &in, err, sizeof(err)), err))
		return;
	ASSERT_STREQ(in.id, "a", "ID defaults to Name");
	ASSERT_EQ(in.check.kind, REG_CHECK_TCP, "tcp");
	ASSERT_TRUE(in.check.tls_skip_verify, "tls_skip_verify");
	ASSERT_EQ(in.check.timeout_ms, 10000, "default timeout 10s");
	ASSERT_EQ(reg_lease_ttl_s(&in, 10), 13, "lease covers interval + timeout");
	reg_instance_free(&in);
}

TEST(ttl_and_no_check)
{
	struct reg_instance in;
	char err[300];

	if (ASSERT_OK(parse("{\"Name\":\"t\",\"Port\":1,\"Check\":{\"TTL\":\"15s\"}}", "::1", &in,
			    err, sizeof(err)), err)) {
		ASSERT_EQ(in.check.kind, REG_CHECK_TTL, "ttl");
		ASSERT_EQ(reg_lease_ttl_s(&in, 10), 15, "lease = TTL");
		ASSERT_EQ(reg_initial_status(&in), REG_CRITICAL, "starts critical");
		reg_instance_free(&in);
	}
	if (ASSERT_OK(parse("{\"Name\":\"t\",\"Port\":1,\"Check\":{\"TTL\":\"1s\",\"Status\":"
			    "\"passing\"}}", "::1", &in, err, sizeof(err)), err)) {
		ASSERT_EQ(reg_lease_ttl_s(&in, 10), 2, "etcd's minimum 2 s");
		ASSERT_EQ(reg_initial_status(&in), REG_PASSING, "Check.Status sets the start");
		reg_instance_free(&in);
	}
	if (ASSERT_OK(parse("{\"Name\":\"n\",\"Port\":1,\"Check\":null,\"Checks\":[]}", "::1", &in,
			    err, sizeof(err)), err)) {
		ASSERT_EQ(in.check.kind, REG_CHECK_NONE, "no check");
		ASSERT_EQ(reg_initial_status(&in), REG_PASSING, "no check: passing");
		ASSERT_EQ(reg_lease_ttl_s(&in, 10), 30, "no check: 30 s");
		ASSERT_STREQ(in.address, "::1", "peer address");
		reg_instance_free(&in);
	}
	if (ASSERT_OK(parse("{\"Name\":\"n\",\"Port\":1,\"Check\":{\"HTTP\":\"http://a/\","
			    "\"Interval\":\"100ms\"}}", "::1", &in, err, sizeof(err)), err)) {
		ASSERT_EQ(in.check.interval_ms, 1000, "interval below 1s runs every 1s");
		reg_instance_free(&in);
	}
}

TEST(invalid_registrations_say_why)
{
	static const struct {
		const char *body;
		const char *msg;
	} cases[] = {
		{ "", "empty body" },
		{ "{bad", "bad JSON" },
		{ "{\"Name\":\"a\",\"Port\":1} x", "data after the object" },
		{ "[1]", "must be a JSON object" },
		{ "{\"Port\":1}", "Name: required" },
		{ "{\"Name\":\"\",\"Port\":1}", "Name: required" },
		{ "{\"Name\":\"a b\",\"Port\":1}", "Name: \"a b\" must be" },
		{ "{\"Name\":\"a/b\",\"Port\":1}", "Name:" },
		{ "{\"Name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"Port\":1}",
		  "Name:" },
		{ "{\"Name\":\"a\",\"ID\":\"x:y\",\"Port\":1}", "ID:" },
		{ "{\"Name\":\"a\",\"ID\":7,\"Port\":1}", "ID: must be a string" },
		{ "{\"Name\":\"a\"}", "Port: required" },
		{ "{\"Name\":\"a\",\"Port\":0}", "Port: must be an integer 1..65535" },
		{ "{\"Name\":\"a\",\"Port\":65536}", "Port:" },
		{ "{\"Name\":\"a\",\"Port\":80.5}", "Port:" },
		{ "{\"Name\":\"a\",\"Port\":\"80\"}", "Port:" },
		{ "{\"Name\":\"a\",\"Port\":1e999}", "Port:" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Address\":\"web.example\"}", "not an IPv4 or IPv6 address" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Address\":\"10.0.0.1/24\"}", "Address:" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Address\":\"010.0.0.1\"}", "Address:" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Name\":\"b\"}", "Name: given twice" },
		{ "{\"Name\":\"a\",\"Port\":1,\"name\":\"b\"}", "Name: given twice" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Colour\":\"red\"}", "unknown key \"Colour\"" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Proxy\":{}}", "not supported" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Kind\":\"connect-proxy\"}", "Kind:" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Tags\":\"x\"}", "Tags: must be an array" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Tags\":[1]}", "Tags[0]: must be a string" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Tags\":[\"\xff\"]}", "Tags[0]: not valid UTF-8" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Meta\":[]}", "Meta: must be an object" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Meta\":{\"v\":1}}", "Meta.v: must be a string" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Meta\":{\"a b\":\"1\"}}", "Meta: key \"a b\"" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Meta\":{\"consul-x\":\"1\"}}", "consul-" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Meta\":{\"k\":\"1\",\"k\":\"2\"}}", "Meta.k: given twice" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Weights\":{\"Passing\":0}}", "Weights.Passing" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Weights\":{\"Warning\":-1}}", "Weights.Warning" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Weights\":{\"Heavy\":1}}", "unknown key" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":[]}", "Check: must be an object" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{}}", "one of HTTP, TCP or TTL is required" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"http://a/\",\"TCP\":\"a:1\"}}",
		  "only one of" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"ftp://a/\"}}", "Check.HTTP" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"http://\"}}", "Check.HTTP" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"http://a b/\"}}", "Check.HTTP" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"TCP\":\"a\"}}", "Check.TCP" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"TCP\":\"a:0\"}}", "Check.TCP" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"TCP\":\"[::1:80\"}}", "Check.TCP" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"http://a/\",\"Interval\":\"10\"}}",
		  "Check.Interval: \"10\" is not a duration" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"http://a/\",\"Interval\":10}}",
		  "Check.Interval: must be a string" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"http://a/\",\"Interval\":\"-1s\"}}",
		  "Check.Interval" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"http://a/\",\"Interval\":\"0s\"}}",
		  "must be positive" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"http://a/\",\"Timeout\":\"48h\"}}",
		  "longer than 24h" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"TTL\":\"1x\"}}", "Check.TTL" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"TTL\":\"5s\",\"Interval\":\"1s\"}}",
		  "do not apply to a TTL check" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"http://a/\","
		  "\"DeregisterCriticalServiceAfter\":\"later\"}}", "DeregisterCriticalServiceAfter" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"Args\":[\"/bin/true\"],\"Interval\":\"1s\"}}",
		  "Check.Args: not supported" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"http://a/\",\"Method\":\"POST\"}}",
		  "only GET" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"http://a/\",\"Status\":\"ok\"}}",
		  "Check.Status" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Check\":{\"HTTP\":\"http://a/\",\"TLSSkipVerify\":1}}",
		  "TLSSkipVerify" },
		{ "{\"Name\":\"a\",\"Port\":1,\"Checks\":[{\"TTL\":\"5s\"}]}", "Checks:" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reg_instance in;
		char err[300] = "";
		int rc = parse(cases[i].body, "10.0.0.1", &in, err, sizeof(err));

		if (!ASSERT_EQ(rc, -EINVAL, cases[i].body)) {
			if (!rc)
				reg_instance_free(&in);
			continue;
		}
		ASSERT_STRCONTAINS(err, cases[i].msg, cases[i].body);
		ASSERT_TRUE(in.json == NULL, "nothing left allocated");
	}
}

TEST(address_is_required_without_a_peer)
{
	struct reg_instance in;
	char err[300];

	ASSERT_EQ(parse("{\"Name\":\"a\",\"Port\":1}", NULL, &in, err, sizeof(err)), -EINVAL,
		  "stored form needs Address");
	ASSERT_STRCONTAINS(err, "Address: required", "message");
}

TEST(body_size_limit)
{
	size_t n = REG_BODY_MAX + 1;
	char *big = malloc(n), err[300];
	struct reg_instance in;

	if (!ASSERT_TRUE(big != NULL, "malloc"))
		return;
	memset(big, ' ', n);
	ASSERT_EQ(reg_parse_instance(big, n, "::1", &in, err, sizeof(err)), -EINVAL, "too big");
	ASSERT_STRCONTAINS(err, "larger than", "message");
	free(big);
}

TEST(utf8_and_names)
{
	ASSERT_TRUE(reg_valid_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15), "valid");
	ASSERT_FALSE(reg_valid_utf8("\xc3", 1), "truncated");
	ASSERT_FALSE(reg_valid_utf8("\xc0\xaf", 2), "overlong");
	ASSERT_FALSE(reg_valid_utf8("\xed\xa0\x80", 3), "surrogate");
	ASSERT_FALSE(reg_valid_utf8("\xf4\x90\x80\x80", 4), "beyond U+10FFFF");
	ASSERT_TRUE(reg_valid_name("web-1.a_b", 63), "name");
	ASSERT_FALSE(reg_valid_name("", 63), "empty");
	ASSERT_FALSE(reg_valid_name("a\xc3\xa9", 63), "non-ASCII");
	ASSERT_FALSE(reg_valid_name("abcd", 3), "too long");
}

TEST(health_records)
{
	struct reg_health h;
	char *s = reg_health_json(REG_WARNING, "HTTP GET x: 429 \"slow\"", 86400);

	if (!ASSERT_TRUE(s != NULL, "json"))
		return;
	ASSERT_STREQ(s, "{\"Status\":\"warning\",\"Output\":\"HTTP GET x: 429 \\\"slow\\\"\","
			"\"Updated\":\"1970-01-02T00:00:00Z\"}", "record");
	if (ASSERT_OK(reg_health_parse(s, strlen(s), &h), "parse")) {
		ASSERT_EQ(h.status, REG_WARNING, "status");
		ASSERT_STREQ(h.output, "HTTP GET x: 429 \"slow\"", "output");
		reg_health_free(&h);
	}
	free(s);
	ASSERT_EQ(reg_health_parse("{\"Status\":\"fine\"}", 17, &h), -EINVAL, "bad status");
	ASSERT_EQ(reg_health_parse("nope", 4, &h), -EINVAL, "not JSON");
}

TEST(consul_shaped_rendering)
{
	struct reg_instance in;
	struct reg_health h = { .status = REG_PASSING, .output = "fine", .updated = "" };
	char err[300], *s;
	cJSON *e, *svc, *chk;

	if (!ASSERT_OK(parse(PLATFORM_BODY, "10.1.2.3", &in, err, sizeof(err)), err))
		return;
	e = reg_render_health_entry(&in, &h);
	if (!ASSERT_TRUE(e != NULL, "entry"))
		goto out;
	svc = cJSON_GetObjectItemCaseSensitive(e, "Service");
	chk = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(e, "Checks"), 0);
	ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(svc, "ID")->valuestring, "web-host1", "ID");
	ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(svc, "Service")->valuestring, "web", "Service");
	ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(svc, "Port")->valueint, 8000, "Port");
	ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(chk, "Status")->valuestring, "passing",
		     "Status");
	ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(chk, "CheckID")->valuestring,
		     "service:web-host1", "CheckID");
	ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(
			     cJSON_GetObjectItemCaseSensitive(e, "Node"), "Address")->valuestring,
		     "10.1.2.3", "Node.Address");
	cJSON_Delete(e);
	e = reg_render_health_entry(&in, NULL);
	chk = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(e, "Checks"), 0);
	ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(chk, "Status")->valuestring, "critical",
		     "no record yet: critical");
	cJSON_Delete(e);
	e = reg_render_agent_service(&in);
	s = cJSON_PrintUnformatted(e);
	ASSERT_STRCONTAINS(s, "\"Weights\":{\"Passing\":1,\"Warning\":1}", "agent service");
	free(s);
	cJSON_Delete(e);
out:
	reg_instance_free(&in);
}

TEST(routes)
{
	static const struct {
		const char *method, *path;
		enum reg_route_kind kind;
		bool write;
		const char *arg;
	} cases[] = {
		{ "PUT", "/v1/agent/service/register", RT_REGISTER, true, "" },
		{ "GET", "/v1/agent/service/register", RT_BAD_METHOD, true, "" },
		{ "PUT", "/v1/agent/service/deregister/web-1", RT_DEREGISTER, true, "web-1" },
		{ "GET", "/v1/agent/service/deregister/web-1", RT_DEREGISTER, true, "web-1" },
		{ "DELETE", "/v1/agent/service/deregister/web-1", RT_BAD_METHOD, true, "web-1" },
		{ "PUT", "/v1/agent/check/pass/service:a", RT_CHECK, true, "service:a" },
		{ "GET", "/v1/agent/check/warn/service:a", RT_CHECK, true, "service:a" },
		{ "PUT", "/v1/agent/check/fail/service:a", RT_CHECK, true, "service:a" },
		{ "GET", "/v1/agent/services", RT_AGENT_SERVICES, false, "" },
		{ "HEAD", "/v1/health/service/web", RT_HEALTH_SERVICE, false, "web" },
		{ "PUT", "/v1/health/service/web", RT_BAD_METHOD, false, "web" },
		{ "GET", "/v1/catalog/services", RT_CATALOG_SERVICES, false, "" },
		{ "GET", "/health", RT_HEALTH, false, "" },
		{ "GET", "/ready", RT_READY, false, "" },
		{ "GET", "/v1/agent/self", RT_NOT_FOUND, false, "" },
		{ "GET", "", RT_NOT_FOUND, false, "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reg_route r;

		reg_route_parse(cases[i].method, cases[i].path, &r);
		ASSERT_EQ(r.kind, cases[i].kind, cases[i].path);
		ASSERT_EQ(r.write, cases[i].write, cases[i].path);
		ASSERT_STREQ(r.arg, cases[i].arg, cases[i].path);
	}
	{
		struct reg_route r;

		reg_route_parse("PUT", "/v1/agent/check/warn/service:a", &r);
		ASSERT_EQ(r.status, REG_WARNING, "warn");
		reg_route_parse("PUT", "/v1/agent/check/fail/service:a", &r);
		ASSERT_EQ(r.status, REG_CRITICAL, "fail");
	}
	ASSERT_STREQ(reg_check_service_id("service:web-1"), "web-1", "check id");
	ASSERT_TRUE(reg_check_service_id("web-1") == NULL, "needs service:");
	ASSERT_TRUE(reg_check_service_id("service:") == NULL, "empty id");
	ASSERT_TRUE(reg_check_service_id("service:a/b") == NULL, "bad id");
}

TEST(query_parameters)
{
	uint64_t v;
	bool b;

	ASSERT_OK(reg_parse_bool_param(NULL, &b), "?passing");
	ASSERT_TRUE(b, "?passing");
	ASSERT_OK(reg_parse_bool_param("1", &b), "passing=1");
	ASSERT_TRUE(b, "passing=1");
	ASSERT_OK(reg_parse_bool_param("true", &b), "passing=true");
	ASSERT_TRUE(b, "passing=true");
	ASSERT_OK(reg_parse_bool_param("false", &b), "passing=false");
	ASSERT_FALSE(b, "passing=false");
	ASSERT_EQ(reg_parse_bool_param("yes", &b), -EINVAL, "passing=yes");
	ASSERT_OK(reg_parse_index("12345", &v), "index");
	ASSERT_EQ(v, 12345, "index");
	ASSERT_EQ(reg_parse_index("-1", &v), -EINVAL, "negative index");
	ASSERT_EQ(reg_parse_index("", &v), -EINVAL, "empty index");
	ASSERT_EQ(reg_parse_index("99999999999999999999999", &v), -ERANGE, "huge index");
	ASSERT_OK(reg_parse_wait(NULL, &v), "no wait");
	ASSERT_EQ(v, 5 * 60 * 1000, "default wait 5 min");
	ASSERT_OK(reg_parse_wait("10s", &v), "wait");
	ASSERT_EQ(v, 10000, "wait 10s");
	ASSERT_OK(reg_parse_wait("1h", &v), "wait 1h");
	ASSERT_EQ(v, 10 * 60 * 1000, "capped to 10 min");
	ASSERT_EQ(reg_parse_wait("soon", &v), -EINVAL, "bad wait");
}

TEST(tokens)
{
	ASSERT_STREQ(reg_request_token("a", "Bearer b", "c"), "a", "X-Consul-Token first");
	ASSERT_STREQ(reg_request_token(NULL, "Bearer b", "c"), "b", "then Bearer");
	ASSERT_STREQ(reg_request_token(NULL, "bearer  b", NULL), "b", "Bearer any case");
	ASSERT_STREQ(reg_request_token("", "Basic x", "c"), "c", "then ?token=");
	ASSERT_TRUE(reg_request_token(NULL, "Bearer ", NULL) == NULL, "none");
	ASSERT_TRUE(reg_token_equal("s3cret", "s3cret"), "equal");
	ASSERT_FALSE(reg_token_equal("s3cret", "s3cre"), "prefix");
	ASSERT_FALSE(reg_token_equal("s3cret", "s3cret2"), "longer");
	ASSERT_FALSE(reg_token_equal("s3cret", NULL), "missing");
}

TEST(listen_addresses)
{
	struct sockaddr_storage ss;
	bool any;

	ASSERT_OK(reg_parse_listen(":8500", &ss, &any), ":8500");
	ASSERT_TRUE(any && ss.ss_family == AF_INET6, "every address");
	ASSERT_OK(reg_parse_listen("127.0.0.1:8500", &ss, &any), "v4");
	ASSERT_EQ(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8500, "port");
	ASSERT_OK(reg_parse_listen("[::1]:1", &ss, &any), "v6");
	ASSERT_EQ(ss.ss_family, AF_INET6, "v6 family");
	ASSERT_EQ(reg_parse_listen("localhost:80", &ss, &any), -EINVAL, "no names");
	ASSERT_EQ(reg_parse_listen("127.0.0.1", &ss, &any), -EINVAL, "no port");
	ASSERT_EQ(reg_parse_listen(":0", &ss, &any), -EINVAL, "port 0");
	ASSERT_EQ(reg_parse_listen("[::1:80", &ss, &any), -EINVAL, "bracket");
}
