/*
 * Tests of kx-aggregate's UUID set (consumers/kx-aggregate/idset.c): what
 * goes in is found and nothing else is, through growth, clearing and the
 * nil UUID (all zero, which marks an empty slot and so is kept apart);
 * ids that share their leading bytes (time-ordered versions) still spread.
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

#include "idset.h"
#include "kx/validate.h"

/* A random-looking id from n (splitmix64 over both halves). */
static void
make_id(uint64_t n, unsigned char id[16])
{
	uint64_t a = n * 0x9e3779b97f4a7c15ULL + 1, b;

	a = (a ^ (a >> 30)) * 0xbf58476d1ce4e5b9ULL;
	b = (a ^ (a >> 27)) * 0x94d049bb133111ebULL;
	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
}

static void
test_idset__finds_what_was_added_through_growth(void **state)
{
	struct idset s;
	unsigned char id[16];

	(void)state;
	idset_init(&s);
	for (uint64_t i = 0; i < 20000; i += 2) {
		make_id(i, id);
		assert_int_equal(idset_add(&s, id), 0);
	}
	assert_int_equal(s.len, 10000);
	for (uint64_t i = 0; i < 20000; i++) {
		make_id(i, id);
		assert_int_equal(idset_has(&s, id), i % 2 == 0);
	}
	/* Adding again changes nothing. */
	make_id(0, id);
	assert_int_equal(idset_add(&s, id), 0);
	assert_int_equal(s.len, 10000);
	idset_release(&s);
}

static void
test_idset__clear_keeps_nothing(void **state)
{
	struct idset s;
	unsigned char id[16];

	(void)state;
	idset_init(&s);
	make_id(7, id);
	assert_false(idset_has(&s, id)); /* empty, no table yet */
	assert_int_equal(idset_add(&s, id), 0);
	idset_clear(&s);
	assert_false(idset_has(&s, id));
	assert_int_equal(s.len, 0);
	assert_int_equal(idset_add(&s, id), 0);
	assert_true(idset_has(&s, id));
	idset_release(&s);
}

static void
test_idset__nil_uuid_is_an_id_like_any(void **state)
{
	struct idset s;
	unsigned char nil[16] = {0}, one[16] = {0};

	(void)state;
	one[15] = 1;
	idset_init(&s);
	assert_false(idset_has(&s, nil));
	assert_int_equal(idset_add(&s, one), 0);
	assert_false(idset_has(&s, nil));
	assert_int_equal(idset_add(&s, nil), 0);
	assert_int_equal(idset_add(&s, nil), 0);
	assert_true(idset_has(&s, nil));
	assert_true(idset_has(&s, one));
	assert_int_equal(s.len, 2);
	idset_clear(&s);
	assert_false(idset_has(&s, nil));
	idset_release(&s);
}

static void
test_idset__time_ordered_ids(void **state)
{
	struct idset s;
	unsigned char id[16];

	(void)state;
	idset_init(&s);
	/* Version 7 style: the same leading timestamp bytes, counters at
	 * the end. */
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(
			kx_uuid_parse("0190a1b2-c3d4-7000-8000-000000000000", id),
			0);
		id[14] = (unsigned char)(i >> 8);
		id[15] = (unsigned char)i;
		assert_int_equal(idset_add(&s, id), 0);
	}
	assert_int_equal(s.len, 5000);
	id[14] = id[15] = 0;
	assert_true(idset_has(&s, id));
	id[13] = 1;
	assert_false(idset_has(&s, id));
	idset_release(&s);
}

static void
test_idset__uuid_parse(void **state)
{
	unsigned char id[16], want[16] = {0x3f, 0x65, 0xce, 0xeb, 0x18, 0x3d,
					  0x4e, 0x13, 0x9f, 0xfe, 0x7d, 0x8d,
					  0x75, 0x8a, 0x02, 0xb8};

	(void)state;
	assert_int_equal(
		kx_uuid_parse("3f65ceeb-183d-4e13-9ffe-7d8d758a02b8", id), 0);
	assert_memory_equal(id, want, 16);
	assert_int_equal(
		kx_uuid_parse("3F65CEEB-183D-4E13-9FFE-7D8D758A02B8", id), 0);
	assert_memory_equal(id, want, 16);
	memset(id, 0xaa, sizeof(id));
	assert_int_equal(
		kx_uuid_parse("3f65ceeb-183d-4e13-9ffe-7d8d758a02b", id), -1);
	assert_int_equal(
		kx_uuid_parse("3f65ceeb-183d-4e13-9ffe-7d8d758a02b8x", id), -1);
	assert_int_equal(
		kx_uuid_parse("3f65ceeb0183d-4e13-9ffe-7d8d758a02b8", id), -1);
	assert_int_equal(
		kx_uuid_parse("3f65ceeb-183d-4e13-9ffe-7d8d758a02g8", id), -1);
	assert_int_equal(id[0], 0xaa); /* untouched on failure */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idset__finds_what_was_added_through_growth),
		cmocka_unit_test(test_idset__clear_keeps_nothing),
		cmocka_unit_test(test_idset__nil_uuid_is_an_id_like_any),
		cmocka_unit_test(test_idset__time_ordered_ids),
		cmocka_unit_test(test_idset__uuid_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
