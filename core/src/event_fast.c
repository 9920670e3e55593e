/*
 * Partner JSON lines to struct kx_event through a scanner of its own.
 *
 * jansson builds a DOM (a hash table per object, a malloc per value) that
 * event_json.c then walks once; on the producer's lines that parse was
 * about 9 us of the 13 us a line cost. Here a small scanner (scan_line)
 * reads the line's JSON in one pass and calls a callback per token, which
 * puts each value straight into its slot; strings are copied (escapes
 * decoded) into the caller's arena, and the slots are then converted and
 * validated with the same helpers event_json.c uses. yajl did the scanning
 * before, and cost more than all the rest of a line together: a general
 * parser has to handle what plain() below has already ruled out.
 *
 * Invariant: kx_event_fast_try() returns true only for a line that
 * kx_event_parse_line() accepts, with the same event. Whatever it is not
 * sure of returns false, and kx_event_fast_parse_line() then asks
 * event_json.c, which words the reason. So these are left to jansson:
 *   - bytes below 0x20 (so the only white space here is the space), a
 *     byte order mark, and invalid UTF-8 (plain());
 *   - \u0000 and surrogate escapes (plain()), and escapes JSON lacks;
 *   - numbers, except a plain integer of up to 10 digits in a count field
 *     (13 for the budget), without a leading zero;
 *   - unknown fields, repeated keys, and every value of the wrong kind or
 *     nested where the contract has no object or array;
 *   - participants_by_sector (v2), a nested object;
 *   - any JSON syntax error, and anything but spaces after the line's
 *     object.
 * The unit tests run event_json's whole table of lines and reasons through
 * kx_event_fast_parse_line(), the scanner's edge cases and 12k single-byte
 * edits through both paths, and compare both paths' events and Avro
 * encodings line by line; fuzz_json_line checks the invariant too.
 */
#include "kx/event_fast.h"

#include <stdint.h>
#include <string.h>

#include "kx/err.h"
#include "kx/event_json.h"
#include "kx/timeutil.h"
#include "kx/validate.h"

#include "event_fields_int.h"

/*
 * What each field's value must be. participants_by_sector (v2, a nested
 * object) has none: the fast path leaves it to jansson.
 */
enum kind { K_NONE, K_STRING, K_STRINGS, K_PARTY, K_PARTIES, K_COUNT, K_BUDGET };

static const enum kind kinds[F__COUNT] = {
	[F_EVENT_ID] = K_STRING,	 [F_EVENT_TYPE] = K_STRING,
	[F_OCCURRED_AT] = K_STRING,	 [F_SOURCE] = K_STRING,
	[F_PROGRAMME] = K_STRING,	 [F_GEO_AREA] = K_STRING,
	[F_SDGS] = K_STRINGS,		 [F_THEMES] = K_STRINGS,
	[F_PAIRING_ID] = K_STRING,	 [F_COOPERATION_TYPE] = K_STRING,
	[F_MEMBERS] = K_PARTIES,	 [F_PILOT_PROJECTS] = K_COUNT,
	[F_VISIT_ID] = K_STRING,	 [F_VISIT_TYPE] = K_STRING,
	[F_FORMAT] = K_STRING,		 [F_HOST] = K_PARTY,
	[F_VISITORS] = K_PARTIES,	 [F_START_DATE] = K_STRING,
	[F_END_DATE] = K_STRING,	 [F_PARTICIPANTS] = K_COUNT,
	[F_PRACTICE_ID] = K_STRING,	 [F_TITLE] = K_STRING,
	[F_ORIGIN] = K_PARTY,		 [F_PRODUCT_TYPE] = K_STRING,
	[F_TRANSFER_ID] = K_STRING,	 [F_ADOPTER] = K_PARTY,
	[F_BUDGET_EUR] = K_BUDGET,	 [F_REPORT_URL] = K_STRING,
	[F_PARTICIPANTS_BY_SECTOR] = K_NONE, [F_FOLLOW_UP] = K_STRING,
	[F_URL] = K_STRING,
};

/* A party's fields, in event_json.c's order. */
enum { P_NAME, P_COUNTRY, P_KIND, P_EU, P__COUNT };

/* Where the parser is; each state says what may come next. */
enum state {
	S_START,   /* the line's object */
	S_KEY,     /* a field name, or the end of the line's object */
	S_VALUE,   /* the value of field */
	S_STRINGS, /* a string in field's array, or its end */
	S_PARTIES, /* a party object in field's array, or its end */
	S_PKEY,    /* a party's field name, or the party's end */
	S_PVALUE,  /* the value of the party's field pfield */
	S_DONE
};

