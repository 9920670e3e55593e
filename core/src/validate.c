/*
 * The value rules of CONTRACT §1, checked on a decoded struct kx_event.
 *
 * Every decoder ends here (JSON, CSV through JSON, Avro), so each value
 * rule has exactly one implementation, in this file. Decoders check only
 * what their own format can get wrong (shape, JSON types) and what a struct
 * field cannot hold. Nothing is trusted: enums are range-checked and
 * strings are checked for UTF-8 and control characters, because Avro bytes
 * can carry anything.
 *
 * Reasons are "'path': cause", with the path in the partner's terms
 * ("members[1].country"). A value from the partner is always shown through
 * kx_quote_value(), so a reason is one line of valid UTF-8 whatever the
 * value holds.
 */
#include "kx/validate.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err_int.h"
#include "kx/err.h"
#include "kx/timeutil.h"

#define US_PER_DAY ((int64_t)86400 * 1000000)
#define US_PER_MIN ((int64_t)60 * 1000000)

/* Code points of a partner's value that a reason shows before "...". */
#define QUOTE_MAX 64

/* Room for a quoted value: QUOTE_MAX code points of at most 4 bytes. */
#define QBUF (QUOTE_MAX * 4 + 8)

/* Room for a path such as "visitors[123456789].country". */
#define PATH_MAX_LEN 64


/*
 * Decodes one code point from s (len > 0 bytes). Returns the sequence's
 * length, or 0 when it is not valid UTF-8: a stray continuation byte, a
 * lead byte that can only start an overlong form (C0, C1) or a code point
 * past U+10FFFF (F5-FF), a truncated sequence, an overlong three- or
 * four-byte form, or a surrogate.
 */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

size_t
kx_utf8_check(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;
	uint32_t cp;
	uint64_t w;

	while (i < len) {
		/* Partner data is mostly ASCII: skip it eight bytes at a time.
		 */
		if (len - i >= 8) {
			memcpy(&w, s + i, 8);
			if (!(w & UINT64_C(0x8080808080808080))) {
				i += 8;
				continue;
			}
		}
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_decode(s + i, len - i, &cp);
		if (!n)
			return i;
		i += n;
	}
	return len;
}

long
kx_utf8_len(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;
	long count = 0;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			if (s[i] < 0x20 || s[i] == 0x7f)
				return -1;
			i++;
			count++;
			continue;
		}
		n = utf8_decode(s + i, len - i, &cp);
		/* Multi-byte code points below U+00A0 are the C1 controls. */
		if (!n || cp < 0xa0)
			return -1;
		i += n;
		count++;
	}
	return count;
}

const char *
kx_quote_value(char *out, size_t outlen, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, o = 0, n;
	char esc[8];
	int points = 0;
	uint32_t cp;

	if (!outlen)
		return out;
	/* Each step below needs at most 8 bytes, plus "...'" and a NUL. */
	if (outlen < 16) {
		out[0] = '\0';
		return out;
	}
	out[o++] = '\'';
	while (i < len && o + 8 + 5 < outlen) {
		if (points == QUOTE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			i = len;
			break;
		}
		n = utf8_decode(s + i, len - i, &cp);
		if (n && cp >= 0x20 && cp != 0x7f &&
		    !(cp >= 0x80 && cp < 0xa0)) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
			points++;
			continue;
		}
		if (n == 1 && cp == '\n')
			memcpy(esc, "\\n", 3);
		else if (n == 1 && cp == '\t')
			memcpy(esc, "\\t", 3);
		else if (n == 1 && cp == '\r')
			memcpy(esc, "\\r", 3);
		else if (n == 2)
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
		else
			snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
		n = n ? n : 1;
		memcpy(out + o, esc, strlen(esc));
		o += strlen(esc);
		i += n;
		points++;
	}
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

/* A string's own length, read no further than max bytes. */
static size_t
bounded_len(const char *s, size_t max)
{
	const char *end = memchr(s, '\0', max);

	return end ? (size_t)(end - s) : max;
}


static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
kx_uuid_valid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (hex_value(s[i]) < 0) {
			return false;
		}
	}
	return s[36] == '\0';
}

