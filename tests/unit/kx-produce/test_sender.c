/*
 * Tests of kx-produce's sender (producers/kx-produce/sender.c):
 * - how it logs librdkafka's lines (sender_log_level()): a fresh broker's
 *   first retried producer-id requests are info, more are warnings, and
 *   every other line keeps librdkafka's level;
 * - a producer that hits a fatal error and cannot be rebuilt: the messages
 *   go to the failed file and sender_send() says why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka.h needs the headers above first. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "kx/err.h"
#include "sender.h"

#define LOADING                                                               \
	"[thrd:main]: Failed to acquire idempotence PID from broker "         \
	"127.0.0.1:19092/1: Broker: Coordinator load in progress: retrying"

static void
test_first_pid_retries_are_info(void **state)
{
	atomic_int n;

	(void)state;
	atomic_init(&n, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(sender_log_level(&n, 4, "GETPID", LOADING),
				 6);
	/* The broker is not coming up: say so. */
	assert_int_equal(sender_log_level(&n, 4, "GETPID", LOADING), 4);
	assert_int_equal(sender_log_level(&n, 3, "GETPID", LOADING), 3);
}

static void
test_other_lines_keep_their_level(void **state)
{
	atomic_int n;

	(void)state;
	atomic_init(&n, 0);
	/* Another facility, or a PID failure that is not retried. */
	assert_int_equal(sender_log_level(&n, 4, "FAIL", LOADING), 4);
	assert_int_equal(sender_log_level(&n, 3, "GETPID",
					  "Failed to acquire PID: fatal"),
			 3);
	/* Lines that are not warnings stay as they are. */
	assert_int_equal(sender_log_level(&n, 7, "GETPID", LOADING), 7);
	assert_int_equal(sender_log_level(&n, 6, "CONFWARN", "x"), 6);
	/* None of them used up the quiet retries. */
	assert_int_equal(atomic_load(&n), 0);
}

/* The first producer librdkafka makes from a configuration that carries
 * the interceptors below: the test raises its fatal error. */
static rd_kafka_t *first_rk;

static void add_interceptors(rd_kafka_conf_t *conf);

static rd_kafka_resp_err_t
on_new(rd_kafka_t *rk, const rd_kafka_conf_t *conf, void *opaque,
       char *errstr, size_t errstr_size)
{
	(void)conf, (void)opaque, (void)errstr, (void)errstr_size;
	if (!first_rk)
		first_rk = rk;
	return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* The sender makes each producer from a copy of its configuration:
 * interceptors are not copied unless they copy themselves. Only into the
 * first copy: when rd_kafka_new() fails (librdkafka 2.0.2), it frees the
 * interceptors of the configuration it was given, which the caller then
 * frees again. */
static rd_kafka_resp_err_t
on_conf_dup(rd_kafka_conf_t *new_conf, const rd_kafka_conf_t *old_conf,
	    size_t filter_cnt, const char **filter, void *opaque)
{
	static int copies;

	(void)old_conf, (void)filter_cnt, (void)filter, (void)opaque;
	if (copies++ == 0)
		add_interceptors(new_conf);
	return RD_KAFKA_RESP_ERR_NO_ERROR;
}

static void
add_interceptors(rd_kafka_conf_t *conf)
{
	rd_kafka_conf_interceptor_add_on_new(conf, "test", on_new, NULL);
	rd_kafka_conf_interceptor_add_on_conf_dup(conf, "test", on_conf_dup,
						  NULL);
}

static void
set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
	char errstr[256];

	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)))
		fail_msg("%s: %s", name, errstr);
}

static void
test_fatal_error_and_no_new_producer(void **state)
{
	char *topics[3] = {"t.pairings", "t.visits", "t.practices"};
	char ca[] = "/tmp/kx-test-ca-XXXXXX", errbuf[512], text[64];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	struct sender_stats st;
	struct sender *s;
	atomic_int abort;
	FILE *in, *out, *failed = tmpfile();
	size_t n;
	int fd;

	(void)state;
	assert_non_null(failed);
	/* A CA file that exists while the first producer is made. */
	assert_true((fd = mkstemp(ca)) >= 0);
	assert_non_null(in = fopen(KX_TEST_DATA "/tls/test-ca.pem", "r"));
	assert_non_null(out = fdopen(fd, "w"));
	while ((n = fread(text, 1, sizeof(text), in)) > 0)
		assert_int_equal(fwrite(text, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	/* Nothing listens there: no message is ever acknowledged. */
	set(conf, "bootstrap.servers", "127.0.0.1:9");
	set(conf, "security.protocol", "ssl");
	set(conf, "ssl.ca.location", ca);
	set(conf, "log_level", "0");
	add_interceptors(conf);
	s = sender_new(conf, topics, failed, errbuf, sizeof(errbuf));
	assert_non_null(s);
	assert_non_null(first_rk);
	assert_int_equal(sender_send(s, KX_FAMILY_VISIT, "k1", 2, "v1", 2,
				     "{\"line\":1}", 10, errbuf,
				     sizeof(errbuf)),
			 0);
	/* Gone: the rebuild cannot make a producer. */
	assert_int_equal(unlink(ca), 0);
	assert_int_equal(rd_kafka_test_fatal_error(
				 first_rk,
				 RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
				 "test"),
			 RD_KAFKA_RESP_ERR_NO_ERROR);
	/* Serves the fatal error: the rebuild fails, and the parked
	 * message goes to the failed file. */
	sender_poll(s, 100);
	assert_int_equal(sender_send(s, KX_FAMILY_VISIT, "k2", 2, "v2", 2,
				     "{\"line\":2}", 10, errbuf,
				     sizeof(errbuf)),
			 KX_EKAFKA);
	assert_non_null(strstr(errbuf, "cannot rebuild the producer after a "
				       "fatal error: "));
	assert_non_null(strstr(errbuf, "ssl.ca.location"));
	sender_poll(s, 0);
	assert_int_equal(sender_outstanding(s), 0);
	atomic_init(&abort, 0);
	sender_drain(s, &abort);
	sender_stats(s, &st);
	assert_int_equal(st.acked, 0);
	assert_int_equal(st.failed, 2);
	assert_int_equal(st.rebuilds, 1);
	sender_free(s);
	rewind(failed);
	n = fread(text, 1, sizeof(text) - 1, failed);
	text[n] = '\0';
	assert_string_equal(text, "{\"line\":1}\n{\"line\":2}\n");
	fclose(failed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_pid_retries_are_info),
		cmocka_unit_test(test_other_lines_keep_their_level),
		cmocka_unit_test(test_fatal_error_and_no_new_producer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