/* A growing array in the arena (copied on growth: arrays are short). */
struct vec {
	void *v;
	size_t n, cap;
};

struct scan {
	struct kx_arena *arena;
	enum state state;
	int field, pfield;
	uint32_t seen, present; /* fields met, and those not null */
	const char *str[F__COUNT];
	size_t len[F__COUNT];
	const char **strs[F__COUNT];
	size_t n[F__COUNT];
	struct kx_party *party[F__COUNT]; /* one for K_PARTY, n for K_PARTIES */
	int64_t count[F__COUNT]; /* K_COUNT fits int32, K_BUDGET int64 */
	struct vec vec; /* the array being read */
	/* The party being read, raw. */
	unsigned pseen, ppresent;
	const char *pstr[P_EU];
	size_t plen[P_EU];
	bool peu;
};

static void *
vec_push(struct scan *sc, size_t size)
{
	struct vec *v = &sc->vec;

	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		void *p = kx_arena_alloc(sc->arena, cap * size);

		if (!p)
			return NULL;
		if (v->n)
			memcpy(p, v->v, v->n * size);
		v->v = p;
		v->cap = cap;
	}
	return (char *)v->v + v->n++ * size;
}

static const char *
copy(struct scan *sc, const unsigned char *s, size_t len)
{
	return kx_arena_strndup(sc->arena, (const char *)s, len);
}

/*
 * The scanner (scan_line) calls these for each token. They return 0 to
 * stop it: the line then goes to jansson. A field is taken as it comes;
 * what it means is decided once the line is read.
 */
static int
on_null(void *ctx)
{
	struct scan *sc = ctx;

	if (sc->state == S_VALUE) {
		sc->state = S_KEY; /* null is absent: seen, not present */
		return 1;
	}
	if (sc->state == S_PVALUE) {
		sc->state = S_PKEY;
		return 1;
	}
	return 0;
}

static int
on_boolean(void *ctx, int b)
{
	struct scan *sc = ctx;

	if (sc->state != S_PVALUE || sc->pfield != P_EU)
		return 0;
	sc->peu = b != 0;
	sc->ppresent |= 1u << P_EU;
	sc->state = S_PKEY;
	return 1;
}

static int
on_number(void *ctx, const char *s, size_t len)
{
	struct scan *sc = ctx;
	int64_t n = 0;

	/* 13 digits: a budget up to KX_BUDGET_MAX, which validate.c checks. */
	if (sc->state != S_VALUE ||
	    (kinds[sc->field] != K_COUNT &&
	     kinds[sc->field] != K_BUDGET) ||
	    len > (kinds[sc->field] == K_COUNT ? 10u : 13u))
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		n = n * 10 + (s[i] - '0');
	}
	if (len == 0 || (kinds[sc->field] == K_COUNT && n > INT32_MAX))
		return 0;
	sc->count[sc->field] = n;
	sc->present |= (uint32_t)1 << sc->field;
	sc->state = S_KEY;
	return 1;
}

static int
on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct scan *sc = ctx;
	const char **slot;
	int f = sc->field;

	switch (sc->state) {
	case S_VALUE:
		if (kinds[f] != K_STRING)
			return 0;
		if (!(sc->str[f] = copy(sc, s, len)))
			return 0;
		sc->len[f] = len;
		sc->present |= (uint32_t)1 << f;
		sc->state = S_KEY;
		return 1;
	case S_STRINGS:
		if (!(slot = vec_push(sc, sizeof(*slot))) ||
		    !(*slot = copy(sc, s, len)))
			return 0;
		return 1;
	case S_PVALUE:
		if (sc->pfield == P_EU)
			return 0;
		if (!(sc->pstr[sc->pfield] = copy(sc, s, len)))
			return 0;
		sc->plen[sc->pfield] = len;
		sc->ppresent |= 1u << sc->pfield;
		sc->state = S_PKEY;
		return 1;
	default:
		return 0;
	}
}

