// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fluxlb vip list [VIP]`: each VIP with its id, the size of its live
 * Maglev table, how many backends hold slots, and the table's fingerprint
 * computed here from the table as the dataplane reads it (so it can be
 * compared with the daemon's "table updated ... fingerprint=" log line and
 * across nodes).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_cmds.h"
#include "cli_common.h"
#include "cli_out.h"
#include "vip_name.h"

static uint32_t count_backends(const uint32_t *ids, uint32_t size)
{
	uint8_t *seen = calloc(FLB_MAX_BACKENDS, 1);
	uint32_t n = 0;

	if (!seen)
		return 0;
	for (uint32_t i = 0; i < size; i++)
		if (ids[i] && ids[i] < FLB_MAX_BACKENDS && !seen[ids[i]]) {
			seen[ids[i]] = 1;
			n++;
		}
	free(seen);
	return n;
}

static int print_vip(const struct flb_maps *m, const struct flb_vip_key *k, uint32_t id,
		     const struct flb_backend *be)
{
	char name[VIP_NAME_STRLEN], fp_hex[20];
	uint32_t *ids = NULL, size = 0;
	uint64_t fp = 0;
	int err;

	vip_name(k, name, sizeof(name));
	err = maps_get_ring(m, id, &ids, &size);
	if (!err)
		err = cli_table_fingerprint(ids, size, be, ntohs(k->port), &fp);
	else if (err == -ENOENT)
		err = 0; /* no table (yet): size 0, no fingerprint */
	if (err) {
		free(ids);
		return err;
	}
	snprintf(fp_hex, sizeof(fp_hex), "%016llx", (unsigned long long)fp);
	cli_obj_open(NULL);
	cli_str("vip", "%-22s", name);
	cli_u64("id", " %5llu", id);
	cli_u64("table_size", " %8llu", size);
	cli_u64("backends", " %8llu", count_backends(ids, size));
	cli_str("fingerprint", "  %s\n", size ? fp_hex : NULL);
	cli_obj_close();
	free(ids);
	return 0;
}

static int cmd_vip_list(int argc, char **argv)
{
	struct flb_backend *be = NULL;
	struct cli_vips *v = NULL;
	struct cli_vip_sel sel;
	struct flb_maps *m;
	int rc = CLI_FAIL, err = 0;

	if (argc > 2)
		return cli_usage(&cli_cmd_vip_list, "unexpected argument '%s'", argv[2]);
	if (argc == 2 && cli_parse_vip_sel(argv[1], &sel))
		return cli_usage(&cli_cmd_vip_list, "bad VIP '%s'", argv[1]);
	m = cli_open_maps();
	if (!m)
		return CLI_FAIL;
	v = cli_read_vips(m);
	be = cli_read_backends(m);
	if (!v || !be) {
		cli_fail(-ENOMEM, "cannot read the maps");
		goto out;
	}
	cli_obj_open(NULL);
	cli_text("%-22s %5s %8s %8s  %s\n", "VIP", "ID", "TABLE", "BACKENDS", "FINGERPRINT");
	cli_arr_open("vips");
	for (int i = 0; i < v->n && !err; i++)
		if (argc < 2 || cli_vip_sel_match(&sel, &v->keys[i]))
			err = print_vip(m, &v->keys[i], v->vips[i].id, be);
	cli_arr_close();
	cli_obj_close();
	if (err)
		cli_fail(err, "cannot read a Maglev table");
	else
		rc = CLI_OK;
out:
	free(be);
	free(v);
	maps_close(m);
	return rc;
}

const struct cli_cmd cli_cmd_vip_list = {
	"vip list", cmd_vip_list, "VIPs with their live table size and fingerprint",
	"Usage: fluxlb [-j] vip list [VIP]\n"
	"\n"
	"Every VIP (or those matching VIP: ADDR[:PORT][/tcp|/udp], IPv6 as\n"
	"[ADDR]:PORT) with its id, the size M of its live Maglev table, how many\n"
	"backends hold slots in it, and the table's fingerprint: maglev_fingerprint\n"
	"of the table read from the map, each backend named ADDRESS:VIP_PORT. It\n"
	"equals the fingerprint fluxlbd logs (\"table updated ... fingerprint=\")\n"
	"and the one of every node built from the same configuration.\n"
	"JSON: {\"vips\": [{vip, id, table_size, backends, fingerprint}]}\n"
	"(fingerprint: 16 hex digits, null when the VIP has no table).\n",
};
