/*
 * Avro codec, decoding: a Confluent-framed message -> struct kx_event. The
 * payload is walked first (codec_wtree.c), which checks every byte against
 * the writer schema. Then each record's field starts are found, and the
 * fields are read straight from the bytes into the event through the
 * schema's field map (codec_model.c), defaults filling what the writer
 * lacks.
 *
 * Invariant: a decoded event's strings are valid UTF-8 without NULs and
 * live in the caller's arena.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kx/arena.h"
#include "kx/err.h"
#include "kx/validate.h"

#include "codec_int.h"

void
kx__codec_dpath(const struct dctx *d, const char *name, long idx, char *out,
		size_t n)
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
	kx__codec_dpath(d, name, idx, path, sizeof(path));
	return kx__codec_fail(d->errbuf, d->errlen, rc, "'%s': %s", path, msg);
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

/* ------------------------------------------------------------------------
 * Reading the payload's bytes. kx__codec_walk() has checked all of them
 * against the writer's node tree before any of this runs, so these reads
 * cannot fail on a payload it passed; they still never go past d->end, and
 * report KX_EAVRO if they would, so that a disagreement between the two
 * can only ever refuse a message.
 */

/* Reads a string or bytes at *p: its length, then that many bytes. */
static int
read_bytes(const struct dctx *d, const uint8_t **p, const char **s,
	   size_t *len)
{
	int64_t n;

	if (kx__codec_varint(p, d->end, &n) || n < 0 ||
	    (uint64_t)n > (size_t)(d->end - *p))
		return -1;
	*s = (const char *)*p;
	*len = (size_t)n;
	*p += n;
	return 0;
}

/*
 * Reads the header of an array block at *p: its item count (0 ends the
 * array). A negative count is followed by the block's size in bytes,
 * which is skipped over unread: the items are walked one by one.
 */
static int
read_block(const struct dctx *d, const uint8_t **p, int64_t *count)
{
	int64_t bytes;

	if (kx__codec_varint(p, d->end, count))
		return -1;
	if (*count < 0) {
		if (*count == INT64_MIN || kx__codec_varint(p, d->end, &bytes))
			return -1;
		*count = -*count;
	}
	return 0;
}

/*
 * A walker that moves *p past values of the checked payload: the walk
 * itself, without error texts (it cannot fail on bytes it passed).
 */
static void
skipper_init(struct walker *w, const struct dctx *d, const uint8_t *p)
{
	w->p = p;
	w->end = d->end;
	w->depth = 0;
	w->name[0] = NULL;
	w->idx[0] = -1;
	w->errbuf = NULL;
	w->errlen = 0;
}

static int
unreadable(const struct dctx *d, const char *name, long idx)
{
	return dfail(d, KX_EAVRO, name, idx, "cannot be read");
}

static int decode_record(struct dctx *d, const struct fmap *m,
			 const struct wnode *rec, const uint8_t **p, void *base,
			 int shape);

/* Decodes a nested record (a Party, or participants by sector) into p. */
static int
decode_nested(struct dctx *d, const struct mfield *f, const struct slot *s,
	      const struct wnode *rec, const uint8_t **at, long idx, void *p)
{
	const char *parent = d->parent;
	long pidx = d->pidx;
	int rc;

	d->parent = f->name;
	d->pidx = idx;
	rc = decode_record(d, s->sub, rec, at, p, 0);
	d->parent = parent;
	d->pidx = pidx;
	return rc;
}

/*
 * Decodes an array of strings or of parties, its first block at *at, into
 * an arena array and its count.
 */
static int
decode_array(struct dctx *d, const struct mfield *f, const struct slot *s,
	     const uint8_t *at, void *base, size_t off)
{
	const struct wnode *item = s->vnode->kids[0];
	size_t esz = f->kind == M_STRINGS ? sizeof(const char *)
					  : sizeof(struct kx_party);
	const uint8_t *p = at;
	size_t n = 0, i = 0, len;
	const char *str;
	void *arr = NULL;
	int64_t count;
	int rc = 0;

	/* Count first, so the array is allocated once. */
	for (;;) {
		struct walker w;
		if (read_block(d, &p, &count))
			return unreadable(d, f->name, -1);
		if (count == 0)
			break;
		n += (size_t)count;
		skipper_init(&w, d, p);
		for (int64_t k = 0; k < count; k++)
			if (kx__codec_walk(&w, item))
				return unreadable(d, f->name, -1);
		p = w.p;
	}
	if (n && !(arr = kx_arena_calloc(d->arena, n, esz)))
		return dfail(d, KX_ENOMEM, f->name, -1,
			     "cannot be stored: out of memory");
	p = at;
	while (i < n && !rc) {
		if (read_block(d, &p, &count))
			return unreadable(d, f->name, (long)i);
		for (int64_t k = 0; k < count && i < n && !rc; k++, i++) {
			if (f->kind == M_PARTIES)
				rc = decode_nested(d, f, s, item, &p, (long)i,
						   (struct kx_party *)arr + i);
			else if (read_bytes(d, &p, &str, &len))
				rc = unreadable(d, f->name, (long)i);
			else
				rc = store_text(d, f, (long)i, str, len,
						(const char **)arr + i);
		}
	}
	memcpy((char *)base + off, &arr, sizeof(arr));
	*(size_t *)((char *)base + f->off_n) = n;
	return rc;
}

