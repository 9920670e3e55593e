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
 *   small node tree (struct wnode), and given one generic Avro value.
 *   Encoding and decoding both work on Avro binary directly (see
 *   codec_encode.c and codec_decode.c); only the reference encoder the
 *   tests compare the encoder with goes through the generic value.
 * - Per writer schema and per model field (struct mfield) a slot records
 *   the writer's field index, its union branches, and for enums the map
 *   from writer symbol index to our enum value by symbol name. Fields the
 *   writer lacks take the default of the reader schema, which is the newest
 *   catalogue schema of the family.
 * - Before the decoder reads untrusted bytes, kx__codec_walk() checks the
 *   whole payload against the node tree: every length fits in what is
 *   left, every enum and union index is in range, nothing trails the
 *   record. The decoder then reads the fields it needs straight from the
 *   checked bytes (never past their end). It used to read them through
 *   Avro-C's generic value (avro_value_read()), which allocated and freed
 *   every string and array of every message: 55 % of a decode's time.
 *
 * The module has one file per job: codec.c is the codec object (errors,
 * the allocator, writer and reader schemas, the lifecycle, the resolver
 * and schema lookup); codec_wtree.c the compiled schema nodes and the walk;
 * codec_model.c the event model and the field maps; codec_decode.c and
 * codec_encode.c the two directions. codec_int.h holds what they share.
 *
 * Invariants: a slot's enum maps hold model values in range or -1; a
 * decoded event's strings are valid UTF-8 without NULs and live in the
 * caller's arena; the generic values are only touched by the thread that
 * owns the codec.
 */
#include "kx/codec.h"

#include <avro.h>
#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
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

#include "codec_int.h"

/*
 * The allocator refuses any single Avro-C allocation above this. Legitimate
 * ones are schema parts (small), strings (at most one message) and the
 * element storage of arrays (about 130 bytes per party, doubling), which
 * KX_CODEC_MAX_ITEMS keeps under 8 MB.
 */
#define ALLOC_CAP (2 * KX_CODEC_MAX_MESSAGE)

/* ------------------------------------------------------------------------
 * Errors
 */

