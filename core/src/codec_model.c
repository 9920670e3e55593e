/*
 * Avro codec: the event model, i.e. which fields of struct kx_event KX reads
 * and writes, with their kinds and offsets (struct mfield), and the field
 * maps that tie the model to each writer schema's positions, union branches,
 * enum symbols and defaults (struct fmap, struct slot), which the decoder
 * and encoder both use.
 *
 * Invariant: a slot's enum maps hold model values in range or -1.
 */
#include <avro.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/err.h"
#include "kx/event.h"

#include "codec_int.h"

/* ------------------------------------------------------------------------
 * The event model: which fields KX reads and where they go
 */

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

#define PA(m) offsetof(struct kx_party, m)

/* F_EVENT_TYPE (codec_int.h): event_type must stay at index 1. */
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
const struct mfield *
kx__codec_sub_fields(const struct mfield *f, size_t *n)
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

int
kx__codec_model_symbol(const struct mfield *f, enum kx_family family,
		       const char *sym)
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

void
kx__codec_fmap_free(struct fmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; m->slots && i < m->n_fields; i++) {
		free(m->slots[i].sym_map);
		free(m->slots[i].rev_map);
		kx__codec_fmap_free(m->slots[i].sub);
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

const char *const kx__codec_kind_names[] = {"string", "enum",
					    "string", "string",
					    "string", "long",
					    "int",    "boolean",
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
	return sym ? kx__codec_model_symbol(f, family, sym) : -1;
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
		return kx__codec_fail(errbuf, errlen, KX_ENOMEM,
				      "'%s': out of memory", path);
	for (size_t v = 0; v < s->n_rev; v++)
		s->rev_map[v] = -1;
	for (size_t i = 0; i < en->n; i++) {
		int v = kx__codec_model_symbol(f, family, en->names[i]);
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
	int rindex = kx__codec_field_index(r.rec, f->name);
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
	s->index = kx__codec_field_index(w.rec, f->name);
	s->def = json_object_get(rjson, "default");
	if (s->def &&
	    (rc = kx__codec_check_default(f, s->def, path, errbuf, errlen)))
		return rc;
	if (s->index < 0) {
		if (!s->def)
			return kx__codec_fail(
				errbuf, errlen, KX_ESCHEMA,
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
			return kx__codec_fail(
				errbuf, errlen, KX_ESCHEMA,
				"'%s': no branch of the writer's union "
				"reads as %s",
				path, kx__codec_kind_names[f->kind]);
		s->vnode = wn->kids[s->value_branch];
	} else if (compatible(f->kind, wn)) {
		s->vnode = wn;
	} else {
		return kx__codec_fail(
			errbuf, errlen, KX_ESCHEMA,
			"'%s': writer type %s does not read as %s", path,
			kx__codec_wtype_names[wn->type],
			kx__codec_kind_names[f->kind]);
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
		const struct mfield *sub = kx__codec_sub_fields(f, &n_sub);

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
			if (x->def && kx__codec_default_bytes(
					      x, w.rec->kids[j]) == KX_ENOMEM)
				goto nomem;
			known = -1 - (int)m->n_extras++;
		}
		m->order[j] = known;
	}
	return m;
nomem:
	kx__codec_fail(errbuf, errlen, KX_ENOMEM,
		       "out of memory building a field map");
err:
	kx__codec_fmap_free(m);
	return NULL;
}

struct fmap *
kx__codec_wschema_map(const struct kx_codec *c, const struct wschema *ws,
		      char *errbuf, size_t errlen)
{
	const struct reader *r = &c->readers[ws->family];
	struct side w = {ws->tree.root, ws->json};
	struct side rs = {r->tree.root, r->json};

	return build_fmap(family_fields[ws->family].fields,
			  family_fields[ws->family].n, ws->family, w, rs, NULL,
			  errbuf, errlen);
}
