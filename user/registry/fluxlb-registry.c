// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fluxlb-registry: the Consul agent API subset that the platform's
 * applications register with, kept in etcd (registry_store.h), with health
 * checks run by one elected replica (registry_leader.h) and served over
 * HTTP (registry_http.h). Replicas are stateless and interchangeable.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "duration.h"
#include "flb_version.h"
#include "log.h"
#include "registry_http.h"
#include "registry_leader.h"
#include "registry_request.h"


static const char usage[] =
	"Usage: fluxlb-registry [OPTIONS]\n"
	"\n"
	"A Consul-compatible service registry (agent API subset) on etcd, with\n"
	"active health checks run by one elected replica.\n"
	"\n"
	"Options:\n"
	"      --listen ADDR        host:port, [v6]:port or :port (default :8500)\n"
	"      --etcd ENDPOINTS     comma-separated etcd client URLs\n"
	"                           (default $FLB_ETCD_ENDPOINTS or http://127.0.0.1:2379)\n"
	"      --prefix P           etcd key prefix (default /fluxlb/)\n"
	"      --token-file FILE    writes need this token (default: $FLB_REGISTRY_TOKEN;\n"
	"                           neither set: writes are open)\n"
	"      --id ID              replica id written to P/leader (default host:pid)\n"
	"      --etcd-timeout DUR   per etcd request (default 2s)\n"
	"      --etcd-ca-file FILE  CA that signed etcd's certificate (https:// endpoints)\n"
	"      --etcd-cert-file FILE, --etcd-key-file FILE\n"
	"                           client certificate and key for etcd --client-cert-auth\n"
	"      --etcd-user NAME     etcd user (with --etcd-password-file FILE, whose first\n"
	"                           line is the password; never given inline)\n"
	"      --min-lease DUR      floor of HTTP/TCP instance leases (default 10s)\n"
	"      --log-level LEVEL    error, warn, info (default) or debug\n"
	"      --log-format FORMAT  logfmt (default) or json\n"
	"  -h, --help               this text\n"
	"  -V, --version            print the version and exit\n"
	"\n"
	"Endpoints: PUT /v1/agent/service/register, PUT|GET\n"
	"/v1/agent/service/deregister/<id>, PUT|GET /v1/agent/check/pass|warn|fail/\n"
	"service:<id>, GET /v1/agent/services, GET /v1/health/service/<name>\n"
	"(?passing ?tag= ?index= ?wait=), GET /v1/catalog/services, GET /health, GET /ready.\n"
	"\n"
	"Exit status: 0 stopped by SIGTERM/SIGINT, 2 usage error, 3 runtime failure.\n";

static volatile int stopping;

/* The token: first line of the file, surrounding whitespace removed. */
static char *read_token(const char *path)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	size_t l;
	char *s;

	if (!f)
		return NULL;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	l = strlen(buf);
	while (l && (buf[l - 1] == '\n' || buf[l - 1] == '\r' || buf[l - 1] == ' ' ||
		     buf[l - 1] == '\t'))
		buf[--l] = 0;
	for (s = buf; *s == ' ' || *s == '\t'; s++)
		;
	errno = EINVAL;
	return *s ? strdup(s) : NULL;
}

/* Pairs given together, files readable now (a typo fails at start, not at
 * the first request); the password file is read again at each login. */
static int check_etcd_security(const struct etcd_security *sec)
{
	const char *files[] = { sec->ca_file, sec->cert_file, sec->key_file, sec->password_file };
	const char *names[] = { "--etcd-ca-file", "--etcd-cert-file", "--etcd-key-file",
				"--etcd-password-file" };

	if (!sec->cert_file != !sec->key_file) {
		fprintf(stderr, "fluxlb-registry: --etcd-cert-file and --etcd-key-file go together\n");
		return -EINVAL;
	}
	if (!sec->username != !sec->password_file) {
		fprintf(stderr, "fluxlb-registry: --etcd-user and --etcd-password-file go together\n");
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (files[i] && access(files[i], R_OK)) {
			fprintf(stderr, "fluxlb-registry: %s %s: %s\n", names[i], files[i],
				strerror(errno));
			return -EINVAL;
		}
	}
	return 0;
}

