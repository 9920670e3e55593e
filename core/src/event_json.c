/*
 * Partner JSON to struct kx_event and back.
 *
 * This layer owns the shape of an event: which fields each type allows and
 * requires, their JSON types, null as absent, integers as JSON integers,
 * and the conversions into struct fields (symbols to enums, the UUID to
 * lower case, timestamps and dates to numbers). Value rules live in
 * validate.c alone and run once at the end; the few checks made here are
 * about what a struct field cannot hold (a country of three letters, a
 * count below zero), worded exactly as validate.c words the rule.
 *
 * A field that is null counts as absent, even when no event type has it:
 * an absent field cannot be an unknown one.
 *
 * Speed matters, since every line kx-produce reads passes here: an object
 * is walked once, putting each field in its slot, instead of one hash
 * lookup per possible field; strings are copied once, into the arena; no
 * formatting happens unless the line is rejected.
 */
#include "kx/event_json.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err_int.h"
#include "event_fields_int.h"
#include "kx/err.h"
#include "kx/timeutil.h"
#include "kx/validate.h"

/* Room for a quoted value (see kx_quote_value()). */
#define QBUF 272

/* Room for a path such as "visitors[123456789].country". */
#define PATH_LEN 64

/* One conversion: where strings go and where a reason goes. */
struct jctx {
	struct kx_arena *arena;
	char *errbuf;
	size_t errlen;
	const json_t *slot[F__COUNT];
};

