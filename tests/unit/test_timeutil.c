/*
 * RFC 3339 timestamps and calendar dates: what is accepted, what is
 * rejected and why, the instant each text means (expected values computed
 * independently with Python's datetime), and that formatting and parsing
 * give each other back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* cmocka.h needs the headers above first. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "kx/err.h"
#include "kx/timeutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define US_PER_DAY (INT64_C(86400) * 1000000)

static const struct {
	const char *text;
	int64_t us;
	int32_t offset;
} good_times[] = {
	{"1970-01-01T00:00:00Z", 0, 0},
	{"1970-01-01t00:00:00z", 0, 0},
	{"1970-01-01T00:00:00+00:00", 0, 0},
	{"1970-01-01T00:00:00-00:00", 0, 0},
	{"2025-03-14T09:30:00+01:00", INT64_C(1741941000000000), 60},
	{"2025-03-14T08:30:00Z", INT64_C(1741941000000000), 0},
	{"2025-03-14T03:00:00-05:30", INT64_C(1741941000000000), -330},
	{"2025-03-14T08:30:00.25Z", INT64_C(1741941000250000), 0},
	{"2025-03-14T08:30:00.250000000Z", INT64_C(1741941000250000), 0},
	{"2025-03-14T09:30:00.123456+01:00", INT64_C(1741941000123456), 60},
	/* Digits past the microsecond are dropped, not rounded. */
	{"2025-03-14T09:30:00.123456999+01:00", INT64_C(1741941000123456), 60},
	{"1969-12-31T23:59:59.999999Z", -1, 0},
	{"0001-01-01T00:00:00Z", INT64_C(-62135596800000000), 0},
	{"0001-01-01T00:00:00+23:59", INT64_C(-62135683140000000), 1439},
	{"9999-12-31T23:59:59.999999Z", INT64_C(253402300799999999), 0},
	{"9999-12-31T23:59:59-23:59", INT64_C(253402387139000000), -1439},
	{"2024-02-29T12:00:00-05:30", INT64_C(1709227800000000), -330},
	{"2000-03-01T00:00:00Z", INT64_C(951868800000000), 0},
	{"1900-03-01T00:00:00Z", INT64_C(-2203891200000000), 0},
	/* A leap second reads as the first second of the next minute. */
	{"2016-12-31T23:59:60Z", INT64_C(1483228800000000), 0},
	{"2016-12-31T23:59:60.5Z", INT64_C(1483228800500000), 0},
	{"2017-01-01T00:59:60+01:00", INT64_C(1483228800000000), 60},
};

