// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* HTTP and TCP health checks with libcurl (see registry_check.h). */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "registry_check.h"

#define BODY_KEEP 512 /* bytes of the body quoted in the output */

struct body {
	char buf[BODY_KEEP + 1];
	size_t len;
};

static size_t keep_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct body *b = userp;
	size_t n = size * nmemb, room = BODY_KEEP - b->len;

	if (room) {
		size_t c = n < room ? n : room;

		memcpy(b->buf + b->len, data, c);
		b->len += c;
		b->buf[b->len] = 0;
	}
	return n; /* read the rest too: the server may not like a reset */
}

/* Output text must be UTF-8 without control characters for JSON and logs. */
static void clean(char *s)
{
	size_t l = strlen(s);

	while (l && !reg_valid_utf8(s, l))
		s[--l] = 0;
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	while (l && s[l - 1] == ' ')
		s[--l] = 0;
}

enum reg_status reg_check_run(enum reg_check_kind kind, const char *target,
			      long timeout_ms, bool tls_skip_verify,
			      char *output, size_t outlen)
{
	char errbuf[CURL_ERROR_SIZE] = "", url[2200];
	struct body b = { .len = 0 };
	enum reg_status st = REG_CRITICAL;
	long code = 0;
	CURLcode rc;
	CURL *c;

	if (outlen)
		output[0] = 0;
	c = curl_easy_init();
	if (!c) {
		snprintf(output, outlen, "out of memory");
		return REG_CRITICAL;
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	if (kind == REG_CHECK_TCP) {
		/* CONNECT_ONLY: resolve and connect, send nothing. */
		snprintf(url, sizeof(url), "http://%s/", target);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
		rc = curl_easy_perform(c);
		if (rc == CURLE_OK) {
			st = REG_PASSING;
			snprintf(output, outlen, "TCP connect %s: Success", target);
		} else {
			snprintf(output, outlen, "dial tcp %s: %s", target,
				 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		}
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, target);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "Consul Health Check");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (tls_skip_verify) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(output, outlen, "Get \"%s\": %s", target,
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code <= 299)
		st = REG_PASSING;
	else if (code == 429)
		st = REG_WARNING;
	snprintf(output, outlen, "HTTP GET %s: %ld Output: %s", target, code, b.buf);
out:
	clean(output);
	curl_easy_cleanup(c);
	return st;
}