/* Decodes a present, non-null writer value at p into dst. */
static int
decode_value(struct dctx *d, const struct mfield *f, const struct slot *s,
	     const uint8_t *p, void *base, size_t off)
{
	void *dst = (char *)base + off;
	const char *str;
	size_t len;
	int64_t v;

	switch (f->kind) {
	case M_UUID:
	case M_PROGRAMME:
	case M_STRING:
	case M_COUNTRY:
		if (read_bytes(d, &p, &str, &len))
			return unreadable(d, f->name, -1);
		return store_text(d, f, -1, str, len, dst);
	case M_LONG:
	case M_INT:
	case M_TYPE:
	case M_ENUM:
		/* The walk checked that an int is in range. */
		if (kx__codec_varint(&p, d->end, &v))
			return unreadable(d, f->name, -1);
		if (f->kind == M_LONG)
			*(int64_t *)dst = v;
		else if (f->kind == M_INT)
			*(int32_t *)dst = (int32_t)v;
		else
			return store_enum(d, f, s,
					  v < 0 || v > INT32_MAX ? -1 : (int)v,
					  dst);
		return 0;
	case M_BOOL:
		if (p == d->end)
			return unreadable(d, f->name, -1);
		*(bool *)dst = *p != 0;
		return 0;
	case M_PARTY:
		return decode_nested(d, f, s, s->vnode, &p, -1, dst);
	case M_SECTORS:
		*(bool *)((char *)base + f->off_n) = true;
		return decode_nested(d, f, s, s->vnode, &p, -1, dst);
	case M_STRINGS:
	case M_PARTIES:
		return decode_array(d, f, s, p, base, off);
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
		    (v = kx__codec_model_symbol(f, d->family,
						json_string_value(j))) < 0)
			break;
		*(int *)dst = v;
		return 0;
	case M_PARTY:
	case M_SECTORS: {
		size_t n_sub;
		const struct mfield *sub = kx__codec_sub_fields(f, &n_sub);

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
		     kx__codec_kind_names[f->kind]);
}

