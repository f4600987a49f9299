// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fluxlbd, the node daemon: reads the configuration, loads (or adopts) the
 * pinned maps, writes the desired state into them, attaches the balancer to
 * the configured interfaces, sets ready, and then waits for signals: SIGHUP
 * reloads the file (and repairs outside changes to the maps), SIGTERM/SIGINT exit and leave the dataplane forwarding
 * (the maps and the attachment outlive the process). --cleanup removes it all.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "announce.h"
#include "config.h"
#include "daemon.h"
#include "flb_abi.h"
#include "flb_version.h"
#include "log.h"
#include "node.h"
#include "pinned_maps.h"
#include "xdp_attach.h"

#define DEFAULT_CONFIG "/etc/fluxlb/fluxlbd.yaml"
#define PROG_NAME "balancer"

static const char usage[] =
	"Usage: fluxlbd [OPTIONS]\n"
	"\n"
	"The fluxlb node daemon: keeps the XDP balancer's maps in step with the\n"
	"configuration and attaches the balancer to the configured interfaces.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE        configuration file (default " DEFAULT_CONFIG ")\n"
	"      --check-config FILE  validate FILE and exit: 0 valid, 1 invalid\n"
	"      --bird-config FILE   print BIRD 2's configuration for the announce\n"
	"                           section of FILE (docs/bgp.md) and exit\n"
	"      --bpffs DIR          pin folder, overrides node.bpffs of the config\n"
	"      --metrics-listen ADDR  serve /metrics, /health and /ready on ADDR\n"
	"                           (host:port, [v6]:port or :port); overrides\n"
	"                           metrics.listen of the config\n"
	"      --cleanup            detach from the configured interfaces, remove\n"
	"                           the pinned maps, and exit\n"
	"      --log-level LEVEL    error, warn, info (default) or debug\n"
	"      --log-format FORMAT  logfmt (default) or json\n"
	"  -h, --help               this text\n"
	"  -V, --version            print the version and exit\n"
	"\n"
	"Signals: SIGHUP reloads the configuration (a bad file is rejected and the\n"
	"running state keeps serving); SIGTERM and SIGINT stop the daemon and leave\n"
	"the dataplane forwarding, so a restart breaks no connection.\n"
	"\n"
	"One fluxlbd per pin folder: a second one (or --cleanup) on the pins of a\n"
	"running daemon exits 1, naming the running one's PID, and touches nothing.\n"
	"\n"
	"Exit status: 0 success, 1 invalid configuration or pins held by another\n"
	"fluxlbd, 2 usage error, 3 runtime failure (maps, attach).\n";

struct opts {
	const char *config;
	const char *bpffs;
	const char *metrics;
	bool check_only;
	bool bird_config;
	bool cleanup;
};

