/*
 * Avro codec: struct kx_event <-> Confluent-framed Avro binary.
 *
 * Avro-C 1.11.1 cannot resolve a writer schema against a reader schema the
 * way the Avro spec asks (it ignores defaults and maps enums by index), and
 * it leaks the buffer of a string whose bytes run past the end of the
 * input. So this module works like this:
 *
 * - Every schema it knows (catalogue or registry) is a "writer schema":
 *   parsed once by Avro-C and by jansson (for defaults), compiled into a
 *   small node tree (struct wnode), and given one generic Avro value that
 *   every decode with that id reuses. Encoding writes Avro binary
 *   directly (see the encoding section); only the reference encoder the
 *   tests compare it with goes through the generic value.
 * - Per writer schema and per model field (struct mfield) a slot records
 *   the writer's field index, its union branches, and for enums the map
 *   from writer symbol index to our enum value by symbol name. Fields the
 *   writer lacks take the default of the reader schema, which is the newest
 *   catalogue schema of the family.
 * - Before Avro-C sees untrusted bytes, walk() checks the whole payload
 *   against the node tree: every length fits in what is left, every enum
 *   and union index is in range, nothing trails the record. After that,
 *   avro_value_read() can fail only for lack of memory, and no Avro-C
 *   error path (with its leaks) is ever taken on hostile input.
 *
 * Invariants: a slot's enum maps hold model values in range or -1; a
 * decoded event's strings are valid UTF-8 without NULs and live in the
 * caller's arena; the generic values are only touched by the thread that
 * owns the codec.
 */
#include "kx/codec.h"

#include <avro.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/err.h"
#include "kx/schema.h"
#include "kx/validate.h"

#define HEADER_LEN 5
#define MAX_DEPTH 32
#define NO_OFF SIZE_MAX

/*
 * The allocator refuses any single Avro-C allocation above this. Legitimate
 * ones are schema parts (small), strings (at most one message) and the
 * element storage of arrays (about 130 bytes per party, doubling), which
 * KX_CODEC_MAX_ITEMS keeps under 8 MB.
 */
#define ALLOC_CAP (2 * KX_CODEC_MAX_MESSAGE)

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------
 * Errors
 */

static int __attribute__((format(printf, 4, 5)))
fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (errbuf && errlen) {
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Copies Avro-C's one global error text before anything can overwrite it. */
static int
fail_avro(char *errbuf, size_t errlen, int rc, const char *what)
{
	const char *msg = avro_strerror();
	size_t n = msg ? strlen(msg) : 0;

	/* Avro-C messages start with a capital and may end with ": ". */
	while (n && (msg[n - 1] == ' ' || msg[n - 1] == ':'))
		n--;
	if (n == 0)
		return fail(errbuf, errlen, rc, "%s", what);
	return fail(errbuf, errlen, rc, "%s: %c%.*s", what,
		    tolower((unsigned char)msg[0]), (int)n - 1, msg + 1);
}

/* ------------------------------------------------------------------------
 * Allocator
 */

static void *
capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	(void)ud;
	(void)osize;
	if (nsize == 0) {
		free(ptr);
		return NULL;
	}
	if (nsize > ALLOC_CAP)
		return NULL;
	return realloc(ptr, nsize);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init_once(void)
{
	avro_set_allocator(capped_alloc, NULL);
}

void
kx_codec_global_init(void)
{
	pthread_once(&global_once, global_init_once);
}

/* ------------------------------------------------------------------------
 * Compiled schema nodes
 */

enum wtype {
	W_NULL,
	W_BOOL,
	W_INT,
	W_LONG,
	W_FLOAT,
	W_DOUBLE,
	W_BYTES,
	W_STRING,
	W_FIXED,
	W_ENUM,
	W_ARRAY,
	W_MAP,
	W_RECORD,
	W_UNION
};

static const char *const wtype_names[] = {
	"null",	  "boolean", "int",  "long",  "float", "double", "bytes",
	"string", "fixed",   "enum", "array", "map",   "record", "union"};

struct wnode {
	enum wtype type;
	size_t n;	      /* fields, branches, symbols or fixed size */
	struct wnode **kids;  /* fields, branches, or the array/map items */
	const char **names;   /* field names or enum symbols (schema-owned) */
	size_t min_size;      /* fewest payload bytes a value takes */
	int min_state;	      /* 0 unknown, 1 computing, 2 known */
	avro_schema_t schema; /* borrowed from the tree's root */
};

struct wtree {
	struct wnode **nodes;
	size_t n, cap;
	struct wnode *root;
};

static void
wtree_release(struct wtree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->nodes[i]->kids);
		free(t->nodes[i]->names);
		free(t->nodes[i]);
	}
	free(t->nodes);
	memset(t, 0, sizeof(*t));
}

static struct wnode *
wtree_find(const struct wtree *t, avro_schema_t s)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->nodes[i]->schema == s)
			return t->nodes[i];
	return NULL;
}

static struct wnode *
wtree_add(struct wtree *t, avro_schema_t s, enum wtype type, size_t n)
{
	struct wnode *node;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct wnode **p = realloc(t->nodes, cap * sizeof(*p));
		if (!p)
			return NULL;
		t->nodes = p;
		t->cap = cap;
	}
	node = calloc(1, sizeof(*node));
	if (!node)
		return NULL;
	node->type = type;
	node->n = n;
	node->schema = s;
	if (n && type != W_FIXED &&
	    !(node->kids = calloc(n, sizeof(*node->kids)))) {
		free(node);
		return NULL;
	}
	t->nodes[t->n++] = node;
	return node;
}

/*
 * Compiles s into nodes. Named types are compiled once and shared, which
 * also ends the recursion of a recursive schema.
 */
static struct wnode *
compile(struct wtree *t, avro_schema_t s, int depth)
{
	struct wnode *node;
	size_t n;

	if (is_avro_link(s))
		s = avro_schema_link_target(s);
	if (!s || depth > MAX_DEPTH)
		return NULL;
	if (is_avro_named_type(s) && (node = wtree_find(t, s)))
		return node;

	switch (avro_typeof(s)) {
	case AVRO_NULL:
		return wtree_add(t, s, W_NULL, 0);
	case AVRO_BOOLEAN:
		return wtree_add(t, s, W_BOOL, 0);
	case AVRO_INT32:
		return wtree_add(t, s, W_INT, 0);
	case AVRO_INT64:
		return wtree_add(t, s, W_LONG, 0);
	case AVRO_FLOAT:
		return wtree_add(t, s, W_FLOAT, 0);
	case AVRO_DOUBLE:
		return wtree_add(t, s, W_DOUBLE, 0);
	case AVRO_BYTES:
		return wtree_add(t, s, W_BYTES, 0);
	case AVRO_STRING:
		return wtree_add(t, s, W_STRING, 0);
	case AVRO_FIXED:
		return wtree_add(t, s, W_FIXED,
				 (size_t)avro_schema_fixed_size(s));
	case AVRO_ENUM:
		n = (size_t)avro_schema_enum_number_of_symbols(s);
		if (!(node = wtree_add(t, s, W_ENUM, 0)))
			return NULL;
		node->n = n;
		if (!(node->names = calloc(n ? n : 1, sizeof(*node->names))))
			return NULL;
		for (size_t i = 0; i < n; i++)
			node->names[i] = avro_schema_enum_get(s, (int)i);
		return node;
	case AVRO_ARRAY:
	case AVRO_MAP:
		node = wtree_add(t, s, is_avro_array(s) ? W_ARRAY : W_MAP, 1);
		if (!node)
			return NULL;
		node->n = 0;
		node->kids[0] =
			compile(t,
				is_avro_array(s) ? avro_schema_array_items(s)
						 : avro_schema_map_values(s),
				depth + 1);
		return node->kids[0] ? node : NULL;
	case AVRO_RECORD:
		n = avro_schema_record_size(s);
		if (!(node = wtree_add(t, s, W_RECORD, n ? n : 1)))
			return NULL;
		node->n = n;
		if (!(node->names = calloc(n ? n : 1, sizeof(*node->names))))
			return NULL;
		for (size_t i = 0; i < n; i++) {
			node->names[i] =
				avro_schema_record_field_name(s, (int)i);
			node->kids[i] =
				compile(t,
					avro_schema_record_field_get_by_index(
						s, (int)i),
					depth + 1);
			if (!node->kids[i] || !node->names[i])
				return NULL;
		}
		return node;
	case AVRO_UNION:
		n = avro_schema_union_size(s);
		if (n == 0 || !(node = wtree_add(t, s, W_UNION, n)))
			return NULL;
		for (size_t i = 0; i < n; i++) {
			node->kids[i] =
				compile(t, avro_schema_union_branch(s, (int)i),
					depth + 1);
			if (!node->kids[i])
				return NULL;
		}
		return node;
	default:
		return NULL;
	}
}

/* A lower bound on a value's payload size; cycles count as 0. */
static size_t
min_size(struct wnode *n)
{
	size_t sum = 0, best = SIZE_MAX;

	if (n->min_state == 2)
		return n->min_size;
	if (n->min_state == 1)
		return 0;
	n->min_state = 1;
	switch (n->type) {
	case W_NULL:
		sum = 0;
		break;
	case W_FLOAT:
		sum = 4;
		break;
	case W_DOUBLE:
		sum = 8;
		break;
	case W_FIXED:
		sum = n->n;
		break;
	case W_RECORD:
		for (size_t i = 0; i < n->n; i++) {
			size_t k = min_size(n->kids[i]);
			sum = sum > SIZE_MAX - k ? SIZE_MAX : sum + k;
		}
		break;
	case W_UNION:
		for (size_t i = 0; i < n->n; i++) {
			size_t k = min_size(n->kids[i]);
			if (k < best)
				best = k;
		}
		sum = best == SIZE_MAX ? SIZE_MAX : best + 1;
		break;
	case W_ARRAY:
	case W_MAP:
		min_size(n->kids[0]);
		sum = 1;
		break;
	default: /* booleans, varints, strings and enums */
		sum = 1;
		break;
	}
	n->min_size = sum;
	n->min_state = 2;
	return sum;
}

static int
wtree_build(struct wtree *t, avro_schema_t s)
{
	t->root = compile(t, s, 0);
	if (!t->root)
		return -1;
	for (size_t i = 0; i < t->n; i++)
		min_size(t->nodes[i]);
	return 0;
}

static int
field_index(const struct wnode *rec, const char *name)
{
	for (size_t i = 0; rec && i < rec->n; i++)
		if (strcmp(rec->names[i], name) == 0)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------------------
 * The structural walk over untrusted payload bytes
 */

struct walker {
	const uint8_t *p, *end;
	int depth;
	const char *name[MAX_DEPTH + 2]; /* field names down the path */
	long idx[MAX_DEPTH + 2];	 /* array index, or -1 */
	char *errbuf;
	size_t errlen;
};

/* Writes the path of the value being walked, e.g. "members[2].name". */
static void
walk_path(const struct walker *w, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i <= w->depth && len < n; i++) {
		int k = 0;
		if (w->name[i])
			k = snprintf(out + len, n - len, "%s%s", len ? "." : "",
				     w->name[i]);
		else if (w->idx[i] >= 0)
			k = snprintf(out + len, n - len, "[%ld]", w->idx[i]);
		if (k > 0)
			len += (size_t)k;
	}
}

static int __attribute__((format(printf, 3, 4)))
walk_fail(struct walker *w, int rc, const char *fmt, ...)
{
	char path[256], msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	walk_path(w, path, sizeof(path));
	if (path[0])
		return fail(w->errbuf, w->errlen, rc, "'%s': %s", path, msg);
	return fail(w->errbuf, w->errlen, rc, "%s", msg);
}

static int
walk_long(struct walker *w, int64_t *out)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		uint8_t b;
		if (w->p == w->end)
			return walk_fail(w, KX_ETRUNCATED,
					 "payload ends inside a number");
		b = *w->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
			return 0;
		}
	}
	return walk_fail(w, KX_EAVRO, "varint longer than 10 bytes");
}

static int
walk_len(struct walker *w, const char *what)
{
	int64_t len;
	int rc = walk_long(w, &len);

	if (rc)
		return rc;
	if (len < 0)
		return walk_fail(w, KX_EAVRO, "negative %s length %" PRId64,
				 what, len);
	if ((uint64_t)len > (uint64_t)(w->end - w->p))
		return walk_fail(w, KX_ETRUNCATED,
				 "%s of %" PRId64 " bytes but only %zu left",
				 what, len, (size_t)(w->end - w->p));
	w->p += len;
	return 0;
}

static int walk(struct walker *w, const struct wnode *n);

