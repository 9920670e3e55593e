/*
 * RFC 3339 timestamps and ISO 8601 calendar dates.
 *
 * Conversion is pure arithmetic on the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil), so the result never depends on the
 * process's TZ, locale or libc's timegm. The parsers accept exactly what
 * the formatters write and a little more (lower-case 't' and 'z', "-00:00",
 * fractions other than six digits, leap seconds), so format-then-parse
 * gives back the same values for every timestamp in years 0001-9999.
 */
#include "kx/timeutil.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kx/err.h"
#include "kx/validate.h"

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)

/* Room for a quoted value (see kx_quote_value()). */
#define QBUF 272

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/*
 * Reads exactly n digits. It stops at the first non-digit, so it never
 * reads past a string's NUL.
 */
static bool
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int bad(char *errbuf, size_t errlen, const char *what, const char *s,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Writes "'<s>' is not a valid <what>: <cause>" and returns KX_EINVAL. */
static int
bad(char *errbuf, size_t errlen, const char *what, const char *s,
    const char *fmt, ...)
{
	char q[QBUF];
	va_list ap;
	int n;

	if (!errbuf || !errlen)
		return KX_EINVAL;
	n = snprintf(errbuf, errlen, "%s is not a valid %s: ",
		     kx_quote_value(q, sizeof(q), s, strlen(s)), what);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(errbuf + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return KX_EINVAL;
}

/* Checks year, month and day; returns 0, or -1 with the cause. */
static int
check_ymd(int y, int m, int d, char *cause, size_t n)
{
	if (y < 1) {
		snprintf(cause, n, "year 0000 is out of range (0001-9999)");
		return -1;
	}
	if (m < 1 || m > 12) {
		snprintf(cause, n, "month %02d is out of range (01-12)", m);
		return -1;
	}
	if (d < 1 || d > month_days(y, m)) {
		snprintf(cause, n, "day %02d is out of range for %04d-%02d", d,
			 y, m);
		return -1;
	}
	return 0;
}

#define TS "RFC 3339 timestamp"

int
kx_time_parse_rfc3339(const char *s, int64_t *us, int32_t *offset_min,
		      char *errbuf, size_t errlen)
{
	int y, mo, d, h, mi, sec, oh, om, sign = 1, frac_digits = 0;
	const char *p;
	char cause[64];
	int64_t frac = 0, local;

	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return bad(errbuf, errlen, TS, s,
			   "expected YYYY-MM-DDTHH:MM:SS and an offset");
	if (check_ymd(y, mo, d, cause, sizeof(cause)))
		return bad(errbuf, errlen, TS, s, "%s", cause);
	if (h > 23)
		return bad(errbuf, errlen, TS, s,
			   "hour %02d is out of range (00-23)", h);
	if (mi > 59)
		return bad(errbuf, errlen, TS, s,
			   "minute %02d is out of range (00-59)", mi);
	if (sec > 60)
		return bad(errbuf, errlen, TS, s,
			   "second %02d is out of range (00-60)", sec);

	p = s + 19;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, frac_digits++)
			if (frac_digits < 6)
				frac = frac * 10 + (*p - '0');
		if (frac_digits == 0)
			return bad(errbuf, errlen, TS, s,
				   "no digits after the decimal point");
		if (frac_digits > 9)
			return bad(errbuf, errlen, TS, s,
				   "more than 9 fractional digits");
		for (int i = frac_digits; i < 6; i++)
			frac *= 10;
	}

	if (*p == 'Z' || *p == 'z') {
		oh = om = 0;
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' ||
		    !digits(p + 4, 2, &om))
			return bad(errbuf, errlen, TS, s,
				   "the offset must be Z, +HH:MM or -HH:MM");
		if (oh > 23)
			return bad(errbuf, errlen, TS, s,
				   "offset hour %02d is out of range (00-23)",
				   oh);
		if (om > 59)
			return bad(errbuf, errlen, TS, s,
				   "offset minute %02d is out of range (00-59)",
				   om);
		p += 6;
	} else if (*p == '\0') {
		return bad(errbuf, errlen, TS, s,
			   "missing offset (Z, +HH:MM or -HH:MM)");
	} else {
		return bad(errbuf, errlen, TS, s,
			   "the offset must be Z, +HH:MM or -HH:MM");
	}
	if (*p != '\0')
		return bad(errbuf, errlen, TS, s,
			   "unexpected text after the offset");

	/*
	 * Second 60 simply adds up to the next minute's first second. Only
	 * at the very end of 9999 would that leave the four-digit years.
	 */
	local = (days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
		 h * 3600 + mi * 60 + sec) *
			US_PER_SEC +
		frac;
	if (local >= (KX_DATE_MAX + 1) * US_PER_DAY)
		return bad(errbuf, errlen, TS, s,
			   "the leap second leaves year 9999");
	*offset_min = sign * (oh * 60 + om);
	*us = local - (int64_t)*offset_min * 60 * US_PER_SEC;
	return 0;
}