static int
on_map_key(void *ctx, const unsigned char *key, size_t len)
{
	static const char *const names[P__COUNT] = {"name", "country", "kind",
						    "eu"};
	static const size_t lens[P__COUNT] = {4, 7, 4, 2};
	struct scan *sc = ctx;
	int f;

	if (sc->state == S_KEY) {
		if ((f = kx__event_field_lookup((const char *)key, len)) < 0 ||
		    kinds[f] == K_NONE || (sc->seen & ((uint32_t)1 << f)))
			return 0;
		sc->seen |= (uint32_t)1 << f;
		sc->field = f;
		sc->state = S_VALUE;
		return 1;
	}
	if (sc->state == S_PKEY) {
		for (f = 0; f < P__COUNT; f++)
			if (lens[f] == len && memcmp(names[f], key, len) == 0)
				break;
		if (f == P__COUNT || (sc->pseen & (1u << f)))
			return 0;
		sc->pseen |= 1u << f;
		sc->pfield = f;
		sc->state = S_PVALUE;
		return 1;
	}
	return 0;
}

static int
on_start_map(void *ctx)
{
	struct scan *sc = ctx;

	if (sc->state == S_START) {
		sc->state = S_KEY;
		return 1;
	}
	if ((sc->state == S_VALUE && kinds[sc->field] == K_PARTY) ||
	    sc->state == S_PARTIES) {
		sc->pseen = sc->ppresent = 0;
		sc->state = S_PKEY;
		return 1;
	}
	return 0;
}

/* A party as event_json.c's take_party() builds it, or -1. */
static int
end_party(struct scan *sc, struct kx_party *p)
{
	if (sc->ppresent != (1u << P__COUNT) - 1 || sc->plen[P_COUNTRY] != 2 ||
	    kx_party_kind_parse(sc->pstr[P_KIND], &p->kind))
		return -1;
	p->name = sc->pstr[P_NAME];
	memcpy(p->country, sc->pstr[P_COUNTRY], 3);
	p->eu = sc->peu;
	return 0;
}

static int
on_end_map(void *ctx)
{
	struct scan *sc = ctx;
	struct kx_party *p;
	int f = sc->field;

	if (sc->state == S_KEY) {
		sc->state = S_DONE;
		return 0; /* the line's object is read: see kx_event_fast_try */
	}
	if (sc->state != S_PKEY)
		return 0;
	if (kinds[f] == K_PARTIES) {
		/* A party in an array. */
		if (!(p = vec_push(sc, sizeof(*p))) || end_party(sc, p))
			return 0;
		sc->state = S_PARTIES;
		return 1;
	}
	if (!(p = kx_arena_calloc(sc->arena, 1, sizeof(*p))) ||
	    end_party(sc, p))
		return 0;
	sc->party[f] = p;
	sc->present |= (uint32_t)1 << f;
	sc->state = S_KEY;
	return 1;
}

static int
on_start_array(void *ctx)
{
	struct scan *sc = ctx;

	if (sc->state != S_VALUE)
		return 0;
	sc->vec.v = NULL;
	sc->vec.n = sc->vec.cap = 0;
	if (kinds[sc->field] == K_STRINGS)
		sc->state = S_STRINGS;
	else if (kinds[sc->field] == K_PARTIES)
		sc->state = S_PARTIES;
	else
		return 0;
	return 1;
}

static int
on_end_array(void *ctx)
{
	struct scan *sc = ctx;
	int f = sc->field;

	if (sc->state == S_STRINGS)
		sc->strs[f] = sc->vec.n ? sc->vec.v : NULL;
	else if (sc->state == S_PARTIES)
		sc->party[f] = sc->vec.n ? sc->vec.v : NULL;
	else
		return 0;
	sc->n[f] = sc->vec.n;
	sc->vec.v = NULL;
	sc->vec.n = sc->vec.cap = 0;
	sc->present |= (uint32_t)1 << f;
	sc->state = S_KEY;
	return 1;
}

/* How deep containers nest in a line the callbacks take: event, array, party. */
#define MAX_DEPTH 3

static const unsigned char *
skip_spaces(const unsigned char *p, const unsigned char *end)
{
	/* plain() has let no other white space through. */
	while (p < end && *p == ' ')
		p++;
	return p;
}

static unsigned
hex4(const unsigned char *p)
{
	unsigned cp = 0;

	for (int k = 0; k < 4; k++) {
		unsigned char c = p[k];
		cp = cp * 16 + (c <= '9'   ? (unsigned)(c - '0')
				: c <= 'F' ? (unsigned)(c - 'A' + 10)
					   : (unsigned)(c - 'a' + 10));
	}
	return cp;
}

/*
 * Reads the string whose opening quote is at *pp and passes its decoded
 * bytes to on_key or on_string. plain() has checked every \u escape
 * already (four hex digits, neither NUL nor a surrogate). Returns 0 to stop.
 */