/* [A-Za-z0-9_.:-]{1,200}: the default is host:pid. */
static bool valid_id(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-");

	return n >= 1 && n <= 200 && !s[n];
}

static int parse_dur(const char *s, const char *what, uint64_t min_ms, uint64_t *ms)
{
	if (duration_parse_ms(s, DURATION_GO, ms) || *ms < min_ms) {
		fprintf(stderr, "fluxlb-registry: %s: \"%s\" is not a duration of at least %llums\n",
			what, s, (unsigned long long)min_ms);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_LISTEN = 256, O_ETCD, O_PREFIX, O_TOKEN_FILE, O_ID, O_ETCD_TIMEOUT,
	       O_MIN_LEASE, O_LOG_LEVEL, O_LOG_FORMAT, O_ETCD_CA, O_ETCD_CERT, O_ETCD_KEY,
	       O_ETCD_USER, O_ETCD_PASSWORD_FILE, O_INLINE_SECRET };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "etcd", required_argument, NULL, O_ETCD },
		{ "prefix", required_argument, NULL, O_PREFIX },
		{ "token-file", required_argument, NULL, O_TOKEN_FILE },
		{ "id", required_argument, NULL, O_ID },
		{ "etcd-timeout", required_argument, NULL, O_ETCD_TIMEOUT },
		{ "min-lease", required_argument, NULL, O_MIN_LEASE },
		{ "log-level", required_argument, NULL, O_LOG_LEVEL },
		{ "log-format", required_argument, NULL, O_LOG_FORMAT },
		{ "etcd-ca-file", required_argument, NULL, O_ETCD_CA },
		{ "etcd-cert-file", required_argument, NULL, O_ETCD_CERT },
		{ "etcd-key-file", required_argument, NULL, O_ETCD_KEY },
		{ "etcd-user", required_argument, NULL, O_ETCD_USER },
		{ "etcd-password-file", required_argument, NULL, O_ETCD_PASSWORD_FILE },
		{ "etcd-password", required_argument, NULL, O_INLINE_SECRET },
		{ "token", required_argument, NULL, O_INLINE_SECRET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = ":8500", *etcd = getenv("FLB_ETCD_ENDPOINTS");
	const char *prefix_arg = "/fluxlb/", *token_file = NULL, *id_arg = NULL;
	enum log_level level = LOG_INFO;
	uint64_t timeout_ms = 2000, min_lease_ms = 10000;
	char prefix[256], id[300], host[256];
	struct reg_cfg cfg = { 0 };
	struct reg_leader *leader;
	struct reg_http *http;
	struct sockaddr_storage ss;
	char *token = NULL;
	bool any;
	bool json = false;
	sigset_t set;
	int c, sig;

	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN: listen = optarg; break;
		case O_ETCD: etcd = optarg; break;
		case O_PREFIX: prefix_arg = optarg; break;
		case O_TOKEN_FILE: token_file = optarg; break;
		case O_ID: id_arg = optarg; break;
		case O_ETCD_CA: cfg.etcd_sec.ca_file = optarg; break;
		case O_ETCD_CERT: cfg.etcd_sec.cert_file = optarg; break;
		case O_ETCD_KEY: cfg.etcd_sec.key_file = optarg; break;
		case O_ETCD_USER: cfg.etcd_sec.username = optarg; break;
		case O_ETCD_PASSWORD_FILE: cfg.etcd_sec.password_file = optarg; break;
		case O_INLINE_SECRET:
			/* A secret on the command line is in ps and in the pod spec. */
			fprintf(stderr, "fluxlb-registry: secrets are never given inline: use "
					"--etcd-password-file or --token-file\n");
			return 2;
		case O_ETCD_TIMEOUT:
			if (parse_dur(optarg, "--etcd-timeout", 100, &timeout_ms))
				return 2;
			break;
		case O_MIN_LEASE:
			if (parse_dur(optarg, "--min-lease", 2000, &min_lease_ms))
				return 2;
			break;
		case O_LOG_LEVEL:
			if (log_parse_level(optarg, &level)) {
				fprintf(stderr, "fluxlb-registry: --log-level: error, warn, info or debug\n");
				return 2;
			}
			break;
		case O_LOG_FORMAT:
			if (strcmp(optarg, "logfmt") && strcmp(optarg, "json")) {
				fprintf(stderr, "fluxlb-registry: --log-format: logfmt or json\n");
				return 2;
			}
			json = !strcmp(optarg, "json");
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("fluxlb-registry %s\n", FLB_VERSION);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fluxlb-registry: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	log_setup(level, json);
	if (!etcd || !*etcd)
		etcd = "http://127.0.0.1:2379";
	/* The prefix is a folder: "/fluxlb" and "/fluxlb/" mean the same. */
	if (!*prefix_arg || strlen(prefix_arg) > 200 || strchr(prefix_arg, ' ')) {
		fprintf(stderr, "fluxlb-registry: --prefix: 1..200 characters without spaces\n");
		return 2;
	}
	snprintf(prefix, sizeof(prefix), "%s%s", prefix_arg,
		 prefix_arg[strlen(prefix_arg) - 1] == '/' ? "" : "/");
	if (token_file) {
		token = read_token(token_file);
		if (!token) {
			fprintf(stderr, "fluxlb-registry: --token-file %s: cannot read a token: %s\n",
				token_file, strerror(errno));
			return 2;
		}
	} else if (getenv("FLB_REGISTRY_TOKEN") && *getenv("FLB_REGISTRY_TOKEN")) {
		token = strdup(getenv("FLB_REGISTRY_TOKEN"));
	}
	if (check_etcd_security(&cfg.etcd_sec))
		return 2;
	if (reg_parse_listen(listen, &ss, &any)) {
		fprintf(stderr, "fluxlb-registry: --listen: \"%s\" is not host:port, [v6]:port or :port\n",
			listen);
		return 2;
	}
	if (id_arg) {
		if (!valid_id(id_arg)) {
			fprintf(stderr, "fluxlb-registry: --id: [A-Za-z0-9_.:-]{1,200}\n");
			return 2;
		}
		snprintf(id, sizeof(id), "%s", id_arg);
	} else {
		if (gethostname(host, sizeof(host)))
			snprintf(host, sizeof(host), "registry");
		host[sizeof(host) - 1] = 0;
		snprintf(id, sizeof(id), "%s:%d", host, (int)getpid());
	}

	cfg.prefix = prefix;
	cfg.endpoints = etcd;
	cfg.etcd_timeout_ms = (long)timeout_ms;
	cfg.lease_min_s = (int64_t)((min_lease_ms + 999) / 1000);
	cfg.replica_id = id;
	cfg.token = token;

	/* Before any thread: libcurl's global state, and signals for sigwait. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		log_error("cannot initialize libcurl", NULL);
		return 3;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());

	log_info("starting", "version=%s replica=%s etcd=%s prefix=%s writes=%s min_lease_s=%lld "
		 "etcd_tls=%s etcd_auth=%s",
		 FLB_VERSION, id, etcd, prefix, token ? "token" : "open",
		 (long long)cfg.lease_min_s,
		 cfg.etcd_sec.cert_file ? "client-cert" : cfg.etcd_sec.ca_file ? "ca" : "default",
		 cfg.etcd_sec.username ? cfg.etcd_sec.username : "none");
	http = reg_http_start(&cfg, listen, &stopping);
	if (!http) {
		free(token);
		curl_global_cleanup();
		return 3;
	}
	leader = reg_leader_start(&cfg);
	if (!leader) {
		log_error("cannot start the health checker", "error=\"%s\"", strerror(errno));
		reg_http_stop(http);
		free(token);
		curl_global_cleanup();
		return 3;
	}
	sigwait(&set, &sig);
	log_info("stopping", "signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	stopping = 1;
	reg_leader_stop(leader);
	reg_http_stop(http);
	free(token);
	curl_global_cleanup();
	log_info("stopped", NULL);
	return 0;
}