int
kx_uuid_parse(const char *s, unsigned char out[16])
{
	/* Where each byte's two digits start in the 8-4-4-4-12 form. */
	static const unsigned char at[16] = {0,	 2,  4,	 6,  9,	 11, 14, 16,
					     19, 21, 24, 26, 28, 30, 32, 34};
	unsigned char u[16];

	/* In order, so that nothing past a short string's end is read. */
	for (int i = 0; i < 16; i++) {
		int hi, lo;
		if ((i == 4 || i == 6 || i == 8 || i == 10) &&
		    s[at[i] - 1] != '-')
			return -1;
		if ((hi = hex_value(s[at[i]])) < 0 ||
		    (lo = hex_value(s[at[i] + 1])) < 0)
			return -1;
		u[i] = (unsigned char)(hi << 4 | lo);
	}
	if (s[36] != '\0')
		return -1;
	memcpy(out, u, sizeof(u));
	return 0;
}

/*
 * Reads a number of 1-max_digits decimal digits with no leading zero from
 * s[0..len). Returns the number, or -1.
 */
static int
plain_number(const char *s, size_t len, size_t max_digits)
{
	int v = 0;

	if (len == 0 || len > max_digits || s[0] == '0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * The grammar of an SDG code, as the UN framework writes them:
 *   goal      = 1-17, no leading zero                 "11"
 *   target    = goal "." (1-19, no leading zero | a-j) "11.6", "7.a"
 *   indicator = target "." (1-99, no leading zero)    "11.6.2", "7.a.1"
 * Letters are lower case only.
 */
int
kx_sdg_parse(const char *code, int *goal, char *target, char *errbuf,
	     size_t errlen)
{
	const char *dot1, *dot2 = NULL, *t, *ind;
	size_t len = strlen(code), glen, tlen;
	char q[QBUF];
	int g;

	dot1 = memchr(code, '.', len);
	glen = dot1 ? (size_t)(dot1 - code) : len;
	if (dot1)
		dot2 = memchr(dot1 + 1, '.', len - glen - 1);
	if (dot2 && memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - code))) {
		kx__errf(errbuf, errlen,
		    "%s is not an SDG code: more than three parts",
		    kx_quote_value(q, sizeof(q), code, len));
		return KX_EINVAL;
	}
	g = plain_number(code, glen, 2);
	if (g < 1 || g > 17) {
		kx_quote_value(q, sizeof(q), code, len);
		if (!dot1) {
			kx__errf(errbuf, errlen, "%s is not an SDG goal (1-17)", q);
		} else {
			char gq[QBUF];

			kx__errf(errbuf, errlen,
			    "%s is not an SDG code: goal %s is not 1-17", q,
			    kx_quote_value(gq, sizeof(gq), code, glen));
		}
		return KX_EINVAL;
	}
	if (dot1) {
		t = dot1 + 1;
		tlen = dot2 ? (size_t)(dot2 - t) : len - glen - 1;
		if (!(tlen == 1 && t[0] >= 'a' && t[0] <= 'j')) {
			int tn = plain_number(t, tlen, 2);

			if (tn < 1 || tn > 19) {
				char tq[QBUF];

				kx__errf(errbuf, errlen,
				    "%s is not an SDG code: target %s is not "
				    "1-19 or a-j",
				    kx_quote_value(q, sizeof(q), code, len),
				    kx_quote_value(tq, sizeof(tq), t, tlen));
				return KX_EINVAL;
			}
		}
		if (dot2) {
			int in;

			ind = dot2 + 1;
			in = plain_number(ind, len - (size_t)(ind - code), 2);
			if (in < 1 || in > 99) {
				char iq[QBUF];

				kx__errf(errbuf, errlen,
				    "%s is not an SDG code: indicator %s is "
				    "not "
				    "1-99",
				    kx_quote_value(q, sizeof(q), code, len),
				    kx_quote_value(iq, sizeof(iq), ind,
						   len - (size_t)(ind - code)));
				return KX_EINVAL;
			}
		}
	}
	*goal = g;
	if (target) {
		/* "11.6" at most 5 bytes; a goal-only code has no target. */
		size_t n =
			dot1 ? (size_t)((dot2 ? dot2 : code + len) - code) : 0;
		memcpy(target, code, n);
		target[n] = '\0';
	}
	return 0;
}

