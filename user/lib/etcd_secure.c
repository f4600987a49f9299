// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * TLS options and etcd's v3 auth for the etcd client (see etcd.h,
 * etcd_secure). A login is one POST of {"name", "password"} to
 * /v3/auth/authenticate; the answer's token goes in an "Authorization"
 * header on every later request (etcd's simple tokens expire after
 * --auth-token-ttl of disuse; etcd_call logs in again on "invalid auth token").
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "etcd_priv.h"
#include "log.h"

#define PASSWORD_MAX 256

static _Atomic unsigned long long failures[ETCD_FAIL_MAX];

unsigned long long etcd_failures(enum etcd_fail kind)
{
	return (unsigned)kind < ETCD_FAIL_MAX ? atomic_load(&failures[kind]) : 0;
}

void etcd_count_failure(int kind)
{
	if (kind >= 0 && kind < ETCD_FAIL_MAX)
		atomic_fetch_add(&failures[kind], 1);
}

int etcd_curl_kind(CURLcode rc, const char *msg)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
		return ETCD_FAIL_TLS;
	default:
		/* TLS 1.3: a refused client certificate arrives as an alert on
		 * the first read, after the handshake ("...alert bad certificate"). */
		return msg && (strstr(msg, "SSL") || strstr(msg, "certificate")) ? ETCD_FAIL_TLS : -1;
	}
}

static int dup_opt(char **dst, const char *src)
{
	free(*dst);
	*dst = NULL;
	if (!src)
		return 0;
	if (!*src)
		return -EINVAL;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int etcd_secure(struct etcd *e, const struct etcd_security *sec)
{
	int err;

	if (!sec->cert_file != !sec->key_file) {
		log_error("etcd client certificate needs both a certificate and a key file", NULL);
		return -EINVAL;
	}
	if (!sec->username != !sec->password_file) {
		log_error("etcd credentials need both a username and a password file", NULL);
		return -EINVAL;
	}
	if ((err = dup_opt(&e->ca_file, sec->ca_file)) ||
	    (err = dup_opt(&e->cert_file, sec->cert_file)) ||
	    (err = dup_opt(&e->key_file, sec->key_file)) ||
	    (err = dup_opt(&e->username, sec->username)) ||
	    (err = dup_opt(&e->password_file, sec->password_file)))
		return err;
	etcd_auth_drop(e);
	return 0;
}

void etcd_tls_setopts(const struct etcd *e, CURL *c)
{
	if (e->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->ca_file);
	if (e->cert_file) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert_file);
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->key_file);
	}
}

void etcd_auth_drop(struct etcd *e)
{
	curl_slist_free_all(e->auth_hdrs);
	e->auth_hdrs = NULL;
}

/* The password: the file's first line, without its line end. */
static int read_password(const char *path, char *out, size_t cap, char *why, size_t wlen)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		snprintf(why, wlen, "cannot read the password file %s: %s", path, strerror(errno));
		return -EACCES;
	}
	n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = 0;
	out[strcspn(out, "\r\n")] = 0;
	if (!out[0]) {
		snprintf(why, wlen, "the password file %s is empty", path);
		return -EACCES;
	}
	return 0;
}

int etcd_auth_ensure(struct etcd *e)
{
	char password[PASSWORD_MAX], why[300], hdr[600];
	cJSON *req, *resp = NULL;
	const cJSON *tok;
	struct curl_slist *h;
	int err;

	if (!e->username || e->auth_hdrs)
		return 0;
	err = read_password(e->password_file, password, sizeof(password), why, sizeof(why));
	if (err) {
		etcd_count_failure(ETCD_FAIL_AUTH);
		snprintf(e->last_what, sizeof(e->last_what), "auth: %.180s", why);
		/* Logged once, as etcd.c logs a repeated failure. */
		if (strcmp(e->last_err, e->last_what)) {
			log_error("etcd login failed", "user=%s kind=auth error=\"%s\"", e->username, why);
			snprintf(e->last_err, sizeof(e->last_err), "%s", e->last_what);
		}
		return err;
	}
	req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "name", e->username) ||
	    !cJSON_AddStringToObject(req, "password", password)) {
		cJSON_Delete(req);
		memset(password, 0, sizeof(password));
		return -ENOMEM;
	}
	e->authenticating = true;
	err = etcd_call(e, "/v3/auth/authenticate", req, &resp);
	e->authenticating = false;
	/* The request body held the password: wipe both copies. */
	memset(password, 0, sizeof(password));
	cJSON_Delete(req);
	if (err && !strstr(e->last_what, "authentication is not enabled")) {
		/* etcd says "invalid argument" for a wrong password: one answer. */
		cJSON_Delete(resp);
		return err == -EINVAL ? -EACCES : err;
	}
	tok = cJSON_GetObjectItemCaseSensitive(resp, "token");
	if (err || !cJSON_IsString(tok) || !tok->valuestring[0] ||
	    strlen(tok->valuestring) > sizeof(hdr) - 32) {
		/* etcd without auth enabled: go on without a token. */
		log_warn("etcd has auth disabled: credentials unused", "user=%s", e->username);
		cJSON_Delete(resp);
		e->auth_hdrs = curl_slist_append(NULL, "Content-Type: application/json");
		return e->auth_hdrs ? 0 : -ENOMEM;
	}
	snprintf(hdr, sizeof(hdr), "Authorization: %s", tok->valuestring);
	cJSON_Delete(resp);
	h = curl_slist_append(NULL, "Content-Type: application/json");
	if (h && !curl_slist_append(h, hdr)) {
		curl_slist_free_all(h);
		h = NULL;
	}
	memset(hdr, 0, sizeof(hdr));
	if (!h)
		return -ENOMEM;
	e->auth_hdrs = h;
	log_info("etcd login succeeded", "endpoint=%s user=%s", e->ep[e->cur], e->username);
	return 0;
}