static int
scan_string(struct scan *sc, const unsigned char **pp,
	    const unsigned char *end, bool key)
{
	const unsigned char *p = *pp + 1, *start = p;
	unsigned char *buf, *out;

	while (p < end && *p != '"' && *p != '\\')
		p++;
	if (p == end)
		return 0;
	if (*p == '"') {
		*pp = p + 1;
		return key ? on_map_key(sc, start, (size_t)(p - start))
			   : on_string(sc, start, (size_t)(p - start));
	}
	/* Escapes: decoded text is never longer than its source. */
	if (!(buf = kx_arena_alloc(sc->arena, (size_t)(end - start))))
		return 0;
	memcpy(buf, start, (size_t)(p - start));
	out = buf + (p - start);
	while (p < end && *p != '"') {
		unsigned cp;

		if (*p != '\\') {
			*out++ = *p++;
			continue;
		}
		if (++p == end)
			return 0;
		switch (*p++) {
		case '"':
			*out++ = '"';
			break;
		case '\\':
			*out++ = '\\';
			break;
		case '/':
			*out++ = '/';
			break;
		case 'b':
			*out++ = '\b';
			break;
		case 'f':
			*out++ = '\f';
			break;
		case 'n':
			*out++ = '\n';
			break;
		case 'r':
			*out++ = '\r';
			break;
		case 't':
			*out++ = '\t';
			break;
		case 'u':
			cp = hex4(p);
			p += 4;
			if (cp < 0x80) {
				*out++ = (unsigned char)cp;
			} else if (cp < 0x800) {
				*out++ = (unsigned char)(0xC0 | (cp >> 6));
				*out++ = (unsigned char)(0x80 | (cp & 0x3F));
			} else {
				*out++ = (unsigned char)(0xE0 | (cp >> 12));
				*out++ = (unsigned char)(0x80 |
							 ((cp >> 6) & 0x3F));
				*out++ = (unsigned char)(0x80 | (cp & 0x3F));
			}
			break;
		default:
			return 0; /* not a JSON escape: jansson words it */
		}
	}
	if (p == end)
		return 0;
	*pp = p + 1;
	return key ? on_map_key(sc, buf, (size_t)(out - buf))
		   : on_string(sc, buf, (size_t)(out - buf));
}

/*
 * Reads a number token. Anything but a plain integer is refused by
 * on_number anyway; a leading zero (not JSON) is refused here.
 */
static int
scan_number(struct scan *sc, const unsigned char **pp,
	    const unsigned char *end)
{
	const unsigned char *p = *pp, *start = p;

	while (p < end && ((*p >= '0' && *p <= '9') || *p == '-' ||
			   *p == '+' || *p == '.' || *p == 'e' || *p == 'E'))
		p++;
	if (*start == '0' && p - start > 1)
		return 0;
	*pp = p;
	return on_number(sc, (const char *)start, (size_t)(p - start));
}

static int
scan_literal(struct scan *sc, const unsigned char **pp,
	     const unsigned char *end)
{
	const unsigned char *p = *pp;
	size_t left = (size_t)(end - p);

	if (left >= 4 && memcmp(p, "null", 4) == 0) {
		*pp = p + 4;
		return on_null(sc);
	}
	if (left >= 4 && memcmp(p, "true", 4) == 0) {
		*pp = p + 4;
		return on_boolean(sc, 1);
	}
	if (left >= 5 && memcmp(p, "false", 5) == 0) {
		*pp = p + 5;
		return on_boolean(sc, 0);
	}
	return 0;
}

/*
 * The JSON grammar over the line, calling the callbacks above; what
 * follows a token is checked before the next one is read (no trailing
 * commas, a colon after each key). Returns true when the line's object
 * was read to its closing brace (state S_DONE) with only spaces after it.
 */
