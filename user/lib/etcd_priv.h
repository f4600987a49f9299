/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What etcd.c and etcd_secure.c (TLS and auth) share; not for callers.
 */
#ifndef FLB_ETCD_PRIV_H
#define FLB_ETCD_PRIV_H

#include <stdbool.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

struct etcd {
	char **ep;
	size_t n_ep;
	size_t cur;
	long timeout_ms;
	CURL *curl;
	struct curl_slist *hdrs;      /* Content-Type only */
	struct curl_slist *auth_hdrs; /* and Authorization: <token>, once authenticated */
	char errbuf[CURL_ERROR_SIZE];
	char last_err[256]; /* the failure last logged, for "log once" */
	/* etcd_secure(): NULL when unset */
	char *ca_file, *cert_file, *key_file, *username, *password_file;
	bool authenticating;  /* inside /v3/auth/authenticate: no token header */
	bool token_rejected;  /* the last answer was "invalid auth token" */
	char last_what[200];  /* the last failure's text (etcd_last_error) */
};

/* TLS options of e on c (called for every request, unary or watch). */
void etcd_tls_setopts(const struct etcd *e, CURL *c);
/* Authenticates when a username is set and there is no token yet:
 * 0, or -EACCES (wrong user or password, unreadable password file). */
int etcd_auth_ensure(struct etcd *e);
/* Forgets the token (it expired or was revoked): the next call logs in. */
void etcd_auth_drop(struct etcd *e);
/* Counts one failure of this kind (etcd_failures). */
void etcd_count_failure(int kind);
/* The failure kind of a curl error: ETCD_FAIL_TLS or -1. */
int etcd_curl_kind(CURLcode rc, const char *msg);

/* One POST through the failover loop (etcd.c). */
int etcd_call(struct etcd *e, const char *path, cJSON *req, cJSON **resp);

#endif
