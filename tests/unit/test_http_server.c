// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* http_parse_listen(): the one listen-address syntax of fluxlbd's exporter
 * and fluxlb-registry. Serving is covered by the e2e tests. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "flb_test.h"
#include "http_server.h"

TEST(listen_addresses)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	bool any;

	ASSERT_OK(http_parse_listen("127.0.0.1:9100", &ss, &len, &any), "v4");
	ASSERT_EQ(ss.ss_family, AF_INET, "v4 family");
	ASSERT_EQ(ntohs(a4->sin_port), 9100, "v4 port");
	ASSERT_EQ(a4->sin_addr.s_addr, htonl(INADDR_LOOPBACK), "v4 address");
	ASSERT_EQ(len, sizeof(*a4), "v4 len");
	ASSERT_FALSE(any, "v4 is not every address");

	ASSERT_OK(http_parse_listen("[::1]:80", &ss, &len, &any), "v6");
	ASSERT_EQ(ss.ss_family, AF_INET6, "v6 family");
	ASSERT_EQ(ntohs(a6->sin6_port), 80, "v6 port");
	ASSERT_TRUE(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr), "v6 address");
	ASSERT_FALSE(any, "v6 is not every address");

	ASSERT_OK(http_parse_listen(":8500", &ss, &len, &any), "every address");
	ASSERT_EQ(ss.ss_family, AF_INET6, "every address is dual-stack v6");
	ASSERT_TRUE(IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr), "::");
	ASSERT_TRUE(any, "every address");

	ASSERT_OK(http_parse_listen("127.0.0.1:0", &ss, &len, &any), "port 0: the kernel picks");
	ASSERT_OK(http_parse_listen("127.0.0.1:65535", &ss, &len, &any), "highest port");
}

TEST(listen_refusals)
{
	static const char *const bad[] = {
		"", "127.0.0.1", "127.0.0.1:", "localhost:80", "127.0.0.1:65536", "127.0.0.1:+80",
		"127.0.0.1: 80", "127.0.0.1:080080", "[::1:80", "[::1]80", "[]:80", "::1:80",
		"[127.0.0.1]:80", "1.2.3.4.5:80",
	};
	struct sockaddr_storage ss;
	socklen_t len;
	bool any;

	ASSERT_EQ(http_parse_listen(NULL, &ss, &len, &any), -EINVAL, "NULL");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(http_parse_listen(bad[i], &ss, &len, &any), -EINVAL, bad[i]);
}
