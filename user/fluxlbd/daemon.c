// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The main loop (see daemon.h). Reloads come from SIGHUP or from inotify on
 * the config file's folder (editors and ConfigMap updates replace the file
 * by rename, so the folder is watched, not the file), debounced by 50 ms;
 * both only arm the reload timer, whose expiry is the one place a reload
 * runs. A file that does not parse, or a state that cannot be applied, is
 * rejected with a log line ("reload rejected", docs/operating.md) and a
 * counter; a deleted file is a warning and the same counter; the running
 * state keeps serving. SIGHUP also reads the maps back and repairs what
 * was changed outside (reconciler_resync()); an xdp_mode change re-attaches
 * the interfaces one by one.
 *
 * Health checks run on a thread of their own (health_main), so a long
 * apply never delays a check: that thread owns the schedule and the probes'
 * I/O, and when a backend crosses rise or fall it posts to an eventfd that
 * this loop watches (EV_HEALTH), which applies the new state as soon as
 * the apply in progress, if any, is done. Every call into health.c, from
 * either thread, holds d->hlock; a health_run() is short (non-blocking
 * I/O), so this thread never waits long for it.
 *
 * Announcing (announce.h): after every turn of the loop that changed the
 * draft (an apply, ready, a health verdict), the VIP routes are synced with
 * what is applied; SIGTERM withdraws them all first, says not ready, waits
 * announce.grace (a second signal cuts it short) and only then exits.
 *
 * Status: the exporter's thread reads d->st. This thread never writes it
 * field by field: the reconciler (rows, flow counts), the health checker
 * (health_publish) and this file (counters, ready) write the private draft
 * d->draft, through draft() which marks it changed, and publish_status()
 * copies a changed draft into d->st once per turn of the loop: one writer,
 * and the exporter never sees a half-updated state.
 */
#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <net/if.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "affinity.h"
#include "announce.h"
#include "clock.h"
#include "daemon.h"
#include "desired.h"
#include "exporter.h"
#include "flood_prefix.h"
#include "health.h"
#include "policy_maps.h"
#include "log.h"
#include "outlier_run.h"
#include "persist.h"
#include "pinned_maps.h"
#include "reconcile.h"
#include "source.h"
#include "status.h"
#include "iface_resolve.h"
#include "node_name.h"
#include "xdp_attach.h"
#include "node.h"

#define PROG_NAME "balancer"
#define TICK_MS 100
#define DEBOUNCE_MS 50

struct daemon {
	const struct daemon_opts *o;
	struct flb_config cfg;     /* the file as last loaded */
	struct flb_config eff;     /* what is applied: cfg + the registry's view */
	bool applied;              /* eff has been applied once */
	struct source *src;        /* NULL: backends come from the file */
	struct flb_exporter *exp;  /* NULL: no metrics.listen */
	struct src_view view;      /* the source's last view */
	struct flb_maps *m;
	struct persist *ps;        /* health and drain state kept across restarts */
	struct reconciler *rec;
	struct announcer *ann;     /* NULL: no announce section */
	struct node *node;         /* NULL: no node.pods (docs/pods.md) */
	struct health *hc;         /* under hlock: the health thread uses it too */
	pthread_mutex_t hlock;
	pthread_t hthread;
	bool hthread_started;
	int hev, hstop;            /* eventfds: a verdict changed; the thread must stop */
	struct flb_status st;      /* published: read by the exporter's thread */
	struct flb_status draft;   /* this thread's; copied into st by publish_status() */
	bool draft_changed;
	int ep, sfd, ifd, tfd, rfd;  /* rfd: one-shot timer, the one reload trigger */
	char file[NAME_MAX + 1];   /* basename of the config file */
	bool attach_pending;       /* first apply done late (registry), or an interface
				    * missing: attach and set ready on the next tick */
	bool iface_missing;        /* logged that an interface is missing */
	const char *reload_why;    /* NULL: no reload pending */
	uint64_t change_seen_ms;   /* when the pending change was noticed */
	unsigned ticks;
};

enum { EV_SIGNAL = 1, EV_INOTIFY, EV_TICK, EV_HEALTH, EV_SOURCE, EV_RELOAD };

static const char why_sighup[] = "SIGHUP";

