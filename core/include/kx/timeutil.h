/*
 * RFC 3339 timestamps and ISO dates as the contract writes them.
 */
#ifndef KX_TIMEUTIL_H
#define KX_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * The range the contract's four-digit years can write, in days since
 * 1970-01-01: 0001-01-01 and 9999-12-31.
 */
#define KX_DATE_MIN (-719162)
#define KX_DATE_MAX 2932896

/* The largest UTC offset RFC 3339 can write (23:59), in minutes. */
#define KX_OFFSET_MAX 1439

/*
 * Parses an RFC 3339 timestamp with its offset, e.g.
 * "2025-03-14T09:30:00+01:00" or "2025-03-14T08:30:00.25Z". Sets *us to
 * microseconds since the epoch (UTC; digits past the microsecond are
 * dropped) and *offset_min to the written offset. Returns 0, or KX_EINVAL
 * with a reason in errbuf (which may be NULL).
 *
 * The grammar is RFC 3339's date-time: 'T' or 't' between date and time,
 * a fraction of 1-9 digits, and an offset that is mandatory: 'Z', 'z' or
 * +HH:MM / -HH:MM up to 23:59 ("-00:00" reads as "Z"). Years are
 * 0001-9999 and every date is checked against the Gregorian calendar. A
 * leap second (second 60) is accepted and read as the first second of the
 * next minute, since a microsecond count has no room for it; the one
 * leap second that would leave year 9999 is rejected.
 */
int kx_time_parse_rfc3339(const char *s, int64_t *us, int32_t *offset_min,
			  char *errbuf, size_t errlen);

/*
 * Formats us as RFC 3339 in the given offset, with fractional seconds only
 * when there are any (6 digits). Needs at least 33 bytes.
 */
void kx_time_format_rfc3339(int64_t us, int32_t offset_min, char *out,
			    size_t outlen);

/* Parses "YYYY-MM-DD" into days since 1970-01-01; 0 or KX_EINVAL. */
int kx_date_parse(const char *s, int32_t *days, char *errbuf, size_t errlen);

/* Formats days since 1970-01-01 as "YYYY-MM-DD"; needs 11 bytes. */
void kx_date_format(int32_t days, char *out, size_t outlen);

/* Microseconds on the monotonic clock: for intervals, not for dates. */
int64_t kx_mono_us(void);

#endif
