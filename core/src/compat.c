/*
 * Avro schema compatibility: the specification's resolution rules, applied
 * to two schemas' JSON (see compat.h).
 *
 * A schema is walked as jansson values. Named types are collected once per
 * schema into a table of full names, so a reference such as "Party" finds
 * its definition the way Avro resolves names: a dotted name is already
 * full, any other name is looked up in the enclosing namespace.
 */
#include "kx/compat.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err_int.h"
#include "kx/err.h"

#define MAX_DEPTH 64
#define NAME_LEN 256
#define PATH_LEN 512

enum kind {
	K_BAD,
	K_NULL,
	K_BOOLEAN,
	K_INT,
	K_LONG,
	K_FLOAT,
	K_DOUBLE,
	K_BYTES,
	K_STRING,
	K_RECORD,
	K_ENUM,
	K_ARRAY,
	K_MAP,
	K_FIXED,
	K_UNION
};

static const char *const kind_names[] = {
	"an invalid schema", "null",  "boolean", "int",	  "long",
	"float",	     "double", "bytes",	  "string", "record",
	"enum",		     "array", "map",	  "fixed",  "union"};

static const struct {
	const char *name;
	enum kind kind;
} primitives[] = {{"null", K_NULL},	  {"boolean", K_BOOLEAN},
		  {"int", K_INT},	  {"long", K_LONG},
		  {"float", K_FLOAT},	  {"double", K_DOUBLE},
		  {"bytes", K_BYTES},	  {"string", K_STRING},
		  {"record", K_RECORD},	  {"error", K_RECORD},
		  {"enum", K_ENUM},	  {"array", K_ARRAY},
		  {"map", K_MAP},	  {"fixed", K_FIXED}};

/* A schema node made plain: its kind, its JSON, and its namespace. */
struct node {
	enum kind kind;
	json_t *json; /* the object of a complex type; NULL for primitives */
	char ns[NAME_LEN];
	char full[NAME_LEN]; /* full name of a named type */
};

struct side {
	json_t *root;
	json_t *names; /* full name -> definition (borrowed) */
	json_t *ns_of; /* full name -> its namespace, as a string */
};

struct ctx {
	struct side r, w;
	json_t *seen; /* "reader|writer" pairs of records being checked */
	kx_compat_cb *cb;
	void *opaque;
	int problems;
};

static void __attribute__((format(printf, 3, 4)))
problem(struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->problems++;
	if (c->cb)
		c->cb(c->opaque, path, msg);
}

static enum kind
primitive(const char *s)
{
	for (size_t i = 0; i < sizeof(primitives) / sizeof(primitives[0]);
	     i++)
		if (strcmp(primitives[i].name, s) == 0)
			return primitives[i].kind;
	return K_BAD;
}

/* Splits a type's name into its full name and namespace. False when
 * either is longer than NAME_LEN - 1 bytes: such a schema is refused,
 * not compared by a cut name. */
static bool
name_parts(const char *name, const char *own_ns, const char *ns, char *full,
	   char *out_ns)
{
	const char *dot = strrchr(name, '.');

	if (dot)
		return snprintf(full, NAME_LEN, "%s", name) < NAME_LEN &&
		       snprintf(out_ns, NAME_LEN, "%.*s", (int)(dot - name),
				name) < NAME_LEN;
	if (own_ns)
		ns = own_ns;
	return snprintf(out_ns, NAME_LEN, "%s", ns ? ns : "") < NAME_LEN &&
	       snprintf(full, NAME_LEN, "%s%s%s", out_ns, *out_ns ? "." : "",
			name) < NAME_LEN;
}