static int go_ready(struct daemon *d);
static void count_load(struct daemon *d, bool ok);
static void follow_announce(struct daemon *d, const struct flb_announce_cfg *next);
static int start_exporter(struct daemon *d, const struct flb_config *cur,
			  const struct flb_config *next);

/* The status to write to (see the top of the file). */
static struct flb_status *draft(struct daemon *d)
{
	d->draft_changed = true;
	return &d->draft;
}

static void publish_status(struct daemon *d)
{
	if (d->draft_changed && !status_publish(&d->st, &d->draft))
		d->draft_changed = false;
}

static int watch(struct daemon *d, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Attaches to every interface of cfg in its xdp_mode, one after the other
 * (a mode change empties one hook at a time, see xdp_attach.c); why (may
 * be NULL) gets the interface that failed. */
static int attach_all(struct daemon *d, const struct flb_config *cfg, char *why, size_t len)
{
	for (size_t i = 0; i < cfg->n_ifaces; i++) {
		int err = xdp_attach(cfg->ifaces[i], maps_prog_fd(d->m), PROG_NAME,
				     cfg->xdp_mode == FLB_XDP_SKB ? FLB_ATTACH_SKB :
								    FLB_ATTACH_NATIVE,
				     d->o->pin_dir);
		if (err) {
			if (why)
				snprintf(why, len, "cannot attach to %s (%s mode): %s", cfg->ifaces[i],
					 cfg->xdp_mode == FLB_XDP_SKB ? "skb" : "native",
					 strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Interfaces dropped from the configuration lose the balancer. */
static void detach_removed(const struct flb_config *old, const struct flb_config *cur,
			   const char *pin_dir)
{
	for (size_t i = 0; i < old->n_ifaces; i++) {
		bool kept = false;

		for (size_t j = 0; j < cur->n_ifaces; j++)
			kept |= !strcmp(old->ifaces[i], cur->ifaces[j]);
		if (!kept && !xdp_detach(old->ifaces[i], PROG_NAME, pin_dir))
			log_info("detached from interface no longer configured", "iface=%s",
				 old->ifaces[i]);
	}
}

static int health_configure_locked(struct daemon *d, const struct flb_config *cfg)
{
	int err;

	pthread_mutex_lock(&d->hlock);
	err = health_configure(d->hc, cfg);
	pthread_mutex_unlock(&d->hlock);
	return err;
}

static void health_publish_locked(struct daemon *d)
{
	pthread_mutex_lock(&d->hlock);
	health_publish(d->hc, draft(d));
	pthread_mutex_unlock(&d->hlock);
}

/* The health thread: runs the checks on their schedule (a TICK_MS timer and
 * the probes' fd) until d->hstop is written. */
static void *health_main(void *arg)
{
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000L },
				  .it_value = { 0, TICK_MS * 1000000L } };
	struct daemon *d = arg;
	struct epoll_event ev = { .events = EPOLLIN }, got[4];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (ep < 0 || tfd < 0) {
		log_error("health checks stopped: cannot set up their loop", "err=\"%s\"",
			  strerror(errno));
		goto out;
	}
	timerfd_settime(tfd, 0, &its, NULL);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.fd = d->hstop;
	epoll_ctl(ep, EPOLL_CTL_ADD, d->hstop, &ev);
	ev.data.fd = health_fd(d->hc); /* fixed for the checker's life */
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	for (;;) {
		int n = epoll_wait(ep, got, 4, -1);
		uint64_t one = 1, exp;
		bool changed;

		if (n < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < n; i++) {
			if (got[i].data.fd == d->hstop)
				goto out;
			if (got[i].data.fd == tfd && read(tfd, &exp, sizeof(exp)) < 0)
				continue;
		}
		pthread_mutex_lock(&d->hlock);
		changed = health_run(d->hc, clock_ms());
		pthread_mutex_unlock(&d->hlock);
		if (changed && write(d->hev, &one, sizeof(one)) < 0)
			log_error("cannot post a health change", "err=\"%s\"", strerror(errno));
	}
out:
	if (tfd >= 0)
		close(tfd);
	if (ep >= 0)
		close(ep);
	return NULL;
}

/* Health as data: each backend of cfg carries what our checks say of it
 * (check_down, and the load factor of a load-weighted service: load_pm)
 * beside what the registry says (down), for the planner. */
static void fill_health(struct daemon *d, struct flb_config *cfg)
{
	for (size_t s = 0; s < cfg->n_services; s++) {
		struct flb_service_cfg *svc = &cfg->services[s];

		/* Locked per service, so that with thousands of targets
		 * (health_get is a linear search) the checks still run
		 * between services; a verdict that changes meanwhile is
		 * posted and applied next. */
		pthread_mutex_lock(&d->hlock);
		for (size_t b = 0; b < svc->n_backends; b++) {
			svc->backends[b].check_down = health_get(d->hc, svc->name,
								 &svc->backends[b].addr) ==
						      FLB_HEALTH_DOWN;
			svc->backends[b].load_pm = svc->load.from ?
				health_load_pm(d->hc, svc->name, &svc->backends[b].addr) : 0;
		}
		pthread_mutex_unlock(&d->hlock);
	}
	outlier_mark(cfg); /* passive outlier detection: ejected as data too */
}

static int apply(struct daemon *d, struct flb_config *cfg, const char *why)
{
	struct reconcile_report rep;
	uint64_t a, b;
	double secs;
	int err;

	a = clock_ns();
	fill_health(d, cfg);
	err = reconciler_apply(d->rec, cfg, &rep);
	if (!err)
		affinity_sync(d->m, cfg); /* sticky clients follow the tables just applied */
	if (!err)
		flood_prefix_sync(d->m, cfg); /* node.flood.prefix */
	if (!err && d->node)
		err = node_sync(d->node, cfg);
	b = clock_ns();
	secs = (b - a) / 1e9;
	/* The draft is this thread's alone: no lock to hold (status.h). */
	status_observe_reconcile(draft(d), secs);
	if (err)
		return err;
	pthread_mutex_lock(&d->hlock);
	health_publish(d->hc, draft(d));
	persist_save_health(d->ps, d->hc);
	pthread_mutex_unlock(&d->hlock);
	log_info("state applied",
		 "why=\"%s\" vips=%u backends=%u tables_built=%u vips_removed=%u draining=%u duration_ms=%.2f%s",
		 why, rep.vips, rep.backends, rep.tables_built, rep.vips_removed,
		 rep.backends_draining, secs * 1000, "");
	return 0;
}

/* Rebuilds the desired state from the file and the registry's view and
 * applies it. Until every registry service has been heard from, nothing
 * is applied (the pinned state keeps serving). */
static int refresh(struct daemon *d, const struct flb_config *cfg, const char *why)
{
	struct flb_config eff;
	struct desired_report rep = {};
	int err = desired_build_from(cfg, d->src ? &d->view : NULL, d->applied ? &d->eff : NULL, &eff, &rep);

	desired_count(&rep);

	if (err == -EAGAIN) {
		log_info("waiting for the registry before applying", "why=\"%s\"", why);
		return 0;
	}
	maps_set_chance_window(d->m, cfg->chance.enabled ? cfg->chance.window_s : 0);
	if (!err)
		err = health_configure_locked(d, &eff);
	if (!err)
		err = apply(d, &eff, why);
	if (err) {
		desired_free(&eff);
		if (d->applied) /* the checker follows what serves */
			health_configure_locked(d, &d->eff);
		return err;
	}
	if (d->applied)
		desired_free(&d->eff);
	d->eff = eff;
	d->applied = true;
	return 0;
}

static bool same_source(const struct flb_config *a, const struct flb_config *b)
{
	if (memcmp(&a->source, &b->source, sizeof(a->source)) || a->n_services != b->n_services)
		return false;
	for (size_t i = 0; i < a->n_services; i++)
		if (strcmp(a->services[i].source_service, b->services[i].source_service))
			return false;
	return true;
}

/* (Re)starts the registry source for cfg; its fd joins the loop. */
static int start_source(struct daemon *d, const struct flb_config *cfg)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EV_SOURCE };

	if (d->src) {
		epoll_ctl(d->ep, EPOLL_CTL_DEL, source_fd(d->src), NULL);
		source_stop(d->src);
		src_view_free(&d->view);
		d->src = NULL;
	}
	d->src = source_start(cfg);
	if (!d->src)
		return errno ? log_err(-errno, "cannot start the registry source", "err=\"%s\"",
				       strerror(errno)) : 0;
	draft(d)->has_source = true;
	return epoll_ctl(d->ep, EPOLL_CTL_ADD, source_fd(d->src), &ev) ? -errno : 0;
}

static void on_source(struct daemon *d)
{
	struct src_view v;
	bool first = !d->applied;

	if (source_view(d->src, &v))
		return;
	draft(d)->source_up = v.up;
	draft(d)->source_updates++;
	if (v.version == d->view.version && d->view.svc) {
		src_view_free(&v);
		return; /* reachability only */
	}
	src_view_free(&d->view);
	d->view = v;
	if (refresh(d, &d->cfg, "registry changed")) {
		log_error("registry update failed to apply; the running state keeps serving", NULL);
		count_load(d, false);
	}
	if (first && d->applied && !d->draft.ready)
		d->attach_pending = true;
}

/* One load of the configuration (the start's, a reload, a registry update)
 * was applied or refused: the counters and the last outcome the exporter
 * shows (fluxlb_config_last_reload_successful and its timestamp). */
static void count_load(struct daemon *d, bool ok)
{
	struct flb_status *st = draft(d);
	struct timespec now;

	st->last_reload_ok = ok;
	if (!ok) {
		st->reloads_rejected++;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	st->last_reload_success_s = now.tv_sec + now.tv_nsec / 1e9;
}

/* A reload that cannot happen: one log line (the wording docs/operating.md
 * quotes), the counter; and when SIGHUP found outside changes in the maps,
 * the running state is written over them anyway. */
static void reject(struct daemon *d, const char *why, const char *reason, int repairs)
{
	char q[600];

	log_error("reload rejected; the running state keeps serving", "why=\"%s\" reason=%s", why,
		  log_quote(q, sizeof(q), reason));
	count_load(d, false);
	if (repairs > 0 && d->applied && !apply(d, &d->eff, "repair"))
		log_info("maps repaired with the running state", "differences=%d", repairs);
}

static void reload(struct daemon *d, const char *why)
{
	struct flb_config next = {};
	char err[512];
	uint64_t seen = d->change_seen_ms;
	int repairs = 0;

	d->reload_why = NULL;
	d->change_seen_ms = 0;
	/* SIGHUP also repairs: what differs in the maps from what we wrote is
	 * taken as what they hold, so the apply below writes over it. */
	if (why == why_sighup)
		repairs = reconciler_resync(d->rec);
	if (access(d->o->config_path, F_OK) && errno == ENOENT) {
		log_warn("configuration file deleted; the running state keeps serving",
			 "why=\"%s\" path=%s", why, d->o->config_path);
		count_load(d, false);
		if (repairs > 0 && d->applied)
			apply(d, &d->eff, "repair");
		return;
	}
	if (config_load_file(d->o->config_path, &next, err, sizeof(err))) {
		reject(d, why, err, repairs);
		return;
	}
	if (strcmp(next.pods.iface, d->cfg.pods.iface))
		log_warn("node.pods.interface changed; the node role keeps its interface until the next start",
			 "running=\"%s\" configured=\"%s\"", d->cfg.pods.iface, next.pods.iface);
	if (!same_source(&d->cfg, &next) && start_source(d, &next)) {
		start_source(d, &d->cfg);
		config_free(&next);
		reject(d, why, "cannot start the registry source", repairs);
		return;
	}
	err[0] = 0;
	if (attach_all(d, &next, err, sizeof(err)) || refresh(d, &next, why)) {
		/* Interfaces already moved to a new xdp_mode go back. */
		if (next.xdp_mode != d->cfg.xdp_mode)
			attach_all(d, &d->cfg, NULL, 0);
		if (d->applied)
			health_configure_locked(d, &d->eff);
		config_free(&next);
		reject(d, why, err[0] ? err : "cannot apply the desired state (see the error above)",
		       repairs);
		return;
	}
	if (start_exporter(d, &d->cfg, &next))
		log_error("metrics exporter not restarted", "listen=%s", next.metrics_listen);
	detach_removed(&d->cfg, &next, d->o->pin_dir);
	follow_announce(d, &next.announce);
	config_free(&d->cfg);
	d->cfg = next;
	draft(d)->reloads_ok++;
	count_load(d, true);
	if (seen)
		log_info("reloaded", "why=\"%s\" change_to_maps_ms=%llu", why,
			 (unsigned long long)(clock_ms() - seen));
}

/* The one way to ask for a reload: arm the reload timer, whose expiry
 * (EV_RELOAD) runs it. A change of the file re-arms it DEBOUNCE_MS ahead
 * (editors write in several steps: reload after the last); SIGHUP asks for
 * now (1 ns), and a change seen while that is pending does not delay it. */
static void request_reload(struct daemon *d, const char *why)
{
	bool now = why == why_sighup;
	struct itimerspec its = { .it_value = { 0, now ? 1 : DEBOUNCE_MS * 1000000L } };

	if (now)
		d->change_seen_ms = clock_ms();
	else if (!d->change_seen_ms)
		d->change_seen_ms = clock_ms();
	if (!now && d->reload_why == why_sighup)
		return;
	d->reload_why = why;
	timerfd_settime(d->rfd, 0, &its, NULL);
}

static void on_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(d->ifd, buf, sizeof(buf));

	for (char *p = buf; n > 0 && p < buf + n;) {
		struct inotify_event *e = (struct inotify_event *)p;

		if (e->len && !strcmp(e->name, d->file))
			request_reload(d, e->mask & (IN_DELETE | IN_MOVED_FROM) ? "file deleted" :
										  "file changed");
		/* A mounted ConfigMap: the file is a link through "..data", and
		 * the kubelet swaps a new "..data" in by rename; the file's own
		 * name sees no event. */
		else if (e->len && !strcmp(e->name, "..data") && (e->mask & (IN_MOVED_TO | IN_CREATE)))
			request_reload(d, "file changed");
		p += sizeof(*e) + e->len;
	}
}

static void on_tick(struct daemon *d)
{
	uint64_t exp;

	if (read(d->tfd, &exp, sizeof(exp)) < 0)
		return;
	if (d->attach_pending)
		go_ready(d);
	if (++d->ticks % (1000 / TICK_MS))
		return;
	reconciler_drain_tick(d->rec, d->cfg.drain_timeout_ms);
	if (d->applied && outlier_tick(d->m, &d->eff, clock_ns() / 1000000))
		apply(d, &d->eff, "outlier detection");
	policy_correct(d->m, clock_ns()); /* active-flow counts (policy_maps.h) */
	node_tick(d->node);
	health_publish_locked(d);
}

/* The announcer follows the announce section: started, stopped (its
 * routes withdrawn) or moved to another table. Never fatal: without it the
 * node serves but is not announced, and says so. */
static void follow_announce(struct daemon *d, const struct flb_announce_cfg *next)
{
	if (d->ann && next->enabled && announcer_table(d->ann) == next->table)
		return;
	if (d->ann) {
		announcer_withdraw_all(d->ann, draft(d), next->enabled ? "announce table changed" :
									  "announce turned off");
		announcer_free(d->ann);
		d->ann = NULL;
		draft(d)->announce_on = false;
	}
	if (next->enabled) {
		d->ann = announcer_new(next);
		draft(d)->announce_on = true; /* errors show in fluxlb_announce_errors_total */
		if (!d->ann)
			draft(d)->announce_errors++;
	}
}

static void sync_announce(struct daemon *d)
{
	if (d->ann && d->draft_changed)
		announcer_sync(d->ann, d->applied ? &d->eff : NULL, draft(d));
}

/* SIGTERM with announcing: withdraw, not ready, then the grace, so the
 * router moves the flows before this node stops answering for them. */
static void withdraw_and_wait(struct daemon *d, const char *sig)
{
	struct pollfd p = { .fd = d->sfd, .events = POLLIN };
	uint32_t grace = d->cfg.announce.grace_ms;

	if (!d->ann)
		return;
	draft(d)->ready = false;
	announcer_withdraw_all(d->ann, draft(d), "shutting down");
	publish_status(d);
	log_info("VIPs withdrawn; waiting the grace before stopping", "signal=%s grace_ms=%u", sig,
		 grace);
	if (grace && poll(&p, 1, (int)grace) > 0)
		log_info("second signal: grace cut short", NULL);
}

/* The exporter follows metrics.listen; a failure to listen is logged and
 * counted as a rejected change, never fatal to forwarding. */
static int start_exporter(struct daemon *d, const struct flb_config *cur,
			  const struct flb_config *next)
{
	char node[256];

	if (d->exp && cur && !strcmp(cur->metrics_listen, next->metrics_listen)) {
		exporter_set_node(d->exp, next->metrics_node_label ? node_name(node, sizeof(node)) : "");
		return 0;
	}
	exporter_stop(d->exp);
	d->exp = NULL;
	if (!next->metrics_listen[0])
		return 0;
	d->exp = exporter_start(next->metrics_listen, d->o->pin_dir, &d->st);
	if (d->exp)
		exporter_set_node(d->exp, next->metrics_node_label ? node_name(node, sizeof(node)) : "");
	return d->exp ? 0 : -errno;
}

/* After the first apply: attach and say ready. */
/* The first configured interface that does not exist, or NULL. */
static const char *missing_iface(const struct flb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_ifaces; i++)
		if (!if_nametoindex(cfg->ifaces[i]))
			return cfg->ifaces[i];
	return NULL;
}

