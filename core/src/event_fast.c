/*
 * Partner JSON lines to struct kx_event, tokenized by jsmn.
 *
 * jansson builds a DOM (a hash table per object, a malloc per value) that
 * event_json.c then walks once; on the producer's lines that parse was
 * about 9 us of the 13 us a line cost. Here jsmn (header-only, no
 * allocation) tokenizes the line into an array on the stack, and
 * walk_value() calls a callback per token, which puts each value straight
 * into its slot; strings are copied (escapes decoded) into the caller's
 * arena, and the slots are then converted and validated with the same
 * helpers event_json.c uses. jsmn does the grammar; this file checks what
 * jsmn leaves open (the separators between tokens, each primitive exactly)
 * and decodes escapes, which jsmn does not.
 *
 * Invariant: kx_event_fast_try() returns true only for a line that
 * kx_event_parse_line() accepts, with the same event. Whatever it is not
 * sure of returns false, and kx_event_fast_parse_line() then asks
 * event_json.c, which words the reason. So these are left to jansson:
 *   - bytes below 0x20 (so the only white space here is the space) and
 *     invalid UTF-8 (plain());
 *   - \u0000 and surrogate escapes (unescape());
 *   - numbers, except a plain integer of up to 10 digits in a count field
 *     (13 for the budget), without a leading zero;
 *   - unknown fields, repeated keys, and every value of the wrong kind or
 *     nested where the contract has no object or array;
 *   - participants_by_sector (v2), a nested object;
 *   - any JSON syntax error, anything but spaces after the line's
 *     object, and lines of more than MAX_TOKENS tokens.
 * The unit tests run event_json's whole table of lines and reasons through
 * kx_event_fast_parse_line(), the grammar's edge cases and 12k single-byte
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

/* jsmn is header-only: its parser is compiled here, for this file alone. */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

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
 * walk_value() calls these for each token. They return 0 to
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

/*
 * How deep containers nest in a line the callbacks take: event, array,
 * party. The token array holds the largest event a partner plausibly
 * sends (each party is 9 tokens); a line with more tokens goes to jansson.
 */
#define MAX_DEPTH 3
#define MAX_TOKENS 1024

/*
 * jsmn reads the grammar; what it leaves unchecked is checked here. Its
 * strict mode still lets separators pass that JSON does not have (a
 * missing or trailing comma, a second colon), so the text between two
 * tokens is matched against the one separator expected there; and its
 * primitives are any run of bytes that starts like a number or a literal.
 */
struct walk {
	const char *js;
	const jsmntok_t *tok;
	int n, i;
	int pos;      /* just after the last token walked */
	bool escapes; /* the line has a backslash */
};

/* The text from..to is spaces, then sep (unless 0), then spaces. */
static inline bool
gap(const char *js, int from, int to, char sep)
{
	/* Most lines have no spaces between tokens. */
	if (to - from == (sep != 0) && (!sep || js[from] == sep))
		return true;
	while (from < to && js[from] == ' ')
		from++;
	if (sep) {
		if (from == to || js[from] != sep)
			return false;
		from++;
		while (from < to && js[from] == ' ')
			from++;
	}
	return from == to;
}

/* The next token, which must follow sep (a string's span has its quotes). */
static inline const jsmntok_t *
next_token(struct walk *w, char sep)
{
	const jsmntok_t *t;

	if (w->i == w->n)
		return NULL;
	t = &w->tok[w->i++];
	if (!gap(w->js, w->pos, t->start - (t->type == JSMN_STRING), sep))
		return NULL;
	w->pos = t->end + (t->type == JSMN_STRING);
	return t;
}

static int
on_primitive(struct scan *sc, const char *s, size_t len)
{
	if (len == 4 && memcmp(s, "null", 4) == 0)
		return on_null(sc);
	if (len == 4 && memcmp(s, "true", 4) == 0)
		return on_boolean(sc, 1);
	if (len == 5 && memcmp(s, "false", 5) == 0)
		return on_boolean(sc, 0);
	/* on_number takes digits only; JSON has no leading zero. */
	if (s[0] == '0' && len > 1)
		return 0;
	return on_number(sc, s, len);
}

/*
 * A string token's bytes, with its escapes decoded into the arena (the
 * text is never longer than its source). jsmn only checks an escape's
 * letter; \u0000 and surrogates (jansson refuses the one, pairs the
 * others) and whatever else is unsure give NULL: the line goes to jansson.
 */