/*
 * Per-event context: where reasons go. Every check returns 0 or
 * KX_EINVALID_EVENT, having written the reason.
 */
struct vctx {
	char *errbuf;
	size_t errlen;
};

static int fail(struct vctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
fail(struct vctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kx__verrf(c->errbuf, c->errlen, fmt, ap);
	va_end(ap);
	return KX_EINVALID_EVENT;
}

static int
check_enum(struct vctx *c, const char *path, int value, int count)
{
	if (value < 0 || value >= count)
		return fail(c, "'%s': value %d is out of range", path, value);
	return 0;
}

/*
 * Free text: 1-max code points of valid UTF-8 without control characters
 * (entity keys, party names, titles).
 */
static int
check_text(struct vctx *c, const char *path, const char *s, long max)
{
	size_t len, bad;
	long n;

	if (!s)
		return fail(c, "'%s': required", path);
	len = strlen(s);
	n = kx_utf8_len(s, len);
	if (n < 0) {
		bad = kx_utf8_check(s, len);
		if (bad < len)
			return fail(c, "'%s': invalid UTF-8 at byte %zu", path,
				    bad + 1);
		return fail(c, "'%s': contains a control character", path);
	}
	if (n == 0)
		return fail(c, "'%s': empty, expected 1-%ld characters", path,
			    max);
	if (n > max)
		return fail(c, "'%s': %ld characters, expected 1-%ld", path, n,
			    max);
	return 0;
}

/* The alphabet of source: [a-z0-9._-]. */
static bool
is_source_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

/* The alphabet of geo_area: [A-Z0-9-]. */
static bool
is_geo_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* Codes: a closed ASCII alphabet and a length limit. */
static int
check_code(struct vctx *c, const char *path, const char *s, size_t max,
	   bool (*in_set)(char), const char *set_text)
{
	char q[QBUF];
	size_t len, i;

	if (!s)
		return fail(c, "'%s': required", path);
	len = strlen(s);
	for (i = 0; i < len && in_set(s[i]); i++)
		;
	if (len == 0 || len > max || i < len)
		return fail(c, "'%s': %s is not 1-%zu characters of %s", path,
			    kx_quote_value(q, sizeof(q), s, len), max,
			    set_text);
	return 0;
}

/* Lowercase kebab-case: [a-z0-9]+ words joined by single hyphens. */
static bool
is_kebab(const char *s, size_t len)
{
	if (len == 0 || len > KX_THEME_MAX || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-') {
			if (s[i + 1] == '-')
				return false;
		} else if (!((s[i] >= 'a' && s[i] <= 'z') ||
			     (s[i] >= '0' && s[i] <= '9'))) {
			return false;
		}
	}
	return true;
}

static void
indexed(char *path, size_t n, const char *base, size_t i, const char *field)
{
	if (field)
		snprintf(path, n, "%s[%zu].%s", base, i, field);
	else
		snprintf(path, n, "%s[%zu]", base, i);
}

/*
 * A party's path is "host" for a single party and "members[1]" for one in
 * an array (idx >= 0). It is only built when something is wrong.
 */
static void
party_path(char *path, size_t n, const char *base, long idx, const char *field)
{
	if (idx >= 0)
		indexed(path, n, base, (size_t)idx, field);
	else
		snprintf(path, n, "%s.%s", base, field);
}

static int
check_party(struct vctx *c, const struct kx_party *p, const char *base,
	    long idx)
{
	char path[PATH_MAX_LEN], q[QBUF];
	size_t clen;
	long n;

	n = p->name ? kx_utf8_len(p->name, strlen(p->name)) : -1;
	if (n < 1 || n > KX_PARTY_NAME_MAX) {
		party_path(path, sizeof(path), base, idx, "name");
		return check_text(c, path, p->name, KX_PARTY_NAME_MAX);
	}
	clen = bounded_len(p->country, sizeof(p->country));
	if (clen != 2 || p->country[0] < 'A' || p->country[0] > 'Z' ||
	    p->country[1] < 'A' || p->country[1] > 'Z') {
		party_path(path, sizeof(path), base, idx, "country");
		return fail(c,
			    "'%s': %s is not an ISO 3166-1 alpha-2 code "
			    "(two upper-case letters)",
			    path,
			    kx_quote_value(q, sizeof(q), p->country, clen));
	}
	if (!kx_country_valid(p->country)) {
		party_path(path, sizeof(path), base, idx, "country");
		return fail(c,
			    "'%s': %s is not an assigned ISO 3166-1 alpha-2 "
			    "code",
			    path,
			    kx_quote_value(q, sizeof(q), p->country, clen));
	}
	if ((unsigned)p->kind >= KX_PARTY__COUNT) {
		party_path(path, sizeof(path), base, idx, "kind");
		return check_enum(c, path, (int)p->kind, KX_PARTY__COUNT);
	}
	return 0;
}

