// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Where the Kubernetes source finds the API server and its credentials
 * (see struct k8s_auth in source_kubernetes.h): in-cluster defaults or the
 * common subset of a kubeconfig, read with libyaml's document API.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "source_kubernetes.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount/"

void k8s_auth_free(struct k8s_auth *auth)
{
	free(auth->ca_data);
	free(auth->cert_data);
	free(auth->key_data);
	free(auth->token);
	memset(auth, 0, sizeof(*auth));
}

int k8s_auth_load(const struct flb_source_cfg *cfg, struct k8s_auth *auth, char *why, size_t why_len)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");

	memset(auth, 0, sizeof(*auth));
	if (cfg->kubeconfig[0])
		return k8s_kubeconfig_load(cfg->kubeconfig, auth, why, why_len);
	if (cfg->api_server[0]) {
		snprintf(auth->server, sizeof(auth->server), "%s", cfg->api_server);
	} else if (host && *host) {
		snprintf(auth->server, sizeof(auth->server),
			 strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
			 port && *port ? port : "443");
	} else {
		snprintf(why, why_len, "no api_server, no kubeconfig, and KUBERNETES_SERVICE_HOST is unset");
		return -EINVAL;
	}
	snprintf(auth->token_file, sizeof(auth->token_file), "%s",
		 cfg->token_file[0] ? cfg->token_file : SA_DIR "token");
	snprintf(auth->ca_file, sizeof(auth->ca_file), "%s", cfg->ca_file[0] ? cfg->ca_file : SA_DIR "ca.crt");
	return 0;
}

/* ---- a kubeconfig ---- */

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The "<what>" entry of list named name (clusters, users, contexts). */
static yaml_node_t *named(yaml_document_t *d, yaml_node_t *root, const char *list, const char *name,
			  const char *what)
{
	yaml_node_t *seq = map_get(d, root, list);

	if (!seq || seq->type != YAML_SEQUENCE_NODE || !name)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top; i++) {
		yaml_node_t *e = yaml_document_get_node(d, *i);
		const char *n = scalar(map_get(d, e, "name"));

		if (n && !strcmp(n, name))
			return map_get(d, e, what);
	}
	return NULL;
}

static char *b64_decode(const char *in)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(strlen(in) * 3 / 4 + 4), *o = out;
	unsigned acc = 0;
	int bits = 0;

	if (!out)
		return NULL;
	for (; *in && *in != '='; in++) {
		const char *p = strchr(tab, *in);

		if (*in == '\n' || *in == '\r' || *in == ' ')
			continue;
		if (!p) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (unsigned)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (char)(acc >> bits & 0xff);
		}
	}
	*o = 0;
	return out;
}

/* A path key relative to the kubeconfig's folder, or a *-data key. */
static int file_or_data(yaml_document_t *d, yaml_node_t *m, const char *key, const char *dir,
			char *path, size_t len, char **data)
{
	char dkey[64];
	const char *v = scalar(map_get(d, m, key)), *dv;

	snprintf(dkey, sizeof(dkey), "%s-data", key);
	dv = scalar(map_get(d, m, dkey));
	if (dv) {
		*data = b64_decode(dv);
		return *data ? 0 : -EINVAL;
	}
	if (v)
		snprintf(path, len, "%s%s", v[0] == '/' ? "" : dir, v);
	return 0;
}

int k8s_kubeconfig_load(const char *path, struct k8s_auth *auth, char *why, size_t why_len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *ctx, *cluster, *user;
	const char *cur, *server, *v, *slash = strrchr(path, '/');
	char dir[256];
	FILE *f = fopen(path, "r");
	int err = -EINVAL;

	memset(auth, 0, sizeof(*auth));
	if (!f) {
		snprintf(why, why_len, "kubeconfig %s: %s", path, strerror(errno));
		return -errno;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path + 1) : 0, path);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(why, why_len, "kubeconfig %s: not YAML", path);
		yaml_parser_delete(&parser);
		fclose(f);
		return -EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	cur = scalar(map_get(&doc, root, "current-context"));
	ctx = named(&doc, root, "contexts", cur, "context");
	cluster = named(&doc, root, "clusters", scalar(map_get(&doc, ctx, "cluster")), "cluster");
	user = named(&doc, root, "users", scalar(map_get(&doc, ctx, "user")), "user");
	server = scalar(map_get(&doc, cluster, "server"));
	if (!ctx || !cluster || !server || strlen(server) >= sizeof(auth->server)) {
		snprintf(why, why_len, "kubeconfig %s: no current-context with a cluster and its server", path);
		goto out;
	}
	strcpy(auth->server, server);
	v = scalar(map_get(&doc, cluster, "insecure-skip-tls-verify"));
	auth->insecure = v && !strcmp(v, "true");
	if (map_get(&doc, user, "exec") || map_get(&doc, user, "auth-provider")) {
		snprintf(why, why_len, "kubeconfig %s: exec and auth-provider users are not supported", path);
		goto out;
	}
	if ((v = scalar(map_get(&doc, user, "token"))) && !(auth->token = strdup(v)))
		goto nomem;
	if ((v = scalar(map_get(&doc, user, "tokenFile"))))
		snprintf(auth->token_file, sizeof(auth->token_file), "%s%s", v[0] == '/' ? "" : dir, v);
	if (file_or_data(&doc, cluster, "certificate-authority", dir, auth->ca_file, sizeof(auth->ca_file),
			 &auth->ca_data) ||
	    file_or_data(&doc, user, "client-certificate", dir, auth->cert_file, sizeof(auth->cert_file),
			 &auth->cert_data) ||
	    file_or_data(&doc, user, "client-key", dir, auth->key_file, sizeof(auth->key_file),
			 &auth->key_data)) {
		snprintf(why, why_len, "kubeconfig %s: a *-data key is not base64", path);
		goto out;
	}
	err = 0;
	goto out;
nomem:
	err = -ENOMEM;
	snprintf(why, why_len, "out of memory");
out:
	if (err)
		k8s_auth_free(auth);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return err;
}