/* Records every named type of s (at namespace ns) in side->names. */
static int
collect(struct side *sd, json_t *s, const char *ns, int depth)
{
	char full[NAME_LEN], own[NAME_LEN];
	json_t *v;
	size_t i;

	if (depth > MAX_DEPTH)
		return KX_EINVAL;
	if (json_is_array(s)) {
		json_array_foreach(s, i, v) if (collect(sd, v, ns, depth + 1))
			return KX_EINVAL;
		return 0;
	}
	if (!json_is_object(s))
		return 0;

	const char *type = json_string_value(json_object_get(s, "type"));
	const char *name = json_string_value(json_object_get(s, "name"));

	if (!type)
		return collect(sd, json_object_get(s, "type"), ns, depth + 1);
	if (name && (!strcmp(type, "record") || !strcmp(type, "error") ||
		     !strcmp(type, "enum") || !strcmp(type, "fixed"))) {
		if (!name_parts(name,
				json_string_value(
					json_object_get(s, "namespace")),
				ns, full, own))
			return KX_EINVAL;
		json_object_set(sd->names, full, s);
		json_object_set_new(sd->ns_of, full, json_string(own));
		ns = own;
	}
	json_array_foreach(json_object_get(s, "fields"), i, v)
	{
		if (collect(sd, json_object_get(v, "type"), ns, depth + 1))
			return KX_EINVAL;
	}
	if (collect(sd, json_object_get(s, "items"), ns, depth + 1) ||
	    collect(sd, json_object_get(s, "values"), ns, depth + 1))
		return KX_EINVAL;
	return 0;
}

/* Makes s (found at namespace ns) a plain node. */
static void
plain(const struct side *sd, json_t *s, const char *ns, struct node *n,
      int depth)
{
	const char *str;
	json_t *def;

	memset(n, 0, sizeof(*n));
	snprintf(n->ns, sizeof(n->ns), "%s", ns ? ns : "");
	if (depth > MAX_DEPTH)
		return;
	if (json_is_array(s)) {
		n->kind = K_UNION;
		n->json = s;
		return;
	}
	if (json_is_string(s)) {
		str = json_string_value(s);
		n->kind = primitive(str);
		if (n->kind != K_BAD && n->kind < K_RECORD)
			return;
		n->kind = K_BAD;
		/* A reference: a full name, or a name in namespace ns. */
		if (!strchr(str, '.') && ns && *ns) {
			snprintf(n->full, sizeof(n->full), "%s.%s", ns, str);
			if (!json_object_get(sd->names, n->full))
				snprintf(n->full, sizeof(n->full), "%s", str);
		} else {
			snprintf(n->full, sizeof(n->full), "%s", str);
		}
		def = json_object_get(sd->names, n->full);
		if (def)
			plain(sd, def, ns, n, depth + 1);
		return;
	}
	if (!json_is_object(s))
		return;
	str = json_string_value(json_object_get(s, "type"));
	if (!str) {
		plain(sd, json_object_get(s, "type"), ns, n, depth + 1);
		return;
	}
	n->kind = primitive(str);
	if (n->kind == K_BAD)
		return;
	n->json = n->kind >= K_RECORD ? s : NULL;
	if (n->kind == K_RECORD || n->kind == K_ENUM || n->kind == K_FIXED) {
		const char *name = json_string_value(json_object_get(s, "name"));
		if (!name) {
			n->kind = K_BAD;
			return;
		}
		if (!name_parts(name,
				json_string_value(
					json_object_get(s, "namespace")),
				ns, n->full, n->ns))
			n->kind = K_BAD;
	}
}

static const char *
short_name(const char *full)
{
	const char *dot = strrchr(full, '.');

	return dot ? dot + 1 : full;
}

/* Named types match by unqualified name, or by a reader alias. */
static bool
names_match(const struct node *r, const struct node *w)
{
	json_t *a;
	size_t i;

	if (strcmp(short_name(r->full), short_name(w->full)) == 0)
		return true;
	json_array_foreach(json_object_get(r->json, "aliases"), i, a)
	{
		const char *s = json_string_value(a);
		if (s && (strcmp(s, w->full) == 0 ||
			  strcmp(s, short_name(w->full)) == 0))
			return true;
	}
	return false;
}

static bool
promotes(enum kind w, enum kind r)
{
	switch (w) {
	case K_INT:
		return r == K_LONG || r == K_FLOAT || r == K_DOUBLE;
	case K_LONG:
		return r == K_FLOAT || r == K_DOUBLE;
	case K_FLOAT:
		return r == K_DOUBLE;
	case K_STRING:
		return r == K_BYTES;
	case K_BYTES:
		return r == K_STRING;
	default:
		return false;
	}
}