static int pin_dir(const struct flb_config *cfg, const struct opts *o, char *buf, size_t len)
{
	const char *base = o->bpffs ? o->bpffs : cfg->bpffs;

	if (snprintf(buf, len, "%s/v%d", base, FLB_ABI_VERSION) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* The pin folder must be on a bpffs, or pins vanish (or fail) silently. */
static int check_bpffs(const char *dir)
{
	char probe[PATH_MAX];
	struct statfs st;

	snprintf(probe, sizeof(probe), "%s", dir);
	while (statfs(probe, &st)) {
		char *slash = strrchr(probe, '/');

		if (!slash || slash == probe)
			return log_err(-ENOENT, "no bpffs above the pin folder", "path=%s", dir);
		*slash = 0;
	}
	if (st.f_type != BPF_FS_MAGIC)
		return log_err(-EINVAL, "pin folder is not on a bpf filesystem; mount one with: mount -t bpf bpf /sys/fs/bpf",
			       "path=%s", dir);
	return 0;
}

/* The PID holding a flock on path, from /proc/locks (the kernel's list of
 * locks: "1: FLOCK  ADVISORY  WRITE 1234 00:2d:5678 0 EOF"); 0: unknown. */
static long lock_holder(const char *path)
{
	unsigned maj, min;
	unsigned long ino;
	char line[256], kind[16];
	struct stat st;
	long pid, found = 0;
	FILE *f;

	if (stat(path, &st))
		return 0;
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*[^:]: %15s %*s %*s %ld %x:%x:%lu", kind, &pid, &maj, &min, &ino) == 5 &&
		    !strcmp(kind, "FLOCK") && maj == major(st.st_dev) && min == minor(st.st_dev) &&
		    ino == st.st_ino)
			found = pid;
	fclose(f);
	return found;
}

/*
 * One daemon per pin folder: an exclusive flock on the folder itself (a
 * bpffs holds no regular files to lock). The kernel drops it when the
 * holder exits, however it exits (SIGKILL too), so no stale lock survives
 * a crash. Taken before anything is loaded, attached or written; the fd
 * stays open (close-on-exec) for the daemon's life. Returns the fd, -EBUSY
 * when another process holds the folder (logged with its PID), or -errno.
 */
static int lock_pins(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	/* The folder must exist to be locked: create it as maps_open() would. */
	for (char *p = strcpy(path, dir) + 1; (p = strchr(p, '/')); *p++ = '/') {
		*p = 0;
		if (mkdir(path, 0700) && errno != EEXIST)
			return log_err(-errno, "cannot create the pin folder", "path=%s err=\"%s\"",
				       path, strerror(errno));
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return log_err(-errno, "cannot create the pin folder", "path=%s err=\"%s\"", dir,
			       strerror(errno));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_err(-errno, "cannot open the pin folder", "path=%s err=\"%s\"", dir,
			       strerror(errno));
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	close(fd);
	if (errno != EWOULDBLOCK)
		return log_err(-errno, "cannot lock the pin folder", "path=%s err=\"%s\"", dir,
			       strerror(errno));
	log_error("another fluxlbd runs on these pins; exiting without touching them (one daemon per pin folder)",
		  "pin_dir=%s pid=%ld", dir, lock_holder(dir));
	return -EBUSY;
}

static int load_config(const char *path, struct flb_config *cfg, bool plain)
{
	char err[512], q[600];
	int rc = config_load_file(path, cfg, err, sizeof(err));

	if (!rc)
		return 0;
	if (plain) {
		fprintf(stderr, "fluxlbd: %s\n", err);
		return rc;
	}
	log_error("configuration rejected", "reason=%s", log_quote(q, sizeof(q), err));
	return rc;
}

/* Pins of another ABI version are never reused: say so, once, loudly. */
static void check_other_abis(const struct flb_config *cfg, const struct opts *o)
{
	const char *base = o->bpffs ? o->bpffs : cfg->bpffs;
	char path[PATH_MAX + 16];

	for (int v = 0; v < 16; v++) {
		if (v == FLB_ABI_VERSION)
			continue;
		snprintf(path, sizeof(path), "%s/v%d", base, v);
		if (!access(path, F_OK))
			log_warn("pinned maps of another ABI version found; not used (this fluxlbd uses its own folder). Remove them once no node needs them",
				 "path=%s abi=v%d ours=v%d", path, v, FLB_ABI_VERSION);
	}
}

static int cleanup(const struct flb_config *cfg, const char *dir)
{
	char path[PATH_MAX + 32];
	int err = 0;

	for (size_t i = 0; i < cfg->n_ifaces; i++)
		if (xdp_detach(cfg->ifaces[i], PROG_NAME, dir))
			err = -EIO;
#define UNPIN(name)                                                              \
	snprintf(path, sizeof(path), "%s/%s", dir, #name);                       \
	if (unlink(path) && errno != ENOENT)                                     \
		err = log_err(-errno, "cannot remove pin", "path=%s", path);
	FLB_MAP_NAMES(UNPIN)
	UNPIN(flb_state) /* the daemon's own saved state (persist.h) */
	UNPIN(flb_svc_names) /* the CLI's service names (pinned_maps.h) */
#undef UNPIN
	if (maps_unpin_rings(dir))
		err = log_err(-EIO, "cannot remove the pins of the Maglev tables", "path=%s/%s", dir,
			      FLB_RING_PIN_DIR);
	for (size_t i = 0; i < cfg->n_ifaces; i++) { /* pins of interfaces no longer configured stay */
		snprintf(path, sizeof(path), "%s/prog_%s", dir, cfg->ifaces[i]);
		unlink(path);
	}
	if (cfg->announce.enabled && announce_cleanup(cfg->announce.table))
		err = -EIO;
	if (cfg->pods.iface[0] && node_cleanup(cfg, dir))
		err = -EIO;
	if (rmdir(dir) && errno != ENOENT)
		log_warn("pin folder not removed", "path=%s err=\"%s\"", dir, strerror(errno));
	log_info("cleaned up", "pin_dir=%s interfaces=%zu", dir, cfg->n_ifaces);
	return err;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_CHECK = 256, OPT_BPFFS, OPT_CLEANUP, OPT_LEVEL, OPT_FORMAT, OPT_METRICS, OPT_BIRD };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, OPT_CHECK },
		{ "bird-config", required_argument, NULL, OPT_BIRD },
		{ "bpffs", required_argument, NULL, OPT_BPFFS },
		{ "metrics-listen", required_argument, NULL, OPT_METRICS },
		{ "cleanup", no_argument, NULL, OPT_CLEANUP },
		{ "log-level", required_argument, NULL, OPT_LEVEL },
		{ "log-format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	enum log_level level = LOG_INFO;
	bool json = false;
	int c;

	o->config = DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case OPT_CHECK:
			o->config = optarg;
			o->check_only = true;
			break;
		case OPT_BIRD:
			o->config = optarg;
			o->bird_config = true;
			break;
		case OPT_BPFFS:
			o->bpffs = optarg;
			break;
		case OPT_METRICS:
			if (strlen(optarg) >= sizeof(((struct flb_config *)0)->metrics_listen) ||
			    !strchr(optarg, ':')) {
				fprintf(stderr, "fluxlbd: bad --metrics-listen '%s' (host:port, [v6]:port or :port)\n", optarg);
				return 2;
			}
			o->metrics = optarg;
			break;
		case OPT_CLEANUP:
			o->cleanup = true;
			break;
		case OPT_LEVEL:
			if (log_parse_level(optarg, &level)) {
				fprintf(stderr, "fluxlbd: bad --log-level '%s' (error, warn, info, debug)\n", optarg);
				return 2;
			}
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "logfmt") && strcmp(optarg, "json")) {
				fprintf(stderr, "fluxlbd: bad --log-format '%s' (logfmt, json)\n", optarg);
				return 2;
			}
			json = !strcmp(optarg, "json");
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case 'V':
			printf("fluxlbd %s (abi v%d)\n", FLB_VERSION, FLB_ABI_VERSION);
			exit(0);
		default:
			fputs("Try 'fluxlbd --help'.\n", stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fluxlbd: unexpected argument '%s'\nTry 'fluxlbd --help'.\n", argv[optind]);
		return 2;
	}
	log_setup(level, json);
	return 0;
}