static void
test_timeutil__rfc3339_accepted(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(good_times); i++) {
		char err[256] = "";
		int64_t us = 42;
		int32_t off = 42;
		int rc = kx_time_parse_rfc3339(good_times[i].text, &us, &off,
					       err, sizeof(err));

		if (rc != 0 || us != good_times[i].us ||
		    off != good_times[i].offset) {
			fprintf(stderr, "%s: rc %d us %lld off %d: %s\n",
				good_times[i].text, rc, (long long)us, (int)off,
				err);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static const struct {
	const char *text;
	const char *cause;
} bad_times[] = {
	{"", "expected YYYY-MM-DDTHH:MM:SS and an offset"},
	{"2025-03-14", "expected YYYY-MM-DDTHH:MM:SS and an offset"},
	{"2025-03-14T09:30", "expected YYYY-MM-DDTHH:MM:SS and an offset"},
	{"2025-03-14 09:30:00Z", "expected YYYY-MM-DDTHH:MM:SS and an offset"},
	{"2025-03-14_09:30:00Z", "expected YYYY-MM-DDTHH:MM:SS and an offset"},
	{"25-03-14T09:30:00Z", "expected YYYY-MM-DDTHH:MM:SS and an offset"},
	{"2025-3-14T09:30:00Z", "expected YYYY-MM-DDTHH:MM:SS and an offset"},
	{"2025-03-14T9:30:00Z", "expected YYYY-MM-DDTHH:MM:SS and an offset"},
	{"+2025-03-14T09:30:00Z", "expected YYYY-MM-DDTHH:MM:SS and an offset"},
	{"12025-03-14T09:30:00Z", "expected YYYY-MM-DDTHH:MM:SS and an offset"},
	{"2025-03-14T09:30:00", "missing offset (Z, +HH:MM or -HH:MM)"},
	{"2025-03-14T09:30:00.5", "missing offset (Z, +HH:MM or -HH:MM)"},
	{"2025-03-14T09:30:00+01", "the offset must be Z, +HH:MM or -HH:MM"},
	{"2025-03-14T09:30:00+0100", "the offset must be Z, +HH:MM or -HH:MM"},
	{"2025-03-14T09:30:00+1:00", "the offset must be Z, +HH:MM or -HH:MM"},
	{"2025-03-14T09:30:00 +01:00",
	 "the offset must be Z, +HH:MM or -HH:MM"},
	{"2025-03-14T09:30:00UTC", "the offset must be Z, +HH:MM or -HH:MM"},
	{"2025-03-14T09:30:00,5Z", "the offset must be Z, +HH:MM or -HH:MM"},
	{"2025-03-14T09:30:00+24:00", "offset hour 24 is out of range (00-23)"},
	{"2025-03-14T09:30:00-01:60",
	 "offset minute 60 is out of range (00-59)"},
	{"2025-03-14T09:30:00ZZ", "unexpected text after the offset"},
	{"2025-03-14T09:30:00+01:00:00", "unexpected text after the offset"},
	{"2025-03-14T09:30:00.Z", "no digits after the decimal point"},
	{"2025-03-14T09:30:00.1234567890Z", "more than 9 fractional digits"},
	{"0000-12-31T00:00:00Z", "year 0000 is out of range (0001-9999)"},
	{"2025-00-14T09:30:00Z", "month 00 is out of range (01-12)"},
	{"2025-13-14T09:30:00Z", "month 13 is out of range (01-12)"},
	{"2025-03-00T09:30:00Z", "day 00 is out of range for 2025-03"},
	{"2025-03-32T09:30:00Z", "day 32 is out of range for 2025-03"},
	{"2023-02-29T09:30:00Z", "day 29 is out of range for 2023-02"},
	{"2100-02-29T09:30:00Z", "day 29 is out of range for 2100-02"},
	{"2024-02-30T09:30:00Z", "day 30 is out of range for 2024-02"},
	{"2025-06-31T09:30:00Z", "day 31 is out of range for 2025-06"},
	{"2025-03-14T24:00:00Z", "hour 24 is out of range (00-23)"},
	{"2025-03-14T09:60:00Z", "minute 60 is out of range (00-59)"},
	{"2025-03-14T09:30:61Z", "second 61 is out of range (00-60)"},
	{"9999-12-31T23:59:60Z", "the leap second leaves year 9999"},
};

static void
test_timeutil__rfc3339_rejected(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad_times); i++) {
		char err[256] = "", want[256];
		int64_t us;
		int32_t off;
		int rc = kx_time_parse_rfc3339(bad_times[i].text, &us, &off,
					       err, sizeof(err));

		snprintf(want, sizeof(want),
			 "'%s' is not a valid RFC 3339 timestamp: %s",
			 bad_times[i].text, bad_times[i].cause);
		if (rc != KX_EINVAL || strcmp(err, want) != 0) {
			fprintf(stderr, "expected \"%s\"\n  got %d \"%s\"\n",
				want, rc, err);
			failed++;
		}
	}
	/* errbuf is optional. */
	assert_int_equal(kx_time_parse_rfc3339("x", &(int64_t){0},
					       &(int32_t){0}, NULL, 0),
			 KX_EINVAL);
	assert_int_equal(failed, 0);
}

static void
test_timeutil__rfc3339_format(void **state)
{
	static const struct {
		int64_t us;
		int32_t offset;
		const char *text;
	} cases[] = {
		{0, 0, "1970-01-01T00:00:00Z"},
		{-1, 0, "1969-12-31T23:59:59.999999Z"},
		{INT64_C(1741941000000000), 60, "2025-03-14T09:30:00+01:00"},
		{INT64_C(1741941000250000), 0, "2025-03-14T08:30:00.250000Z"},
		{INT64_C(1741941000000000), -330, "2025-03-14T03:00:00-05:30"},
		{INT64_C(1741941000000001), -1439,
		 "2025-03-13T08:31:00.000001-23:59"},
		{INT64_C(-62135596800000000), 0, "0001-01-01T00:00:00Z"},
		{INT64_C(253402300799999999), 0, "9999-12-31T23:59:59.999999Z"},
		{INT64_C(951782400000000), 0, "2000-02-29T00:00:00Z"},
	};
	char out[40];

	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		kx_time_format_rfc3339(cases[i].us, cases[i].offset, out,
				       sizeof(out));
		assert_string_equal(out, cases[i].text);
	}
	/* 33 bytes hold the longest form; a short buffer is cut, not overrun.
	 */
	kx_time_format_rfc3339(INT64_C(1741941000000001), -1439, out, 33);
	assert_int_equal(strlen(out), 32);
	kx_time_format_rfc3339(0, 0, out, 5);
	assert_string_equal(out, "1970");
}