/* Floor division, so times before 1970 split into day and time of day. */
static void
split_day(int64_t us, int64_t *day, int64_t *rem)
{
	*day = us / US_PER_DAY;
	*rem = us % US_PER_DAY;
	if (*rem < 0) {
		*rem += US_PER_DAY;
		(*day)--;
	}
}

/* Writes v in exactly width decimal digits (v < 10^width). */
static char *
put_digits(char *p, uint64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

void
kx_time_format_rfc3339(int64_t us, int32_t offset_min, char *out, size_t outlen)
{
	int64_t day, shift, rem, y, secs, off;
	unsigned m, d;
	char frac[16] = "", zone[16] = "Z";

	if (!outlen)
		return;
	split_day(us, &day, &rem);
	/*
	 * Add the offset to the time of day, not to us, so that no input
	 * can overflow.
	 */
	split_day(rem + (int64_t)offset_min * 60 * US_PER_SEC, &shift, &rem);
	day += shift;
	civil_from_days(day, &y, &m, &d);
	secs = rem / US_PER_SEC;
	/* The common case by hand: snprintf was most of the cost of writing
	 * a timestamp into a COPY row. */
	if (!offset_min && y >= 0 && y <= 9999 && outlen >= 28) {
		char *p = out;
		int64_t f = rem % US_PER_SEC;
		p = put_digits(p, (uint64_t)y, 4);
		*p++ = '-';
		p = put_digits(p, m, 2);
		*p++ = '-';
		p = put_digits(p, d, 2);
		*p++ = 'T';
		p = put_digits(p, (uint64_t)(secs / 3600), 2);
		*p++ = ':';
		p = put_digits(p, (uint64_t)(secs / 60 % 60), 2);
		*p++ = ':';
		p = put_digits(p, (uint64_t)(secs % 60), 2);
		if (f) {
			*p++ = '.';
			p = put_digits(p, (uint64_t)f, 6);
		}
		*p++ = 'Z';
		*p = '\0';
		return;
	}
	if (rem % US_PER_SEC)
		snprintf(frac, sizeof(frac), ".%06ld",
			 (long)(rem % US_PER_SEC));
	if (offset_min) {
		/* Offsets past 23:59 are invalid; they are cut, not overflowed.
		 */
		off = offset_min < 0 ? -(int64_t)offset_min : offset_min;
		snprintf(zone, sizeof(zone), "%c%02d:%02d",
			 offset_min < 0 ? '-' : '+', (int)(off / 60 % 100),
			 (int)(off % 60));
	}
	snprintf(out, outlen, "%04lld-%02u-%02uT%02ld:%02ld:%02ld%s%s",
		 (long long)y, m, d, (long)(secs / 3600),
		 (long)(secs / 60 % 60), (long)(secs % 60), frac, zone);
}

int
kx_date_parse(const char *s, int32_t *days, char *errbuf, size_t errlen)
{
	char cause[64];
	int y, m, d;

	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != '\0')
		return bad(errbuf, errlen, "date", s, "expected YYYY-MM-DD");
	if (check_ymd(y, m, d, cause, sizeof(cause)))
		return bad(errbuf, errlen, "date", s, "%s", cause);
	*days = (int32_t)days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

void
kx_date_format(int32_t days, char *out, size_t outlen)
{
	int64_t y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	snprintf(out, outlen, "%04lld-%02u-%02u", (long long)y, m, d);
}

int64_t
kx_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