static int
check_parties(struct vctx *c, const struct kx_party *v, size_t n,
	      const char *base, size_t min, const char *for_type)
{
	int rc;

	if (n > KX_ITEMS_MAX)
		return fail(c, "'%s': %zu parties, at most %d", base, n,
			    KX_ITEMS_MAX);
	if (n < min) {
		return fail(c, "'%s': at least %zu %s required%s%s", base, min,
			    min == 1 ? "party" : "parties",
			    for_type ? " for " : "", for_type ? for_type : "");
	}
	if (n && !v)
		return fail(c, "'%s': required", base);
	for (size_t i = 0; i < n; i++)
		if ((rc = check_party(c, &v[i], base, (long)i)))
			return rc;
	return 0;
}

static int
check_date(struct vctx *c, const char *path, int32_t days)
{
	if (days < KX_DATE_MIN || days > KX_DATE_MAX)
		return fail(c,
			    "'%s': day %ld is out of range (0001-01-01 to "
			    "9999-12-31)",
			    path, (long)days);
	return 0;
}

static int
check_common(struct vctx *c, const struct kx_event *ev)
{
	char q[QBUF], path[PATH_MAX_LEN], reason[QBUF + 128];
	size_t len;
	int64_t local;
	int goal, rc;

	len = bounded_len(ev->event_id, sizeof(ev->event_id));
	if (len == sizeof(ev->event_id) || !kx_uuid_valid(ev->event_id))
		return fail(c,
			    "'event_id': %s is not a UUID (8-4-4-4-12 hex "
			    "digits)",
			    kx_quote_value(q, sizeof(q), ev->event_id,
					   len < 36 ? len : 36));
	if (strpbrk(ev->event_id, "ABCDEF"))
		return fail(c, "'event_id': %s is not in lower case",
			    kx_quote_value(q, sizeof(q), ev->event_id, len));

	if (ev->occurred_offset < -KX_OFFSET_MAX ||
	    ev->occurred_offset > KX_OFFSET_MAX)
		return fail(c,
			    "'occurred_at': offset of %ld minutes is out of "
			    "range (-%d to %d)",
			    (long)ev->occurred_offset, KX_OFFSET_MAX,
			    KX_OFFSET_MAX);
	/*
	 * The written local time must have a four-digit year, or the
	 * timestamp could not be written back. Compare in days first so
	 * that no arithmetic can overflow.
	 */
	local = ev->occurred_at / US_PER_DAY;
	if (local < KX_DATE_MIN - 2 || local > KX_DATE_MAX + 2)
		return fail(c, "'occurred_at': out of range (years 0001-9999)");
	local = ev->occurred_at + ev->occurred_offset * US_PER_MIN;
	if (local < KX_DATE_MIN * US_PER_DAY ||
	    local >= (KX_DATE_MAX + 1) * US_PER_DAY)
		return fail(c, "'occurred_at': out of range (years 0001-9999)");

	if ((rc = check_code(c, "source", ev->source, KX_SOURCE_MAX,
			     is_source_char, "[a-z0-9._-]")))
		return rc;
	if ((rc = check_enum(c, "programme", (int)ev->programme,
			     KX_PROGRAMME__COUNT)))
		return rc;
	if (ev->geo_area &&
	    (rc = check_code(c, "geo_area", ev->geo_area, KX_GEO_AREA_MAX,
			     is_geo_char, "[A-Z0-9-]")))
		return rc;

	if (ev->n_sdgs > KX_ITEMS_MAX)
		return fail(c, "'sdgs': %zu codes, at most %d", ev->n_sdgs,
			    KX_ITEMS_MAX);
	if (ev->n_themes > KX_ITEMS_MAX)
		return fail(c, "'themes': %zu themes, at most %d",
			    ev->n_themes, KX_ITEMS_MAX);
	for (size_t i = 0; i < ev->n_sdgs; i++) {
		const char *s = ev->sdgs ? ev->sdgs[i] : NULL;

		if (!s ||
		    kx_sdg_parse(s, &goal, NULL, reason, sizeof(reason))) {
			indexed(path, sizeof(path), "sdgs", i, NULL);
			if (!s)
				return fail(c, "'%s': required", path);
			return fail(c, "'%s': %s", path, reason);
		}
	}
	for (size_t i = 0; i < ev->n_themes; i++) {
		const char *s = ev->themes ? ev->themes[i] : NULL;

		if (!s || !is_kebab(s, strlen(s))) {
			indexed(path, sizeof(path), "themes", i, NULL);
			if (!s)
				return fail(c, "'%s': required", path);
			return fail(c,
				    "'%s': %s is not lowercase kebab-case of "
				    "1-%d characters",
				    path,
				    kx_quote_value(q, sizeof(q), s, strlen(s)),
				    KX_THEME_MAX);
		}
	}
	return 0;
}