/* A small deterministic generator, so a failure can be replayed. */
static uint64_t
next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void
test_timeutil__rfc3339_round_trip(void **state)
{
	const int64_t lo = (-719162 + 1) * US_PER_DAY;
	const int64_t span = (2932896 - 1) * US_PER_DAY - lo;
	uint64_t x = 0x9e3779b97f4a7c15u;
	char text[40], err[256];

	(void)state;
	for (int i = 0; i < 50000; i++) {
		int64_t us = lo + (int64_t)(next_random(&x) % (uint64_t)span),
			back;
		int32_t off = (int32_t)(next_random(&x) % 2879) - 1439,
			back_off;

		/* Half of them on whole seconds, as partners mostly write;
		 * a third in UTC, the formatter's fast path. */
		if (i % 2)
			us -= ((us % 1000000) + 1000000) % 1000000;
		if (i % 3 == 0)
			off = 0;
		kx_time_format_rfc3339(us, off, text, sizeof(text));
		if (kx_time_parse_rfc3339(text, &back, &back_off, err,
					  sizeof(err)) != 0 ||
		    back != us || back_off != off)
			fail_msg("%lld %d -> %s -> %lld %d (%s)", (long long)us,
				 (int)off, text, (long long)back, (int)back_off,
				 err);
	}
}

static void
test_timeutil__dates(void **state)
{
	static const struct {
		const char *text;
		int32_t days;
	} good[] = {
		{"1970-01-01", 0},	 {"1969-12-31", -1},
		{"2000-02-29", 11016},	 {"2024-02-29", 19782},
		{"0001-01-01", -719162}, {"9999-12-31", 2932896},
		{"1600-03-01", -135080},
	};
	static const struct {
		const char *text;
		const char *cause;
	} bad[] = {
		{"", "expected YYYY-MM-DD"},
		{"2025-4-28", "expected YYYY-MM-DD"},
		{"2025-04-28T00:00:00Z", "expected YYYY-MM-DD"},
		{"2025-04-28 ", "expected YYYY-MM-DD"},
		{"20250428", "expected YYYY-MM-DD"},
		{"2025/04/28", "expected YYYY-MM-DD"},
		{"0000-01-01", "year 0000 is out of range (0001-9999)"},
		{"2025-13-01", "month 13 is out of range (01-12)"},
		{"2025-02-29", "day 29 is out of range for 2025-02"},
		{"2024-02-30", "day 30 is out of range for 2024-02"},
		{"2025-04-31", "day 31 is out of range for 2025-04"},
		{"2025-01-00", "day 00 is out of range for 2025-01"},
	};
	char err[256], want[256], out[16];
	int32_t days;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(good); i++) {
		assert_int_equal(
			kx_date_parse(good[i].text, &days, err, sizeof(err)),
			0);
		assert_int_equal(days, good[i].days);
		kx_date_format(days, out, sizeof(out));
		assert_string_equal(out, good[i].text);
	}
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		snprintf(want, sizeof(want), "'%s' is not a valid date: %s",
			 bad[i].text, bad[i].cause);
		assert_int_equal(
			kx_date_parse(bad[i].text, &days, err, sizeof(err)),
			KX_EINVAL);
		assert_string_equal(err, want);
	}
}

/*
 * Every day from 0001-01-01 to 9999-12-31, counted by hand with the
 * Gregorian leap rule, formats and parses as the arithmetic says.
 */
static void
test_timeutil__every_date(void **state)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int y = 1, m = 1, d = 1;
	char want[40], out[16];
	int32_t back;

	(void)state;
	for (int32_t days = KX_DATE_MIN; days <= KX_DATE_MAX; days++) {
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

		kx_date_format(days, out, sizeof(out));
		snprintf(want, sizeof(want), "%04d-%02d-%02d", y, m, d);
		if (strcmp(out, want) != 0)
			fail_msg("day %d: %s, expected %s", (int)days, out,
				 want);
		if (kx_date_parse(out, &back, NULL, 0) != 0 || back != days)
			fail_msg("day %d: %s parsed as %d", (int)days, out,
				 (int)back);
		if (++d > mdays[m - 1] + (m == 2 && leap)) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
	assert_int_equal(y, 10000);
}

/* The monotonic clock moves forward, in microseconds. */
static void
test_timeutil__mono_us(void **state)
{
	int64_t a, b;
	struct timespec pause = {0, 2000000};

	(void)state;
	a = kx_mono_us();
	nanosleep(&pause, NULL);
	b = kx_mono_us();
	assert_true(a > 0);
	assert_true(b - a >= 2000);
	assert_true(b - a < 10000000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeutil__rfc3339_accepted),
		cmocka_unit_test(test_timeutil__rfc3339_rejected),
		cmocka_unit_test(test_timeutil__rfc3339_format),
		cmocka_unit_test(test_timeutil__rfc3339_round_trip),
		cmocka_unit_test(test_timeutil__dates),
		cmocka_unit_test(test_timeutil__every_date),
		cmocka_unit_test(test_timeutil__mono_us),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
