/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The daemon's main loop: one epoll set for signals, the config file's
 * inotify watch, the reload timer, a 100 ms tick (drain bookkeeping every
 * second) and the health thread's "a verdict changed" eventfd; the health
 * checks themselves run on their own thread, on schedule whatever an apply
 * costs. Everything that changes the maps goes through the reconciler on
 * this thread, and
 * the status the exporter reads is written from this thread only (see
 * daemon.c and status.h).
 */
#ifndef FLB_DAEMON_H
#define FLB_DAEMON_H

#include "config.h"

struct daemon_opts {
	const char *config_path;
	const char *pin_dir;     /* <bpffs>/v<ABI> */
};

/* Runs until SIGTERM/SIGINT. cfg is the loaded configuration; the daemon
 * takes it over (and frees it). Returns 0 or -errno. */
int daemon_run(const struct daemon_opts *o, struct flb_config *cfg);

#endif