static int fail(struct jctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
fail(struct jctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kx__verrf(c->errbuf, c->errlen, fmt, ap);
	va_end(ap);
	return KX_EINVALID_EVENT;
}

static int
nomem(struct jctx *c)
{
	if (c->errbuf && c->errlen)
		snprintf(c->errbuf, c->errlen, "out of memory");
	return KX_ENOMEM;
}

/* "'path': " + a reason from another module. */
static int
fail_with(struct jctx *c, const char *path, const char *reason)
{
	return fail(c, "'%s': %s", path, reason);
}

static const char *
quote_json(char *q, size_t n, const json_t *v)
{
	return kx_quote_value(q, n, json_string_value(v),
			      json_string_length(v));
}

/*
 * A party's path is "host" for a single party and "members[1]" for one in
 * an array (idx >= 0), with ".field" after it when field is not NULL. It is
 * only built when something is wrong.
 */
static const char *
party_path(char *path, size_t n, const char *base, long idx, const char *field)
{
	if (idx >= 0)
		snprintf(path, n, "%s[%ld]%s%s", base, idx, field ? "." : "",
			 field ? field : "");
	else
		snprintf(path, n, "%s%s%s", base, field ? "." : "",
			 field ? field : "");
	return path;
}

static int
take_string(struct jctx *c, const json_t *v, const char *path, const char **out)
{
	if (!json_is_string(v))
		return fail(c, "'%s': expected a string", path);
	*out = kx_arena_strndup(c->arena, json_string_value(v),
				json_string_length(v));
	return *out ? 0 : nomem(c);
}

static int
take_strings(struct jctx *c, const json_t *v, const char *path,
	     const char ***out, size_t *n)
{
	char at[PATH_LEN];
	const char **a;
	size_t len;

	if (!json_is_array(v))
		return fail(c, "'%s': expected an array", path);
	len = json_array_size(v);
	*n = len;
	*out = NULL;
	if (!len)
		return 0;
	a = kx_arena_alloc(c->arena, len * sizeof(*a));
	if (!a)
		return nomem(c);
	for (size_t i = 0; i < len; i++) {
		const json_t *e = json_array_get(v, i);

		if (!json_is_string(e)) {
			snprintf(at, sizeof(at), "%s[%zu]", path, i);
			return fail(c, "'%s': expected a string", at);
		}
		a[i] = kx_arena_strndup(c->arena, json_string_value(e),
					json_string_length(e));
		if (!a[i])
			return nomem(c);
	}
	*out = a;
	return 0;
}

/*
 * A count: a JSON integer, stored as int32. The limit itself is
 * validate.c's rule; what an int32 cannot hold, or a negative number where
 * -1 means absent, stops here in the same words.
 */
static int
take_count(struct jctx *c, const json_t *v, const char *path, int max,
	   int32_t *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return fail(c, "'%s': expected an integer", path);
	n = json_integer_value(v);
	if (n < 0 || n > INT32_MAX)
		return fail(c, "'%s': %lld is out of range (0-%d)", path,
			    (long long)n, max);
	*out = (int32_t)n;
	return 0;
}

static int
bad_symbol(struct jctx *c, const char *path, const json_t *v,
	   const char *choices)
{
	char q[QBUF];

	return fail(c, "'%s': %s is not one of %s", path,
		    quote_json(q, sizeof(q), v), choices);
}

static int
take_party(struct jctx *c, const json_t *v, const char *base, long idx,
	   struct kx_party *p)
{
	static const char *const names[] = {"name", "country", "kind", "eu"};
	static const size_t lens[] = {4, 7, 4, 2};
	const json_t *slot[4] = {NULL, NULL, NULL, NULL};
	char path[PATH_LEN], q[QBUF];
	const char *key, *s;
	size_t klen, len;
	void *it;
	int f, rc;

	if (!json_is_object(v))
		return fail(c, "'%s': expected an object",
			    party_path(path, sizeof(path), base, idx, NULL));
	/* jansson's iterators are not const-correct; nothing is changed. */
	for (it = json_object_iter((json_t *)v); it;
	     it = json_object_iter_next((json_t *)v, it)) {
		const json_t *val = json_object_iter_value(it);

		key = json_object_iter_key(it);
		klen = json_object_iter_key_len(it);
		if (json_is_null(val))
			continue;
		for (f = 0; f < 4; f++)
			if (lens[f] == klen && memcmp(names[f], key, klen) == 0)
				break;
		if (f == 4) {
			char raw[PATH_LEN + QBUF];
			int n;

			party_path(path, sizeof(path), base, idx, NULL);
			n = snprintf(raw, sizeof(raw), "%s.", path);
			len = klen < sizeof(raw) - (size_t)n - 1
				      ? klen
				      : sizeof(raw) - (size_t)n - 1;
			memcpy(raw + n, key, len);
			return fail(c, "%s: unknown field for a party",
				    kx_quote_value(q, sizeof(q), raw,
						   (size_t)n + len));
		}
		slot[f] = val;
	}
	for (f = 0; f < 4; f++)
		if (!slot[f])
			return fail(c, "'%s': required",
				    party_path(path, sizeof(path), base, idx,
					       names[f]));

	if (!json_is_string(slot[0]))
		return fail(c, "'%s': expected a string",
			    party_path(path, sizeof(path), base, idx, "name"));
	if ((rc = take_string(c, slot[0], "", &p->name)))
		return rc;

	if (!json_is_string(slot[1]))
		return fail(
			c, "'%s': expected a string",
			party_path(path, sizeof(path), base, idx, "country"));
	/* Two letters fit the struct; validate.c decides which are codes. */
	s = json_string_value(slot[1]);
	len = json_string_length(slot[1]);
	if (len != 2)
		return fail(
			c,
			"'%s': %s is not an ISO 3166-1 alpha-2 code "
			"(two upper-case letters)",
			party_path(path, sizeof(path), base, idx, "country"),
			kx_quote_value(q, sizeof(q), s, len));
	memcpy(p->country, s, 3);

	if (!json_is_string(slot[2]))
		return fail(c, "'%s': expected a string",
			    party_path(path, sizeof(path), base, idx, "kind"));
	if (kx_party_kind_parse(json_string_value(slot[2]), &p->kind))
		return bad_symbol(
			c, party_path(path, sizeof(path), base, idx, "kind"),
			slot[2],
			"city, region, metropolitan_area or "
			"organisation");

	if (!json_is_boolean(slot[3]))
		return fail(c, "'%s': expected a boolean",
			    party_path(path, sizeof(path), base, idx, "eu"));
	p->eu = json_is_true(slot[3]);
	return 0;
}

static int
take_parties(struct jctx *c, const json_t *v, const char *path,
	     struct kx_party **out, size_t *n)
{
	struct kx_party *a;
	size_t len;
	int rc;

	if (!json_is_array(v))
		return fail(c, "'%s': expected an array", path);
	len = json_array_size(v);
	*n = len;
	*out = NULL;
	if (!len)
		return 0;
	a = kx_arena_calloc(c->arena, len, sizeof(*a));
	if (!a)
		return nomem(c);
	for (size_t i = 0; i < len; i++)
		if ((rc = take_party(c, json_array_get(v, i), path, (long)i,
				     &a[i])))
			return rc;
	*out = a;
	return 0;
}

static int
take_date(struct jctx *c, const json_t *v, const char *path, int32_t *out)
{
	char reason[QBUF + 96];

	if (!json_is_string(v))
		return fail(c, "'%s': expected a string", path);
	if (kx_date_parse(json_string_value(v), out, reason, sizeof(reason)))
		return fail_with(c, path, reason);
	return 0;
}

/* A required enum-valued string, e.g. programme. */
#define SYMBOL(c, f, parse, out, choices)                                      \
	(!json_is_string((c)->slot[f])                                         \
		 ? fail(c, "'%s': expected a string", kx__event_fields[f].name)          \
	 : parse(json_string_value((c)->slot[f]), out)                         \
		 ? bad_symbol(c, kx__event_fields[f].name, (c)->slot[f], choices)        \
		 : 0)

static int
take_common(struct jctx *c, struct kx_event *ev)
{
	const json_t *v;
	char q[QBUF], reason[QBUF + 96];
	int rc;

	v = c->slot[F_EVENT_ID];
	if (!json_is_string(v))
		return fail(c, "'event_id': expected a string");
	if (!kx_uuid_valid(json_string_value(v)))
		return fail(c,
			    "'event_id': %s is not a UUID (8-4-4-4-12 hex "
			    "digits)",
			    quote_json(q, sizeof(q), v));
	/* The UUID is the idempotency key, compared in lower case. */
	for (int i = 0; i < 36; i++) {
		char ch = json_string_value(v)[i];

		ev->event_id[i] = ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch;
	}
	ev->event_id[36] = '\0';

	v = c->slot[F_OCCURRED_AT];
	if (!json_is_string(v))
		return fail(c, "'occurred_at': expected a string");
	if (kx_time_parse_rfc3339(json_string_value(v), &ev->occurred_at,
				  &ev->occurred_offset, reason, sizeof(reason)))
		return fail_with(c, "occurred_at", reason);

	if ((rc = take_string(c, c->slot[F_SOURCE], "source", &ev->source)) ||
	    (rc = SYMBOL(c, F_PROGRAMME, kx_programme_parse, &ev->programme,
			 "IUC, IURC, ICP-AGIR, URBELAC or RPD")))
		return rc;
	if (c->slot[F_GEO_AREA] &&
	    (rc = take_string(c, c->slot[F_GEO_AREA], "geo_area",
			      &ev->geo_area)))
		return rc;
	if ((rc = take_strings(c, c->slot[F_SDGS], "sdgs", &ev->sdgs,
			       &ev->n_sdgs)))
		return rc;
	if (c->slot[F_THEMES] &&
	    (rc = take_strings(c, c->slot[F_THEMES], "themes", &ev->themes,
			       &ev->n_themes)))
		return rc;
	return 0;
}

/* A budget in whole euros; the range is validate.c's rule. */
static int
take_budget(struct jctx *c, const json_t *v, int64_t *out)
{
	if (json_is_real(v))
		return fail(c, "'budget_eur': expected a whole number of euros");
	if (!json_is_integer(v))
		return fail(c, "'budget_eur': expected an integer");
	if (json_integer_value(v) < 0)
		return fail(c, "'budget_eur': %lld is out of range (0-%lld)",
			    (long long)json_integer_value(v),
			    (long long)KX_BUDGET_MAX);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* {"public_sector": n, ...}: a missing or null sector counts 0. */
static int
take_sectors(struct jctx *c, const json_t *v, struct kx_sectors *s)
{
	static const char *const names[] = {"public_sector", "private_sector",
					    "academia", "civil_society"};
	int32_t *out[] = {&s->public_sector, &s->private_sector, &s->academia,
			  &s->civil_society};
	char path[PATH_LEN], q[QBUF];
	const char *key;
	json_t *val;
	size_t i;
	int rc;

	if (!json_is_object(v))
		return fail(c, "'participants_by_sector': expected an object");
	/* jansson's iterators are not const-correct; nothing is changed. */
	json_object_foreach((json_t *)v, key, val)
	{
		if (json_is_null(val))
			continue;
		for (i = 0; i < 4 && strcmp(names[i], key) != 0; i++)
			;
		if (i == 4) {
			snprintf(path, sizeof(path),
				 "participants_by_sector.%s", key);
			return fail(c, "%s: unknown field for "
				       "participants_by_sector",
				    kx_quote_value(q, sizeof(q), path,
						   strlen(path)));
		}
		snprintf(path, sizeof(path), "participants_by_sector.%s",
			 names[i]);
		if ((rc = take_count(c, val, path, KX_PARTICIPANTS_MAX,
				     out[i])))
			return rc;
	}
	s->present = true;
	return 0;
}

static int
take_pairing(struct jctx *c, struct kx_pairing *p)
{
	int rc;

	if ((rc = take_string(c, c->slot[F_PAIRING_ID], "pairing_id",
			      &p->pairing_id)) ||
	    (rc = SYMBOL(c, F_COOPERATION_TYPE, kx_cooperation_type_parse,
			 &p->cooperation_type,
			 "bilateral, trio, cluster or cohort")) ||
	    (rc = take_parties(c, c->slot[F_MEMBERS], "members", &p->members,
			       &p->n_members)))
		return rc;
	p->pilot_projects = 0;
	p->budget_eur = -1;
	if (c->slot[F_PILOT_PROJECTS] &&
	    (rc = take_count(c, c->slot[F_PILOT_PROJECTS], "pilot_projects",
			     KX_PILOT_PROJECTS_MAX, &p->pilot_projects)))
		return rc;
	if (c->slot[F_BUDGET_EUR])
		return take_budget(c, c->slot[F_BUDGET_EUR], &p->budget_eur);
	return 0;
}

static int
take_visit(struct jctx *c, struct kx_visit *v)
{
	int rc;

	if ((rc = take_string(c, c->slot[F_VISIT_ID], "visit_id",
			      &v->visit_id)) ||
	    (c->slot[F_PAIRING_ID] &&
	     (rc = take_string(c, c->slot[F_PAIRING_ID], "pairing_id",
			       &v->pairing_id))) ||
	    (rc = SYMBOL(c, F_VISIT_TYPE, kx_visit_type_parse, &v->visit_type,
			 "study_visit, networking_event, webinar or "
			 "staff_exchange")) ||
	    (rc = SYMBOL(c, F_FORMAT, kx_visit_format_parse, &v->format,
			 "in_person, virtual or hybrid")) ||
	    (rc = take_party(c, c->slot[F_HOST], "host", -1, &v->host)) ||
	    (rc = take_parties(c, c->slot[F_VISITORS], "visitors", &v->visitors,
			       &v->n_visitors)) ||
	    (rc = take_date(c, c->slot[F_START_DATE], "start_date",
			    &v->start_date)) ||
	    (rc = take_date(c, c->slot[F_END_DATE], "end_date", &v->end_date)))
		return rc;
	v->participants = -1;
	if ((c->slot[F_PARTICIPANTS] &&
	     (rc = take_count(c, c->slot[F_PARTICIPANTS], "participants",
			      KX_PARTICIPANTS_MAX, &v->participants))) ||
	    (c->slot[F_REPORT_URL] &&
	     (rc = take_string(c, c->slot[F_REPORT_URL], "report_url",
			       &v->report_url))) ||
	    (c->slot[F_PARTICIPANTS_BY_SECTOR] &&
	     (rc = take_sectors(c, c->slot[F_PARTICIPANTS_BY_SECTOR],
				&v->by_sector))) ||
	    (c->slot[F_FOLLOW_UP] &&
	     (rc = SYMBOL(c, F_FOLLOW_UP, kx_follow_up_parse, &v->follow_up,
			  "none, action_plan, pilot or replication"))))
		return rc;
	return 0;
}

static int
take_practice(struct jctx *c, struct kx_practice *p)
{
	int rc;

	if ((rc = take_string(c, c->slot[F_PRACTICE_ID], "practice_id",
			      &p->practice_id)) ||
	    (rc = take_string(c, c->slot[F_TITLE], "title", &p->title)) ||
	    (rc = take_party(c, c->slot[F_ORIGIN], "origin", -1, &p->origin)) ||
	    (rc = SYMBOL(c, F_PRODUCT_TYPE, kx_product_type_parse,
			 &p->product_type,
			 "case_study, factsheet, guideline or handbook")) ||
	    (c->slot[F_URL] && (rc = take_string(c, c->slot[F_URL], "url",
						 &p->url))))
		return rc;
	return 0;
}

static int
take_transfer(struct jctx *c, struct kx_transfer *t)
{
	int rc;

	if ((rc = take_string(c, c->slot[F_TRANSFER_ID], "transfer_id",
			      &t->transfer_id)) ||
	    (rc = take_string(c, c->slot[F_PRACTICE_ID], "practice_id",
			      &t->practice_id)) ||
	    (rc = take_party(c, c->slot[F_ADOPTER], "adopter", -1,
			     &t->adopter)))
		return rc;
	return 0;
}

/* Reports the first field of obj, in line order, that allowed lacks. */
static int
unknown_field(struct jctx *c, const json_t *obj, uint32_t allowed,
	      const char *type_name)
{
	char q[QBUF];
	void *it;

	/* jansson's iterators are not const-correct; nothing is changed. */
	for (it = json_object_iter((json_t *)obj); it;
	     it = json_object_iter_next((json_t *)obj, it)) {
		const char *key = json_object_iter_key(it);
		size_t klen = json_object_iter_key_len(it);
		int f;

		if (json_is_null(json_object_iter_value(it)))
			continue;
		f = kx__event_field_lookup(key, klen);
		if (f < 0 || !(allowed & ((uint32_t)1 << f)))
			return fail(c, "%s: unknown field for %s",
				    kx_quote_value(q, sizeof(q), key, klen),
				    type_name);
	}
	return 0;
}

int
kx_event_from_json(const json_t *obj, struct kx_arena *arena,
		   struct kx_event *ev, char *errbuf, size_t errlen)
{
	struct jctx c = {arena, errbuf, errlen, {NULL}};
	const json_t *et;
	char q[QBUF];
	enum shape shape;
	uint32_t present = 0, missing;
	bool unknown = false;
	void *it;
	int rc = 0;

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(obj))
		return fail(&c, "expected a JSON object");

	/*
	 * One walk puts every field in its slot; which of them the type
	 * allows is only known once event_type is read, so an unknown
	 * field is looked for again, in line order, on the error path.
	 */
	for (it = json_object_iter((json_t *)obj); it;
	     it = json_object_iter_next((json_t *)obj, it)) {
		const json_t *v = json_object_iter_value(it);
		int f;

		if (json_is_null(v))
			continue;
		f = kx__event_field_lookup(json_object_iter_key(it),
				 json_object_iter_key_len(it));
		if (f < 0) {
			unknown = true;
			continue;
		}
		c.slot[f] = v;
		present |= (uint32_t)1 << f;
	}

	et = c.slot[F_EVENT_TYPE];
	if (!et)
		return fail(&c, "'event_type': required");
	if (!json_is_string(et))
		return fail(&c, "'event_type': expected a string");
	if (kx_event_type_parse(json_string_value(et), &ev->type))
		return fail(&c, "'event_type': %s is not a known event type",
			    quote_json(q, sizeof(q), et));
	shape = kx__event_shape_of(ev->type);
	if (unknown || (present & ~kx__event_shapes[shape].allowed))
		return unknown_field(&c, obj, kx__event_shapes[shape].allowed,
				     kx_event_type_name(ev->type));

	missing = kx__event_shapes[shape].required & ~present;
	if (missing) {
		int f = 0;

		while (!(missing & ((uint32_t)1 << f)))
			f++;
		return fail(&c, "'%s': required", kx__event_fields[f].name);
	}

	if ((rc = take_common(&c, ev)))
		return rc;
	switch (shape) {
	case SHAPE_PAIRING:
		rc = take_pairing(&c, &ev->u.pairing);
		break;
	case SHAPE_VISIT:
		rc = take_visit(&c, &ev->u.visit);
		break;
	case SHAPE_PRACTICE:
		rc = take_practice(&c, &ev->u.practice);
		break;
	case SHAPE_TRANSFER:
		rc = take_transfer(&c, &ev->u.transfer);
		break;
	}
	if (rc)
		return rc;
	return kx_event_validate(ev, errbuf, errlen);
}

static const char *
json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	default:
		return "an object";
	}
}


