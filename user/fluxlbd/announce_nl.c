// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rtnetlink for the VIP routes (see announce_nl.h): one request, one
 * answer (an ack or a dump), on a socket only this thread uses. Table ids
 * above 255 do not fit rtm_table, so RTA_TABLE always carries the id.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "announce_nl.h"

struct req {
	struct nlmsghdr nh;
	struct rtmsg rt;
	char attrs[64];
};

static void put_attr(struct req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

int nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Waits for the answer to seq: 0 for an ack, -errno for an error. */
static int recv_ack(int fd, uint32_t seq)
{
	char buf[4096] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
				return -EPROTO;
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
}

static int route(int fd, int type, int flags, uint32_t table, const struct flb_addr *a)
{
	static uint32_t seq;
	struct req r = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)), .nlmsg_type = type,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags, .nlmsg_seq = ++seq },
		.rt = { .rtm_family = a->family, .rtm_dst_len = a->family == AF_INET ? 32 : 128,
			.rtm_table = RT_TABLE_UNSPEC, .rtm_protocol = FLB_RTPROT,
			.rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_BLACKHOLE },
	};

	if (a->family != AF_INET && a->family != AF_INET6)
		return -EAFNOSUPPORT;
	put_attr(&r, RTA_DST, a->bytes, a->family == AF_INET ? 4 : 16);
	put_attr(&r, RTA_TABLE, &table, sizeof(table));
	if (send(fd, &r, r.nh.nlmsg_len, 0) < 0)
		return -errno;
	return recv_ack(fd, r.nh.nlmsg_seq);
}

int nl_route_add(int fd, uint32_t table, const struct flb_addr *a)
{
	return route(fd, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, table, a);
}

int nl_route_del(int fd, uint32_t table, const struct flb_addr *a)
{
	int err = route(fd, RTM_DELROUTE, 0, table, a);

	return err == -ESRCH || err == -ENOENT ? 0 : err;
}

/* One route of a dump: kept when it is one of ours in table. */
static void dump_one(struct nlmsghdr *h, uint32_t table, struct flb_addr *out, size_t max,
		     size_t *n)
{
	struct rtmsg *rt = NLMSG_DATA(h);
	int len = RTM_PAYLOAD(h);
	struct flb_addr a = { .family = rt->rtm_family };
	uint32_t t = rt->rtm_table;
	bool dst = false;

	if (rt->rtm_protocol != FLB_RTPROT || (a.family != AF_INET && a.family != AF_INET6) ||
	    rt->rtm_dst_len != (a.family == AF_INET ? 32 : 128))
		return;
	for (struct rtattr *at = RTM_RTA(rt); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
		if (at->rta_type == RTA_TABLE && RTA_PAYLOAD(at) == sizeof(t))
			memcpy(&t, RTA_DATA(at), sizeof(t));
		if (at->rta_type == RTA_DST && RTA_PAYLOAD(at) == (a.family == AF_INET ? 4u : 16u)) {
			memcpy(a.bytes, RTA_DATA(at), RTA_PAYLOAD(at));
			dst = true;
		}
	}
	if (t == table && dst && *n < max)
		out[(*n)++] = a;
}

int nl_route_dump(int fd, uint32_t table, struct flb_addr *out, size_t max, size_t *n)
{
	static uint32_t seq = 1u << 31;
	struct req r = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)), .nlmsg_type = RTM_GETROUTE,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = ++seq },
		.rt = { .rtm_family = AF_UNSPEC },
	};
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));

	*n = 0;
	if (send(fd, &r, r.nh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != r.nh.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr)) ?
					       ((struct nlmsgerr *)NLMSG_DATA(h))->error : -EPROTO;
			if (h->nlmsg_type == RTM_NEWROUTE && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg)))
				dump_one(h, table, out, max, n);
		}
	}
}
