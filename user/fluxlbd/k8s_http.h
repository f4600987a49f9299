/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Requests to the Kubernetes API with the source's credentials (struct
 * k8s_auth): TLS options and the bearer token, read again for every
 * request (service-account tokens rotate), and one whole-body request for
 * the writers (k8s_lease.c, k8s_status.c). The read pipe's list and watch
 * stream on their own (source_kubernetes.c) but share k8s_curl_auth().
 */
#ifndef FLB_K8S_HTTP_H
#define FLB_K8S_HTTP_H

#include <curl/curl.h>

#include "source_kubernetes.h"

/* Sets the TLS options of a on c and appends the Authorization header. */
void k8s_curl_auth(CURL *c, const struct k8s_auth *a, struct curl_slist **hdrs);

/* METHOD url with a JSON body (NULL: none); the answer's body into *reply
 * (caller frees; may be NULL on failure). Returns the HTTP status, or -1
 * with why filled when there was no answer. */
long k8s_request(CURL *c, const struct k8s_auth *a, const char *method, const char *url, const char *body,
		 char **reply, char *why, size_t why_len);

/* "<server>/<path>" without a doubled slash. */
void k8s_url(const struct k8s_auth *a, char *buf, size_t len, const char *path);

#endif
