/*
 * Tests of the bounded blocking FIFO (core/src/queue.c): order across
 * threads, the bound, and closing from either side.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "kx/err.h"
#include "kx/queue.h"

#define N 200000

struct counting {
	struct kx_queue *q;
	uintptr_t from, n;
};

static void *
producer(void *arg)
{
	struct counting *c = arg;

	for (uintptr_t i = 0; i < c->n; i++)
		if (kx_queue_push(c->q, (void *)(c->from + i)))
			break;
	return NULL;
}

static void
test_queue__keeps_order_across_threads(void **state)
{
	struct kx_queue *q = kx_queue_new(3);
	struct counting c = {q, 1, N};
	pthread_t t;

	(void)state;
	assert_non_null(q);
	assert_int_equal(pthread_create(&t, NULL, producer, &c), 0);
	for (uintptr_t i = 1; i <= N; i++)
		assert_int_equal((uintptr_t)kx_queue_pop(q), i);
	assert_int_equal(pthread_join(t, NULL), 0);
	kx_queue_close(q);
	assert_null(kx_queue_pop(q));
	kx_queue_free(q);
}

static void
test_queue__close_drains_then_ends(void **state)
{
	struct kx_queue *q = kx_queue_new(4);
	int a, b;

	(void)state;
	assert_int_equal(kx_queue_push(q, &a), 0);
	assert_int_equal(kx_queue_push(q, &b), 0);
	kx_queue_close(q);
	kx_queue_close(q);
	assert_int_equal(kx_queue_push(q, &a), KX_EINTR);
	assert_ptr_equal(kx_queue_pop(q), &a);
	assert_ptr_equal(kx_queue_pop(q), &b);
	assert_null(kx_queue_pop(q));
	kx_queue_free(q);
}

static void *
popper(void *arg)
{
	return kx_queue_pop(arg);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};

	nanosleep(&ts, NULL);
}

/* A pop waiting on an empty queue returns NULL when it is closed. */
static void
test_queue__close_wakes_a_waiting_pop(void **state)
{
	struct kx_queue *q = kx_queue_new(1);
	pthread_t t;
	void *got = &got;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, popper, q), 0);
	sleep_ms(20);
	kx_queue_close(q);
	assert_int_equal(pthread_join(t, &got), 0);
	assert_null(got);
	kx_queue_free(q);
}

/* A push waiting on a full queue fails when the queue is closed. */
static void
test_queue__close_wakes_a_waiting_push(void **state)
{
	struct kx_queue *q = kx_queue_new(1);
	struct counting c = {q, 1, 5};
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, producer, &c), 0);
	sleep_ms(20);
	/* It pushed one and waits with the second: the bound holds. */
	kx_queue_close(q);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal((uintptr_t)kx_queue_pop(q), 1);
	assert_null(kx_queue_pop(q));
	kx_queue_free(q);
}

/* Two producers, two consumers: every item arrives exactly once. */
static void *
summer(void *arg)
{
	struct kx_queue *q = arg;
	uintptr_t sum = 0;
	void *item;

	while ((item = kx_queue_pop(q)))
		sum += (uintptr_t)item;
	return (void *)sum;
}

static void
test_queue__several_threads_each_side(void **state)
{
	struct kx_queue *q = kx_queue_new(2);
	struct counting c1 = {q, 1, N / 2}, c2 = {q, 1 + N / 2, N / 2};
	pthread_t p1, p2, s1, s2;
	void *r1, *r2;

	(void)state;
	assert_int_equal(pthread_create(&s1, NULL, summer, q), 0);
	assert_int_equal(pthread_create(&s2, NULL, summer, q), 0);
	assert_int_equal(pthread_create(&p1, NULL, producer, &c1), 0);
	assert_int_equal(pthread_create(&p2, NULL, producer, &c2), 0);
	assert_int_equal(pthread_join(p1, NULL), 0);
	assert_int_equal(pthread_join(p2, NULL), 0);
	kx_queue_close(q);
	assert_int_equal(pthread_join(s1, &r1), 0);
	assert_int_equal(pthread_join(s2, &r2), 0);
	assert_int_equal((uintptr_t)r1 + (uintptr_t)r2,
			 (uintptr_t)N * (N + 1) / 2);
	kx_queue_free(q);
}

static void
test_queue__new_refuses_zero(void **state)
{
	(void)state;
	assert_null(kx_queue_new(0));
	kx_queue_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue__keeps_order_across_threads),
		cmocka_unit_test(test_queue__close_drains_then_ends),
		cmocka_unit_test(test_queue__close_wakes_a_waiting_pop),
		cmocka_unit_test(test_queue__close_wakes_a_waiting_push),
		cmocka_unit_test(test_queue__several_threads_each_side),
		cmocka_unit_test(test_queue__new_refuses_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
