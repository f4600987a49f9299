// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The main loop (see daemon.h). Reloads come from SIGHUP or from inotify on
 * the config file's folder (editors and ConfigMap updates replace the file
 * by rename, so the folder is watched, not the file), debounced by 100 ms.
 * A file that does not parse, or a state that cannot be applied, is
 * rejected with a log line and a counter; the running state keeps serving.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "health.h"
#include "log.h"
#include "maps.h"
#include "reconcile.h"
#include "status.h"
#include "xdp_attach.h"

#define PROG_NAME "balancer"
#define TICK_MS 100
#define DEBOUNCE_MS 100

struct daemon {
	const struct daemon_opts *o;
	struct flb_config cfg;
	struct flb_maps *m;
	struct reconciler *rec;
	struct health *hc;
	struct flb_status st;
	int ep, sfd, ifd, tfd;
	char file[NAME_MAX + 1];   /* basename of the config file */
	uint64_t reload_at_ms;     /* 0: no reload pending */
	uint64_t change_seen_ms;   /* when the pending change was noticed */
	unsigned ticks;
};

enum { EV_SIGNAL = 1, EV_INOTIFY, EV_TICK, EV_HEALTH };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int watch(struct daemon *d, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int attach_all(struct daemon *d, const struct flb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_ifaces; i++) {
		int err = xdp_attach(cfg->ifaces[i], maps_prog_fd(d->m), PROG_NAME,
				     cfg->xdp_mode == FLB_XDP_SKB ? FLB_ATTACH_SKB :
								    FLB_ATTACH_NATIVE);
		if (err)
			return err;
	}
	return 0;
}

/* Interfaces dropped from the configuration lose the balancer. */
static void detach_removed(const struct flb_config *old, const struct flb_config *cur)
{
	for (size_t i = 0; i < old->n_ifaces; i++) {
		bool kept = false;

		for (size_t j = 0; j < cur->n_ifaces; j++)
			kept |= !strcmp(old->ifaces[i], cur->ifaces[j]);
		if (!kept && !xdp_detach(old->ifaces[i], PROG_NAME))
			log_info("detached from interface no longer configured", "iface=%s",
				 old->ifaces[i]);
	}
}

static int apply(struct daemon *d, const struct flb_config *cfg, const char *why)
{
	struct reconcile_report rep;
	uint64_t t0 = now_ms();
	struct timespec a, b;
	double secs;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &a);
	err = reconciler_apply(d->rec, cfg, health_get, d->hc, &rep);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	pthread_mutex_lock(&d->st.lock);
	status_observe_reconcile(&d->st, secs);
	pthread_mutex_unlock(&d->st.lock);
	if (err)
		return err;
	health_publish(d->hc, &d->st);
	log_info("state applied",
		 "why=%s vips=%u backends=%u tables_built=%u vips_removed=%u draining=%u duration_ms=%.2f%s",
		 why, rep.vips, rep.backends, rep.tables_built, rep.vips_removed,
		 rep.backends_draining, secs * 1000, "");
	(void)t0;
	return 0;
}

static void reload(struct daemon *d, const char *why)
{
	struct flb_config next = {};
	char err[512];
	uint64_t seen = d->change_seen_ms;

	d->reload_at_ms = d->change_seen_ms = 0;
	if (config_load_file(d->o->config_path, &next, err, sizeof(err))) {
		for (char *c = err; *c; c++)
			if (*c == '"')
				*c = '\'';
		log_error("reload rejected; the running state keeps serving", "why=%s reason=\"%s\"",
			  why, err);
		pthread_mutex_lock(&d->st.lock);
		d->st.reloads_rejected++;
		pthread_mutex_unlock(&d->st.lock);
		return;
	}
	if (health_configure(d->hc, &next) || attach_all(d, &next) || apply(d, &next, why)) {
		log_error("reload failed to apply; the running state keeps serving", "why=%s", why);
		health_configure(d->hc, &d->cfg);
		pthread_mutex_lock(&d->st.lock);
		d->st.reloads_rejected++;
		pthread_mutex_unlock(&d->st.lock);
		config_free(&next);
		return;
	}
	detach_removed(&d->cfg, &next);
	config_free(&d->cfg);
	d->cfg = next;
	pthread_mutex_lock(&d->st.lock);
	d->st.reloads_ok++;
	pthread_mutex_unlock(&d->st.lock);
	if (seen)
		log_info("reloaded", "why=%s change_to_maps_ms=%llu", why,
			 (unsigned long long)(now_ms() - seen));
}