/* The specification's "match" that picks a reader union branch. */
static bool
shallow_match(const struct node *r, const struct node *w)
{
	if (r->kind == w->kind) {
		if (r->kind == K_RECORD || r->kind == K_ENUM ||
		    r->kind == K_FIXED)
			return names_match(r, w);
		return true;
	}
	return promotes(w->kind, r->kind);
}

/* Does JSON value d fit schema s? Reports why not at path. */
static bool
default_fits(struct ctx *c, const struct side *sd, json_t *s, const char *ns,
	     json_t *d, const char *path, int depth)
{
	struct node n;
	json_t *v, *f;
	const char *key;
	size_t i;

	plain(sd, s, ns, &n, depth);
	switch (n.kind) {
	case K_NULL:
		return json_is_null(d);
	case K_BOOLEAN:
		return json_is_boolean(d);
	case K_INT:
		return json_is_integer(d) &&
		       json_integer_value(d) >= INT32_MIN &&
		       json_integer_value(d) <= INT32_MAX;
	case K_LONG:
		return json_is_integer(d);
	case K_FLOAT:
	case K_DOUBLE:
		return json_is_number(d);
	case K_BYTES:
	case K_STRING:
	case K_FIXED:
		return json_is_string(d);
	case K_ENUM:
		if (!json_is_string(d))
			return false;
		json_array_foreach(json_object_get(n.json, "symbols"), i, v)
		{
			if (json_equal(v, d))
				return true;
		}
		return false;
	case K_ARRAY:
		if (!json_is_array(d))
			return false;
		json_array_foreach(d, i, v)
		{
			if (!default_fits(c, sd, json_object_get(n.json, "items"),
					  n.ns, v, path, depth + 1))
				return false;
		}
		return true;
	case K_MAP:
		if (!json_is_object(d))
			return false;
		json_object_foreach(d, key, v)
		{
			if (!default_fits(c, sd,
					  json_object_get(n.json, "values"),
					  n.ns, v, path, depth + 1))
				return false;
		}
		return true;
	case K_RECORD:
		if (!json_is_object(d))
			return false;
		json_array_foreach(json_object_get(n.json, "fields"), i, f)
		{
			const char *name =
				json_string_value(json_object_get(f, "name"));
			json_t *fv = name ? json_object_get(d, name) : NULL;

			if (!fv)
				fv = json_object_get(f, "default");
			if (!fv || !default_fits(c, sd, json_object_get(f, "type"),
						 n.ns, fv, path, depth + 1))
				return false;
		}
		return true;
	case K_UNION:
		/* A union's default fits its first branch. */
		return json_array_size(n.json) > 0 &&
		       default_fits(c, sd, json_array_get(n.json, 0), n.ns, d,
				    path, depth + 1);
	default:
		return false;
	}
}

/* Checks every field default of the records of one schema. */
static void
check_defaults(struct ctx *c, const struct side *sd, const char *which)
{
	const char *full;
	json_t *def, *f, *d;
	size_t i;

	json_object_foreach(sd->names, full, def)
	{
		const char *ns =
			json_string_value(json_object_get(sd->ns_of, full));
		json_array_foreach(json_object_get(def, "fields"), i, f)
		{
			const char *name =
				json_string_value(json_object_get(f, "name"));
			char path[PATH_LEN];

			d = json_object_get(f, "default");
			if (!d)
				continue;
			snprintf(path, sizeof(path), "%s.%s", short_name(full),
				 name ? name : "?");
			if (!default_fits(c, sd, json_object_get(f, "type"), ns,
					  d, path, 0))
				problem(c, path,
					"the %s schema's default does not fit "
					"the field's type",
					which);
		}
		/* An enum's own default must be one of its symbols. */
		d = json_object_get(def, "default");
		if (json_is_string(d) &&
		    !strcmp(json_string_value(json_object_get(def, "type")),
			    "enum")) {
			bool found = false;
			json_t *sym;

			json_array_foreach(json_object_get(def, "symbols"), i,
					   sym) found |= json_equal(sym, d);
			if (!found)
				problem(c, short_name(full),
					"the %s schema's enum default '%s' is "
					"not one of its symbols",
					which, json_string_value(d));
		}
	}
}