/*
 * jansson's message may quote the offending token raw, cut at any byte:
 * keep it to valid UTF-8 with no control characters.
 */
static void
clean_text(char *s)
{
	size_t len = strlen(s);

	s[kx_utf8_check(s, len)] = '\0';
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int
kx_event_parse_line(const char *line, size_t len, struct kx_arena *arena,
		    struct kx_event *ev, char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t *obj = NULL;
	const char *nul;
	size_t i, bad, skip = 0;
	int rc;

	memset(ev, 0, sizeof(*ev));
	if (len > KX_LINE_MAX) {
		kx__errf(errbuf, errlen, "line is longer than %zu bytes",
		    KX_LINE_MAX);
		return KX_ETOOLONG;
	}
	/*
	 * Editors on Windows start a file with a byte order mark, which RFC
	 * 8259 lets a parser ignore. Byte numbers in reasons still count it.
	 */
	if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
		skip = 3;
	for (i = skip; i < len; i++)
		if (!strchr(" \t\r\n", line[i]) || !line[i])
			break;
	if (i == len) {
		kx__errf(errbuf, errlen, "empty line");
		return KX_EPARSE;
	}
	/*
	 * Checked here, so that the reason can name the byte: jansson reads
	 * a NUL as the end of the text and says little about bad UTF-8.
	 */
	bad = kx_utf8_check(line, len);
	if (bad < len) {
		kx__errf(errbuf, errlen, "invalid UTF-8 at byte %zu", bad + 1);
		return KX_EUTF8;
	}
	nul = memchr(line, '\0', len);
	if (nul) {
		kx__errf(errbuf, errlen, "NUL byte at byte %zu",
		    (size_t)(nul - line) + 1);
		return KX_EPARSE;
	}
	obj = json_loadb(line + skip, len - skip,
			 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!obj) {
		if (json_error_code(&jerr) == json_error_out_of_memory) {
			kx__errf(errbuf, errlen, "out of memory");
			return KX_ENOMEM;
		}
		clean_text(jerr.text);
		kx__errf(errbuf, errlen, "invalid JSON at column %d: %s",
		    jerr.column, jerr.text);
		return KX_EPARSE;
	}
	if (!json_is_object(obj)) {
		kx__errf(errbuf, errlen, "expected a JSON object, not %s",
		    json_kind(obj));
		rc = KX_EPARSE;
		goto out;
	}
	rc = kx_event_from_json(obj, arena, ev, errbuf, errlen);
out:
	json_decref(obj);
	return rc;
}

/*
 * Sets key to v, taking v. jansson releases v when the set fails, so a
 * chain of these needs only one check at its end.
 */
static int
put(json_t *obj, const char *key, json_t *v)
{
	return json_object_set_new_nocheck(obj, key, v) ? -1 : 0;
}

static json_t *
strings_json(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
party_json(const struct kx_party *p)
{
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	bad |= put(o, "name", json_string(p->name));
	bad |= put(o, "country", json_string(p->country));
	bad |= put(o, "kind", json_string(kx_party_kind_name(p->kind)));
	bad |= put(o, "eu", json_boolean(p->eu));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
parties_json(const struct kx_party *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, party_json(&v[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
sectors_json(const struct kx_sectors *s)
{
	return json_pack("{s:i,s:i,s:i,s:i}", "public_sector",
			 (int)s->public_sector, "private_sector",
			 (int)s->private_sector, "academia", (int)s->academia,
			 "civil_society", (int)s->civil_society);
}

static json_t *
date_json(int32_t days)
{
	char s[16];

	kx_date_format(days, s, sizeof(s));
	return json_string(s);
}

json_t *
kx_event_to_json(const struct kx_event *ev)
{
	json_t *o = json_object();
	char ts[40];
	int bad = 0;

	if (!o)
		return NULL;
	kx_time_format_rfc3339(ev->occurred_at, ev->occurred_offset, ts,
			       sizeof(ts));
	bad |= put(o, "event_id", json_string(ev->event_id));
	bad |= put(o, "event_type", json_string(kx_event_type_name(ev->type)));
	bad |= put(o, "occurred_at", json_string(ts));
	bad |= put(o, "source", json_string(ev->source));
	bad |= put(o, "programme",
		   json_string(kx_programme_name(ev->programme)));
	if (ev->geo_area)
		bad |= put(o, "geo_area", json_string(ev->geo_area));
	bad |= put(o, "sdgs", strings_json(ev->sdgs, ev->n_sdgs));
	if (ev->n_themes)
		bad |= put(o, "themes", strings_json(ev->themes, ev->n_themes));

	switch (kx__event_shape_of(ev->type)) {
	case SHAPE_PAIRING: {
		const struct kx_pairing *p = &ev->u.pairing;

		bad |= put(o, "pairing_id", json_string(p->pairing_id));
		bad |= put(o, "cooperation_type",
			   json_string(kx_cooperation_type_name(
				   p->cooperation_type)));
		bad |= put(o, "members",
			   parties_json(p->members, p->n_members));
		bad |= put(o, "pilot_projects",
			   json_integer(p->pilot_projects));
		if (p->budget_eur >= 0)
			bad |= put(o, "budget_eur", json_integer(p->budget_eur));
		break;
	}
	case SHAPE_VISIT: {
		const struct kx_visit *v = &ev->u.visit;

		bad |= put(o, "visit_id", json_string(v->visit_id));
		if (v->pairing_id)
			bad |= put(o, "pairing_id", json_string(v->pairing_id));
		bad |= put(o, "visit_type",
			   json_string(kx_visit_type_name(v->visit_type)));
		bad |= put(o, "format",
			   json_string(kx_visit_format_name(v->format)));
		bad |= put(o, "host", party_json(&v->host));
		bad |= put(o, "visitors",
			   parties_json(v->visitors, v->n_visitors));
		bad |= put(o, "start_date", date_json(v->start_date));
		bad |= put(o, "end_date", date_json(v->end_date));
		if (v->participants >= 0)
			bad |= put(o, "participants",
				   json_integer(v->participants));
		if (v->report_url)
			bad |= put(o, "report_url", json_string(v->report_url));
		if (v->by_sector.present)
			bad |= put(o, "participants_by_sector",
				   sectors_json(&v->by_sector));
		if (v->follow_up != KX_FOLLOW_UP_NONE)
			bad |= put(o, "follow_up",
				   json_string(kx_follow_up_name(v->follow_up)));
		break;
	}
	case SHAPE_PRACTICE: {
		const struct kx_practice *p = &ev->u.practice;

		bad |= put(o, "practice_id", json_string(p->practice_id));
		bad |= put(o, "title", json_string(p->title));
		bad |= put(o, "origin", party_json(&p->origin));
		bad |= put(o, "product_type",
			   json_string(kx_product_type_name(p->product_type)));
		if (p->url)
			bad |= put(o, "url", json_string(p->url));
		break;
	}
	case SHAPE_TRANSFER: {
		const struct kx_transfer *t = &ev->u.transfer;

		bad |= put(o, "transfer_id", json_string(t->transfer_id));
		bad |= put(o, "practice_id", json_string(t->practice_id));
		bad |= put(o, "adopter", party_json(&t->adopter));
		break;
	}
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
