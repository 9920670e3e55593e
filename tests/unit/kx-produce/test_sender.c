/*
 * Tests of how kx-produce logs librdkafka's lines
 * (producers/kx-produce/sender.c, sender_log_level()): a fresh broker's
 * first retried producer-id requests are info, more are warnings, and
 * every other line keeps librdkafka's level.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above first. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_pid_retries_are_info),
		cmocka_unit_test(test_other_lines_keep_their_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