int main(int argc, char **argv)
{
	struct flb_config cfg = {};
	struct opts o = {};
	char dir[PATH_MAX];
	int rc, lock = -1;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	log_route_libs();
	if (load_config(o.config, &cfg, o.check_only || o.bird_config))
		return 1;
	if (o.bird_config) {
		char err[128];

		rc = announce_render_bird(&cfg, stdout, err, sizeof(err));
		if (rc)
			fprintf(stderr, "fluxlbd: %s: %s\n", o.config, err);
		config_free(&cfg);
		return rc ? 1 : 0;
	}
	if (o.check_only) {
		printf("%s: valid (%zu services)\n", o.config, cfg.n_services);
		config_free(&cfg);
		return 0;
	}
	rc = 3;
	if (pin_dir(&cfg, &o, dir, sizeof(dir)))
		goto out;
	if (o.cleanup) {
		lock = access(dir, F_OK) ? -ENOENT : lock_pins(dir);
		if (lock == -EBUSY)
			rc = 1;
		else
			rc = cleanup(&cfg, dir) ? 3 : 0;
		goto out;
	}
	if (check_bpffs(dir))
		goto out;
	lock = lock_pins(dir);
	if (lock == -EBUSY)
		rc = 1;
	if (lock < 0)
		goto out;
	log_info("starting", "version=%s abi=v%d config=%s pin_dir=%s", FLB_VERSION,
		 FLB_ABI_VERSION, o.config, dir);
	check_other_abis(&cfg, &o);
	if (o.metrics)
		snprintf(cfg.metrics_listen, sizeof(cfg.metrics_listen), "%s", o.metrics);
	{
		struct daemon_opts dopts = { .config_path = o.config, .pin_dir = dir };

		rc = daemon_run(&dopts, &cfg) ? 3 : 0;
	}
out:
	if (lock >= 0)
		close(lock);
	config_free(&cfg);
	return rc;
}