/* Attaches and sets ready. An interface that does not exist (yet: a NIC
 * renamed or hot-plugged late, a node still booting) is no reason to exit
 * and be restarted in a loop: the daemon stays not ready (/ready answers
 * 503), retries on every tick, and says so once. */
static int go_ready(struct daemon *d)
{
	const char *gone;
	int err;

	/* "auto" and globs: what the node has now (iface_resolve.h). */
	iface_resolve(&d->cfg);
	gone = missing_iface(&d->cfg);
	if (gone) {
		if (!d->iface_missing)
			log_warn("interface missing; not ready, retrying until it appears",
				 "iface=%s", gone);
		d->iface_missing = true;
		d->attach_pending = true;
		return 0;
	}
	err = attach_all(d, &d->cfg, NULL, 0);
	d->attach_pending = false;
	if (err)
		return err;
	if (d->iface_missing)
		log_info("every interface is there; attached", "interfaces=%zu", d->cfg.n_ifaces);
	d->iface_missing = false;
	draft(d)->ready = true;
	log_info("ready", "pin_dir=%s interfaces=%zu services=%zu", d->o->pin_dir,
		 d->cfg.n_ifaces, d->cfg.n_services);
	return 0;
}

static int setup_fds(struct daemon *d)
{
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000L },
				  .it_value = { 0, TICK_MS * 1000000L } };
	char dir[PATH_MAX], base[PATH_MAX];
	sigset_t mask;
	int err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	d->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->rfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->ep < 0 || d->sfd < 0 || d->ifd < 0 || d->tfd < 0 || d->rfd < 0)
		return log_err(-errno, "cannot set up the event loop", "err=\"%s\"", strerror(errno));
	snprintf(dir, sizeof(dir), "%s", d->o->config_path);
	snprintf(base, sizeof(base), "%s", d->o->config_path);
	snprintf(d->file, sizeof(d->file), "%s", basename(base));
	if (inotify_add_watch(d->ifd, dirname(dir), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
						     IN_MOVED_FROM) < 0)
		log_warn("cannot watch the config file; reload with SIGHUP", "path=%s err=\"%s\"",
			 d->o->config_path, strerror(errno));
	timerfd_settime(d->tfd, 0, &its, NULL);
	err = watch(d, d->sfd, EV_SIGNAL);
	if (!err)
		err = watch(d, d->ifd, EV_INOTIFY);
	if (!err)
		err = watch(d, d->tfd, EV_TICK);
	if (!err)
		err = watch(d, d->rfd, EV_RELOAD);
	if (!err)
		err = watch(d, d->hev, EV_HEALTH);
	return err;
}