static void check(struct ctx *c, const struct node *r, const struct node *w,
		  const char *path, int depth);

static void
check_record(struct ctx *c, const struct node *r, const struct node *w,
	     const char *path, int depth)
{
	char key[2 * NAME_LEN + 2], fpath[PATH_LEN];
	json_t *rf, *wf, *a;
	size_t i, j;

	/* Recursive types: a pair already being checked is not re-entered. */
	snprintf(key, sizeof(key), "%s|%s", r->full, w->full);
	if (json_object_get(c->seen, key))
		return;
	json_object_set_new(c->seen, key, json_true());

	json_array_foreach(json_object_get(r->json, "fields"), i, rf)
	{
		const char *name =
			json_string_value(json_object_get(rf, "name"));
		json_t *match = NULL;

		if (!name)
			continue;
		json_array_foreach(json_object_get(w->json, "fields"), j, wf)
		{
			const char *wn =
				json_string_value(json_object_get(wf, "name"));
			if (wn && strcmp(wn, name) == 0) {
				match = wf;
				break;
			}
		}
		/* A reader field's aliases may name the writer's field. */
		json_array_foreach(json_object_get(rf, "aliases"), j, a)
		{
			json_t *cand;
			size_t k;

			if (match)
				break;
			json_array_foreach(json_object_get(w->json, "fields"),
					   k, cand)
			{
				if (json_equal(json_object_get(cand, "name"),
					       a)) {
					match = cand;
					break;
				}
			}
		}
		snprintf(fpath, sizeof(fpath), "%s.%s", path, name);
		if (!match) {
			if (!json_object_get(rf, "default"))
				problem(c, fpath,
					"the reader's field has no default "
					"and the writer lacks it");
			continue;
		}
		struct node rn, wn;
		plain(&c->r, json_object_get(rf, "type"), r->ns, &rn, depth + 1);
		plain(&c->w, json_object_get(match, "type"), w->ns, &wn,
		      depth + 1);
		check(c, &rn, &wn, fpath, depth + 1);
	}
}

static void
check_enum(struct ctx *c, const struct node *r, const struct node *w,
	   const char *path)
{
	json_t *rs = json_object_get(r->json, "symbols");
	json_t *def = json_object_get(r->json, "default");
	json_t *ws;
	size_t i, j;

	json_array_foreach(json_object_get(w->json, "symbols"), i, ws)
	{
		bool known = false;
		json_t *s;

		json_array_foreach(rs, j, s) known |= json_equal(s, ws);
		if (!known && !def)
			problem(c, path,
				"the writer's symbol '%s' of %s is unknown to "
				"the reader, whose enum has no default",
				json_string_value(ws), short_name(r->full));
	}
}