int __attribute__((format(printf, 4, 5)))
kx__codec_fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
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
int
kx__codec_fail_avro(char *errbuf, size_t errlen, int rc, const char *what)
{
	const char *msg = avro_strerror();
	size_t n = msg ? strlen(msg) : 0;

	/* Avro-C messages start with a capital and may end with ": ". */
	while (n && (msg[n - 1] == ' ' || msg[n - 1] == ':'))
		n--;
	if (n == 0)
		return kx__codec_fail(errbuf, errlen, rc, "%s", what);
	return kx__codec_fail(errbuf, errlen, rc, "%s: %c%.*s", what,
			      tolower((unsigned char)msg[0]), (int)n - 1,
			      msg + 1);
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
 * Schemas and the codec
 */

static void
wschema_free(struct wschema *ws)
{
	if (!ws)
		return;
	kx__codec_fmap_free(ws->map);
	kx__codec_wtree_release(&ws->tree);
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
	kx__codec_wtree_release(&r->tree);
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
		return kx__codec_fail(errbuf, errlen, KX_ESCHEMA,
				      "invalid schema JSON at line %d: %s",
				      jerr.line, jerr.text);
	if (avro_schema_from_json_length(avsc, len, schema)) {
		*schema = NULL;
		return kx__codec_fail_avro(errbuf, errlen, KX_ESCHEMA,
					   "invalid Avro schema");
	}
	if (!is_avro_record(*schema))
		return kx__codec_fail(errbuf, errlen, KX_ESCHEMA,
				      "schema is a %s, not a record",
				      avro_schema_type_name(*schema));
	if (kx__codec_wtree_build(tree, *schema))
		return kx__codec_fail(
			errbuf, errlen, KX_ESCHEMA,
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
		rc = kx__codec_fail(errbuf, errlen, KX_ENOMEM, "out of memory");
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
			kx__codec_fail(
				errbuf, errlen, KX_ESCHEMA,
				"record name is not PairingEvent, VisitEvent "
				"or PracticeEvent");
			goto err;
		}
		family = (int)fam;
	}
	if (family >= KX_FAMILY__COUNT) {
		rc = kx__codec_fail(errbuf, errlen, KX_EINVAL,
				    "unknown family %d", family);
		goto err;
	}
	ws->family = (enum kx_family)family;
	if (!(ws->map = kx__codec_wschema_map(c, ws, errbuf, errlen)))
		goto err;
	if (!(ws->iface = avro_generic_class_from_schema(ws->schema))) {
		kx__codec_fail_avro(errbuf, errlen, KX_ESCHEMA,
				    "cannot build an Avro class");
		goto err;
	}
	if (avro_generic_value_new(ws->iface, &ws->value)) {
		rc = kx__codec_fail_avro(errbuf, errlen, KX_ENOMEM,
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
			return kx__codec_fail(errbuf, errlen, KX_ENOMEM,
					      "out of memory");
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
		kx__codec_fail(errbuf, errlen, KX_ENOMEM, "out of memory");
		goto err;
	}
	for (int f = 0; f < KX_FAMILY__COUNT; f++) {
		const struct kx_schema_entry *e =
			kx_schema_latest((enum kx_family)f);
		if (!e) {
			kx__codec_fail(errbuf, errlen, KX_ESCHEMA,
				       "the catalogue has no '%s' schema",
				       kx_family_name((enum kx_family)f));
			goto err;
		}
		if (reader_init(&c->readers[f], e->avsc, e->avsc_len, why,
				sizeof(why))) {
			kx__codec_fail(errbuf, errlen, KX_ESCHEMA,
				       "schema '%s': %s", e->file, why);
			goto err;
		}
	}
	cat = kx_schema_catalogue(&n);
	for (size_t i = 0; i < n; i++) {
		if (add_schema(c, cat[i].id, (int)cat[i].family, cat[i].avsc,
			       cat[i].avsc_len, why, sizeof(why))) {
			kx__codec_fail(errbuf, errlen, KX_ESCHEMA,
				       "schema '%s': %s", cat[i].file, why);
			goto err;
		}
	}
	c->writer = avro_writer_memory(empty, 0);
	if (!c->writer) {
		kx__codec_fail_avro(errbuf, errlen, KX_ENOMEM,
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
		return kx__codec_fail(errbuf, errlen, KX_EINVAL,
				      "schema %" PRId32 ": invalid arguments",
				      id);
	rc = add_schema(c, id, (int)family, avsc, strlen(avsc), why,
			sizeof(why));
	if (rc)
		return kx__codec_fail(errbuf, errlen, rc,
				      "schema %" PRId32 ": %s", id, why);
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
		return kx__codec_fail(errbuf, errlen, KX_ENOMEM,
				      "out of memory");
	}
	old = c->readers[family];
	c->readers[family] = fresh;
	for (size_t i = 0; i < c->n_schemas; i++) {
		if (c->schemas[i]->family != family)
			continue;
		if (!(maps[i] = kx__codec_wschema_map(c, c->schemas[i], errbuf,
						      errlen))) {
			for (size_t k = 0; k < i; k++)
				kx__codec_fmap_free(maps[k]);
			free(maps);
			c->readers[family] = old;
			reader_release(&fresh);
			return KX_ESCHEMA;
		}
	}
	for (size_t i = 0; i < c->n_schemas; i++) {
		if (!maps[i])
			continue;
		kx__codec_fmap_free(c->schemas[i]->map);
		c->schemas[i]->map = maps[i];
	}
	free(maps);
	reader_release(&old);
	return 0;
}

int
kx__codec_get_schema(struct kx_codec *c, int32_t id, struct wschema **out,
		     char *errbuf, size_t errlen)
{
	char why[256] = "";
	char *avsc = NULL;
	int rc;

	if ((*out = lookup(c, id)))
		return 0;
	if (!c->resolve)
		return kx__codec_fail(errbuf, errlen, KX_ESCHEMA_ID,
				      "unknown schema id %" PRId32, id);
	rc = c->resolve(c->opaque, id, &avsc, why, sizeof(why));
	if (rc || !avsc) {
		free(avsc);
		return kx__codec_fail(errbuf, errlen, rc ? rc : KX_ESCHEMA_ID,
				      "unknown schema id %" PRId32 ": %s", id,
				      why[0] ? why
					     : "the resolver found nothing");
	}
	rc = add_schema(c, id, -1, avsc, strlen(avsc), why, sizeof(why));
	free(avsc);
	if (rc)
		return kx__codec_fail(errbuf, errlen, rc,
				      "schema %" PRId32 ": %s", id, why);
	*out = lookup(c, id);
	return 0;
}