static int loop(struct daemon *d)
{
	struct epoll_event ev[8];

	for (;;) {
		int n = epoll_wait(d->ep, ev, 8, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return log_err(-errno, "epoll_wait failed", "err=\"%s\"", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct signalfd_siginfo si;

			switch (ev[i].data.u32) {
			case EV_SIGNAL:
				if (read(d->sfd, &si, sizeof(si)) != sizeof(si))
					break;
				if (si.ssi_signo == SIGHUP) {
					request_reload(d, why_sighup);
					break;
				}
				withdraw_and_wait(d, strsignal(si.ssi_signo));
				log_info("stopping; the dataplane keeps forwarding (fluxlbd --cleanup removes it)",
					 "signal=%s", strsignal(si.ssi_signo));
				return 0;
			case EV_INOTIFY:
				on_inotify(d);
				break;
			case EV_TICK:
				on_tick(d);
				break;
			case EV_HEALTH: {
				uint64_t posted;

				/* One apply for every verdict posted meanwhile. */
				if (read(d->hev, &posted, sizeof(posted)) > 0 && d->applied)
					apply(d, &d->eff, "health changed");
				break;
			}
			case EV_SOURCE:
				on_source(d);
				break;
			case EV_RELOAD: {
				uint64_t exp;

				if (read(d->rfd, &exp, sizeof(exp)) > 0 && d->reload_why)
					reload(d, d->reload_why);
				break;
			}
			}
		}
		sync_announce(d);
		publish_status(d);
	}
}

int daemon_run(const struct daemon_opts *o, struct flb_config *cfg)
{
	struct daemon *d = calloc(1, sizeof(*d));
	int err = -ENOMEM;

	if (!d) {
		config_free(cfg);
		return -ENOMEM;
	}
	d->o = o;
	d->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	d->ep = d->sfd = d->ifd = d->tfd = d->rfd = -1;
	status_init(&d->st);
	status_init(&d->draft);
	pthread_mutex_init(&d->hlock, NULL);
	d->hev = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->hstop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->hc = health_new();
	d->m = maps_open(o->pin_dir);
	if (!d->hc || !d->m || d->hev < 0 || d->hstop < 0)
		goto out;
	d->rec = reconciler_new(d->m, &d->draft);
	if (!d->rec)
		goto out;
	if (d->cfg.pods.iface[0]) {
		d->node = node_open(&d->cfg, o->pin_dir);
		if (!d->node) {
			err = -errno;
			goto out;
		}
	} else if (o->pin_dir) {
		node_tail_clear(o->pin_dir); /* a former node role's decap leaves the balancer */
	}
	d->ps = persist_open(o->pin_dir); /* NULL: logged, state starts fresh */
	persist_load_health(d->ps, d->hc);
	reconciler_set_persist(d->rec, d->ps);
	err = setup_fds(d);
	if (!err)
		err = start_exporter(d, NULL, &d->cfg);
	if (!err)
		follow_announce(d, &d->cfg.announce);
	if (!err)
		err = start_source(d, &d->cfg);
	if (!err)
		err = refresh(d, &d->cfg, "start");
	if (!err)
		count_load(d, true);
	if (!err) {
		err = -pthread_create(&d->hthread, NULL, health_main, d);
		d->hthread_started = !err;
		if (err)
			log_error("cannot start the health checks", "err=\"%s\"", strerror(-err));
	}
	if (!err && d->applied)
		err = go_ready(d);
	sync_announce(d);
	publish_status(d);
	if (err)
		goto out;
	err = loop(d);
out:
	if (d->hthread_started) {
		uint64_t one = 1;

		if (write(d->hstop, &one, sizeof(one)) != sizeof(one))
			log_error("cannot stop the health checks", "err=\"%s\"", strerror(errno));
		else
			pthread_join(d->hthread, NULL);
	}
	announcer_free(d->ann);
	exporter_stop(d->exp);
	source_stop(d->src);
	src_view_free(&d->view);
	if (d->applied)
		desired_free(&d->eff);
	reconciler_free(d->rec);
	node_close(d->node);
	persist_close(d->ps);
	health_free(d->hc);
	maps_close(d->m);
	for (int *fd = &d->ep; fd <= &d->rfd; fd++)
		if (*fd >= 0)
			close(*fd);
	if (d->hev >= 0)
		close(d->hev);
	if (d->hstop >= 0)
		close(d->hstop);
	pthread_mutex_destroy(&d->hlock);
	config_free(&d->cfg);
	status_destroy(&d->st);
	status_destroy(&d->draft);
	free(d);
	return err;
}