static int
walk_items(struct walker *w, const struct wnode *n)
{
	const struct wnode *item = n->kids[0];
	/* A map entry also carries its key, at least one byte. */
	size_t per_item = item->min_size + (n->type == W_MAP);
	uint64_t total = 0;
	int64_t count, bytes;
	int rc;

	if (w->depth >= MAX_DEPTH)
		return walk_fail(w, KX_EAVRO, "nested deeper than %d levels",
				 MAX_DEPTH);
	for (;;) {
		if ((rc = walk_long(w, &count)))
			return rc;
		if (count == 0)
			return 0;
		if (count < 0) {
			if (count == INT64_MIN)
				return walk_fail(w, KX_EAVRO,
						 "invalid block count");
			count = -count;
			if ((rc = walk_long(w, &bytes)))
				return rc;
		}
		total += (uint64_t)count;
		if (total > KX_CODEC_MAX_ITEMS)
			return walk_fail(w, KX_ETOOLONG, "more than %d items",
					 KX_CODEC_MAX_ITEMS);
		if (per_item &&
		    (uint64_t)count > (uint64_t)(w->end - w->p) / per_item)
			return walk_fail(w, KX_ETRUNCATED,
					 "%" PRId64 " items cannot fit in the "
					 "%zu bytes left",
					 count, (size_t)(w->end - w->p));
		w->depth++;
		w->name[w->depth] = NULL;
		for (int64_t i = 0; i < count; i++) {
			w->idx[w->depth] =
				(long)(total - (uint64_t)count) + (long)i;
			if (n->type == W_MAP && (rc = walk_len(w, "map key")))
				return rc;
			if ((rc = walk(w, item)))
				return rc;
		}
		w->depth--;
	}
}

static int
walk(struct walker *w, const struct wnode *n)
{
	int64_t v;
	int rc;

	switch (n->type) {
	case W_NULL:
		return 0;
	case W_BOOL:
		if (w->p == w->end)
			return walk_fail(w, KX_ETRUNCATED,
					 "payload ends before a boolean");
		if (*w->p > 1)
			return walk_fail(w, KX_EAVRO,
					 "boolean byte 0x%02x is not 0 or 1",
					 *w->p);
		w->p++;
		return 0;
	case W_INT:
		if ((rc = walk_long(w, &v)))
			return rc;
		if (v < INT32_MIN || v > INT32_MAX)
			return walk_fail(w, KX_ERANGE,
					 "%" PRId64 " is out of range for an "
					 "int",
					 v);
		return 0;
	case W_LONG:
		return walk_long(w, &v);
	case W_FLOAT:
	case W_DOUBLE:
	case W_FIXED: {
		size_t k = n->type == W_FLOAT	 ? 4
			   : n->type == W_DOUBLE ? 8
						 : n->n;
		if (k > (size_t)(w->end - w->p))
			return walk_fail(w, KX_ETRUNCATED,
					 "payload ends inside a %s",
					 wtype_names[n->type]);
		w->p += k;
		return 0;
	}
	case W_BYTES:
		return walk_len(w, "bytes");
	case W_STRING:
		return walk_len(w, "string");
	case W_ENUM:
		if ((rc = walk_long(w, &v)))
			return rc;
		if (v < 0 || (uint64_t)v >= n->n)
			return walk_fail(w, KX_ERANGE,
					 "enum index %" PRId64 " is out of "
					 "range (%zu symbols)",
					 v, n->n);
		return 0;
	case W_UNION:
		if ((rc = walk_long(w, &v)))
			return rc;
		if (v < 0 || (uint64_t)v >= n->n)
			return walk_fail(w, KX_ERANGE,
					 "union branch %" PRId64 " is out of "
					 "range (%zu branches)",
					 v, n->n);
		return walk(w, n->kids[v]);
	case W_ARRAY:
	case W_MAP:
		return walk_items(w, n);
	case W_RECORD:
		if (w->depth >= MAX_DEPTH)
			return walk_fail(w, KX_EAVRO,
					 "nested deeper than %d levels",
					 MAX_DEPTH);
		w->depth++;
		w->idx[w->depth] = -1;
		for (size_t i = 0; i < n->n; i++) {
			w->name[w->depth] = n->names[i];
			if ((rc = walk(w, n->kids[i])))
				return rc;
		}
		w->depth--;
		return 0;
	}
	return walk_fail(w, KX_EAVRO, "unknown schema type");
}

/* ------------------------------------------------------------------------
 * The event model: which fields KX reads and where they go
 */

enum mkind {
	M_UUID,	     /* string into char[37], lower-cased */
	M_TYPE,	     /* enum of event types, symbol = name with '_' for '.' */
	M_PROGRAMME, /* string into enum kx_programme */
	M_STRING,    /* string into const char * */
	M_COUNTRY,   /* string into char[3] */
	M_LONG,	     /* int or long into int64_t */
	M_INT,	     /* int into int32_t */
	M_BOOL,	     /* boolean into bool */
	M_ENUM,	     /* enum into a C enum, by symbol */
	M_STRINGS,   /* array of strings into const char ** and a count */
	M_PARTY,     /* Party record into struct kx_party */
	M_PARTIES,   /* array of Party into struct kx_party * and a count */
	M_SECTORS    /* ParticipantsBySector record into struct kx_sectors */
};

struct msyms {
	size_t n;
	const char *(*name)(int v);
};

/*
 * One model field. The practice family has two shapes: shape 0 for
 * practice.documented (ev->u.practice) and shape 1 for transfers
 * (ev->u.transfer); other families use shape 0 only. NO_OFF means the
 * shape has no such field: it is ignored when decoding and written as null
 * when encoding. A field required wherever it exists is marked BOTH, so
 * only the practice family's own fields say which event type needs them.
 */
struct mfield {
	const char *name;
	enum mkind kind;
	size_t off[2];
	size_t off_n;	   /* element count of M_STRINGS and M_PARTIES */
			   /* (M_SECTORS: the offset of its 'present') */
	unsigned required; /* bit s: null or absent is an error in shape s */
	bool nullable;	   /* M_INT: 'absent' stands for null */
	int32_t absent;
	const struct msyms *syms;
};

static const char *
sym_coop(int v)
{
	return kx_cooperation_type_name((enum kx_cooperation_type)v);
}
static const char *
sym_visit_type(int v)
{
	return kx_visit_type_name((enum kx_visit_type)v);
}
static const char *
sym_format(int v)
{
	return kx_visit_format_name((enum kx_visit_format)v);
}
static const char *
sym_product(int v)
{
	return kx_product_type_name((enum kx_product_type)v);
}
static const char *
sym_kind(int v)
{
	return kx_party_kind_name((enum kx_party_kind)v);
}

static const struct msyms syms_coop = {KX_COOP__COUNT, sym_coop};
static const struct msyms syms_visit_type = {KX_VISIT__COUNT, sym_visit_type};
static const struct msyms syms_format = {KX_FORMAT__COUNT, sym_format};
static const struct msyms syms_product = {KX_PRODUCT__COUNT, sym_product};
static const char *
sym_follow_up(int v)
{
	return kx_follow_up_name((enum kx_follow_up)v);
}
static const struct msyms syms_follow_up = {KX_FOLLOW_UP__COUNT,
					    sym_follow_up};
static const struct msyms syms_kind = {KX_PARTY__COUNT, sym_kind};

/* Enums are stored through int pointers, so they must be int-sized. */
_Static_assert(sizeof(enum kx_party_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(enum kx_event_type) == sizeof(int), "enum size");

#define EV(m) offsetof(struct kx_event, m)
#define PA(m) offsetof(struct kx_party, m)
#define BOTH 3u
#define S0 1u
#define S1 2u

/* event_type must stay at index 1: it decides the shape. */
#define F_EVENT_TYPE 1
#define COMMON_FIELDS                                                          \
	{                                                                      \
		"event_id", M_UUID, {EV(event_id), EV(event_id)}, 0, BOTH, 0,  \
		0,	    NULL},                                             \
		{"event_type", M_TYPE, {EV(type), EV(type)}, 0, BOTH, 0, 0,    \
		 NULL},                                                        \
		{"occurred_at",                                                \
		 M_LONG,                                                       \
		 {EV(occurred_at), EV(occurred_at)},                           \
		 0,                                                            \
		 BOTH,                                                         \
		 0,                                                            \
		 0,                                                            \
		 NULL},                                                        \
		{"occurred_offset_min",                                        \
		 M_INT,                                                        \
		 {EV(occurred_offset), EV(occurred_offset)},                   \
		 0,                                                            \
		 BOTH,                                                         \
		 0,                                                            \
		 0,                                                            \
		 NULL},                                                        \
		{"source", M_STRING, {EV(source), EV(source)}, 0, BOTH, 0,     \
		 0,	   NULL},                                              \
		{"programme", M_PROGRAMME, {EV(programme), EV(programme)},     \
		 0,	      BOTH,	   0,                                  \
		 0,	      NULL},                                           \
		{"geo_area", M_STRING, {EV(geo_area), EV(geo_area)}, 0, 0, 0,  \
		 0,	     NULL},                                            \
		{"sdgs", M_STRINGS, {EV(sdgs), EV(sdgs)}, EV(n_sdgs), BOTH, 0, \
		 0,	 NULL},                                                \
	{                                                                      \
		"themes", M_STRINGS, {EV(themes), EV(themes)}, EV(n_themes),   \
			0, 0, 0, NULL                                          \
	}

static const struct mfield pairing_fields[] = {
	COMMON_FIELDS,
	{"pairing_id",
	 M_STRING,
	 {EV(u.pairing.pairing_id), NO_OFF},
	 0,
	 BOTH,
	 0,
	 0,
	 NULL},
	{"cooperation_type",
	 M_ENUM,
	 {EV(u.pairing.cooperation_type), NO_OFF},
	 0,
	 BOTH,
	 0,
	 0,
	 &syms_coop},
	{"members",
	 M_PARTIES,
	 {EV(u.pairing.members), NO_OFF},
	 EV(u.pairing.n_members),
	 BOTH,
	 0,
	 0,
	 NULL},
	/* Null counts as absent and takes the reader's default, 0. */
	{"pilot_projects",
	 M_INT,
	 {EV(u.pairing.pilot_projects), NO_OFF},
	 0,
	 BOTH,
	 0,
	 0,
	 NULL},
	/* v2. A v1 writer lacks it: absent, -1. */
	{"budget_eur",
	 M_LONG,
	 {EV(u.pairing.budget_eur), NO_OFF},
	 0,
	 0,
	 true,
	 -1,
	 NULL},
};

static const struct mfield visit_fields[] = {
	COMMON_FIELDS,
	{"visit_id",
	 M_STRING,
	 {EV(u.visit.visit_id), NO_OFF},
	 0,
	 BOTH,
	 0,
	 0,
	 NULL},
	{"pairing_id",
	 M_STRING,
	 {EV(u.visit.pairing_id), NO_OFF},
	 0,
	 0,
	 0,
	 0,
	 NULL},
	{"visit_type",
	 M_ENUM,
	 {EV(u.visit.visit_type), NO_OFF},
	 0,
	 BOTH,
	 0,
	 0,
	 &syms_visit_type},
	{"format",
	 M_ENUM,
	 {EV(u.visit.format), NO_OFF},
	 0,
	 BOTH,
	 0,
	 0,
	 &syms_format},
	{"host", M_PARTY, {EV(u.visit.host), NO_OFF}, 0, BOTH, 0, 0, NULL},
	{"visitors",
	 M_PARTIES,
	 {EV(u.visit.visitors), NO_OFF},
	 EV(u.visit.n_visitors),
	 BOTH,
	 0,
	 0,
	 NULL},
	{"start_date",
	 M_INT,
	 {EV(u.visit.start_date), NO_OFF},
	 0,
	 BOTH,
	 0,
	 0,
	 NULL},
	{"end_date",
	 M_INT,
	 {EV(u.visit.end_date), NO_OFF},
	 0,
	 BOTH,
	 0,
	 0,
	 NULL},
	{"participants",
	 M_INT,
	 {EV(u.visit.participants), NO_OFF},
	 0,
	 0,
	 true,
	 -1,
	 NULL},
	/* v2 */
	{"report_url",
	 M_STRING,
	 {EV(u.visit.report_url), NO_OFF},
	 0,
	 0,
	 0,
	 0,
	 NULL},
	{"participants_by_sector",
	 M_SECTORS,
	 {EV(u.visit.by_sector), NO_OFF},
	 EV(u.visit.by_sector.present),
	 0,
	 0,
	 0,
	 NULL},
	/* A v1 writer lacks it: the v2 reader's default, none. */
	{"follow_up",
	 M_ENUM,
	 {EV(u.visit.follow_up), NO_OFF},
	 0,
	 BOTH,
	 0,
	 0,
	 &syms_follow_up},
};

static const struct mfield practice_fields[] = {
	COMMON_FIELDS,
	{"practice_id",
	 M_STRING,
	 {EV(u.practice.practice_id), EV(u.transfer.practice_id)},
	 0,
	 BOTH,
	 0,
	 0,
	 NULL},
	{"title", M_STRING, {EV(u.practice.title), NO_OFF}, 0, S0, 0, 0, NULL},
	{"origin", M_PARTY, {EV(u.practice.origin), NO_OFF}, 0, S0, 0, 0, NULL},
	{"product_type",
	 M_ENUM,
	 {EV(u.practice.product_type), NO_OFF},
	 0,
	 S0,
	 0,
	 0,
	 &syms_product},
	{"transfer_id",
	 M_STRING,
	 {NO_OFF, EV(u.transfer.transfer_id)},
	 0,
	 S1,
	 0,
	 0,
	 NULL},
	{"adopter",
	 M_PARTY,
	 {NO_OFF, EV(u.transfer.adopter)},
	 0,
	 S1,
	 0,
	 0,
	 NULL},
	/* v2 */
	{"url", M_STRING, {EV(u.practice.url), NO_OFF}, 0, 0, 0, 0, NULL},
};

static const struct mfield party_fields[] = {
	{"name", M_STRING, {PA(name), PA(name)}, 0, BOTH, 0, 0, NULL},
	{"country", M_COUNTRY, {PA(country), PA(country)}, 0, BOTH, 0, 0, NULL},
	{"kind", M_ENUM, {PA(kind), PA(kind)}, 0, BOTH, 0, 0, &syms_kind},
	{"eu", M_BOOL, {PA(eu), PA(eu)}, 0, BOTH, 0, 0, NULL},
};

#define SE(m) offsetof(struct kx_sectors, m)
static const struct mfield sector_fields[] = {
	{"public_sector",
	 M_INT,
	 {SE(public_sector), SE(public_sector)},
	 0,
	 BOTH,
	 0,
	 0,
	 NULL},
	{"private_sector",
	 M_INT,
	 {SE(private_sector), SE(private_sector)},
	 0,
	 BOTH,
	 0,
	 0,
	 NULL},
	{"academia", M_INT, {SE(academia), SE(academia)}, 0, BOTH, 0, 0, NULL},
	{"civil_society",
	 M_INT,
	 {SE(civil_society), SE(civil_society)},
	 0,
	 BOTH,
	 0,
	 0,
	 NULL},
};

/* The fields of the record a field holds (M_PARTY, M_PARTIES, M_SECTORS). */
static const struct mfield *
sub_fields(const struct mfield *f, size_t *n)
{
	if (f->kind == M_SECTORS) {
		*n = N_ELEMS(sector_fields);
		return sector_fields;
	}
	*n = N_ELEMS(party_fields);
	return party_fields;
}

static const struct {
	const struct mfield *fields;
	size_t n;
} family_fields[KX_FAMILY__COUNT] = {
	{pairing_fields, N_ELEMS(pairing_fields)},
	{visit_fields, N_ELEMS(visit_fields)},
	{practice_fields, N_ELEMS(practice_fields)},
};

/* The event type for an Avro symbol such as "pairing_agreement_signed". */
static int
type_from_symbol(const char *sym, enum kx_family family)
{
	char name[64];
	char *us;
	enum kx_event_type type;

	if (strlen(sym) >= sizeof(name))
		return -1;
	strcpy(name, sym);
	if (!(us = strchr(name, '_')))
		return -1;
	*us = '.';
	if (kx_event_type_parse(name, &type) != 0 ||
	    kx_event_type_family(type) != family)
		return -1;
	return (int)type;
}

static int
model_symbol(const struct mfield *f, enum kx_family family, const char *sym)
{
	if (f->kind == M_TYPE)
		return type_from_symbol(sym, family);
	for (size_t v = 0; v < f->syms->n; v++)
		if (strcmp(f->syms->name((int)v), sym) == 0)
			return (int)v;
	return -1;
}

/* ------------------------------------------------------------------------
 * Field maps: model fields -> writer positions
 */

struct fmap;

struct slot {
	int index;		   /* writer field index, -1 when absent */
	bool in_reader;		   /* false: the reader lacks the field */
	int null_branch;	   /* -1 when the writer type is not nullable */
	int value_branch;	   /* -1 when the writer type is not a union */
	const struct wnode *vnode; /* writer node of the value itself */
	int *sym_map;		   /* writer symbol -> model value, or -1 */
	int *rev_map;		   /* model value -> writer symbol, or -1 */
	size_t n_rev;
	struct fmap *sub; /* the record of M_PARTY, M_PARTIES, M_SECTORS */
	json_t *def;	  /* the reader's default (borrowed), or NULL */
};

struct extra {
	int index;	  /* a writer field the model does not know */
	const char *name; /* its name (schema-owned) */
	json_t *def;	  /* its default in the writer's schema, or NULL */
	uint8_t *bytes; /* def in Avro binary; NULL when KX cannot write it */
	size_t n_bytes;
};

/*
 * order[j] says what writer field j holds: model field order[j] when >= 0,
 * else extra -1 - order[j]. The encoder walks it to write writer order.
 */
struct fmap {
	const struct mfield *fields;
	size_t n_fields;
	struct slot *slots;
	struct extra *extras;
	size_t n_extras;
	int *order;
	size_t n_order;
};

static void
fmap_free(struct fmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; m->slots && i < m->n_fields; i++) {
		free(m->slots[i].sym_map);
		free(m->slots[i].rev_map);
		fmap_free(m->slots[i].sub);
	}
	for (size_t k = 0; m->extras && k < m->n_extras; k++)
		free(m->extras[k].bytes);
	free(m->slots);
	free(m->extras);
	free(m->order);
	free(m);
}

