/*
 * Tests of kx-aggregate's party delta map (consumers/kx-aggregate/pdmap.c):
 * each (cell, party) has one delta, found again through growth; the same
 * party under two cells, or two parties under one cell, are apart; a
 * cleared map holds nothing; and the slots iterate to every delta once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka.h needs the headers above first. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "pdmap.h"

/* The map only compares cell pointers: any distinct addresses do. */
static char cells[64];
#define CELL(i) ((const struct cell *)(const void *)&cells[i])

static void
test_pdmap__one_delta_per_key_through_growth(void **state)
{
	struct pdmap m;
	struct party_delta *d;
	bool created;

	(void)state;
	pdmap_init(&m);
	for (int32_t p = 0; p < 5000; p++) {
		for (int c = 0; c < 8; c++) {
			d = pdmap_get(&m, CELL(c), p, &created);
			assert_non_null(d);
			assert_true(created);
			assert_ptr_equal(d->cell, CELL(c));
			assert_int_equal(d->party_id, p);
			assert_int_equal(d->refs, 0);
			d->refs = p * 8 + c + 1;
			d->shard = c;
		}
	}
	assert_int_equal(m.len, 40000);
	for (int32_t p = 0; p < 5000; p++) {
		for (int c = 0; c < 8; c++) {
			d = pdmap_get(&m, CELL(c), p, &created);
			assert_false(created);
			assert_int_equal(d->refs, p * 8 + c + 1);
			assert_int_equal(d->shard, c);
		}
	}
	assert_int_equal(m.len, 40000);
	/* A key never added is added now, not found. */
	d = pdmap_get(&m, CELL(8), 0, &created);
	assert_true(created);
	assert_int_equal(m.len, 40001);
	pdmap_release(&m);
}

static void
test_pdmap__slots_hold_each_delta_once(void **state)
{
	struct pdmap m;
	bool created;
	int64_t sum = 0;
	size_t n = 0;

	(void)state;
	pdmap_init(&m);
	for (int32_t p = -50; p < 50; p++)
		pdmap_get(&m, CELL(p & 7), p, &created)->refs = p + 100;
	for (size_t i = 0; i < m.cap; i++) {
		if (!m.slots[i].cell)
			continue;
		n++;
		sum += m.slots[i].refs;
	}
	assert_int_equal(n, 100);
	assert_int_equal(sum, 100 * 100 - 50);
	pdmap_release(&m);
}

static void
test_pdmap__clear_keeps_nothing(void **state)
{
	struct pdmap m;
	bool created;

	(void)state;
	pdmap_init(&m);
	pdmap_get(&m, CELL(1), 7, &created)->refs = 3;
	pdmap_clear(&m);
	assert_int_equal(m.len, 0);
	for (size_t i = 0; i < m.cap; i++)
		assert_null(m.slots[i].cell);
	assert_int_equal(pdmap_get(&m, CELL(1), 7, &created)->refs, 0);
	assert_true(created);
	pdmap_release(&m);
	assert_int_equal(m.cap, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pdmap__one_delta_per_key_through_growth),
		cmocka_unit_test(test_pdmap__slots_hold_each_delta_once),
		cmocka_unit_test(test_pdmap__clear_keeps_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