static const unsigned char *
unescape(struct kx_arena *arena, const unsigned char *p, size_t *len)
{
	const unsigned char *end = p + *len, *q;
	unsigned char *buf, *out;

	if (!(out = buf = kx_arena_alloc(arena, *len)))
		return NULL;
	for (;;) {
		unsigned cp = 0;

		if (!(q = memchr(p, '\\', (size_t)(end - p))))
			q = end;
		memcpy(out, p, (size_t)(q - p));
		out += q - p;
		if ((p = q) == end)
			break;
		if (end - p < 2)
			return NULL;
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
			*out++ = p[1];
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
			if (end - p < 6)
				return NULL;
			for (int k = 2; k < 6; k++) {
				unsigned char c = p[k];
				unsigned d =
					c >= '0' && c <= '9'   ? c - '0'
					: c >= 'a' && c <= 'f' ? c - 'a' + 10
					: c >= 'A' && c <= 'F' ? c - 'A' + 10
							       : 16;
				if (d == 16)
					return NULL;
				cp = cp * 16 + d;
			}
			if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
				return NULL;
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
			p += 6;
			continue;
		default:
			return NULL;
		}
		p += 2;
	}
	*len = (size_t)(out - buf);
	return buf;
}

/* A string token's bytes: see unescape(). */
static inline const unsigned char *
string_of(struct scan *sc, const struct walk *w, const jsmntok_t *t,
	  size_t *len)
{
	const unsigned char *s = (const unsigned char *)w->js + t->start;

	*len = (size_t)(t->end - t->start);
	if (!w->escapes || !memchr(s, '\\', *len))
		return s;
	return unescape(sc->arena, s, len);
}

/*
 * Walks the value at the next token and its children, calling the
 * callbacks. Returns 0 to stop, as they do.
 */
static int
walk_value(struct scan *sc, struct walk *w, int depth, char sep)
{
	const jsmntok_t *t = next_token(w, sep), *k;
	const unsigned char *s;
	size_t len;

	if (!t)
		return 0;
	switch (t->type) {
	case JSMN_STRING:
		return t->size == 0 && (s = string_of(sc, w, t, &len)) &&
		       on_string(sc, s, len);
	case JSMN_PRIMITIVE:
		return t->size == 0 &&
		       on_primitive(sc, w->js + t->start,
				    (size_t)(t->end - t->start));
	case JSMN_OBJECT:
		if (depth == MAX_DEPTH || !on_start_map(sc))
			return 0;
		w->pos = t->start + 1;
		for (int j = 0; j < t->size; j++) {
			if (!(k = next_token(w, j ? ',' : 0)) ||
			    k->type != JSMN_STRING || k->size != 1 ||
			    !(s = string_of(sc, w, k, &len)) ||
			    !on_map_key(sc, s, len) ||
			    !walk_value(sc, w, depth + 1, ':'))
				return 0;
		}
		if (!gap(w->js, w->pos, t->end - 1, 0))
			return 0;
		w->pos = t->end;
		/* on_end_map stops at the line's own closing brace. */
		return on_end_map(sc) || (depth == 0 && sc->state == S_DONE);
	case JSMN_ARRAY:
		if (depth == MAX_DEPTH || !on_start_array(sc))
			return 0;
		w->pos = t->start + 1;
		for (int j = 0; j < t->size; j++)
			if (!walk_value(sc, w, depth + 1, j ? ',' : 0))
				return 0;
		if (!gap(w->js, w->pos, t->end - 1, 0))
			return 0;
		w->pos = t->end;
		return on_end_array(sc);
	default:
		return 0;
	}
}

/*
 * True when the line is one JSON object, with only spaces around it, that
 * the callbacks took to its end (state S_DONE).
 */
static bool
read_line(struct scan *sc, const char *line, size_t len, bool escapes)
{
	jsmntok_t tok[MAX_TOKENS];
	jsmn_parser parser;
	struct walk w = {.js = line, .tok = tok, .escapes = escapes};

	jsmn_init(&parser);
	if ((w.n = jsmn_parse(&parser, line, len, tok, MAX_TOKENS)) < 1)
		return false;
	return walk_value(sc, &w, 0, 0) && sc->state == S_DONE && w.i == w.n &&
	       gap(line, w.pos, (int)len, 0);
}

/*
 * True when nothing in the line needs jansson's judgement before jsmn
 * reads it (see the file comment); *escapes tells whether it has a
 * backslash.
 */
static bool
plain(const char *line, size_t len, bool *escapes)
{
	const unsigned char *s = (const unsigned char *)line;
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	const uint64_t slashes = UINT64_C(0x5c5c5c5c5c5c5c5c);

	*escapes = false;
	for (size_t i = 0; i < len; i++) {
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
		if (s[i] == '\\')
			*escapes = true;
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
	bool escapes;
	int rc = 0;

	if (len == 0 || len > KX_LINE_MAX || !plain(line, len, &escapes))
		return false;
	memset(&sc, 0, sizeof(sc));
	sc.arena = arena;
	sc.state = S_START;
	if (!read_line(&sc, line, len, escapes))
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
