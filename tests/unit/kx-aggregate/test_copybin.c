/*
 * Tests of kx-aggregate's binary COPY writer (consumers/kx-aggregate/
 * copybin.c), byte for byte against PostgreSQL's documented format: the
 * COPY header and trailer, big-endian integers, timestamps and dates
 * counted from 2000-01-01, uuids, and one-dimensional arrays. The
 * integration suite then has the server take every column kx-aggregate
 * writes this way.
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

#include "copybin.h"
#include "kx/buf.h"

/* Checks that b holds exactly the n bytes of want, then empties it. */
static void
expect(struct kx_buf *b, const char *want, size_t n)
{
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
	kx_buf_reset(b);
}

#define EXPECT(b, lit) expect((b), (lit), sizeof(lit) - 1)

static void
test_copybin__header_row_and_trailer(void **state)
{
	struct kx_buf b = KX_BUF_INIT;

	(void)state;
	copybin_header(&b);
	EXPECT(&b, "PGCOPY\n\377\r\n\0"
		   "\0\0\0\0"
		   "\0\0\0\0");
	copybin_row(&b, 8);
	EXPECT(&b, "\0\x08");
	copybin_trailer(&b);
	EXPECT(&b, "\xff\xff");
	kx_buf_release(&b);
}

static void
test_copybin__integers_are_big_endian_after_their_length(void **state)
{
	struct kx_buf b = KX_BUF_INIT;

	(void)state;
	copybin_int2(&b, -2);
	EXPECT(&b, "\0\0\0\x02\xff\xfe");
	copybin_int4(&b, 10005);
	EXPECT(&b, "\0\0\0\x04\0\0\x27\x15");
	copybin_int8(&b, -1);
	EXPECT(&b, "\0\0\0\x08\xff\xff\xff\xff\xff\xff\xff\xff");
	copybin_int8(&b, (int64_t)1 << 40);
	EXPECT(&b, "\0\0\0\x08\0\0\x01\0\0\0\0\0");
	copybin_null(&b);
	EXPECT(&b, "\xff\xff\xff\xff");
	kx_buf_release(&b);
}

static void
test_copybin__time_counts_from_2000(void **state)
{
	struct kx_buf b = KX_BUF_INIT;

	(void)state;
	/* 2000-01-01T00:00:00Z is 946684800 s after 1970. */
	copybin_timestamptz(&b, INT64_C(946684800000000));
	EXPECT(&b, "\0\0\0\x08\0\0\0\0\0\0\0\0");
	/* One microsecond before. */
	copybin_timestamptz(&b, INT64_C(946684799999999));
	EXPECT(&b, "\0\0\0\x08\xff\xff\xff\xff\xff\xff\xff\xff");
	copybin_date(&b, 10957); /* 2000-01-01 */
	EXPECT(&b, "\0\0\0\x04\0\0\0\0");
	copybin_date(&b, 0); /* 1970-01-01: -10957 days */
	EXPECT(&b, "\0\0\0\x04\xff\xff\xd5\x33");
	kx_buf_release(&b);
}

static void
test_copybin__text_goes_as_it_is(void **state)
{
	struct kx_buf b = KX_BUF_INIT;

	(void)state;
	copybin_text(&b, "Zürich\t\\");
	EXPECT(&b, "\0\0\0\x09Z\xc3\xbcrich\t\\");
	copybin_text(&b, "");
	EXPECT(&b, "\0\0\0\0");
	copybin_text(&b, NULL);
	EXPECT(&b, "\xff\xff\xff\xff");
	kx_buf_release(&b);
}

static void
test_copybin__uuid_from_its_hex_form(void **state)
{
	static const char *const bad[] = {
		"0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7",	 /* short */
		"0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d0", /* long */
		"0b6c1a523e0f-4c8e-9d61-5e3f1b2a4c7d0",	 /* hyphen moved */
		"0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7g",	 /* not hex */
		"{b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d}",
		"",
	};
	struct kx_buf b = KX_BUF_INIT;

	(void)state;
	assert_int_equal(
		copybin_uuid(&b, "0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d"), 0);
	EXPECT(&b, "\0\0\0\x10"
		   "\x0b\x6c\x1a\x52\x3e\x0f\x4c\x8e"
		   "\x9d\x61\x5e\x3f\x1b\x2a\x4c\x7d");
	assert_int_equal(
		copybin_uuid(&b, "FFFFFFFF-0000-4000-8000-00000000000A"), 0);
	EXPECT(&b, "\0\0\0\x10"
		   "\xff\xff\xff\xff\0\0\x40\0"
		   "\x80\0\0\0\0\0\0\x0a");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(copybin_uuid(&b, bad[i]), -1);
		assert_int_equal(b.len, 0);
	}
	kx_buf_release(&b);
}

static void
test_copybin__arrays_of_one_dimension(void **state)
{
	static const char *const codes[] = {"11", "7.2"};
	static const int16_t goals[] = {7, 11};
	static const int32_t ids[] = {1, -1};
	struct kx_buf b = KX_BUF_INIT;

	(void)state;
	/* Length, 1 dimension, no nulls, the element type's OID, the
	 * dimension's size and lower bound, then the elements as fields. */
	copybin_text_array(&b, codes, 2);
	EXPECT(&b, "\0\0\0\x21"
		   "\0\0\0\x01\0\0\0\0\0\0\0\x19"
		   "\0\0\0\x02\0\0\0\x01"
		   "\0\0\0\x02"
		   "11"
		   "\0\0\0\x03"
		   "7.2");
	copybin_int2_array(&b, goals, 2);
	EXPECT(&b, "\0\0\0\x20"
		   "\0\0\0\x01\0\0\0\0\0\0\0\x15"
		   "\0\0\0\x02\0\0\0\x01"
		   "\0\0\0\x02\0\x07"
		   "\0\0\0\x02\0\x0b");
	copybin_int4_array(&b, ids, 2);
	EXPECT(&b, "\0\0\0\x24"
		   "\0\0\0\x01\0\0\0\0\0\0\0\x17"
		   "\0\0\0\x02\0\0\0\x01"
		   "\0\0\0\x04\0\0\0\x01"
		   "\0\0\0\x04\xff\xff\xff\xff");
	/* An empty array has no dimensions. */
	copybin_text_array(&b, NULL, 0);
	EXPECT(&b, "\0\0\0\x0c"
		   "\0\0\0\0\0\0\0\0\0\0\0\x19");
	kx_buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copybin__header_row_and_trailer),
		cmocka_unit_test(
			test_copybin__integers_are_big_endian_after_their_length),
		cmocka_unit_test(test_copybin__time_counts_from_2000),
		cmocka_unit_test(test_copybin__text_goes_as_it_is),
		cmocka_unit_test(test_copybin__uuid_from_its_hex_form),
		cmocka_unit_test(test_copybin__arrays_of_one_dimension),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
