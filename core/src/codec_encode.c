/*
 * Avro codec, encoding: struct kx_event -> Confluent-framed Avro binary.
 *
 * kx_codec_encode() writes the payload straight into the caller's buffer,
 * walking each record's fields in the writer's order (fmap.order) with the
 * slots the decoder uses. Writer fields the model does not know are written
 * from their default, turned into Avro binary once per schema by Avro-C
 * itself (kx__codec_default_bytes). The reference encoder,
 * kx__codec_encode_generic(), builds Avro-C's generic value and lets
 * avro_value_write() do the bytes; the unit tests (and fuzz_avro) hold the
 * two to the same output for every event type and schema.
 *
 * Both encoders live in this file: they share the checks that make them
 * refuse the same events with the same reasons, and the direct encoder's
 * hot path stays in one translation unit, where the compiler inlines it.
 */
#include <avro.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/buf.h"
#include "kx/err.h"

#include "codec_int.h"

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
	kx__codec_dpath(&d, name, idx, path, sizeof(path));
	return kx__codec_fail(e->errbuf, e->errlen, rc, "'%s': %s", path, msg);
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
int
kx__codec_default_bytes(struct extra *x, const struct wnode *n)
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
	return kx__codec_fail_avro(e->errbuf, e->errlen, rc, what);
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
		int sym = 0;
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
			return kx__codec_fail(
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
		return kx__codec_fail(errbuf, errlen, KX_EINVAL,
				      "'event_type' has value %d out of range",
				      (int)ev->type);
	if ((rc = kx__codec_get_schema(c, id, ws, errbuf, errlen)))
		return rc;
	if ((*ws)->family != kx_event_type_family(ev->type))
		return kx__codec_fail(errbuf, errlen, KX_EINVAL,
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
		rc = kx__codec_fail(errbuf, errlen, KX_ETOOLONG,
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
		return kx__codec_fail(
			e->errbuf, e->errlen, KX_ETOOLONG,
			"encoded event is over the %zu-byte limit",
			KX_CODEC_MAX_MESSAGE);
	if (kx_buf_grow(b, n))
		return kx__codec_fail(e->errbuf, e->errlen, KX_ENOMEM,
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
	size_t len = 0; /* set on success; 0 quiets GCC's -O3 flow analysis */
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
		int sym = 0;
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
		return kx__codec_fail(e->errbuf, e->errlen, KX_ESCHEMA,
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
	int rc, shape = 0;

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
	int rc, shape = 0;

	if ((rc = encode_prepare(c, ev, id, out, &e, &ws, &shape, errbuf,
				 errlen)))
		return rc;
	if (avro_value_reset(&ws->value))
		return kx__codec_fail_avro(errbuf, errlen, KX_EAVRO,
					   "cannot reset the Avro value");
	if ((rc = encode_record(&e, ws->map, &ws->value, ev, shape)))
		goto out;

	for (;;) {
		uint8_t *p;
		int arc;

		if ((rc = kx_buf_grow(out, need))) {
			kx__codec_fail(errbuf, errlen, rc,
				       "cannot grow the output");
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
			rc = kx__codec_fail_avro(
				errbuf, errlen, KX_EAVRO,
				"cannot write the Avro payload");
			goto out;
		}
		if (out->cap - start > HEADER_LEN + KX_CODEC_MAX_MESSAGE) {
			rc = kx__codec_fail(
				errbuf, errlen, KX_ETOOLONG,
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