static bool
scan_line(struct scan *sc, const char *line, size_t len)
{
	const unsigned char *p = (const unsigned char *)line;
	const unsigned char *end = p + len;
	unsigned char stack[MAX_DEPTH];
	int depth = 0;

	p = skip_spaces(p, end);
value:
	if (p == end)
		return false;
	switch (*p) {
	case '{':
		if (depth == MAX_DEPTH || !on_start_map(sc))
			return false;
		stack[depth++] = '{';
		p = skip_spaces(p + 1, end);
		if (p < end && *p == '}')
			goto close;
		goto key;
	case '[':
		if (depth == MAX_DEPTH || !on_start_array(sc))
			return false;
		stack[depth++] = '[';
		p = skip_spaces(p + 1, end);
		if (p < end && *p == ']')
			goto close;
		goto value;
	case '"':
		if (!scan_string(sc, &p, end, false))
			return false;
		break;
	case 't':
	case 'f':
	case 'n':
		if (!scan_literal(sc, &p, end))
			return false;
		break;
	default:
		if (!(*p >= '0' && *p <= '9') && *p != '-')
			return false;
		if (!scan_number(sc, &p, end))
			return false;
		break;
	}
next:
	/* After a value: a comma, or the end of the container. */
	p = skip_spaces(p, end);
	if (p == end || depth == 0)
		return false;
	if (*p == ',') {
		p = skip_spaces(p + 1, end);
		if (stack[depth - 1] == '{')
			goto key;
		goto value;
	}
close:
	if (*p != (stack[depth - 1] == '{' ? '}' : ']'))
		return false;
	p++;
	if (stack[--depth] == '[') {
		if (!on_end_array(sc))
			return false;
		goto next;
	}
	if (on_end_map(sc))
		goto next;
	/* on_end_map stops at the line's own closing brace. */
	if (depth != 0 || sc->state != S_DONE)
		return false;
	return skip_spaces(p, end) == end;
key:
	if (p == end || *p != '"' || !scan_string(sc, &p, end, true))
		return false;
	p = skip_spaces(p, end);
	if (p == end || *p != ':')
		return false;
	p = skip_spaces(p + 1, end);
	goto value;
}

/*
 * True when nothing in the line needs jansson's judgement before yajl
 * reads it: see the file comment.
 */
static bool
plain(const char *line, size_t len)
{
	const unsigned char *s = (const unsigned char *)line;
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	const uint64_t slashes = UINT64_C(0x5c5c5c5c5c5c5c5c);

	for (size_t i = 0; i < len; i++) {
		unsigned cp = 0;
		uint64_t w, x;

		/*
		 * Eight bytes at a time while none is below 0x20 or a
		 * backslash (a zero byte of w ^ slashes); bytes of 0x80 and
		 * up never match, so this is exact.
		 */
		while (len - i >= 8) {
			memcpy(&w, s + i, 8);
			x = w ^ slashes;
			if (((w - ones * 0x20) | (x - ones)) & ~w & highs)
				break;
			i += 8;
		}
		if (i == len)
			break;
		if (s[i] < 0x20)
			return false;
		if (s[i] != '\\')
			continue;
		if (++i == len)
			return false;
		if (s[i] != 'u')
			continue;
		if (len - i < 5)
			return false;
		for (int k = 1; k <= 4; k++) {
			unsigned char c = s[i + k];
			unsigned d = c >= '0' && c <= '9'   ? c - '0'
				     : c >= 'a' && c <= 'f' ? c - 'a' + 10
				     : c >= 'A' && c <= 'F' ? c - 'A' + 10
							    : 16;
			if (d == 16)
				return false;
			cp = cp * 16 + d;
		}
		if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += 4;
	}
	return kx_utf8_check(line, len) == len;
}

/* The symbol parsers take a NUL-terminated string; slots are. */
#define SYMBOL(sc, f, parse, out) (parse((sc)->str[f], out) ? -1 : 0)

static int
take_common(struct scan *sc, struct kx_event *ev)
{
	const char *id = sc->str[F_EVENT_ID];

	if (!kx_uuid_valid(id))
		return -1;
	for (int i = 0; i < 36; i++) {
		char ch = id[i];

		ev->event_id[i] = ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch;
	}
	ev->event_id[36] = '\0';
	if (kx_time_parse_rfc3339(sc->str[F_OCCURRED_AT], &ev->occurred_at,
				  &ev->occurred_offset, NULL, 0) ||
	    SYMBOL(sc, F_PROGRAMME, kx_programme_parse, &ev->programme))
		return -1;
	ev->source = sc->str[F_SOURCE];
	if (sc->present & B(GEO_AREA))
		ev->geo_area = sc->str[F_GEO_AREA];
	ev->sdgs = sc->strs[F_SDGS];
	ev->n_sdgs = sc->n[F_SDGS];
	if (sc->present & B(THEMES)) {
		ev->themes = sc->strs[F_THEMES];
		ev->n_themes = sc->n[F_THEMES];
	}
	return 0;
}