/*
 * An http(s) URL: the scheme, a host, and no space or control character
 * (other characters, UTF-8 included, are the partner's business).
 */
static int
check_url(struct vctx *c, const char *path, const char *s)
{
	char q[QBUF];
	size_t len = bounded_len(s, KX_URL_MAX + 1), skip;

	if (len > KX_URL_MAX)
		return fail(c, "'%s': longer than %d bytes", path, KX_URL_MAX);
	if (strncmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncmp(s, "http://", 7) == 0)
		skip = 7;
	else
		skip = 0;
	for (size_t i = 0; skip && i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			skip = 0;
	if (skip == 0 || len == skip || s[skip] == '/')
		return fail(c, "'%s': %s is not an http(s) URL", path,
			    kx_quote_value(q, sizeof(q), s, len));
	return 0;
}

static int
check_sectors(struct vctx *c, const struct kx_visit *v)
{
	const struct {
		const char *name;
		int32_t n;
	} s[] = {{"public_sector", v->by_sector.public_sector},
		 {"private_sector", v->by_sector.private_sector},
		 {"academia", v->by_sector.academia},
		 {"civil_society", v->by_sector.civil_society}};
	long sum = 0;

	if (!v->by_sector.present)
		return 0;
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (s[i].n < 0 || s[i].n > KX_PARTICIPANTS_MAX)
			return fail(c,
				    "'participants_by_sector.%s': %ld is out "
				    "of range (0-%d)",
				    s[i].name, (long)s[i].n,
				    KX_PARTICIPANTS_MAX);
		sum += s[i].n;
	}
	if (v->participants >= 0 && sum > v->participants)
		return fail(c,
			    "'participants_by_sector': the sectors add up to "
			    "%ld, more than participants (%ld)",
			    sum, (long)v->participants);
	return 0;
}

static int
check_pairing(struct vctx *c, const struct kx_event *ev)
{
	const struct kx_pairing *p = &ev->u.pairing;
	int rc;

	if ((rc = check_text(c, "pairing_id", p->pairing_id, KX_KEY_MAX)) ||
	    (rc = check_enum(c, "cooperation_type", (int)p->cooperation_type,
			     KX_COOP__COUNT)))
		return rc;
	/* A proposal may name only its initiator; a pairing needs two. */
	if ((rc = check_parties(c, p->members, p->n_members, "members",
				ev->type == KX_EVENT_PAIRING_PROPOSED ? 1 : 2,
				kx_event_type_name(ev->type))))
		return rc;
	if (p->pilot_projects < 0 || p->pilot_projects > KX_PILOT_PROJECTS_MAX)
		return fail(c, "'pilot_projects': %ld is out of range (0-%d)",
			    (long)p->pilot_projects, KX_PILOT_PROJECTS_MAX);
	/* -1 is the struct's "absent". */
	if (p->budget_eur != -1 &&
	    (p->budget_eur < 0 || p->budget_eur > KX_BUDGET_MAX))
		return fail(c, "'budget_eur': %lld is out of range (0-%lld)",
			    (long long)p->budget_eur,
			    (long long)KX_BUDGET_MAX);
	return 0;
}

