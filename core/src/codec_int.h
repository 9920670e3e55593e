/*
 * The Avro codec's internals: the types and functions its files share, and
 * nothing else (what one file alone uses stays static there). The files:
 * codec.c (errors, the allocator, writer and reader schemas, the codec
 * object and its lifecycle), codec_wtree.c (compiled schema nodes and the
 * structural walk over payload bytes), codec_model.c (the event model and
 * the field maps of each writer schema), codec_decode.c and codec_encode.c.
 * Why the codec works this way is in codec.c's header.
 */
#ifndef KX_CODEC_INT_H
#define KX_CODEC_INT_H

#include <avro.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kx/codec.h"
#include "kx/err.h"
#include "kx/event.h"

#define HEADER_LEN 5
#define MAX_DEPTH 32
#define NO_OFF SIZE_MAX

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------
 * Errors (codec.c)
 */

int kx__codec_fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int kx__codec_fail_avro(char *errbuf, size_t errlen, int rc, const char *what);

/* ------------------------------------------------------------------------
 * Compiled schema nodes (codec_wtree.c)
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

extern const char *const kx__codec_wtype_names[];

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

void kx__codec_wtree_release(struct wtree *t);
int kx__codec_wtree_build(struct wtree *t, avro_schema_t s);
int kx__codec_field_index(const struct wnode *rec, const char *name);

/* ------------------------------------------------------------------------
 * The structural walk over untrusted payload bytes (codec_wtree.c)
 */

struct walker {
	const uint8_t *p, *end;
	int depth;
	const char *name[MAX_DEPTH + 2]; /* field names down the path */
	long idx[MAX_DEPTH + 2];	 /* array index, or -1 */
	char *errbuf;
	size_t errlen;
};

int kx__codec_walk(struct walker *w, const struct wnode *n);

/*
 * Reads the zig-zag varint at *p, never past end, and moves *p past it.
 * Returns 0, KX_ETRUNCATED when the bytes end inside it, or KX_EAVRO when
 * it runs longer than 10 bytes. The walk and the decoder both read with it.
 */
static inline int
kx__codec_varint(const uint8_t **p, const uint8_t *end, int64_t *out)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		uint8_t b;
		if (*p == end)
			return KX_ETRUNCATED;
		b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
			return 0;
		}
	}
	return KX_EAVRO;
}

/* ------------------------------------------------------------------------
 * The event model (codec_model.c)
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

#define EV(m) offsetof(struct kx_event, m)
#define BOTH 3u
#define S0 1u
#define S1 2u

/* event_type must stay at index 1: it decides the shape. */
#define F_EVENT_TYPE 1

extern const char *const kx__codec_kind_names[];

const struct mfield *kx__codec_sub_fields(const struct mfield *f, size_t *n);
int kx__codec_model_symbol(const struct mfield *f, enum kx_family family,
			   const char *sym);

/* ------------------------------------------------------------------------
 * Field maps (codec_model.c)
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
	uint8_t *bytes;	  /* def in Avro binary; NULL when KX cannot write it */
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

void kx__codec_fmap_free(struct fmap *m);

struct wschema;

/* The field map of writer schema ws against its family's reader schema. */
struct fmap *kx__codec_wschema_map(const struct kx_codec *c,
				   const struct wschema *ws, char *errbuf,
				   size_t errlen);

/* ------------------------------------------------------------------------
 * Schemas and the codec (codec.c)
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
	avro_writer_t writer;
};

int kx__codec_get_schema(struct kx_codec *c, int32_t id, struct wschema **out,
			 char *errbuf, size_t errlen);

/* ------------------------------------------------------------------------
 * Decoding (codec_decode.c)
 */

struct dctx {
	struct kx_arena *arena;
	enum kx_family family;
	const char *type;   /* the event type's name, once known */
	const char *parent; /* e.g. "members" while inside a party */
	long pidx;	    /* the party's index, or -1 */
	char *errbuf;
	size_t errlen;
	const uint8_t *end; /* the payload's end, which no read passes */
};

void kx__codec_dpath(const struct dctx *d, const char *name, long idx,
		     char *out, size_t n);
int kx__codec_check_default(const struct mfield *f, json_t *def,
			    const char *path, char *errbuf, size_t errlen);

/* ------------------------------------------------------------------------
 * Encoding (codec_encode.c)
 */

int kx__codec_default_bytes(struct extra *x, const struct wnode *n);

#endif