static void on_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(d->ifd, buf, sizeof(buf));

	for (char *p = buf; n > 0 && p < buf + n;) {
		struct inotify_event *e = (struct inotify_event *)p;

		if (e->len && !strcmp(e->name, d->file)) {
			if (!d->change_seen_ms)
				d->change_seen_ms = now_ms();
			d->reload_at_ms = now_ms() + DEBOUNCE_MS;
		}
		p += sizeof(*e) + e->len;
	}
}

static void on_tick(struct daemon *d)
{
	uint64_t exp, now = now_ms();

	if (read(d->tfd, &exp, sizeof(exp)) < 0)
		return;
	if (d->reload_at_ms && now >= d->reload_at_ms)
		reload(d, "file changed");
	if (health_run(d->hc, now))
		apply(d, &d->cfg, "health changed");
	if (++d->ticks % (1000 / TICK_MS))
		return;
	reconciler_drain_tick(d->rec, d->cfg.drain_timeout_ms);
	health_publish(d->hc, &d->st);
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
	if (d->ep < 0 || d->sfd < 0 || d->ifd < 0 || d->tfd < 0)
		return log_err(-errno, "cannot set up the event loop", "err=\"%s\"", strerror(errno));
	snprintf(dir, sizeof(dir), "%s", d->o->config_path);
	snprintf(base, sizeof(base), "%s", d->o->config_path);
	snprintf(d->file, sizeof(d->file), "%s", basename(base));
	if (inotify_add_watch(d->ifd, dirname(dir), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0)
		log_warn("cannot watch the config file; reload with SIGHUP", "path=%s err=\"%s\"",
			 d->o->config_path, strerror(errno));
	timerfd_settime(d->tfd, 0, &its, NULL);
	err = watch(d, d->sfd, EV_SIGNAL);
	if (!err)
		err = watch(d, d->ifd, EV_INOTIFY);
	if (!err)
		err = watch(d, d->tfd, EV_TICK);
	if (!err)
		err = watch(d, health_fd(d->hc), EV_HEALTH);
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
					d->change_seen_ms = now_ms();
					reload(d, "SIGHUP");
					break;
				}
				log_info("stopping; the dataplane keeps forwarding (fluxlbd --cleanup removes it)",
					 "signal=%s", strsignal(si.ssi_signo));
				return 0;
			case EV_INOTIFY:
				on_inotify(d);
				break;
			case EV_TICK:
				on_tick(d);
				break;
			case EV_HEALTH:
				if (health_run(d->hc, now_ms()))
					apply(d, &d->cfg, "health changed");
				break;
			}
		}
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
	d->ep = d->sfd = d->ifd = d->tfd = -1;
	status_init(&d->st);
	d->hc = health_new();
	d->m = maps_open(o->pin_dir);
	if (!d->hc || !d->m)
		goto out;
	d->rec = reconciler_new(d->m, &d->st);
	if (!d->rec)
		goto out;
	err = health_configure(d->hc, &d->cfg);
	if (!err)
		err = setup_fds(d);
	if (!err)
		err = apply(d, &d->cfg, "start");
	if (!err)
		err = attach_all(d, &d->cfg);
	if (err)
		goto out;
	pthread_mutex_lock(&d->st.lock);
	d->st.ready = true;
	pthread_mutex_unlock(&d->st.lock);
	log_info("ready", "pin_dir=%s interfaces=%zu services=%zu", o->pin_dir, d->cfg.n_ifaces,
		 d->cfg.n_services);
	err = loop(d);
out:
	reconciler_free(d->rec);
	health_free(d->hc);
	maps_close(d->m);
	for (int *fd = &d->ep; fd <= &d->tfd; fd++)
		if (*fd >= 0)
			close(*fd);
	config_free(&d->cfg);
	status_destroy(&d->st);
	free(d);
	return err;
}
