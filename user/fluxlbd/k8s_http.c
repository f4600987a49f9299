// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Kubernetes API requests with the source's credentials (k8s_http.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "k8s_http.h"

#define MAX_REPLY (4u << 20)

static int read_token(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	return n ? 0 : -ENODATA;
}

static void blob(CURL *c, CURLoption opt, char *pem)
{
	struct curl_blob b = { .data = pem, .len = strlen(pem), .flags = CURL_BLOB_COPY };

	curl_easy_setopt(c, opt, &b);
}

void k8s_curl_auth(CURL *c, const struct k8s_auth *a, struct curl_slist **hdrs)
{
	char token[4096], auth[4200];

	if (a->ca_data)
		blob(c, CURLOPT_CAINFO_BLOB, a->ca_data);
	else if (a->ca_file[0] && !access(a->ca_file, R_OK))
		curl_easy_setopt(c, CURLOPT_CAINFO, a->ca_file);
	if (a->cert_data)
		blob(c, CURLOPT_SSLCERT_BLOB, a->cert_data);
	else if (a->cert_file[0])
		curl_easy_setopt(c, CURLOPT_SSLCERT, a->cert_file);
	if (a->key_data)
		blob(c, CURLOPT_SSLKEY_BLOB, a->key_data);
	else if (a->key_file[0])
		curl_easy_setopt(c, CURLOPT_SSLKEY, a->key_file);
	if (a->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	token[0] = 0;
	if (a->token)
		snprintf(token, sizeof(token), "%s", a->token);
	else if (a->token_file[0] && read_token(a->token_file, token, sizeof(token)))
		token[0] = 0; /* no token: the API server answers 401, which is logged */
	if (token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		*hdrs = curl_slist_append(*hdrs, auth);
	}
}

struct buf {
	char *p;
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;
	size_t add = size * n;
	char *g;

	if (b->len + add > MAX_REPLY || !(g = realloc(b->p, b->len + add + 1)))
		return 0;
	b->p = g;
	memcpy(b->p + b->len, p, add);
	b->len += add;
	b->p[b->len] = 0;
	return add;
}

long k8s_request(CURL *c, const struct k8s_auth *a, const char *method, const char *url, const char *body,
		 char **reply, char *why, size_t why_len)
{
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
	struct buf b = {};
	long code = 0;
	CURLcode rc;

	*reply = NULL;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 3L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	k8s_curl_auth(c, a, &hdrs);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	curl_slist_free_all(hdrs);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK) {
		snprintf(why, why_len, "%s %s: %s", method, url, curl_easy_strerror(rc));
		free(b.p);
		return -1;
	}
	if (code < 200 || code > 299)
		snprintf(why, why_len, "%s %s: HTTP %ld", method, url, code);
	*reply = b.p;
	return code;
}

void k8s_url(const struct k8s_auth *a, char *buf, size_t len, const char *path)
{
	size_t bl = strlen(a->server);

	if (bl && a->server[bl - 1] == '/')
		bl--;
	snprintf(buf, len, "%.*s/%s", (int)bl, a->server, path);
}
