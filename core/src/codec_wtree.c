/*
 * Avro codec: schemas compiled into a small node tree (struct wnode), and
 * kx__codec_walk(), the structural check of untrusted payload bytes against
 * that tree, which runs before Avro-C reads them (codec.c says why).
 *
 * Invariants: a tree owns its nodes, while their names and Avro schemas
 * belong to the schema it was compiled from; kx__codec_walk() never reads
 * past w->end.
 */
#include <avro.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/err.h"

#include "codec_int.h"

/* ------------------------------------------------------------------------
 * Compiled schema nodes
 */

const char *const kx__codec_wtype_names[] = {
	"null",	  "boolean", "int",  "long",  "float", "double", "bytes",
	"string", "fixed",   "enum", "array", "map",   "record", "union"};

void
kx__codec_wtree_release(struct wtree *t)
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

int
kx__codec_wtree_build(struct wtree *t, avro_schema_t s)
{
	t->root = compile(t, s, 0);
	if (!t->root)
		return -1;
	for (size_t i = 0; i < t->n; i++)
		min_size(t->nodes[i]);
	return 0;
}

int
kx__codec_field_index(const struct wnode *rec, const char *name)
{
	for (size_t i = 0; rec && i < rec->n; i++)
		if (strcmp(rec->names[i], name) == 0)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------------------
 * The structural walk over untrusted payload bytes
 */

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
		return kx__codec_fail(w->errbuf, w->errlen, rc, "'%s': %s",
				      path, msg);
	return kx__codec_fail(w->errbuf, w->errlen, rc, "%s", msg);
}

static int
walk_long(struct walker *w, int64_t *out)
{
	switch (kx__codec_varint(&w->p, w->end, out)) {
	case 0:
		return 0;
	case KX_ETRUNCATED:
		return walk_fail(w, KX_ETRUNCATED,
				 "payload ends inside a number");
	default:
		return walk_fail(w, KX_EAVRO, "varint longer than 10 bytes");
	}
}

static int
walk_len(struct walker *w, const char *what)
{
	int64_t len = 0; /* set on success; 0 quiets GCC's -O3 flow analysis */
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

static int
walk_items(struct walker *w, const struct wnode *n)
{
	const struct wnode *item = n->kids[0];
	/* A map entry also carries its key, at least one byte. */
	size_t per_item = item->min_size + (n->type == W_MAP);
	uint64_t total = 0;
	int64_t count = 0, bytes; /* count: as len in walk_len() */
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
			if ((rc = kx__codec_walk(w, item)))
				return rc;
		}
		w->depth--;
	}
}

int
kx__codec_walk(struct walker *w, const struct wnode *n)
{
	int64_t v = 0; /* as len in walk_len() */
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
					 kx__codec_wtype_names[n->type]);
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
		return kx__codec_walk(w, n->kids[v]);
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
			if ((rc = kx__codec_walk(w, n->kids[i])))
				return rc;
		}
		w->depth--;
		return 0;
	}
	return walk_fail(w, KX_EAVRO, "unknown schema type");
}
