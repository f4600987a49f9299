// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fluxlb, the operator's CLI. Reads the pinned maps directly, so it works
 * while the daemon is down, and manages the decap program on backend hosts.
 * This file holds the global options and the command table; each command
 * lives with its --help text in cli_<topic>.c. -j prints JSON (errors
 * too, on stdout).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli_cmds.h"
#include "cli_common.h"
#include "cli_out.h"
#include "flb_version.h"
#include "log.h"

static const struct cli_cmd *const commands[] = {
	&cli_cmd_status,
	&cli_cmd_stats,
	&cli_cmd_vip_list,
	&cli_cmd_backend_list,
	&cli_cmd_tree,
	&cli_cmd_flow_list,
	&cli_cmd_which,
	&cli_cmd_decap_attach,
	&cli_cmd_decap_detach,
	&cli_cmd_decap_stats,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char exit_status[] =
	"\n"
	"Exit status: 0 success, 1 failure (a message on stderr; with -j a JSON\n"
	"object {\"error\", \"errno\", \"detail\"} on stdout), 2 usage error (the\n"
	"same, with errno 22).\n";

static void usage(FILE *f)
{
	fputs("Usage: fluxlb [OPTIONS] COMMAND [ARGS]   (options may also follow the command)\n"
	      "       fluxlb help [COMMAND]\n"
	      "\n"
	      "Inspect the fluxlb balancer through its pinned maps (the daemon need not\n"
	      "run) and manage the decap program on backend hosts.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\n"
	      "Options:\n"
	      "  -j, --json       JSON output (errors too)\n"
	      "      --bpffs DIR  pin folder of the daemon (default " CLI_DEFAULT_BPFFS ")\n"
	      "      --skb        with decap attach: generic (skb) mode instead of native\n"
	      "  -V, --version    the version and the map ABI it reads\n"
	      "  -h, --help       this text (fluxlb COMMAND --help: the command's own)\n",
	      f);
	fputs(exit_status, f);
}

/* How many arguments name command c: 1 or 2 ("vip list"; a plain "vip"
 * reaches it too when nothing or an option follows), 0 when they name
 * another command, -1 when only the first word matches. */
static int match(const struct cli_cmd *c, int argc, char **argv)
{
	const char *space = strchr(c->name, ' ');
	size_t n = space ? (size_t)(space - c->name) : strlen(c->name);

	if (strlen(argv[0]) != n || strncmp(argv[0], c->name, n))
		return 0;
	if (!space)
		return 1;
	if (argc > 1 && !strcmp(argv[1], space + 1))
		return 2;
	return argc == 1 || argv[1][0] == '-' ? 1 : -1;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int run(const struct cli_cmd *c, int argc, char **argv)
{
	int rc;

	if (wants_help(argc, argv)) {
		fputs(c->usage, stdout);
		fputs(exit_status, stdout);
		return CLI_OK;
	}
	cli_out_begin(cli.json);
	rc = c->fn(argc, argv);
	if (rc == CLI_OK && cli_out_end())
		rc = CLI_FAIL;
	else if (rc != CLI_OK)
		cli_out_discard();
	return rc;
}

/* Global options may stand anywhere before "--", as in `fluxlb status -j`:
 * they are taken out of argv (which keeps the rest in order) before the
 * command is matched. Before the command, -h and unknown options are the
 * global usage's; after it, the command's own. Returns CLI_OK to go on,
 * or an exit status. */
static int take_global_options(int *argc, char **argv, const char **bpffs)
{
	bool seen_cmd = false, version = false;
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			cli.json = true;
		} else if (!strcmp(a, "--skb")) {
			cli.skb = true;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			version = true;
		} else if (!strncmp(a, "--bpffs=", 8)) {
			*bpffs = a + 8;
		} else if (!strcmp(a, "--bpffs")) {
			if (i + 1 >= *argc) {
				fputs("fluxlb: --bpffs needs a folder\nTry 'fluxlb --help'.\n", stderr);
				return CLI_USAGE;
			}
			*bpffs = argv[++i];
		} else if (!seen_cmd && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			usage(stdout);
			return -1;
		} else if (!seen_cmd && a[0] == '-' && a[1]) {
			fprintf(stderr, "fluxlb: unknown option '%s'\nTry 'fluxlb --help'.\n", a);
			return CLI_USAGE;
		} else {
			seen_cmd = true;
			argv[out++] = argv[i];
		}
	}
	*argc = out;
	argv[out] = NULL;
	if (version) {
		printf("fluxlb %s (abi v%d)\n", FLB_VERSION, FLB_ABI_VERSION);
		return -1;
	}
	return CLI_OK;
}

/* `fluxlb help [COMMAND...]`: the global usage, or the command's own. */
static int help(int argc, char **argv)
{
	if (argc < 2) {
		usage(stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (match(commands[i], argc - 1, argv + 1) > 0) {
			fputs(commands[i]->usage, stdout);
			fputs(exit_status, stdout);
			return CLI_OK;
		}
	}
	fprintf(stderr, "fluxlb: no command '%s'\nTry 'fluxlb --help'.\n", argv[1]);
	return CLI_USAGE;
}

int main(int argc, char **argv)
{
	const char *bpffs = CLI_DEFAULT_BPFFS;
	int rc = take_global_options(&argc, argv, &bpffs);

	if (rc)
		return rc < 0 ? CLI_OK : rc;
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[1], "help"))
		return help(argc - 1, argv + 1);
	log_setup(LOG_WARN, false);
	log_route_libs();
	if (snprintf(cli.pin_dir, sizeof(cli.pin_dir), "%s/v%d", bpffs, FLB_ABI_VERSION) >=
	    (int)sizeof(cli.pin_dir)) {
		fputs("fluxlb: --bpffs path too long\n", stderr);
		return CLI_USAGE;
	}
	argc -= 1;
	argv += 1;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		int words = match(commands[i], argc, argv);

		if (words > 0)
			return run(commands[i], argc - words + 1, argv + words - 1);
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (match(commands[i], argc, argv) < 0) {
			cli_out_begin(cli.json);
			return cli_usage(commands[i], "unknown subcommand '%s'", argv[1]);
		}
	}
	if (cli.json) {
		printf("{\"error\":\"unknown command\",\"errno\":22,\"detail\":");
		cli_json_string(stdout, argv[0]);
		printf("}\n");
	} else {
		fprintf(stderr, "fluxlb: unknown command '%s'\nTry 'fluxlb --help'.\n", argv[0]);
	}
	return CLI_USAGE;
}