static int
take_pairing(struct scan *sc, struct kx_pairing *p)
{
	p->pairing_id = sc->str[F_PAIRING_ID];
	if (SYMBOL(sc, F_COOPERATION_TYPE, kx_cooperation_type_parse,
		   &p->cooperation_type))
		return -1;
	p->members = sc->party[F_MEMBERS];
	p->n_members = sc->n[F_MEMBERS];
	p->pilot_projects = sc->present & B(PILOT_PROJECTS)
				    ? (int32_t)sc->count[F_PILOT_PROJECTS]
				    : 0;
	p->budget_eur =
		sc->present & B(BUDGET_EUR) ? sc->count[F_BUDGET_EUR] : -1;
	return 0;
}

static int
take_visit(struct scan *sc, struct kx_visit *v)
{
	v->visit_id = sc->str[F_VISIT_ID];
	if (sc->present & B(PAIRING_ID))
		v->pairing_id = sc->str[F_PAIRING_ID];
	if (SYMBOL(sc, F_VISIT_TYPE, kx_visit_type_parse, &v->visit_type) ||
	    SYMBOL(sc, F_FORMAT, kx_visit_format_parse, &v->format) ||
	    kx_date_parse(sc->str[F_START_DATE], &v->start_date, NULL, 0) ||
	    kx_date_parse(sc->str[F_END_DATE], &v->end_date, NULL, 0))
		return -1;
	v->host = *sc->party[F_HOST];
	v->visitors = sc->party[F_VISITORS];
	v->n_visitors = sc->n[F_VISITORS];
	v->participants = sc->present & B(PARTICIPANTS)
				  ? (int32_t)sc->count[F_PARTICIPANTS]
				  : -1;
	if (sc->present & B(REPORT_URL))
		v->report_url = sc->str[F_REPORT_URL];
	if ((sc->present & B(FOLLOW_UP)) &&
	    SYMBOL(sc, F_FOLLOW_UP, kx_follow_up_parse, &v->follow_up))
		return -1;
	return 0;
}

static int
take_practice(struct scan *sc, struct kx_practice *p)
{
	p->practice_id = sc->str[F_PRACTICE_ID];
	p->title = sc->str[F_TITLE];
	p->origin = *sc->party[F_ORIGIN];
	if (sc->present & B(URL))
		p->url = sc->str[F_URL];
	return SYMBOL(sc, F_PRODUCT_TYPE, kx_product_type_parse,
		      &p->product_type);
}

static void
take_transfer(struct scan *sc, struct kx_transfer *t)
{
	t->transfer_id = sc->str[F_TRANSFER_ID];
	t->practice_id = sc->str[F_PRACTICE_ID];
	t->adopter = *sc->party[F_ADOPTER];
}

bool
kx_event_fast_try(const char *line, size_t len, struct kx_arena *arena,
		  struct kx_event *ev)
{
	struct scan sc;
	enum shape shape;
	int rc = 0;

	if (len == 0 || len > KX_LINE_MAX || !plain(line, len))
		return false;
	memset(&sc, 0, sizeof(sc));
	sc.arena = arena;
	sc.state = S_START;
	if (!scan_line(&sc, line, len))
		return false;

	memset(ev, 0, sizeof(*ev));
	if (!(sc.present & B(EVENT_TYPE)) ||
	    kx_event_type_parse(sc.str[F_EVENT_TYPE], &ev->type))
		return false;
	shape = kx__event_shape_of(ev->type);
	if ((sc.present & ~kx__event_shapes[shape].allowed) ||
	    (kx__event_shapes[shape].required & ~sc.present))
		return false;
	if (take_common(&sc, ev))
		return false;
	switch (shape) {
	case SHAPE_PAIRING:
		rc = take_pairing(&sc, &ev->u.pairing);
		break;
	case SHAPE_VISIT:
		rc = take_visit(&sc, &ev->u.visit);
		break;
	case SHAPE_PRACTICE:
		rc = take_practice(&sc, &ev->u.practice);
		break;
	case SHAPE_TRANSFER:
		take_transfer(&sc, &ev->u.transfer);
		break;
	}
	return rc == 0 && kx_event_validate(ev, NULL, 0) == 0;
}

int
kx_event_fast_parse_line(const char *line, size_t len,
			 struct kx_arena *arena, struct kx_event *ev,
			 char *errbuf, size_t errlen)
{
	if (kx_event_fast_try(line, len, arena, ev))
		return 0;
	return kx_event_parse_line(line, len, arena, ev, errbuf, errlen);
}