static int
check_visit(struct vctx *c, const struct kx_event *ev)
{
	const struct kx_visit *v = &ev->u.visit;
	char a[16], b[16];
	int rc;

	if ((rc = check_text(c, "visit_id", v->visit_id, KX_KEY_MAX)) ||
	    (v->pairing_id &&
	     (rc = check_text(c, "pairing_id", v->pairing_id, KX_KEY_MAX))) ||
	    (rc = check_enum(c, "visit_type", (int)v->visit_type,
			     KX_VISIT__COUNT)) ||
	    (rc = check_enum(c, "format", (int)v->format, KX_FORMAT__COUNT)) ||
	    (rc = check_party(c, &v->host, "host", -1)) ||
	    (rc = check_parties(c, v->visitors, v->n_visitors, "visitors", 1,
				NULL)) ||
	    (rc = check_date(c, "start_date", v->start_date)) ||
	    (rc = check_date(c, "end_date", v->end_date)))
		return rc;
	if (v->end_date < v->start_date) {
		kx_date_format(v->end_date, a, sizeof(a));
		kx_date_format(v->start_date, b, sizeof(b));
		return fail(c, "'end_date': %s is before start_date %s", a, b);
	}
	/* -1 is the struct's "absent"; any other negative is an error. */
	if (v->participants == -1) {
		if (ev->type == KX_EVENT_VISIT_HELD)
			return fail(c, "'participants': required for %s",
				    kx_event_type_name(ev->type));
	} else if (v->participants < 0 ||
		   v->participants > KX_PARTICIPANTS_MAX) {
		return fail(c, "'participants': %ld is out of range (0-%d)",
			    (long)v->participants, KX_PARTICIPANTS_MAX);
	}
	if ((v->report_url &&
	     (rc = check_url(c, "report_url", v->report_url))) ||
	    (rc = check_sectors(c, v)) ||
	    (rc = check_enum(c, "follow_up", (int)v->follow_up,
			     KX_FOLLOW_UP__COUNT)))
		return rc;
	return 0;
}

static int
check_practice(struct vctx *c, const struct kx_event *ev)
{
	const struct kx_practice *p = &ev->u.practice;
	int rc;

	if ((rc = check_text(c, "practice_id", p->practice_id, KX_KEY_MAX)) ||
	    (rc = check_text(c, "title", p->title, KX_TITLE_MAX)) ||
	    (rc = check_party(c, &p->origin, "origin", -1)) ||
	    (rc = check_enum(c, "product_type", (int)p->product_type,
			     KX_PRODUCT__COUNT)) ||
	    (p->url && (rc = check_url(c, "url", p->url))))
		return rc;
	return 0;
}

static int
check_transfer(struct vctx *c, const struct kx_event *ev)
{
	const struct kx_transfer *t = &ev->u.transfer;
	int rc;

	if ((rc = check_text(c, "transfer_id", t->transfer_id, KX_KEY_MAX)) ||
	    (rc = check_text(c, "practice_id", t->practice_id, KX_KEY_MAX)) ||
	    (rc = check_party(c, &t->adopter, "adopter", -1)))
		return rc;
	return 0;
}

int
kx_event_validate(const struct kx_event *ev, char *errbuf, size_t errlen)
{
	struct vctx c = {errbuf, errlen};
	int rc;

	if ((rc = check_enum(&c, "event_type", (int)ev->type, KX_EVENT__COUNT)))
		return rc;
	if ((rc = check_common(&c, ev)))
		return rc;
	switch (kx_event_type_family(ev->type)) {
	case KX_FAMILY_PAIRING:
		return check_pairing(&c, ev);
	case KX_FAMILY_VISIT:
		return check_visit(&c, ev);
	default:
		if (ev->type == KX_EVENT_PRACTICE_DOCUMENTED)
			return check_practice(&c, ev);
		return check_transfer(&c, ev);
	}
}