/*
 * Finds the JSON definition of a named type by its full name, inheriting
 * namespaces the way Avro does.
 */
static json_t *
find_def(json_t *j, const char *ns, const char *fullname, int depth)
{
	char full[512], child_ns[512];
	json_t *r = NULL, *v;
	size_t i;

	if (depth > 64)
		return NULL;
	if (json_is_array(j)) {
		json_array_foreach(j, i,
				   v) if ((r = find_def(v, ns, fullname,
							depth + 1))) return r;
		return NULL;
	}
	if (!json_is_object(j))
		return NULL;

	const char *type = json_string_value(json_object_get(j, "type"));
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *own_ns = json_string_value(json_object_get(j, "namespace"));

	if (type && name &&
	    (!strcmp(type, "record") || !strcmp(type, "enum") ||
	     !strcmp(type, "fixed") || !strcmp(type, "error"))) {
		const char *dot = strrchr(name, '.');

		if (dot) {
			/* A dotted name carries its own namespace. */
			snprintf(full, sizeof(full), "%s", name);
			snprintf(child_ns, sizeof(child_ns), "%.*s",
				 (int)(dot - name), name);
			ns = child_ns;
		} else {
			if (own_ns)
				ns = own_ns;
			snprintf(full, sizeof(full), "%s%s%s", ns ? ns : "",
				 ns && *ns ? "." : "", name);
		}
		if (strcmp(full, fullname) == 0)
			return j;
	}
	if ((v = json_object_get(j, "fields")) && json_is_array(v)) {
		json_array_foreach(v, i, r)
		{
			json_t *hit = find_def(json_object_get(r, "type"), ns,
					       fullname, depth + 1);
			if (hit)
				return hit;
		}
	}
	if ((v = json_object_get(j, "items")) &&
	    (r = find_def(v, ns, fullname, depth + 1)))
		return r;
	if ((v = json_object_get(j, "values")) &&
	    (r = find_def(v, ns, fullname, depth + 1)))
		return r;
	if ((v = json_object_get(j, "type")) && !json_is_string(v))
		return find_def(v, ns, fullname, depth + 1);
	return NULL;
}

static void
fullname_of(const struct wnode *n, char *out, size_t len)
{
	const char *ns = avro_schema_namespace(n->schema);
	const char *name = avro_schema_name(n->schema);

	snprintf(out, len, "%s%s%s", ns ? ns : "", ns && *ns ? "." : "",
		 name ? name : "");
}

/* The JSON object of a record field of a named record, or NULL. */
static json_t *
field_json(json_t *root, const struct wnode *rec, const char *field)
{
	char full[512];
	json_t *def, *fields, *f;
	size_t i;

	if (!root || !rec)
		return NULL;
	fullname_of(rec, full, sizeof(full));
	if (!(def = find_def(root, NULL, full, 0)))
		return NULL;
	fields = json_object_get(def, "fields");
	json_array_foreach(fields, i, f)
	{
		const char *name =
			json_string_value(json_object_get(f, "name"));
		if (name && strcmp(name, field) == 0)
			return f;
	}
	return NULL;
}

/* Strips a nullable union: the first branch that is not null. */
static const struct wnode *
non_null(const struct wnode *n)
{
	if (!n || n->type != W_UNION)
		return n;
	for (size_t i = 0; i < n->n; i++)
		if (n->kids[i]->type != W_NULL)
			return n->kids[i];
	return NULL;
}

static bool
compatible(enum mkind kind, const struct wnode *n)
{
	switch (kind) {
	case M_UUID:
	case M_PROGRAMME:
	case M_STRING:
	case M_COUNTRY:
		return n->type == W_STRING;
	case M_LONG:
		return n->type == W_LONG || n->type == W_INT;
	case M_INT:
		return n->type == W_INT;
	case M_BOOL:
		return n->type == W_BOOL;
	case M_TYPE:
	case M_ENUM:
		return n->type == W_ENUM;
	case M_STRINGS:
		return n->type == W_ARRAY && n->kids[0]->type == W_STRING;
	case M_PARTY:
	case M_SECTORS:
		return n->type == W_RECORD;
	case M_PARTIES:
		return n->type == W_ARRAY && n->kids[0]->type == W_RECORD;
	}
	return false;
}

static const char *const kind_names[] = {"string", "enum",
					 "string", "string",
					 "string", "long",
					 "int",	   "boolean",
					 "enum",   "array of strings",
					 "record", "array of records",
					 "record"};

/* What build_fmap needs to know about both sides of one record. */
struct side {
	const struct wnode *rec;
	json_t *json; /* the whole schema's JSON */
};

static struct fmap *build_fmap(const struct mfield *fields, size_t n,
			       enum kx_family family, struct side w,
			       struct side r, const char *parent, char *errbuf,
			       size_t errlen);

static int check_default(const struct mfield *f, json_t *def, const char *path,
			 char *errbuf, size_t errlen);

static int default_bytes(struct extra *x, const struct wnode *n);

/* The reader's enum default for the enum field rf, mapped to the model. */
static int
enum_default(const struct mfield *f, enum kx_family family,
	     const struct side *r, int rindex)
{
	const struct wnode *en;
	char full[512];
	json_t *def;
	const char *sym;

	if (rindex < 0)
		return -1;
	en = non_null(r->rec->kids[rindex]);
	if (!en || en->type != W_ENUM)
		return -1;
	fullname_of(en, full, sizeof(full));
	def = find_def(r->json, NULL, full, 0);
	sym = json_string_value(json_object_get(def, "default"));
	return sym ? model_symbol(f, family, sym) : -1;
}

static int
build_enum_maps(struct slot *s, const struct mfield *f, enum kx_family family,
		const struct side *r, int rindex, const char *path,
		char *errbuf, size_t errlen)
{
	const struct wnode *en = s->vnode;
	int fallback = enum_default(f, family, r, rindex);

	s->n_rev = f->kind == M_TYPE ? KX_EVENT__COUNT : f->syms->n;
	s->sym_map = malloc((en->n ? en->n : 1) * sizeof(int));
	s->rev_map = malloc(s->n_rev * sizeof(int));
	if (!s->sym_map || !s->rev_map)
		return fail(errbuf, errlen, KX_ENOMEM, "'%s': out of memory",
			    path);
	for (size_t v = 0; v < s->n_rev; v++)
		s->rev_map[v] = -1;
	for (size_t i = 0; i < en->n; i++) {
		int v = model_symbol(f, family, en->names[i]);
		s->sym_map[i] = v >= 0 ? v : fallback;
		if (v >= 0 && s->rev_map[v] < 0)
			s->rev_map[v] = (int)i;
	}
	return 0;
}