/* Validates a reader default once, when a schema is registered. */
int
kx__codec_check_default(const struct mfield *f, json_t *def, const char *path,
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
 * Finds the writer's value of slot s among the record's fields, whose
 * starts are at[]. Sets *v to the value itself (past its union branch)
 * and returns PRESENT, or returns NULL_OR_ABSENT when the writer lacks
 * the field or wrote null; or a negative KX_E* code.
 */
static int
find_value(const struct dctx *d, const struct mfield *f, const struct slot *s,
	   const uint8_t *const *at, const uint8_t **v)
{
	const uint8_t *p;
	int64_t b;

	if (s->index < 0)
		return NULL_OR_ABSENT;
	p = at[s->index];
	if (s->value_branch < 0) {
		*v = p;
		return PRESENT;
	}
	if (kx__codec_varint(&p, d->end, &b))
		return unreadable(d, f->name, -1);
	if (b == s->value_branch) {
		*v = p;
		return PRESENT;
	}
	if (b == s->null_branch)
		return NULL_OR_ABSENT;
	return dfail(d, KX_ESCHEMA, f->name, -1,
		     "union branch %d has a type KX cannot read", (int)b);
}

/*
 * Where each field of a writer record starts in the payload. Records of up
 * to STACK_FIELDS fields keep this on the stack; a registry schema with
 * more takes the heap.
 */
#define STACK_FIELDS 64
struct fields {
	const uint8_t *stack[STACK_FIELDS];
	const uint8_t **at;
};

/* Finds the starts of record rec's fields at *p, and moves *p past it. */
static int
fields_find(const struct dctx *d, const struct wnode *rec, const uint8_t **p,
	    struct fields *fs)
{
	struct walker w;

	fs->at = fs->stack;
	if (rec->n > STACK_FIELDS && !(fs->at = malloc(rec->n * sizeof(*fs->at))))
		return dfail(d, KX_ENOMEM, d->parent ? d->parent : "event", -1,
			     "cannot be read: out of memory");
	skipper_init(&w, d, *p);
	for (size_t j = 0; j < rec->n; j++) {
		fs->at[j] = w.p;
		if (kx__codec_walk(&w, rec->kids[j]))
			return unreadable(d, rec->names[j], -1);
	}
	*p = w.p;
	return 0;
}

static void
fields_release(struct fields *fs)
{
	if (fs->at != fs->stack)
		free(fs->at);
	fs->at = NULL;
}

/* Decodes the fields of map m, found at at[], into base. */
static int
decode_fields(struct dctx *d, const struct fmap *m, const uint8_t *const *at,
	      void *base, int shape)
{
	for (size_t i = 0; i < m->n_fields; i++) {
		const struct mfield *f = &m->fields[i];
		const struct slot *s = &m->slots[i];
		size_t off = f->off[shape];
		const uint8_t *v;
		int rc;

		if (off == NO_OFF)
			continue;
		if (!s->in_reader) {
			store_absent(f, base, off);
			continue;
		}
		rc = find_value(d, f, s, at, &v);
		if (rc == PRESENT) {
			rc = decode_value(d, f, s, v, base, off);
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

/*
 * Decodes the writer record rec at *p into base through map m, and moves
 * *p past it.
 */
static int
decode_record(struct dctx *d, const struct fmap *m, const struct wnode *rec,
	      const uint8_t **p, void *base, int shape)
{
	struct fields fs;
	int rc = fields_find(d, rec, p, &fs);

	if (!rc)
		rc = decode_fields(d, m, (const uint8_t *const *)fs.at, base,
				   shape);
	fields_release(&fs);
	return rc;
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
	struct fields fs = {{NULL}, NULL};
	const struct slot *ts;
	const uint8_t *tv, *p;
	int32_t id;
	int rc, shape;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (len < HEADER_LEN)
		return kx__codec_fail(
			errbuf, errlen, KX_EMAGIC,
			"message is shorter than the 5-byte Confluent "
			"header (%zu bytes)",
			len);
	if (b[0] != 0)
		return kx__codec_fail(
			errbuf, errlen, KX_EMAGIC,
			"wrong magic byte 0x%02x: not Confluent wire "
			"format",
			b[0]);
	id = (int32_t)((uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 |
		       (uint32_t)b[3] << 8 | (uint32_t)b[4]);
	if (schema_id)
		*schema_id = id;
	if (len - HEADER_LEN > KX_CODEC_MAX_MESSAGE)
		return kx__codec_fail(
			errbuf, errlen, KX_ETOOLONG,
			"payload of %zu bytes is over the %zu-byte limit",
			len - HEADER_LEN, KX_CODEC_MAX_MESSAGE);
	if ((rc = kx__codec_get_schema(c, id, &ws, errbuf, errlen)))
		return rc;

	/* Check the structure first: what follows reads only checked bytes. */
	memset(&w, 0, sizeof(w));
	w.p = b + HEADER_LEN;
	w.end = b + len;
	w.idx[0] = -1;
	w.errbuf = errbuf;
	w.errlen = errlen;
	if ((rc = kx__codec_walk(&w, ws->tree.root)))
		return rc;
	if (w.p != w.end)
		return kx__codec_fail(errbuf, errlen, KX_EAVRO,
				      "%zu trailing bytes after the record",
				      (size_t)(w.end - w.p));

	memset(ev, 0, sizeof(*ev));
	d.arena = arena;
	d.family = ws->family;
	d.type = "";
	d.parent = NULL;
	d.pidx = -1;
	d.errbuf = errbuf;
	d.errlen = errlen;
	d.end = w.end;

	p = b + HEADER_LEN;
	if ((rc = fields_find(&d, ws->tree.root, &p, &fs)))
		goto out;
	/* The event type decides where the other fields go. */
	ts = &ws->map->slots[F_EVENT_TYPE];
	rc = find_value(&d, &ws->map->fields[F_EVENT_TYPE], ts,
			(const uint8_t *const *)fs.at, &tv);
	if (rc == NULL_OR_ABSENT) {
		rc = kx__codec_fail(errbuf, errlen, KX_EINVALID_EVENT,
				    "'event_type': required");
		goto out;
	}
	if (rc < 0 || (rc = decode_value(&d, &ws->map->fields[F_EVENT_TYPE], ts,
					 tv, ev, EV(type))))
		goto out;
	d.type = kx_event_type_name(ev->type);
	shape = ws->family == KX_FAMILY_PRACTICE &&
		ev->type != KX_EVENT_PRACTICE_DOCUMENTED;
	if (!(rc = decode_fields(&d, ws->map, (const uint8_t *const *)fs.at, ev,
				 shape)))
		rc = kx_event_validate(ev, errbuf, errlen);
out:
	fields_release(&fs);
	return rc;
}
