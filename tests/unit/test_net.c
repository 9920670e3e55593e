/*
 * Tests of listening-address parsing (core/src/net.c): what --http and
 * --serve accept, and the reason for each thing they refuse.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */
#include <arpa/inet.h>
#include <string.h>

#include "kx/err.h"
#include "kx/net.h"

static void
test_net__accepts_address_and_port(void **state)
{
	struct sockaddr_in sin;
	char err[128] = "";

	(void)state;
	assert_int_equal(kx_net_parse_listen("127.0.0.1:9464", "http",
					     "127.0.0.1:9464", &sin, err,
					     sizeof(err)),
			 0);
	assert_int_equal(sin.sin_family, AF_INET);
	assert_int_equal(ntohs(sin.sin_port), 9464);
	assert_int_equal(ntohl(sin.sin_addr.s_addr), 0x7f000001);
	assert_int_equal(kx_net_parse_listen("10.1.2.3:65535", "http", "x",
					     &sin, err, sizeof(err)),
			 0);
	assert_int_equal(ntohs(sin.sin_port), 65535);
	assert_int_equal(ntohl(sin.sin_addr.s_addr), 0x0a010203);
}

static void
test_net__empty_address_is_every_address(void **state)
{
	struct sockaddr_in sin;
	char err[128] = "";

	(void)state;
	assert_int_equal(kx_net_parse_listen(":8080", "serve", "x", &sin, err,
					     sizeof(err)),
			 0);
	assert_int_equal(ntohl(sin.sin_addr.s_addr), INADDR_ANY);
	assert_int_equal(ntohs(sin.sin_port), 8080);
}

static void
test_net__refuses_with_a_reason(void **state)
{
	static const struct {
		const char *addr, *reason;
	} cases[] = {
		{"9464",
		 "'http': '9464' is not ADDR:PORT (e.g. 127.0.0.1:9464)"},
		{"127.0.0.1:", "'http': '127.0.0.1:' is not ADDR:PORT (e.g. "
			       "127.0.0.1:9464)"},
		{"127.0.0.1:0", "'http': '127.0.0.1:0' is not ADDR:PORT (e.g. "
				"127.0.0.1:9464)"},
		{"127.0.0.1:65536",
		 "'http': '127.0.0.1:65536' is not ADDR:PORT "
		 "(e.g. 127.0.0.1:9464)"},
		{"127.0.0.1:80x", "'http': '127.0.0.1:80x' is not ADDR:PORT "
				  "(e.g. 127.0.0.1:9464)"},
		{"127.0.0.1:-1",
		 "'http': '127.0.0.1:-1' is not ADDR:PORT (e.g. "
		 "127.0.0.1:9464)"},
		{"localhost:80", "'http': 'localhost' is not an IPv4 address"},
		{"::1:80", "'http': '::1' is not an IPv4 address"},
		{"300.0.0.1:80", "'http': '300.0.0.1' is not an IPv4 address"},
		{"", "'http': '' is not ADDR:PORT (e.g. 127.0.0.1:9464)"},
		{"127.0.0.1: 80", "'http': '127.0.0.1: 80' is not ADDR:PORT "
				  "(e.g. 127.0.0.1:9464)"},
		{"127.0.0.1:+80", "'http': '127.0.0.1:+80' is not ADDR:PORT "
				  "(e.g. 127.0.0.1:9464)"},
		{"127.0.0.1:0080", "'http': '127.0.0.1:0080' is not ADDR:PORT "
				   "(e.g. 127.0.0.1:9464)"},
	};
	struct sockaddr_in sin;
	char err[128], longhost[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(kx_net_parse_listen(cases[i].addr, "http",
						     "127.0.0.1:9464", &sin,
						     err, sizeof(err)),
				 KX_EINVAL);
		assert_string_equal(err, cases[i].reason);
	}
	/* A host longer than any address is refused, not truncated. */
	memset(longhost, '1', sizeof(longhost));
	strcpy(longhost + 150, ":80");
	assert_int_equal(kx_net_parse_listen(longhost, "http", "x", &sin, err,
					     sizeof(err)),
			 KX_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net__accepts_address_and_port),
		cmocka_unit_test(test_net__empty_address_is_every_address),
		cmocka_unit_test(test_net__refuses_with_a_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