static int
build_slot(struct slot *s, const struct mfield *f, enum kx_family family,
	   struct side w, struct side r, const char *parent, char *errbuf,
	   size_t errlen)
{
	const struct wnode *wn;
	char path[128];
	int rindex = field_index(r.rec, f->name);
	json_t *rjson = rindex >= 0 ? field_json(r.json, r.rec, f->name) : NULL;
	int rc;

	snprintf(path, sizeof(path), "%s%s%s", parent ? parent : "",
		 parent ? "." : "", f->name);
	s->null_branch = s->value_branch = -1;
	/*
	 * A field the reader schema lacks is absent whatever the writer
	 * wrote, as in Avro's resolution: an older reader skips it.
	 */
	s->in_reader = rindex >= 0 || !r.rec;
	if (!s->in_reader) {
		s->index = -1;
		return 0;
	}
	s->index = field_index(w.rec, f->name);
	s->def = json_object_get(rjson, "default");
	if (s->def && (rc = check_default(f, s->def, path, errbuf, errlen)))
		return rc;
	if (s->index < 0) {
		if (!s->def)
			return fail(errbuf, errlen, KX_ESCHEMA,
				    "'%s' is missing from the writer schema "
				    "and the reader schema has no default",
				    path);
		return 0;
	}

	wn = w.rec->kids[s->index];
	if (wn->type == W_UNION) {
		for (size_t b = 0; b < wn->n; b++) {
			if (wn->kids[b]->type == W_NULL) {
				if (s->null_branch < 0)
					s->null_branch = (int)b;
			} else if (s->value_branch < 0 &&
				   compatible(f->kind, wn->kids[b])) {
				s->value_branch = (int)b;
			}
		}
		if (s->value_branch < 0)
			return fail(errbuf, errlen, KX_ESCHEMA,
				    "'%s': no branch of the writer's union "
				    "reads as %s",
				    path, kind_names[f->kind]);
		s->vnode = wn->kids[s->value_branch];
	} else if (compatible(f->kind, wn)) {
		s->vnode = wn;
	} else {
		return fail(errbuf, errlen, KX_ESCHEMA,
			    "'%s': writer type %s does not read as %s", path,
			    wtype_names[wn->type], kind_names[f->kind]);
	}

	if (f->kind == M_ENUM || f->kind == M_TYPE)
		return build_enum_maps(s, f, family, &r, rindex, path, errbuf,
				       errlen);
	if (f->kind == M_PARTY || f->kind == M_PARTIES ||
	    f->kind == M_SECTORS) {
		struct side wsub = {s->vnode, w.json};
		struct side rsub = {NULL, r.json};
		const struct wnode *rn =
			rindex >= 0 ? non_null(r.rec->kids[rindex]) : NULL;
		size_t n_sub;
		const struct mfield *sub = sub_fields(f, &n_sub);

		if (wsub.rec->type == W_ARRAY)
			wsub.rec = wsub.rec->kids[0];
		if (rn && rn->type == W_ARRAY)
			rn = rn->kids[0];
		rsub.rec = rn && rn->type == W_RECORD ? rn : NULL;
		s->sub = build_fmap(sub, n_sub, family, wsub, rsub, path,
				    errbuf, errlen);
		if (!s->sub)
			return KX_ESCHEMA;
	}
	return 0;
}

static struct fmap *
build_fmap(const struct mfield *fields, size_t n, enum kx_family family,
	   struct side w, struct side r, const char *parent, char *errbuf,
	   size_t errlen)
{
	struct fmap *m = calloc(1, sizeof(*m));

	if (!m)
		goto nomem;
	m->fields = fields;
	m->n_fields = n;
	if (!(m->slots = calloc(n, sizeof(*m->slots))) ||
	    !(m->extras = calloc(w.rec->n ? w.rec->n : 1, sizeof(*m->extras))) ||
	    !(m->order = calloc(w.rec->n ? w.rec->n : 1, sizeof(*m->order))))
		goto nomem;
	m->n_order = w.rec->n;
	for (size_t i = 0; i < n; i++)
		if (build_slot(&m->slots[i], &fields[i], family, w, r, parent,
			       errbuf, errlen))
			goto err;
	for (size_t j = 0; j < w.rec->n; j++) {
		int known = -1;
		for (size_t i = 0; i < n && known < 0; i++)
			if (m->slots[i].index == (int)j)
				known = (int)i;
		if (known < 0) {
			json_t *fj = field_json(w.json, w.rec, w.rec->names[j]);
			struct extra *x = &m->extras[m->n_extras];

			x->index = (int)j;
			x->name = w.rec->names[j];
			x->def = json_object_get(fj, "default");
			if (x->def && default_bytes(x, w.rec->kids[j]) ==
					      KX_ENOMEM)
				goto nomem;
			known = -1 - (int)m->n_extras++;
		}
		m->order[j] = known;
	}
	return m;
nomem:
	fail(errbuf, errlen, KX_ENOMEM, "out of memory building a field map");
err:
	fmap_free(m);
	return NULL;
}

/* ------------------------------------------------------------------------
 * Schemas and the codec
 */

struct wschema {
	int32_t id;
	enum kx_family family;
	char *avsc;
	size_t avsc_len;
	json_t *json;
	avro_schema_t schema;
	avro_value_iface_t *iface;
	avro_value_t value;
	bool has_value;
	struct wtree tree;
	struct fmap *map;
};

struct reader {
	json_t *json;
	avro_schema_t schema;
	struct wtree tree;
};

struct kx_codec {
	struct reader readers[KX_FAMILY__COUNT];
	struct wschema **schemas; /* sorted by id */
	size_t n_schemas, cap_schemas;
	struct wschema *last;
	kx_codec_resolve_cb *resolve;
	void *opaque;
	avro_reader_t reader;
	avro_writer_t writer;
};

static void
wschema_free(struct wschema *ws)
{
	if (!ws)
		return;
	fmap_free(ws->map);
	wtree_release(&ws->tree);
	if (ws->has_value)
		avro_value_decref(&ws->value);
	if (ws->iface)
		avro_value_iface_decref(ws->iface);
	if (ws->schema)
		avro_schema_decref(ws->schema);
	json_decref(ws->json);
	free(ws->avsc);
	free(ws);
}