static void
check(struct ctx *c, const struct node *r, const struct node *w,
      const char *path, int depth)
{
	struct node b;
	size_t i;

	if (depth > MAX_DEPTH) {
		problem(c, path, "nested too deeply");
		return;
	}
	if (r->kind == K_BAD || w->kind == K_BAD) {
		problem(c, path, "%s schema's type cannot be resolved",
			r->kind == K_BAD ? "the reader" : "the writer");
		return;
	}
	if (w->kind == K_UNION) {
		/* Every branch the writer may have written must be read. */
		for (i = 0; i < json_array_size(w->json); i++) {
			char bpath[PATH_LEN];

			plain(&c->w, json_array_get(w->json, i), w->ns, &b,
			      depth + 1);
			snprintf(bpath, sizeof(bpath), "%s<%s>", path,
				 b.kind == K_RECORD || b.kind == K_ENUM ||
						 b.kind == K_FIXED
					 ? short_name(b.full)
					 : kind_names[b.kind]);
			check(c, r, &b, json_array_size(w->json) > 1 ? bpath
								     : path,
			      depth + 1);
		}
		return;
	}
	if (r->kind == K_UNION) {
		for (i = 0; i < json_array_size(r->json); i++) {
			plain(&c->r, json_array_get(r->json, i), r->ns, &b,
			      depth + 1);
			if (shallow_match(&b, w)) {
				check(c, &b, w, path, depth + 1);
				return;
			}
		}
		problem(c, path,
			"no branch of the reader's union reads the writer's "
			"%s",
			kind_names[w->kind]);
		return;
	}
	if (r->kind != w->kind) {
		if (!promotes(w->kind, r->kind))
			problem(c, path, "the writer's %s cannot be read as %s",
				kind_names[w->kind], kind_names[r->kind]);
		return;
	}
	switch (r->kind) {
	case K_RECORD:
	case K_ENUM:
	case K_FIXED:
		if (!names_match(r, w)) {
			problem(c, path, "the writer's %s %s is not the reader's %s",
				kind_names[w->kind], short_name(w->full),
				short_name(r->full));
			return;
		}
		if (r->kind == K_RECORD)
			check_record(c, r, w, path, depth);
		else if (r->kind == K_ENUM)
			check_enum(c, r, w, path);
		else if (!json_equal(json_object_get(r->json, "size"),
				     json_object_get(w->json, "size")))
			problem(c, path, "fixed sizes differ");
		return;
	case K_ARRAY:
	case K_MAP: {
		const char *key = r->kind == K_ARRAY ? "items" : "values";
		char ipath[PATH_LEN];
		struct node ri, wi;

		snprintf(ipath, sizeof(ipath), "%s[]", path);
		plain(&c->r, json_object_get(r->json, key), r->ns, &ri,
		      depth + 1);
		plain(&c->w, json_object_get(w->json, key), w->ns, &wi,
		      depth + 1);
		check(c, &ri, &wi, ipath, depth + 1);
		return;
	}
	default:
		return; /* equal primitives */
	}
}

static int __attribute__((format(printf, 4, 5)))
fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kx__verrf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static int
load(struct side *sd, const char *text, size_t len, const char *which,
     char *errbuf, size_t errlen)
{
	json_error_t je;

	sd->root = json_loadb(text, len, JSON_DECODE_ANY, &je);
	if (!sd->root)
		return fail(errbuf, errlen, KX_EINVAL,
			    "the %s schema is not JSON: %s (line %d)", which,
			    je.text, je.line);
	sd->names = json_object();
	sd->ns_of = json_object();
	if (!sd->names || !sd->ns_of)
		return fail(errbuf, errlen, KX_ENOMEM, "out of memory");
	if (collect(sd, sd->root, NULL, 0))
		return fail(errbuf, errlen, KX_EINVAL,
			    "the %s schema is nested too deeply", which);
	return 0;
}

static void
release(struct side *sd)
{
	json_decref(sd->root);
	json_decref(sd->names);
	json_decref(sd->ns_of);
}

int
kx_compat_check(const char *reader, size_t reader_len, const char *writer,
		size_t writer_len, kx_compat_cb *cb, void *opaque,
		char *errbuf, size_t errlen)
{
	struct ctx c;
	struct node r, w;
	int rc;

	memset(&c, 0, sizeof(c));
	c.cb = cb;
	c.opaque = opaque;
	if ((rc = load(&c.r, reader, reader_len, "reader", errbuf, errlen)) ||
	    (rc = load(&c.w, writer, writer_len, "writer", errbuf, errlen)) ||
	    !(c.seen = json_object())) {
		rc = rc ? rc : KX_ENOMEM;
		goto out;
	}
	check_defaults(&c, &c.r, "reader");
	check_defaults(&c, &c.w, "writer");
	plain(&c.r, c.r.root, NULL, &r, 0);
	plain(&c.w, c.w.root, NULL, &w, 0);
	check(&c, &r, &w,
	      r.kind == K_RECORD ? short_name(r.full) : kind_names[r.kind], 0);
	rc = c.problems ? KX_ESCHEMA : 0;
	if (rc)
		kx__errf(errbuf, errlen, "%d incompatibilit%s", c.problems,
			 c.problems == 1 ? "y" : "ies");
out:
	release(&c.r);
	release(&c.w);
	json_decref(c.seen);
	return rc;
}