static void
reader_release(struct reader *r)
{
	wtree_release(&r->tree);
	if (r->schema)
		avro_schema_decref(r->schema);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* Parses avsc with both jansson and Avro-C and compiles its nodes. */
static int
parse_schema(const char *avsc, size_t len, json_t **json, avro_schema_t *schema,
	     struct wtree *tree, char *errbuf, size_t errlen)
{
	json_error_t jerr;

	*json = json_loadb(avsc, len, 0, &jerr);
	if (!*json)
		return fail(errbuf, errlen, KX_ESCHEMA,
			    "invalid schema JSON at line %d: %s", jerr.line,
			    jerr.text);
	if (avro_schema_from_json_length(avsc, len, schema)) {
		*schema = NULL;
		return fail_avro(errbuf, errlen, KX_ESCHEMA,
				 "invalid Avro schema");
	}
	if (!is_avro_record(*schema))
		return fail(errbuf, errlen, KX_ESCHEMA,
			    "schema is a %s, not a record",
			    avro_schema_type_name(*schema));
	if (wtree_build(tree, *schema))
		return fail(errbuf, errlen, KX_ESCHEMA,
			    "schema is nested deeper than %d levels or "
			    "uses an unsupported type",
			    MAX_DEPTH);
	return 0;
}

static int
reader_init(struct reader *r, const char *avsc, size_t len, char *errbuf,
	    size_t errlen)
{
	int rc = parse_schema(avsc, len, &r->json, &r->schema, &r->tree, errbuf,
			      errlen);
	if (rc)
		reader_release(r);
	return rc;
}

static struct fmap *
wschema_map(const struct kx_codec *c, const struct wschema *ws, char *errbuf,
	    size_t errlen)
{
	const struct reader *r = &c->readers[ws->family];
	struct side w = {ws->tree.root, ws->json};
	struct side rs = {r->tree.root, r->json};

	return build_fmap(family_fields[ws->family].fields,
			  family_fields[ws->family].n, ws->family, w, rs, NULL,
			  errbuf, errlen);
}

/* Guesses the family of a registry schema from its record name. */
static int
infer_family(json_t *json, enum kx_family *family)
{
	static const char *const names[] = {"PairingEvent", "VisitEvent",
					    "PracticeEvent"};
	const char *name = json_string_value(json_object_get(json, "name"));
	const char *dot;

	if (!name)
		return -1;
	if ((dot = strrchr(name, '.')))
		name = dot + 1;
	for (size_t i = 0; i < N_ELEMS(names); i++) {
		if (strcmp(name, names[i]) == 0) {
			*family = (enum kx_family)i;
			return 0;
		}
	}
	return -1;
}

/* Builds a writer schema; family -1 infers it. Returns 0 or a KX_E* code. */
static int
wschema_new(const struct kx_codec *c, int32_t id, int family, const char *avsc,
	    size_t len, struct wschema **out, char *errbuf, size_t errlen)
{
	struct wschema *ws = calloc(1, sizeof(*ws));
	int rc = KX_ESCHEMA;

	*out = NULL;
	if (!ws || !(ws->avsc = malloc(len + 1))) {
		rc = fail(errbuf, errlen, KX_ENOMEM, "out of memory");
		goto err;
	}
	memcpy(ws->avsc, avsc, len);
	ws->avsc[len] = '\0';
	ws->avsc_len = len;
	ws->id = id;
	if (parse_schema(avsc, len, &ws->json, &ws->schema, &ws->tree, errbuf,
			 errlen))
		goto err;
	if (family < 0) {
		enum kx_family fam;
		if (infer_family(ws->json, &fam)) {
			fail(errbuf, errlen, KX_ESCHEMA,
			     "record name is not PairingEvent, VisitEvent "
			     "or PracticeEvent");
			goto err;
		}
		family = (int)fam;
	}
	if (family >= KX_FAMILY__COUNT) {
		rc = fail(errbuf, errlen, KX_EINVAL, "unknown family %d",
			  family);
		goto err;
	}
	ws->family = (enum kx_family)family;
	if (!(ws->map = wschema_map(c, ws, errbuf, errlen)))
		goto err;
	if (!(ws->iface = avro_generic_class_from_schema(ws->schema))) {
		fail_avro(errbuf, errlen, KX_ESCHEMA,
			  "cannot build an Avro class");
		goto err;
	}
	if (avro_generic_value_new(ws->iface, &ws->value)) {
		rc = fail_avro(errbuf, errlen, KX_ENOMEM,
			       "cannot build an Avro value");
		goto err;
	}
	ws->has_value = true;
	*out = ws;
	return 0;
err:
	wschema_free(ws);
	return rc;
}

static size_t
find_pos(const struct kx_codec *c, int32_t id, bool *found)
{
	size_t lo = 0, hi = c->n_schemas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->schemas[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < c->n_schemas && c->schemas[lo]->id == id;
	return lo;
}

static struct wschema *
lookup(struct kx_codec *c, int32_t id)
{
	bool found;
	size_t pos;

	if (c->last && c->last->id == id)
		return c->last;
	pos = find_pos(c, id, &found);
	if (!found)
		return NULL;
	return c->last = c->schemas[pos];
}

static int
add_schema(struct kx_codec *c, int32_t id, int family, const char *avsc,
	   size_t len, char *errbuf, size_t errlen)
{
	struct wschema *ws;
	bool found;
	size_t pos = find_pos(c, id, &found);
	int rc;

	if (found && c->schemas[pos]->avsc_len == len &&
	    memcmp(c->schemas[pos]->avsc, avsc, len) == 0 &&
	    (family < 0 || (int)c->schemas[pos]->family == family))
		return 0;
	if ((rc = wschema_new(c, id, family, avsc, len, &ws, errbuf, errlen)))
		return rc;
	if (found) {
		/* A registry id replaces a catalogue entry of the same id. */
		wschema_free(c->schemas[pos]);
		c->schemas[pos] = ws;
		c->last = NULL;
		return 0;
	}
	if (c->n_schemas == c->cap_schemas) {
		size_t cap = c->cap_schemas ? c->cap_schemas * 2 : 8;
		struct wschema **p = realloc(c->schemas, cap * sizeof(*p));
		if (!p) {
			wschema_free(ws);
			return fail(errbuf, errlen, KX_ENOMEM, "out of memory");
		}
		c->schemas = p;
		c->cap_schemas = cap;
	}
	memmove(&c->schemas[pos + 1], &c->schemas[pos],
		(c->n_schemas - pos) * sizeof(*c->schemas));
	c->schemas[pos] = ws;
	c->n_schemas++;
	return 0;
}

struct kx_codec *
kx_codec_new(char *errbuf, size_t errlen)
{
	static const char empty[1];
	const struct kx_schema_entry *cat;
	struct kx_codec *c = NULL;
	char why[256];
	size_t n;

	kx_codec_global_init();
	if (!(c = calloc(1, sizeof(*c)))) {
		fail(errbuf, errlen, KX_ENOMEM, "out of memory");
		goto err;
	}
	for (int f = 0; f < KX_FAMILY__COUNT; f++) {
		const struct kx_schema_entry *e =
			kx_schema_latest((enum kx_family)f);
		if (!e) {
			fail(errbuf, errlen, KX_ESCHEMA,
			     "the catalogue has no '%s' schema",
			     kx_family_name((enum kx_family)f));
			goto err;
		}
		if (reader_init(&c->readers[f], e->avsc, e->avsc_len, why,
				sizeof(why))) {
			fail(errbuf, errlen, KX_ESCHEMA, "schema '%s': %s",
			     e->file, why);
			goto err;
		}
	}
	cat = kx_schema_catalogue(&n);
	for (size_t i = 0; i < n; i++) {
		if (add_schema(c, cat[i].id, (int)cat[i].family, cat[i].avsc,
			       cat[i].avsc_len, why, sizeof(why))) {
			fail(errbuf, errlen, KX_ESCHEMA, "schema '%s': %s",
			     cat[i].file, why);
			goto err;
		}
	}
	c->reader = avro_reader_memory(empty, 0);
	c->writer = avro_writer_memory(empty, 0);
	if (!c->reader || !c->writer) {
		fail_avro(errbuf, errlen, KX_ENOMEM,
			  "cannot create Avro memory I/O");
		goto err;
	}
	return c;
err:
	kx_codec_free(c);
	return NULL;
}

void
kx_codec_free(struct kx_codec *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_schemas; i++)
		wschema_free(c->schemas[i]);
	free(c->schemas);
	for (int f = 0; f < KX_FAMILY__COUNT; f++)
		reader_release(&c->readers[f]);
	if (c->reader)
		avro_reader_free(c->reader);
	if (c->writer)
		avro_writer_free(c->writer);
	free(c);
}

void
kx_codec_set_resolver(struct kx_codec *c, kx_codec_resolve_cb *cb, void *opaque)
{
	c->resolve = cb;
	c->opaque = opaque;
}

int
kx_codec_add_schema(struct kx_codec *c, int32_t id, enum kx_family family,
		    const char *avsc, char *errbuf, size_t errlen)
{
	char why[256];
	int rc;

	if ((unsigned)family >= KX_FAMILY__COUNT || !avsc)
		return fail(errbuf, errlen, KX_EINVAL,
			    "schema %" PRId32 ": invalid arguments", id);
	rc = add_schema(c, id, (int)family, avsc, strlen(avsc), why,
			sizeof(why));
	if (rc)
		return fail(errbuf, errlen, rc, "schema %" PRId32 ": %s", id,
			    why);
	return 0;
}

/*
 * Replaces the reader schema of a family and remaps every writer schema of
 * that family against it. Tests use it to stand in for a newer catalogue.
 */
int kx__codec_set_reader(struct kx_codec *c, enum kx_family family,
			 const char *avsc, char *errbuf, size_t errlen);

int
kx__codec_set_reader(struct kx_codec *c, enum kx_family family,
		     const char *avsc, char *errbuf, size_t errlen)
{
	struct reader old, fresh = {0};
	struct fmap **maps = NULL;
	int rc;

	if ((rc = reader_init(&fresh, avsc, strlen(avsc), errbuf, errlen)))
		return rc;
	if (!(maps = calloc(c->n_schemas + 1, sizeof(*maps)))) {
		reader_release(&fresh);
		return fail(errbuf, errlen, KX_ENOMEM, "out of memory");
	}
	old = c->readers[family];
	c->readers[family] = fresh;
	for (size_t i = 0; i < c->n_schemas; i++) {
		if (c->schemas[i]->family != family)
			continue;
		if (!(maps[i] =
			      wschema_map(c, c->schemas[i], errbuf, errlen))) {
			for (size_t k = 0; k < i; k++)
				fmap_free(maps[k]);
			free(maps);
			c->readers[family] = old;
			reader_release(&fresh);
			return KX_ESCHEMA;
		}
	}
	for (size_t i = 0; i < c->n_schemas; i++) {
		if (!maps[i])
			continue;
		fmap_free(c->schemas[i]->map);
		c->schemas[i]->map = maps[i];
	}
	free(maps);
	reader_release(&old);
	return 0;
}

static int
get_schema(struct kx_codec *c, int32_t id, struct wschema **out, char *errbuf,
	   size_t errlen)
{
	char why[256] = "";
	char *avsc = NULL;
	int rc;

	if ((*out = lookup(c, id)))
		return 0;
	if (!c->resolve)
		return fail(errbuf, errlen, KX_ESCHEMA_ID,
			    "unknown schema id %" PRId32, id);
	rc = c->resolve(c->opaque, id, &avsc, why, sizeof(why));
	if (rc || !avsc) {
		free(avsc);
		return fail(errbuf, errlen, rc ? rc : KX_ESCHEMA_ID,
			    "unknown schema id %" PRId32 ": %s", id,
			    why[0] ? why : "the resolver found nothing");
	}
	rc = add_schema(c, id, -1, avsc, strlen(avsc), why, sizeof(why));
	free(avsc);
	if (rc)
		return fail(errbuf, errlen, rc, "schema %" PRId32 ": %s", id,
			    why);
	*out = lookup(c, id);
	return 0;
}

/* ------------------------------------------------------------------------
 * Decoding: generic Avro value -> struct kx_event
 */

struct dctx {
	struct kx_arena *arena;
	enum kx_family family;
	const char *type;   /* the event type's name, once known */
	const char *parent; /* e.g. "members" while inside a party */
	long pidx;	    /* the party's index, or -1 */
	char *errbuf;
	size_t errlen;
};

static void
dpath(const struct dctx *d, const char *name, long idx, char *out, size_t n)
{
	char tail[80];

	if (idx >= 0)
		snprintf(tail, sizeof(tail), "%s[%ld]", name, idx);
	else
		snprintf(tail, sizeof(tail), "%s", name);
	if (!d->parent)
		snprintf(out, n, "%s", tail);
	else if (d->pidx >= 0)
		snprintf(out, n, "%s[%ld].%s", d->parent, d->pidx, tail);
	else
		snprintf(out, n, "%s.%s", d->parent, tail);
}

static int __attribute__((format(printf, 5, 6)))
dfail(const struct dctx *d, int rc, const char *name, long idx, const char *fmt,
      ...)
{
	char path[160], msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dpath(d, name, idx, path, sizeof(path));
	return fail(d->errbuf, d->errlen, rc, "'%s': %s", path, msg);
}

/*
 * Checks UTF-8 strictly (no overlongs, no surrogates, nothing above
 * U+10FFFF). Returns 0, 1 for an embedded NUL, or 2 for invalid UTF-8.
 */
static int
utf8_check(const unsigned char *s, size_t len)
{
	const uint64_t high = 0x8080808080808080ULL;
	const uint64_t ones = 0x0101010101010101ULL;
	size_t i = 0;

	while (i < len) {
		/* Most text is ASCII: skip eight such bytes (no NUL) at once.
		 */
		if (len - i >= 8) {
			uint64_t x;
			memcpy(&x, s + i, 8);
			if (!(x & high) && !((x - ones) & ~x & high)) {
				i += 8;
				continue;
			}
		}
		unsigned c = s[i];
		size_t n;
		unsigned cp, min;

		if (c < 0x80) {
			if (c == 0)
				return 1;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return 2;
		}
		if (len - i <= n)
			return 2;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 2;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 2;
		i += n + 1;
	}
	return 0;
}

static int
check_text(const struct dctx *d, const char *name, long idx, const char *s,
	   size_t len)
{
	switch (utf8_check((const unsigned char *)s, len)) {
	case 1:
		return dfail(d, KX_EUTF8, name, idx, "contains a NUL byte");
	case 2:
		return dfail(d, KX_EUTF8, name, idx, "not valid UTF-8");
	}
	return 0;
}

/*
 * How many bytes of the valid UTF-8 string s (len bytes) to quote in a
 * reason: at most 40, never ending inside a character, because reasons are
 * stored as PostgreSQL text.
 */
static int
quote_len(const char *s, size_t len)
{
	size_t n = len < 40 ? len : 40;

	while (n < len && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

/* Stores one string of kind f->kind at dst. */
static int
store_text(const struct dctx *d, const struct mfield *f, long idx,
	   const char *s, size_t len, void *dst)
{
	int rc = check_text(d, f->name, idx, s, len);
	const char *name;

	if (rc)
		return rc;
	switch (f->kind) {
	case M_UUID: {
		char *id = dst;
		if (len > 36)
			return dfail(d, KX_EINVALID_EVENT, f->name, idx,
				     "'%.*s' is not a UUID", quote_len(s, len),
				     s);
		for (size_t i = 0; i < len; i++)
			id[i] = (char)tolower((unsigned char)s[i]);
		id[len] = '\0';
		return 0;
	}
	case M_COUNTRY:
		if (len > 2)
			return dfail(d, KX_EINVALID_EVENT, f->name, idx,
				     "'%.*s' is not an ISO 3166-1 "
				     "alpha-2 code",
				     quote_len(s, len), s);
		memcpy(dst, s, len);
		((char *)dst)[len] = '\0';
		return 0;
	case M_PROGRAMME:
		for (int p = 0;
		     (name = kx_programme_name((enum kx_programme)p)); p++) {
			if (strlen(name) == len && memcmp(name, s, len) == 0) {
				*(int *)dst = p;
				return 0;
			}
		}
		return dfail(d, KX_EINVALID_EVENT, f->name, idx,
			     "'%.*s' is not a programme (IUC, IURC, "
			     "ICP-AGIR, URBELAC or RPD)",
			     quote_len(s, len), s);
	default: {
		char *copy = kx_arena_strndup(d->arena, s, len);
		if (!copy)
			return dfail(d, KX_ENOMEM, f->name, idx,
				     "cannot be copied: out of memory");
		*(const char **)dst = copy;
		return 0;
	}
	}
}

static int
store_enum(const struct dctx *d, const struct mfield *f, const struct slot *s,
	   int index, void *dst)
{
	int v;

	if (index < 0 || (size_t)index >= s->vnode->n)
		return dfail(d, KX_ERANGE, f->name, -1,
			     "enum index %d out of range", index);
	v = s->sym_map[index];
	if (v < 0)
		return dfail(d, KX_EINVALID_EVENT, f->name, -1,
			     "unknown symbol '%s'", s->vnode->names[index]);
	*(int *)dst = v;
	return 0;
}

static int decode_record(struct dctx *d, const struct fmap *m,
			 avro_value_t *rec, void *base, int shape);

/* Decodes a nested record (a Party, or participants by sector) into p. */
static int
decode_nested(struct dctx *d, const struct mfield *f, const struct slot *s,
	      avro_value_t *v, long idx, void *p)
{
	const char *parent = d->parent;
	long pidx = d->pidx;
	int rc;

	d->parent = f->name;
	d->pidx = idx;
	rc = decode_record(d, s->sub, v, p, 0);
	d->parent = parent;
	d->pidx = pidx;
	return rc;
}

/* Decodes a present, non-null writer value v into dst. */
static int
decode_value(struct dctx *d, const struct mfield *f, const struct slot *s,
	     avro_value_t *v, void *base, size_t off)
{
	void *dst = (char *)base + off;
	const char *str;
	size_t size, n;
	int32_t i32 = 0;
	int64_t i64 = 0;
	int iv = 0, rc = 0;
	avro_value_t e;

	switch (f->kind) {
	case M_UUID:
	case M_PROGRAMME:
	case M_STRING:
	case M_COUNTRY:
		if (avro_value_get_string(v, &str, &size))
			return dfail(d, KX_EAVRO, f->name, -1,
				     "cannot be read as a string");
		return store_text(d, f, -1, str, size ? size - 1 : 0, dst);
	case M_LONG:
		if (s->vnode->type == W_INT) {
			rc = avro_value_get_int(v, &i32);
			i64 = i32;
		} else {
			rc = avro_value_get_long(v, &i64);
		}
		if (rc)
			return dfail(d, KX_EAVRO, f->name, -1,
				     "cannot be read as a number");
		*(int64_t *)dst = i64;
		return 0;
	case M_INT:
		if (avro_value_get_int(v, &i32))
			return dfail(d, KX_EAVRO, f->name, -1,
				     "cannot be read as an int");
		*(int32_t *)dst = i32;
		return 0;
	case M_BOOL:
		if (avro_value_get_boolean(v, &iv))
			return dfail(d, KX_EAVRO, f->name, -1,
				     "cannot be read as a boolean");
		*(bool *)dst = iv != 0;
		return 0;
	case M_TYPE:
	case M_ENUM:
		if (avro_value_get_enum(v, &iv))
			return dfail(d, KX_EAVRO, f->name, -1,
				     "cannot be read as an enum");
		return store_enum(d, f, s, iv, dst);
	case M_PARTY:
		return decode_nested(d, f, s, v, -1, dst);
	case M_SECTORS:
		*(bool *)((char *)base + f->off_n) = true;
		return decode_nested(d, f, s, v, -1, dst);
	case M_STRINGS:
	case M_PARTIES: {
		size_t esz = f->kind == M_STRINGS ? sizeof(const char *)
						  : sizeof(struct kx_party);
		void *arr = NULL;

		if (avro_value_get_size(v, &n))
			return dfail(d, KX_EAVRO, f->name, -1,
				     "cannot be read as an array");
		if (n && !(arr = kx_arena_calloc(d->arena, n, esz)))
			return dfail(d, KX_ENOMEM, f->name, -1,
				     "cannot be stored: out of memory");
		for (size_t i = 0; i < n && !rc; i++) {
			if (avro_value_get_by_index(v, i, &e, NULL))
				return dfail(d, KX_EAVRO, f->name, (long)i,
					     "cannot be read");
			if (f->kind == M_PARTIES) {
				rc = decode_nested(d, f, s, &e, (long)i,
						  (struct kx_party *)arr + i);
			} else if (avro_value_get_string(&e, &str, &size)) {
				rc = dfail(d, KX_EAVRO, f->name, (long)i,
					   "cannot be read as a string");
			} else {
				rc = store_text(d, f, (long)i, str,
						size ? size - 1 : 0,
						(const char **)arr + i);
			}
		}
		memcpy(dst, &arr, sizeof(arr));
		*(size_t *)((char *)base + f->off_n) = n;
		return rc;
	}
	}
	return dfail(d, KX_EINVAL, f->name, -1, "unknown kind");
}

/* Stores a JSON default (never null here) at dst. */
static int
store_json(struct dctx *d, const struct mfield *f, const struct slot *s,
	   json_t *j, void *base, size_t off)
{
	void *dst = (char *)base + off;
	size_t n, i;
	json_t *e;
	int v, rc = 0;

	switch (f->kind) {
	case M_UUID:
	case M_PROGRAMME:
	case M_STRING:
	case M_COUNTRY:
		if (!json_is_string(j))
			break;
		return store_text(d, f, -1, json_string_value(j),
				  json_string_length(j), dst);
	case M_LONG:
		if (!json_is_integer(j))
			break;
		*(int64_t *)dst = (int64_t)json_integer_value(j);
		return 0;
	case M_INT:
		if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
		    json_integer_value(j) > INT32_MAX)
			break;
		*(int32_t *)dst = (int32_t)json_integer_value(j);
		return 0;
	case M_BOOL:
		if (!json_is_boolean(j))
			break;
		*(bool *)dst = json_is_true(j);
		return 0;
	case M_TYPE:
	case M_ENUM:
		if (!json_is_string(j) ||
		    (v = model_symbol(f, d->family, json_string_value(j))) < 0)
			break;
		*(int *)dst = v;
		return 0;
	case M_PARTY:
	case M_SECTORS: {
		size_t n_sub;
		const struct mfield *sub = sub_fields(f, &n_sub);

		if (!json_is_object(j))
			break;
		for (i = 0; i < n_sub && !rc; i++) {
			json_t *m = json_object_get(j, sub[i].name);
			if (!m || json_is_null(m))
				return dfail(d, KX_ESCHEMA, f->name, -1,
					     "default lacks '%s'", sub[i].name);
			rc = store_json(d, &sub[i], NULL, m, dst,
					sub[i].off[0]);
		}
		if (f->kind == M_SECTORS)
			*(bool *)((char *)base + f->off_n) = true;
		return rc;
	}
	case M_STRINGS:
	case M_PARTIES: {
		struct mfield ef = *f;
		size_t esz = f->kind == M_STRINGS ? sizeof(const char *)
						  : sizeof(struct kx_party);
		void *arr = NULL;

		if (!json_is_array(j))
			break;
		ef.kind = f->kind == M_STRINGS ? M_STRING : M_PARTY;
		n = json_array_size(j);
		if (n && !(arr = kx_arena_calloc(d->arena, n, esz)))
			return dfail(d, KX_ENOMEM, f->name, -1,
				     "cannot be stored: out of memory");
		json_array_foreach(j, i, e)
		{
			if (json_is_null(e))
				return dfail(d, KX_ESCHEMA, f->name, (long)i,
					     "null in a default");
			if ((rc = store_json(d, &ef, s, e, arr, i * esz)))
				return rc;
		}
		memcpy(dst, &arr, sizeof(arr));
		*(size_t *)((char *)base + f->off_n) = n;
		return 0;
	}
	}
	return dfail(d, KX_ESCHEMA, f->name, -1, "default is not a valid %s",
		     kind_names[f->kind]);
}

/* Validates a reader default once, when a schema is registered. */
static int
check_default(const struct mfield *f, json_t *def, const char *path,
	      char *errbuf, size_t errlen)
{
	union {
		struct kx_event ev;
		struct kx_party party;
	} scratch;
	struct kx_arena arena;
	struct dctx d = {&arena, KX_FAMILY_PAIRING, "", NULL, -1, errbuf,
			 errlen};
	struct mfield g = *f;
	int rc;

	if (json_is_null(def))
		return 0;
	/* Offsets of shape 0 suffice to check a value's type. */
	g.name = path;
	if (g.off[0] == NO_OFF)
		g.off[0] = g.off[1];
	if (f->kind == M_TYPE)
		return 0; /* The event type never defaults. */
	kx_arena_init(&arena);
	memset(&scratch, 0, sizeof(scratch));
	rc = store_json(&d, &g, NULL, def, &scratch, g.off[0]);
	kx_arena_release(&arena);
	return rc;
}

/*
 * Marks an optional field absent; the event was zeroed, so only numbers
 * (and a record's 'present', already false).
 */
static int
store_absent(const struct mfield *f, void *base, size_t off)
{
	if (f->kind == M_INT)
		*(int32_t *)((char *)base + off) = f->absent;
	else if (f->kind == M_LONG)
		*(int64_t *)((char *)base + off) = f->absent;
	return 0;
}

enum presence { PRESENT, NULL_OR_ABSENT };

/*
 * Finds the writer's value of slot s in rec. Sets *v to the value itself
 * (inside its union branch) and returns PRESENT, or returns NULL_OR_ABSENT
 * when the writer lacks the field or wrote null; or a negative KX_E* code.
 */
static int
find_value(const struct dctx *d, const struct mfield *f, const struct slot *s,
	   avro_value_t *rec, avro_value_t *v)
{
	avro_value_t field;
	int b;

	if (s->index < 0)
		return NULL_OR_ABSENT;
	if (avro_value_get_by_index(rec, (size_t)s->index, &field, NULL))
		return dfail(d, KX_EAVRO, f->name, -1, "cannot be read");
	if (s->value_branch < 0) {
		*v = field;
		return PRESENT;
	}
	if (avro_value_get_discriminant(&field, &b))
		return dfail(d, KX_EAVRO, f->name, -1, "no union branch set");
	if (b == s->value_branch) {
		if (avro_value_get_current_branch(&field, v))
			return dfail(d, KX_EAVRO, f->name, -1,
				     "cannot be read");
		return PRESENT;
	}
	if (b == s->null_branch)
		return NULL_OR_ABSENT;
	return dfail(d, KX_ESCHEMA, f->name, -1,
		     "union branch %d has a type KX cannot read", b);
}

static int
decode_record(struct dctx *d, const struct fmap *m, avro_value_t *rec,
	      void *base, int shape)
{
	for (size_t i = 0; i < m->n_fields; i++) {
		const struct mfield *f = &m->fields[i];
		const struct slot *s = &m->slots[i];
		size_t off = f->off[shape];
		avro_value_t v;
		int rc;

		if (off == NO_OFF)
			continue;
		if (!s->in_reader) {
			store_absent(f, base, off);
			continue;
		}
		rc = find_value(d, f, s, rec, &v);
		if (rc == PRESENT) {
			rc = decode_value(d, f, s, &v, base, off);
		} else if (rc == NULL_OR_ABSENT) {
			/* Null counts as absent: both take the default. */
			if (s->def && !json_is_null(s->def))
				rc = store_json(d, f, s, s->def, base, off);
			else if (f->required == BOTH)
				rc = dfail(d, KX_EINVALID_EVENT, f->name, -1,
					   "required");
			else if (f->required & (1u << shape))
				rc = dfail(d, KX_EINVALID_EVENT, f->name, -1,
					   "required for %s", d->type);
			else
				rc = store_absent(f, base, off);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int
kx_codec_decode(struct kx_codec *c, const void *data, size_t len,
		struct kx_arena *arena, struct kx_event *ev, int32_t *schema_id,
		char *errbuf, size_t errlen)
{
	const uint8_t *b = data;
	struct walker w;
	struct wschema *ws;
	struct dctx d;
	const struct slot *ts;
	avro_value_t tv;
	int32_t id;
	int rc, shape;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (len < HEADER_LEN)
		return fail(errbuf, errlen, KX_EMAGIC,
			    "message is shorter than the 5-byte Confluent "
			    "header (%zu bytes)",
			    len);
	if (b[0] != 0)
		return fail(errbuf, errlen, KX_EMAGIC,
			    "wrong magic byte 0x%02x: not Confluent wire "
			    "format",
			    b[0]);
	id = (int32_t)((uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 |
		       (uint32_t)b[3] << 8 | (uint32_t)b[4]);
	if (schema_id)
		*schema_id = id;
	if (len - HEADER_LEN > KX_CODEC_MAX_MESSAGE)
		return fail(errbuf, errlen, KX_ETOOLONG,
			    "payload of %zu bytes is over the %zu-byte limit",
			    len - HEADER_LEN, KX_CODEC_MAX_MESSAGE);
	if ((rc = get_schema(c, id, &ws, errbuf, errlen)))
		return rc;

	/* Check the structure first, so Avro-C never fails mid-read. */
	memset(&w, 0, sizeof(w));
	w.p = b + HEADER_LEN;
	w.end = b + len;
	w.idx[0] = -1;
	w.errbuf = errbuf;
	w.errlen = errlen;
	if ((rc = walk(&w, ws->tree.root)))
		return rc;
	if (w.p != w.end)
		return fail(errbuf, errlen, KX_EAVRO,
			    "%zu trailing bytes after the record",
			    (size_t)(w.end - w.p));

	avro_reader_memory_set_source(c->reader, (const char *)b + HEADER_LEN,
				      (int64_t)(len - HEADER_LEN));
	if (avro_value_read(c->reader, &ws->value))
		return fail_avro(errbuf, errlen, KX_ENOMEM,
				 "cannot read the Avro payload");

	memset(ev, 0, sizeof(*ev));
	d.arena = arena;
	d.family = ws->family;
	d.type = "";
	d.parent = NULL;
	d.pidx = -1;
	d.errbuf = errbuf;
	d.errlen = errlen;

	/* The event type decides where the other fields go. */
	ts = &ws->map->slots[F_EVENT_TYPE];
	rc = find_value(&d, &ws->map->fields[F_EVENT_TYPE], ts, &ws->value,
			&tv);
	if (rc == NULL_OR_ABSENT)
		return fail(errbuf, errlen, KX_EINVALID_EVENT,
			    "'event_type': required");
	if (rc < 0 || (rc = decode_value(&d, &ws->map->fields[F_EVENT_TYPE], ts,
					 &tv, ev, EV(type))))
		return rc;
	d.type = kx_event_type_name(ev->type);
	shape = ws->family == KX_FAMILY_PRACTICE &&
		ev->type != KX_EVENT_PRACTICE_DOCUMENTED;
	if ((rc = decode_record(&d, ws->map, &ws->value, ev, shape)))
		return rc;
	return kx_event_validate(ev, errbuf, errlen);
}

/* ------------------------------------------------------------------------
 * Encoding: struct kx_event -> Avro binary
 *
 * kx_codec_encode() writes the payload straight into the caller's buffer,
 * walking each record's fields in the writer's order (fmap.order) with the
 * slots the decoder uses. Writer fields the model does not know are written
 * from their default, turned into Avro binary once per schema by Avro-C
 * itself (default_bytes). The reference encoder, kx__codec_encode_generic(),
 * builds Avro-C's generic value and lets avro_value_write() do the bytes;
 * the unit tests hold the two to the same output for every event type and
 * schema.
 */

struct ectx {
	const struct wschema *ws;
	const char *parent;
	long pidx;
	char *errbuf;
	size_t errlen;
	struct kx_buf *out; /* the direct encoder's output */
	size_t start;	    /* where its framed message starts in out */
};

static int __attribute__((format(printf, 5, 6)))
efail(const struct ectx *e, int rc, const char *name, long idx, const char *fmt,
      ...)
{
	struct dctx d = {NULL,	  KX_FAMILY_PAIRING, "",       e->parent,
			 e->pidx, e->errbuf,	     e->errlen};
	char path[160], msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dpath(&d, name, idx, path, sizeof(path));
	return fail(e->errbuf, e->errlen, rc, "'%s': %s", path, msg);
}

/* Sets v from a JSON default, following v's own schema. */
static int
set_json(avro_value_t *v, json_t *j, int depth)
{
	avro_schema_t s = avro_value_get_schema(v);
	avro_value_t child;
	size_t i;
	json_t *e;
	const char *key;

	if (depth > MAX_DEPTH)
		return -1;
	switch (avro_value_get_type(v)) {
	case AVRO_NULL:
		return json_is_null(j) ? avro_value_set_null(v) : -1;
	case AVRO_BOOLEAN:
		return json_is_boolean(j)
			       ? avro_value_set_boolean(v, json_is_true(j))
			       : -1;
	case AVRO_INT32:
		if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
		    json_integer_value(j) > INT32_MAX)
			return -1;
		return avro_value_set_int(v, (int32_t)json_integer_value(j));
	case AVRO_INT64:
		return json_is_integer(j)
			       ? avro_value_set_long(v, json_integer_value(j))
			       : -1;
	case AVRO_FLOAT:
		return json_is_number(j)
			       ? avro_value_set_float(
					 v, (float)json_number_value(j))
			       : -1;
	case AVRO_DOUBLE:
		return json_is_number(j)
			       ? avro_value_set_double(v, json_number_value(j))
			       : -1;
	case AVRO_STRING:
		return json_is_string(j) ? avro_value_set_string_len(
						   v, json_string_value(j),
						   json_string_length(j) + 1)
					 : -1;
	case AVRO_BYTES:
	case AVRO_FIXED: {
		/* Avro writes bytes defaults as code points 0-255. */
		const unsigned char *p;
		unsigned char *out;
		size_t n = 0, len;
		int rc;

		if (!json_is_string(j))
			return -1;
		p = (const unsigned char *)json_string_value(j);
		len = json_string_length(j);
		if (!(out = malloc(len + 1)))
			return -1;
		for (i = 0; i < len; i++) {
			if (p[i] < 0x80)
				out[n++] = p[i];
			else if ((p[i] == 0xc2 || p[i] == 0xc3) && i + 1 < len)
				out[n++] = (unsigned char)(((p[i] & 3) << 6) |
							   (p[i + 1] & 0x3f)),
				i++;
			else
				break;
		}
		if (i < len)
			rc = -1;
		else if (avro_value_get_type(v) == AVRO_BYTES)
			rc = avro_value_set_bytes(v, out, n);
		else
			rc = n == (size_t)avro_schema_fixed_size(s)
				     ? avro_value_set_fixed(v, out, n)
				     : -1;
		free(out);
		return rc;
	}
	case AVRO_ENUM: {
		int k;
		if (!json_is_string(j) ||
		    (k = avro_schema_enum_get_by_name(
			     s, json_string_value(j))) < 0)
			return -1;
		return avro_value_set_enum(v, k);
	}
	case AVRO_ARRAY:
		if (!json_is_array(j))
			return -1;
		json_array_foreach(
			j, i, e) if (avro_value_append(v, &child, NULL) ||
				     set_json(&child, e, depth + 1)) return -1;
		return 0;
	case AVRO_MAP:
		if (!json_is_object(j))
			return -1;
		json_object_foreach(
			j, key,
			e) if (avro_value_add(v, key, &child, NULL, NULL) ||
			       set_json(&child, e, depth + 1)) return -1;
		return 0;
	case AVRO_RECORD:
		if (!json_is_object(j))
			return -1;
		for (i = 0; i < avro_schema_record_size(s); i++) {
			const char *name =
				avro_schema_record_field_name(s, (int)i);
			json_t *m = json_object_get(j, name);
			if (!m || avro_value_get_by_index(v, i, &child, NULL) ||
			    set_json(&child, m, depth + 1))
				return -1;
		}
		return 0;
	case AVRO_UNION:
		/* A union's default belongs to its first branch. */
		if (avro_value_set_branch(v, 0, &child))
			return -1;
		return set_json(&child, j, depth + 1);
	default:
		return -1;
	}
}

/*
 * Turns x's default into Avro binary with Avro-C (a generic value of the
 * field's own schema, filled by set_json). A default it cannot write leaves
 * x->bytes NULL, and encoding with that schema then fails. Returns 0 or
 * KX_ENOMEM.
 */
static int
default_bytes(struct extra *x, const struct wnode *n)
{
	avro_value_iface_t *iface = avro_generic_class_from_schema(n->schema);
	avro_writer_t w = NULL;
	avro_value_t v;
	uint8_t *bytes = NULL;
	size_t size = 0;
	int rc = 0;

	if (!iface)
		return 0;
	if (avro_generic_value_new(iface, &v)) {
		avro_value_iface_decref(iface);
		return KX_ENOMEM;
	}
	if (set_json(&v, x->def, 0) || avro_value_sizeof(&v, &size))
		goto out;
	if (!(bytes = malloc(size ? size : 1)) ||
	    !(w = avro_writer_memory((const char *)bytes, (int64_t)size))) {
		rc = KX_ENOMEM;
		goto out;
	}
	if (avro_value_write(w, &v) == 0) {
		x->bytes = bytes;
		x->n_bytes = size;
		bytes = NULL;
	}
out:
	if (w)
		avro_writer_free(w);
	free(bytes);
	avro_value_decref(&v);
	avro_value_iface_decref(iface);
	return rc;
}

/* Reports a failed Avro-C call on the field name. */
static int
efail_avro(const struct ectx *e, int rc, const char *name)
{
	char what[128];

	if (e->parent && e->pidx >= 0)
		snprintf(what, sizeof(what), "cannot set '%s[%ld].%s'",
			 e->parent, e->pidx, name);
	else if (e->parent)
		snprintf(what, sizeof(what), "cannot set '%s.%s'", e->parent,
			 name);
	else
		snprintf(what, sizeof(what), "cannot set '%s'", name);
	return fail_avro(e->errbuf, e->errlen, rc, what);
}

static int encode_record(struct ectx *e, const struct fmap *m,
			 avro_value_t *rec, const void *base, int shape);

/* Encodes a nested record (a Party, or participants by sector). */
static int
encode_nested(struct ectx *e, const struct mfield *f, const struct slot *s,
	      avro_value_t *v, long idx, const void *p)
{
	const char *parent = e->parent;
	long pidx = e->pidx;
	int rc;

	e->parent = f->name;
	e->pidx = idx;
	rc = encode_record(e, s->sub, v, p, 0);
	e->parent = parent;
	e->pidx = pidx;
	return rc;
}

/*
 * What both encoders check before they write a value, so that they refuse
 * the same events with the same reasons.
 */

/* Sets *len to the length of text s, which field f must be able to hold. */
static int
check_out_text(struct ectx *e, const struct mfield *f, long idx, const char *s,
	   size_t *len)
{
	if (!s)
		return efail(e, KX_EINVAL, f->name, idx, "required");
	/* The fixed arrays may lack their NUL in a caller's bad struct. */
	if (f->kind == M_UUID || f->kind == M_COUNTRY) {
		size_t max = f->kind == M_UUID ? 36 : 2;
		if ((*len = strnlen(s, max + 1)) > max)
			return efail(e, KX_EINVAL, f->name, idx,
				     "longer than %zu bytes", max);
	} else {
		*len = strlen(s);
	}
	return 0;
}

/* Sets *sym to the writer's symbol index for the model's enum value. */
static int
check_enum(struct ectx *e, const struct mfield *f, const struct slot *s,
	   int value, int *sym)
{
	if (value < 0 || (size_t)value >= s->n_rev)
		return efail(e, KX_EINVAL, f->name, -1, "value %d out of range",
			     value);
	if (s->rev_map[value] < 0)
		return efail(e, KX_ESCHEMA, f->name, -1,
			     "symbol missing from schema %" PRId32, e->ws->id);
	*sym = s->rev_map[value];
	return 0;
}

/* Sets *name to the programme's name. */
static int
check_programme(struct ectx *e, const struct mfield *f, const void *src,
		const char **name)
{
	*name = kx_programme_name((enum kx_programme) * (const int *)src);
	if (!*name)
		return efail(e, KX_EINVAL, f->name, -1, "value %d out of range",
			     *(const int *)src);
	return 0;
}

/* Checks that an M_LONG fits the writer's type (an int in some schemas). */
static int
check_long(struct ectx *e, const struct mfield *f, const struct slot *s,
	   int64_t x)
{
	if (s->vnode->type == W_INT && (x < INT32_MIN || x > INT32_MAX))
		return efail(e, KX_ERANGE, f->name, -1,
			     "too big for the int of schema %" PRId32,
			     e->ws->id);
	return 0;
}

/* Sets *n and *arr to the items of an array field. */
static int
check_items(struct ectx *e, const struct mfield *f, const void *base,
	    const void *src, size_t *n, const void **arr)
{
	*n = *(const size_t *)((const char *)base + f->off_n);
	memcpy(arr, src, sizeof(*arr));
	if (*n > KX_CODEC_MAX_ITEMS)
		return efail(e, KX_ETOOLONG, f->name, -1,
			     "%zu items, over the limit of %d", *n,
			     KX_CODEC_MAX_ITEMS);
	if (*n && !*arr)
		return efail(e, KX_EINVAL, f->name, -1,
			     "%zu items but no array", *n);
	return 0;
}

/* True when the model value at off counts as absent (written as null). */
static inline bool
is_absent(const struct mfield *f, const void *base, size_t off)
{
	const void *p = (const char *)base + off;

	switch (f->kind) {
	case M_STRING:
		return *(const char *const *)p == NULL;
	case M_INT:
		return f->nullable && *(const int32_t *)p == f->absent;
	case M_LONG:
		return f->nullable && *(const int64_t *)p == f->absent;
	case M_PARTY:
		return ((const struct kx_party *)p)->name == NULL;
	case M_SECTORS:
		return !*(const bool *)((const char *)base + f->off_n);
	default:
		return false;
	}
}

/*
 * Returns 1 when field f of shape shape is written as null, 0 when its
 * value is written, or a negative code when the schema cannot have it so.
 */
static int
check_absent(struct ectx *e, const struct mfield *f, const struct slot *s,
	     int shape);

static inline int
check_null(struct ectx *e, const struct mfield *f, const struct slot *s,
	   const void *base, int shape)
{
	size_t off = f->off[shape];

	if (off != NO_OFF && !is_absent(f, base, off))
		return 0;
	return check_absent(e, f, s, shape);
}

/* check_null's answer for a field that is absent. */
static int
check_absent(struct ectx *e, const struct mfield *f, const struct slot *s,
	     int shape)
{
	size_t off = f->off[shape];

	if (off != NO_OFF && (f->required & (1u << shape)))
		return efail(e, KX_EINVAL, f->name, -1, "required");
	if (s->null_branch < 0)
		return efail(e, KX_ESCHEMA, f->name, -1,
			     "absent, and schema %" PRId32
			     " cannot write null for it",
			     e->ws->id);
	return 1;
}

static int
set_text(struct ectx *e, const struct mfield *f, long idx, avro_value_t *v,
	 const char *s)
{
	size_t len;
	int rc;

	if ((rc = check_out_text(e, f, idx, s, &len)))
		return rc;
	if (avro_value_set_string_len(v, s, len + 1))
		return efail_avro(e, KX_EAVRO, f->name);
	return 0;
}

static int
encode_value(struct ectx *e, const struct mfield *f, const struct slot *s,
	     avro_value_t *v, const void *base, size_t off)
{
	const void *src = (const char *)base + off;
	avro_value_t item;
	int rc = 0;

	switch (f->kind) {
	case M_UUID:
	case M_COUNTRY:
		return set_text(e, f, -1, v, (const char *)src);
	case M_STRING:
		return set_text(e, f, -1, v, *(const char *const *)src);
	case M_PROGRAMME: {
		const char *name;
		if ((rc = check_programme(e, f, src, &name)))
			return rc;
		return set_text(e, f, -1, v, name);
	}
	case M_LONG: {
		int64_t x = *(const int64_t *)src;
		if ((rc = check_long(e, f, s, x)))
			return rc;
		if (s->vnode->type == W_INT)
			return avro_value_set_int(v, (int32_t)x) ? KX_EAVRO : 0;
		return avro_value_set_long(v, x) ? KX_EAVRO : 0;
	}
	case M_INT:
		return avro_value_set_int(v, *(const int32_t *)src) ? KX_EAVRO
								    : 0;
	case M_BOOL:
		return avro_value_set_boolean(v, *(const bool *)src) ? KX_EAVRO
								     : 0;
	case M_TYPE:
	case M_ENUM: {
		int sym;
		if ((rc = check_enum(e, f, s, *(const int *)src, &sym)))
			return rc;
		return avro_value_set_enum(v, sym) ? KX_EAVRO : 0;
	}
	case M_PARTY:
	case M_SECTORS:
		return encode_nested(e, f, s, v, -1, src);
	case M_STRINGS:
	case M_PARTIES: {
		size_t n;
		const void *arr;

		if ((rc = check_items(e, f, base, src, &n, &arr)))
			return rc;
		for (size_t i = 0; i < n && !rc; i++) {
			if (avro_value_append(v, &item, NULL))
				return efail_avro(e, KX_ENOMEM, f->name);
			if (f->kind == M_STRINGS)
				rc = set_text(e, f, (long)i, &item,
					      ((const char *const *)arr)[i]);
			else
				rc = encode_nested(e, f, s, &item, (long)i,
						  (const struct kx_party *)arr +
							  i);
		}
		return rc;
	}
	}
	return KX_EINVAL;
}

static int
encode_record(struct ectx *e, const struct fmap *m, avro_value_t *rec,
	      const void *base, int shape)
{
	avro_value_t v, branch;
	int rc;

	for (size_t i = 0; i < m->n_fields; i++) {
		const struct mfield *f = &m->fields[i];
		const struct slot *s = &m->slots[i];

		if (s->index < 0)
			continue; /* The writer cannot carry this field. */
		if (avro_value_get_by_index(rec, (size_t)s->index, &v, NULL))
			return efail_avro(e, KX_EAVRO, f->name);
		if ((rc = check_null(e, f, s, base, shape)) < 0)
			return rc;
		if (rc) {
			if (avro_value_set_branch(&v, s->null_branch,
						  &branch) ||
			    avro_value_set_null(&branch))
				return efail_avro(e, KX_EAVRO, f->name);
			continue;
		}
		if (s->value_branch >= 0) {
			if (avro_value_set_branch(&v, s->value_branch, &branch))
				return efail_avro(e, KX_EAVRO, f->name);
			v = branch;
		}
		if ((rc = encode_value(e, f, s, &v, base, f->off[shape])))
			return rc;
	}
	for (size_t k = 0; k < m->n_extras; k++) {
		const struct extra *x = &m->extras[k];
		if (avro_value_get_by_index(rec, (size_t)x->index, &v, NULL) ||
		    !x->def || set_json(&v, x->def, 0))
			return fail(
				e->errbuf, e->errlen, KX_ESCHEMA,
				"schema %" PRId32 ": field '%s' has no "
				"default KX can write",
				e->ws->id,
				avro_schema_record_field_name(
					avro_value_get_schema(rec), x->index));
	}
	return 0;
}

/*
 * Checks that ev can be encoded with schema id into out; sets up e, *ws
 * and the shape of ev's fields (1 for a practice transfer, else 0).
 */
static int
encode_prepare(struct kx_codec *c, const struct kx_event *ev, int32_t id,
	       struct kx_buf *out, struct ectx *e, struct wschema **ws,
	       int *shape, char *errbuf, size_t errlen)
{
	int rc;

	if ((unsigned)ev->type >= KX_EVENT__COUNT)
		return fail(errbuf, errlen, KX_EINVAL,
			    "'event_type' has value %d out of range",
			    (int)ev->type);
	if ((rc = get_schema(c, id, ws, errbuf, errlen)))
		return rc;
	if ((*ws)->family != kx_event_type_family(ev->type))
		return fail(errbuf, errlen, KX_EINVAL,
			    "cannot encode '%s' with schema %" PRId32
			    ": the schema is for %s events",
			    kx_event_type_name(ev->type), id,
			    kx_family_name((*ws)->family));
	*shape = (*ws)->family == KX_FAMILY_PRACTICE &&
		 ev->type != KX_EVENT_PRACTICE_DOCUMENTED;
	e->ws = *ws;
	e->parent = NULL;
	e->pidx = -1;
	e->errbuf = errbuf;
	e->errlen = errlen;
	e->out = out;
	e->start = out->len;
	return 0;
}

/*
 * Ends an encoding into out at start: checks the size limit, or on error
 * (rc) drops what was written. Returns rc or KX_ETOOLONG.
 */
static int
encode_end(struct kx_buf *out, size_t start, int rc, char *errbuf,
	   size_t errlen)
{
	if (!rc && out->len - start - HEADER_LEN > KX_CODEC_MAX_MESSAGE)
		rc = fail(errbuf, errlen, KX_ETOOLONG,
			  "encoded event is over the %zu-byte limit",
			  KX_CODEC_MAX_MESSAGE);
	if (rc)
		out->len = start;
	if (out->data)
		out->data[out->len] = '\0';
	return rc;
}

/* The Confluent framing: magic byte 0, then the big-endian schema id. */
static void
put_header(uint8_t *p, int32_t id)
{
	p[0] = 0;
	p[1] = (uint8_t)((uint32_t)id >> 24);
	p[2] = (uint8_t)((uint32_t)id >> 16);
	p[3] = (uint8_t)((uint32_t)id >> 8);
	p[4] = (uint8_t)id;
}

/*
 * Makes room for n more bytes of output (and the buffer's NUL). Stops a
 * message that has already passed the size limit from growing further.
 */
static int
grow_out(struct ectx *e, size_t n)
{
	struct kx_buf *b = e->out;

	if (b->len - e->start > HEADER_LEN + KX_CODEC_MAX_MESSAGE)
		return fail(e->errbuf, e->errlen, KX_ETOOLONG,
			    "encoded event is over the %zu-byte limit",
			    KX_CODEC_MAX_MESSAGE);
	if (kx_buf_grow(b, n))
		return fail(e->errbuf, e->errlen, KX_ENOMEM,
			    "cannot grow the output");
	return 0;
}

/* The common case inline: there is room already. */
static inline int
reserve(struct ectx *e, size_t n)
{
	return e->out->cap - e->out->len > n ? 0 : grow_out(e, n);
}

/* An Avro int or long: zig-zag, then a little-endian base-128 varint. */
static int
put_long(struct ectx *e, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
	uint8_t *p;
	int rc;

	if ((rc = reserve(e, 10)))
		return rc;
	p = (uint8_t *)e->out->data + e->out->len;
	while (z >= 0x80) {
		*p++ = (uint8_t)(z | 0x80);
		z >>= 7;
	}
	*p++ = (uint8_t)z;
	e->out->len = (size_t)(p - (uint8_t *)e->out->data);
	return 0;
}

/* Avro bytes or string: the length as a long, then the bytes. */
static int
put_bytes(struct ectx *e, const void *data, size_t n)
{
	int rc;

	if ((rc = put_long(e, (int64_t)n)) || (rc = reserve(e, n)))
		return rc;
	memcpy(e->out->data + e->out->len, data, n);
	e->out->len += n;
	return 0;
}

static int
put_text(struct ectx *e, const struct mfield *f, long idx, const char *s)
{
	size_t len;
	int rc;

	if ((rc = check_out_text(e, f, idx, s, &len)))
		return rc;
	return put_bytes(e, s, len);
}

static int put_record(struct ectx *e, const struct fmap *m, const void *base,
		      int shape);

static int
put_nested(struct ectx *e, const struct mfield *f, const struct slot *s,
	   long idx, const void *p)
{
	const char *parent = e->parent;
	long pidx = e->pidx;
	int rc;

	e->parent = f->name;
	e->pidx = idx;
	rc = put_record(e, s->sub, p, 0);
	e->parent = parent;
	e->pidx = pidx;
	return rc;
}

static int
put_value(struct ectx *e, const struct mfield *f, const struct slot *s,
	  const void *base, size_t off)
{
	const void *src = (const char *)base + off;
	int rc = 0;

	switch (f->kind) {
	case M_UUID:
	case M_COUNTRY:
		return put_text(e, f, -1, (const char *)src);
	case M_STRING:
		return put_text(e, f, -1, *(const char *const *)src);
	case M_PROGRAMME: {
		const char *name;
		if ((rc = check_programme(e, f, src, &name)))
			return rc;
		return put_text(e, f, -1, name);
	}
	case M_LONG: {
		int64_t x = *(const int64_t *)src;
		if ((rc = check_long(e, f, s, x)))
			return rc;
		return put_long(e, x);
	}
	case M_INT:
		return put_long(e, *(const int32_t *)src);
	case M_BOOL:
		if ((rc = reserve(e, 1)))
			return rc;
		e->out->data[e->out->len++] = *(const bool *)src ? 1 : 0;
		return 0;
	case M_TYPE:
	case M_ENUM: {
		int sym;
		if ((rc = check_enum(e, f, s, *(const int *)src, &sym)))
			return rc;
		return put_long(e, sym);
	}
	case M_PARTY:
	case M_SECTORS:
		return put_nested(e, f, s, -1, src);
	case M_STRINGS:
	case M_PARTIES: {
		size_t n;
		const void *arr;

		if ((rc = check_items(e, f, base, src, &n, &arr)))
			return rc;
		/* One block of n items, then the empty block that ends it. */
		if (n && (rc = put_long(e, (int64_t)n)))
			return rc;
		for (size_t i = 0; i < n && !rc; i++) {
			if (f->kind == M_STRINGS)
				rc = put_text(e, f, (long)i,
					      ((const char *const *)arr)[i]);
			else
				rc = put_nested(e, f, s, (long)i,
						(const struct kx_party *)arr +
							i);
		}
		return rc ? rc : put_long(e, 0);
	}
	}
	return KX_EINVAL;
}

static int
put_record(struct ectx *e, const struct fmap *m, const void *base, int shape)
{
	const struct extra *bad = NULL;
	int rc;

	for (size_t j = 0; j < m->n_order; j++) {
		const struct mfield *f;
		const struct slot *s;

		if (m->order[j] < 0) {
			const struct extra *x = &m->extras[-1 - m->order[j]];
			if (!x->bytes) {
				/* Reported after the model's own fields. */
				if (!bad)
					bad = x;
				continue;
			}
			if ((rc = reserve(e, x->n_bytes)))
				return rc;
			memcpy(e->out->data + e->out->len, x->bytes,
			       x->n_bytes);
			e->out->len += x->n_bytes;
			continue;
		}
		f = &m->fields[m->order[j]];
		s = &m->slots[m->order[j]];
		if ((rc = check_null(e, f, s, base, shape)) < 0)
			return rc;
		if (rc) {
			if ((rc = put_long(e, s->null_branch)))
				return rc;
			continue;
		}
		if (s->value_branch >= 0 &&
		    (rc = put_long(e, s->value_branch)))
			return rc;
		if ((rc = put_value(e, f, s, base, f->off[shape])))
			return rc;
	}
	if (bad)
		return fail(e->errbuf, e->errlen, KX_ESCHEMA,
			    "schema %" PRId32 ": field '%s' has no "
			    "default KX can write",
			    e->ws->id, bad->name);
	return 0;
}

int
kx_codec_encode(struct kx_codec *c, const struct kx_event *ev, int32_t id,
		struct kx_buf *out, char *errbuf, size_t errlen)
{
	struct wschema *ws;
	struct ectx e;
	size_t start = out->len;
	int rc, shape;

	if ((rc = encode_prepare(c, ev, id, out, &e, &ws, &shape, errbuf,
				 errlen)))
		return rc;
	if ((rc = reserve(&e, HEADER_LEN + 1024)))
		goto out;
	put_header((uint8_t *)out->data + start, id);
	out->len += HEADER_LEN;
	if ((rc = put_record(&e, ws->map, ev, shape)))
		goto out;
out:
	return encode_end(out, start, rc, errbuf, errlen);
}

/*
 * The reference encoder, for the tests: the same contract as
 * kx_codec_encode(), through Avro-C's generic value and avro_value_write().
 */
int kx__codec_encode_generic(struct kx_codec *c, const struct kx_event *ev,
			     int32_t id, struct kx_buf *out, char *errbuf,
			     size_t errlen);

int
kx__codec_encode_generic(struct kx_codec *c, const struct kx_event *ev,
			 int32_t id, struct kx_buf *out, char *errbuf,
			 size_t errlen)
{
	struct wschema *ws;
	struct ectx e;
	size_t start = out->len, need = HEADER_LEN + 1024;
	int rc, shape;

	if ((rc = encode_prepare(c, ev, id, out, &e, &ws, &shape, errbuf,
				 errlen)))
		return rc;
	if (avro_value_reset(&ws->value))
		return fail_avro(errbuf, errlen, KX_EAVRO,
				 "cannot reset the Avro value");
	if ((rc = encode_record(&e, ws->map, &ws->value, ev, shape)))
		goto out;

	for (;;) {
		uint8_t *p;
		int arc;

		if ((rc = kx_buf_grow(out, need))) {
			fail(errbuf, errlen, rc, "cannot grow the output");
			goto out;
		}
		p = (uint8_t *)out->data + start;
		put_header(p, id);
		avro_writer_memory_set_dest(
			c->writer, (const char *)p + HEADER_LEN,
			(int64_t)(out->cap - start - HEADER_LEN - 1));
		arc = avro_value_write(c->writer, &ws->value);
		if (arc == 0)
			break;
		if (arc != ENOSPC) {
			rc = fail_avro(errbuf, errlen, KX_EAVRO,
				       "cannot write the Avro payload");
			goto out;
		}
		if (out->cap - start > HEADER_LEN + KX_CODEC_MAX_MESSAGE) {
			rc = fail(errbuf, errlen, KX_ETOOLONG,
				  "encoded event is over the %zu-byte limit",
				  KX_CODEC_MAX_MESSAGE);
			goto out;
		}
		need = (out->cap - start) * 2;
	}
	out->len = start + HEADER_LEN + (size_t)avro_writer_tell(c->writer);
out:
	return encode_end(out, start, rc, errbuf, errlen);
}
