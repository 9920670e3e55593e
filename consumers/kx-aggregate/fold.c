/*
 * Batch folding. Invariant: after fold_run(), applying the deltas to the
 * aggregate tables gives exactly what recomputing them from the new entity
 * states would give (kx-admin verify checks this from the database side).
 * Deltas are "old contribution out, new contribution in", so any change an
 * event can make, state, programme, SDG tags, parties or counts, moves
 * every measure it touches. (An entity that keeps its cells, shard and
 * parties adds just the difference of its measures: the same deltas, with
 * the party references' -1 and +1 left out.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "kx/err.h"
#include "kx/timeutil.h"
#include "kx/validate.h"

const char *const measure_columns[M__COUNT] = {
#define MEASURE_NAME(id, col) col,
	MEASURE_MAP(MEASURE_NAME)
#undef MEASURE_NAME
};

static const char *const kind_names[ENT__COUNT] = {"pairing", "visit",
						   "practice", "transfer"};

void
fold_init(struct fold *f)
{
	kx_arena_init(&f->arena);
	kx_arena_init(&f->work);
	kx_hash_init(&f->ents);
	kx_hash_init(&f->cells);
	pdmap_init(&f->parties);
	kx_hash_init(&f->months);
	kx_hash_init(&f->cellset);
	f->cell_list = NULL;
	f->dirty = NULL;
	f->cellbuf = NULL;
	f->cellbuf_cap = 0;
	f->ids = NULL;
	f->ids_cap = 0;
	kx_hash_init(&f->interned);
	kx_arena_init(&f->intern_arena);
}

void
fold_release(struct fold *f)
{
	free(f->cellbuf);
	f->cellbuf = NULL;
	f->cellbuf_cap = 0;
	kx_hash_release(&f->ents);
	kx_hash_release(&f->cells);
	pdmap_release(&f->parties);
	kx_hash_release(&f->months);
	kx_hash_release(&f->cellset);
	kx_arena_release(&f->arena);
	kx_arena_release(&f->work);
	free(f->ids);
	f->ids = NULL;
	f->ids_cap = 0;
	kx_hash_release(&f->interned);
	kx_arena_release(&f->intern_arena);
}

void
fold_reset(struct fold *f)
{
	kx_hash_clear(&f->ents);
	kx_hash_clear(&f->cells);
	pdmap_clear(&f->parties);
	kx_hash_clear(&f->months);
	kx_hash_clear(&f->cellset);
	kx_arena_reset(&f->arena);
	kx_arena_reset(&f->work);
	f->cell_list = NULL;
	f->dirty = NULL;
}

enum ent_kind
fold_kind_of(enum kx_event_type type)
{
	switch (kx_event_type_family(type)) {
	case KX_FAMILY_PAIRING:
		return ENT_PAIRING;
	case KX_FAMILY_VISIT:
		return ENT_VISIT;
	default:
		return type == KX_EVENT_PRACTICE_DOCUMENTED ? ENT_PRACTICE
							    : ENT_TRANSFER;
	}
}

const char *
fold_kind_name(enum ent_kind kind)
{
	return kind_names[kind];
}

int
fold_mark_cmp(const struct mark *a, const struct mark *b)
{
	if (a->at != b->at)
		return a->at < b->at ? -1 : 1;
	return memcmp(a->id, b->id, sizeof(a->id));
}

struct ent *
fold_entity(struct fold *f, enum ent_kind kind, const char *id, bool *created)
{
	size_t idlen = strlen(id);
	char buf[128], *key = buf;
	struct kx_hash_slot *slot;
	struct ent *e;

	/* Most lookups find the entity: the key is kept only for a new
	 * one. */
	if (idlen + 3 <= sizeof(buf)) {
		buf[0] = (char)('0' + kind);
		buf[1] = ':';
		memcpy(buf + 2, id, idlen + 1);
		if ((e = kx_hash_get(&f->ents, buf, idlen + 2))) {
			*created = false;
			return e;
		}
	}
	if (!(key = kx_arena_alloc(&f->arena, idlen + 3)))
		return NULL;
	key[0] = (char)('0' + kind);
	key[1] = ':';
	memcpy(key + 2, id, idlen + 1);
	if (!(slot = kx_hash_put(&f->ents, key, idlen + 2)))
		return NULL;
	*created = slot->value == NULL;
	if (slot->value)
		return slot->value;
	if (!(e = kx_arena_calloc(&f->arena, 1, sizeof(*e))))
		return NULL;
	e->kind = kind;
	e->id = key + 2;
	e->last.at = e->first.at = NO_TIME;
	if (kind == ENT_PAIRING) {
		e->u.pairing.budget_eur = -1;
	} else if (kind == ENT_VISIT) {
		e->u.visit.participants = -1;
		e->u.visit.held.at = NO_TIME;
	}
	slot->value = e;
	return e;
}

const char *
fold_entity_key(const struct ent *e, size_t *len)
{
	*len = strlen(e->id) + 2;
	return e->id - 2;
}

const char *
fold_intern(struct fold *f, const char *s)
{
	struct kx_hash_slot *slot;
	size_t len;
	char *c;

	if (!s)
		return NULL;
	len = strlen(s);
	if ((c = kx_hash_get(&f->interned, s, len)))
		return c;
	if (f->intern_arena.used + len >= FOLD_INTERN_MAX)
		return kx_arena_strndup(&f->arena, s, len);
	if (!(c = kx_arena_strndup(&f->intern_arena, s, len)) ||
	    !(slot = kx_hash_put(&f->interned, c, len)))
		return NULL;
	slot->value = c;
	return c;
}

/* Points *s at a copy: interned when repeat says the value repeats across
 * entities, else in the fold's arena. */
static int
copy_str(struct fold *f, const char **s, bool repeat)
{
	if (!*s)
		return 0;
	*s = repeat ? fold_intern(f, *s) : kx_arena_strdup(&f->arena, *s);
	return *s ? 0 : KX_ENOMEM;
}

/* The same for an array of values that repeat (SDG codes, themes). */
static int
copy_strs(struct fold *f, const char ***v, size_t n)
{
	const char **c;

	if (!*v)
		return 0;
	if (!(c = kx_arena_alloc(&f->arena, (n + 1) * sizeof(*c))))
		return KX_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(c[i] = fold_intern(f, (*v)[i])))
			return KX_ENOMEM;
	*v = c;
	return 0;
}

/* Points every string and string array of e's state at a copy. */
static int
copy_strings(struct fold *f, struct ent *e)
{
	int rc = 0;

	if (copy_str(f, &e->programme, true) ||
	    copy_str(f, &e->source, true) ||
	    copy_str(f, &e->geo_area, true) ||
	    copy_strs(f, &e->sdgs, e->n_sdgs) ||
	    copy_strs(f, &e->themes, e->n_themes) ||
	    copy_strs(f, &e->targets, e->n_targets))
		return KX_ENOMEM;
	switch (e->kind) {
	case ENT_PAIRING:
		rc = copy_str(f, &e->u.pairing.cooperation_type, true);
		break;
	case ENT_VISIT:
		if (copy_str(f, &e->u.visit.pairing_id, false) ||
		    copy_str(f, &e->u.visit.visit_type, true) ||
		    copy_str(f, &e->u.visit.format, true) ||
		    copy_str(f, &e->u.visit.report_url, false) ||
		    copy_str(f, &e->u.visit.follow_up, true))
			rc = KX_ENOMEM;
		break;
	case ENT_PRACTICE:
		if (copy_str(f, &e->u.practice.title, false) ||
		    copy_str(f, &e->u.practice.product_type, true) ||
		    copy_str(f, &e->u.practice.url, false))
			rc = KX_ENOMEM;
		break;
	default:
		rc = copy_str(f, &e->u.transfer.practice_id, false);
		break;
	}
	return rc;
}

/* Copies what e's state borrows from the batch's events. */
static int
keep_borrowed(struct fold *f, struct ent *e)
{
	unsigned b = e->borrowed;

	e->borrowed = 0;
	if (((b & B_SOURCE) && copy_str(f, &e->source, true)) ||
	    ((b & B_GEO) && copy_str(f, &e->geo_area, true)) ||
	    ((b & B_SDGS) && copy_strs(f, &e->sdgs, e->n_sdgs)) ||
	    ((b & B_THEMES) && copy_strs(f, &e->themes, e->n_themes)) ||
	    ((b & B_PAIRING) && copy_str(f, &e->u.visit.pairing_id, false)) ||
	    ((b & B_REPORT) && copy_str(f, &e->u.visit.report_url, false)) ||
	    ((b & B_TITLE) && copy_str(f, &e->u.practice.title, false)) ||
	    ((b & B_URL) && copy_str(f, &e->u.practice.url, false)) ||
	    ((b & B_PRACTICE) &&
	     copy_str(f, &e->u.transfer.practice_id, false)))
		return KX_ENOMEM;
	return 0;
}

int
fold_copy_state(struct fold *f, const struct ent *src, struct ent *dst)
{
	enum ent_kind kind = dst->kind;
	const char *id = dst->id;
	struct pending **evs = dst->evs;
	size_t n_evs = dst->n_evs, cap_evs = dst->cap_evs;
	int32_t *ids = NULL;

	if (src->n_parties) {
		if (!(ids = kx_arena_alloc(&f->arena,
					   src->n_parties * sizeof(*ids))))
			return KX_ENOMEM;
		memcpy(ids, src->party_ids, src->n_parties * sizeof(*ids));
	}
	*dst = *src;
	dst->kind = kind;
	dst->id = id;
	dst->party_ids = ids;
	dst->exists = dst->stored = dst->dirty = false;
	dst->borrowed = 0;
	dst->evs = evs;
	dst->n_evs = n_evs;
	dst->cap_evs = cap_evs;
	dst->next_dirty = NULL;
	return copy_strings(f, dst);
}

int
fold_add(struct fold *f, struct ent *e, const struct pending *p)
{
	struct pending *copy;

	if (e->n_evs == e->cap_evs) {
		size_t cap = e->cap_evs ? e->cap_evs * 2 : 4;
		struct pending **v = kx_arena_alloc(&f->work,
						    cap * sizeof(*v));
		if (!v)
			return KX_ENOMEM;
		if (e->n_evs)
			memcpy(v, e->evs, e->n_evs * sizeof(*v));
		e->evs = v;
		e->cap_evs = cap;
	}
	if (!(copy = kx_arena_alloc(&f->work, sizeof(*copy))))
		return KX_ENOMEM;
	*copy = *p;
	e->evs[e->n_evs++] = copy;
	return 0;
}

int
fold_sdg_cells(struct fold *f, const char **sdgs, size_t n,
	       uint32_t *goals, const char ***targets, uint32_t *n_targets)
{
	const char **t = n ? kx_arena_alloc(&f->arena, n * sizeof(*t)) : NULL;
	size_t nt = 0;
	char buf[64];

	if (n && !t)
		return KX_ENOMEM;
	*goals = 0;
	for (size_t i = 0; i < n; i++) {
		const char *code = sdgs[i], *dot = strchr(code, '.'), *dot2;
		size_t len;
		bool seen = false;

		*goals |= 1u << atoi(code);
		if (!dot)
			continue;
		dot2 = strchr(dot + 1, '.');
		len = dot2 ? (size_t)(dot2 - code) : strlen(code);
		for (size_t j = 0; j < nt && !seen; j++)
			seen = strlen(t[j]) == len && !strncmp(t[j], code, len);
		if (seen)
			continue;
		/* Targets repeat across entities: kept once. */
		if (len < sizeof(buf)) {
			memcpy(buf, code, len);
			buf[len] = '\0';
			t[nt] = fold_intern(f, buf);
		} else {
			t[nt] = kx_arena_strndup(&f->arena, code, len);
		}
		if (!t[nt])
			return KX_ENOMEM;
		nt++;
	}
	*targets = t;
	*n_targets = nt;
	return 0;
}

static int
pending_cmp(const void *a, const void *b)
{
	const struct kx_event *x = (*(struct pending *const *)a)->ev;
	const struct kx_event *y = (*(struct pending *const *)b)->ev;

	if (x->occurred_at != y->occurred_at)
		return x->occurred_at < y->occurred_at ? -1 : 1;
	return strcmp(x->event_id, y->event_id);
}

static int
int32_cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

static bool same_strs(const char *const *a, size_t na, const char *const *b,
		      size_t nb);

/* Sets a string of the state to the event's, which the state borrows
 * until fold_keep() copies it; an equal value keeps the one it has. */
static void
borrow(struct ent *e, const char **field, const char *v, unsigned bit)
{
	if (*field == v || (*field && v && !strcmp(*field, v)))
		return;
	*field = v;
	e->borrowed |= bit;
}

static void
borrow_strs(struct ent *e, const char ***field, uint32_t *n,
	    const char **v, size_t nv, unsigned bit)
{
	if (*field && same_strs(*field, *n, v, nv))
		return;
	*field = v;
	*n = nv;
	e->borrowed |= bit;
}

/* The event's marker. Its id was checked to be a UUID (validate.h); were
 * it not one, all its bytes would be 0. */
static void
mark_of(const struct pending *p, struct mark *m)
{
	m->at = p->ev->occurred_at;
	if (p->id)
		memcpy(m->id, p->id, sizeof(m->id));
	else if (kx_uuid_parse(p->ev->event_id, m->id))
		memset(m->id, 0, sizeof(m->id));
}

/* Replaces the entity's snapshot with the event's attributes. What the
 * state holds already (most events of an entity repeat its tags and
 * parties) is kept, not allocated again. */
static int
take_snapshot(struct fold *f, struct ent *e, const struct pending *p,
	      const struct mark *m)
{
	const struct kx_event *ev = p->ev;
	bool fresh = e->last.at == NO_TIME;
	int32_t *ids = f->ids;
	size_t n = 0;

	e->type = ev->type;
	e->shard = p->shard;
	e->programme = kx_programme_name(ev->programme);
	borrow(e, &e->source, ev->source, B_SOURCE);
	borrow(e, &e->geo_area, ev->geo_area, B_GEO);
	if (fresh || !same_strs(e->sdgs, e->n_sdgs, ev->sdgs, ev->n_sdgs)) {
		e->sdgs = ev->sdgs;
		e->n_sdgs = ev->n_sdgs;
		e->borrowed |= B_SDGS;
		if (fold_sdg_cells(f, ev->sdgs, ev->n_sdgs, &e->goals,
				   &e->targets, &e->n_targets))
			return KX_ENOMEM;
	}
	borrow_strs(e, &e->themes, &e->n_themes, ev->themes, ev->n_themes,
		    B_THEMES);
	/* A party named twice by one event still counts once. */
	if (p->n_parties > f->ids_cap) {
		if (!(ids = realloc(f->ids, p->n_parties * sizeof(*ids))))
			return KX_ENOMEM;
		f->ids = ids;
		f->ids_cap = p->n_parties;
	}
	if (p->n_parties) {
		memcpy(ids, p->party_ids, p->n_parties * sizeof(*ids));
		qsort(ids, p->n_parties, sizeof(*ids), int32_cmp);
		for (size_t i = 0; i < p->n_parties; i++)
			if (n == 0 || ids[n - 1] != ids[i])
				ids[n++] = ids[i];
	}
	if (fresh || n != e->n_parties ||
	    (n && memcmp(ids, e->party_ids, n * sizeof(*ids)))) {
		int32_t *v = NULL;
		if (n && !(v = kx_arena_alloc(&f->arena, n * sizeof(*v))))
			return KX_ENOMEM;
		if (n)
			memcpy(v, ids, n * sizeof(*v));
		e->party_ids = v;
		e->n_parties = n;
	}
	switch (e->kind) {
	case ENT_PAIRING:
		e->u.pairing.cooperation_type = kx_cooperation_type_name(
			ev->u.pairing.cooperation_type);
		e->u.pairing.pilot_projects = ev->u.pairing.pilot_projects;
		e->u.pairing.budget_eur = ev->u.pairing.budget_eur;
		break;
	case ENT_VISIT: {
		struct ent_visit *v = &e->u.visit;
		borrow(e, &v->pairing_id, ev->u.visit.pairing_id, B_PAIRING);
		v->visit_type = kx_visit_type_name(ev->u.visit.visit_type);
		v->format = kx_visit_format_name(ev->u.visit.format);
		v->start_date = ev->u.visit.start_date;
		v->end_date = ev->u.visit.end_date;
		v->participants = ev->u.visit.participants;
		borrow(e, &v->report_url, ev->u.visit.report_url, B_REPORT);
		v->by_sector = ev->u.visit.by_sector;
		v->follow_up = kx_follow_up_name(ev->u.visit.follow_up);
		break;
	}
	case ENT_PRACTICE:
		borrow(e, &e->u.practice.title, ev->u.practice.title, B_TITLE);
		e->u.practice.product_type =
			kx_product_type_name(ev->u.practice.product_type);
		borrow(e, &e->u.practice.url, ev->u.practice.url, B_URL);
		break;
	default:
		borrow(e, &e->u.transfer.practice_id,
		       ev->u.transfer.practice_id, B_PRACTICE);
		break;
	}
	e->last = *m;
	return 0;
}

/* The type whose earliest event kx.monthly_activity counts, per kind. */
static enum kx_event_type
first_type(enum ent_kind kind)
{
	switch (kind) {
	case ENT_PAIRING:
		return KX_EVENT_PAIRING_MATCHED;
	case ENT_VISIT:
		return KX_EVENT_VISIT_HELD;
	case ENT_TRANSFER:
		return KX_EVENT_TRANSFER_REPLICATED;
	default:
		return KX_EVENT__COUNT;
	}
}

static int
apply(struct fold *f, struct ent *e, const struct pending *p)
{
	const struct kx_event *ev = p->ev;
	struct mark m;
	int rc;

	mark_of(p, &m);
	if (e->last.at == NO_TIME || fold_mark_cmp(&m, &e->last) > 0) {
		if ((rc = take_snapshot(f, e, p, &m)))
			return rc;
		e->dirty = true;
	}
	if (ev->type == first_type(e->kind) &&
	    (e->first.at == NO_TIME || fold_mark_cmp(&m, &e->first) < 0)) {
		e->first = m;
		e->dirty = true;
	}
	if (ev->type == KX_EVENT_VISIT_HELD &&
	    (e->u.visit.held.at == NO_TIME ||
	     fold_mark_cmp(&m, &e->u.visit.held) > 0)) {
		e->u.visit.held = m;
		e->u.visit.held_participants = ev->u.visit.participants;
		e->dirty = true;
	}
	return 0;
}

/* Measures an entity contributes to each of its cells. */
static void
measures(const struct ent *e, int64_t v[M__COUNT])
{
	memset(v, 0, sizeof(int64_t) * M__COUNT);
	v[M_ENTITIES] = 1;
	switch (e->kind) {
	case ENT_PAIRING:
		v[M_PAIRINGS_PROPOSED + (e->type - KX_EVENT_PAIRING_PROPOSED)] = 1;
		v[M_ACTION_PLANS_ADOPTED] =
			e->type == KX_EVENT_PAIRING_ACTION_PLAN_ADOPTED ||
			e->type == KX_EVENT_PAIRING_COMPLETED;
		v[M_PILOT_PROJECTS] = e->u.pairing.pilot_projects;
		break;
	case ENT_VISIT:
		v[M_VISITS_PLANNED + (e->type - KX_EVENT_VISIT_PLANNED)] = 1;
		if (e->type == KX_EVENT_VISIT_HELD &&
		    e->u.visit.participants > 0)
			v[M_PARTICIPANTS] = e->u.visit.participants;
		break;
	case ENT_PRACTICE:
		v[M_PRACTICES_DOCUMENTED] = 1;
		break;
	default:
		v[M_TRANSFERS_PLANNED + (e->type - KX_EVENT_TRANSFER_PLANNED)] =
			1;
		break;
	}
}

size_t
fold_cell_key(int dim, const char *programme, int goal, const char *target,
	      char *buf)
{
	size_t pl = strlen(programme), tl = strlen(target);

	/* Programmes and targets are short validated codes; the bounds only
	 * keep a corrupt stored value from overrunning the buffer. */
	if (pl > 60)
		pl = 60;
	if (tl > 30)
		tl = 30;
	buf[0] = (char)dim;
	buf[1] = (char)goal;
	buf[2] = (char)pl;
	memcpy(buf + 3, programme, pl);
	memcpy(buf + 3 + pl, target, tl);
	return 3 + pl + tl;
}

/* Returns the batch's one copy of a cell, or NULL when out of memory. */
static struct cell *
intern_cell(struct fold *f, int dim, const char *programme, int goal,
	    const char *target)
{
	char buf[FOLD_CELL_KEY_MAX], *key;
	size_t len = fold_cell_key(dim, programme, goal, target, buf);
	struct kx_hash_slot *slot;
	struct cell *c = kx_hash_get(&f->cellset, buf, len);

	if (c)
		return c;
	if (!(key = kx_arena_alloc(&f->work, len)) ||
	    !(c = kx_arena_calloc(&f->work, 1, sizeof(*c))) ||
	    !(c->programme = kx_arena_strdup(&f->work, programme)) ||
	    !(c->target = kx_arena_strdup(&f->work, target)))
		return NULL;
	memcpy(key, buf, len);
	if (!(slot = kx_hash_put(&f->cellset, key, len)))
		return NULL;
	c->dim = dim;
	c->goal = goal;
	c->next = f->cell_list;
	f->cell_list = c;
	slot->value = c;
	return c;
}

/* Lists an entity's cells; returns how many (at most 1 + 2*17 + targets),
 * or (size_t)-1 when out of memory. */
static size_t
cells_of(struct fold *f, const struct ent *e, struct cell **out)
{
	size_t n = 0;

	if (!(out[n++] = intern_cell(f, 0, e->programme, 0, "")))
		return (size_t)-1;
	for (int g = 1; g <= 17; g++) {
		if (!(e->goals & (1u << g)))
			continue;
		if (!(out[n++] = intern_cell(f, 1, "", g, "")) ||
		    !(out[n++] = intern_cell(f, 2, e->programme, g, "")))
			return (size_t)-1;
	}
	for (size_t i = 0; i < e->n_targets; i++)
		if (!(out[n++] = intern_cell(f, 3, "", atoi(e->targets[i]),
					     e->targets[i])))
			return (size_t)-1;
	return n;
}

static bool
has_cell(struct cell *const *cells, size_t n, const struct cell *c,
	 int32_t shard, int32_t other_shard)
{
	if (shard != other_shard)
		return false;
	for (size_t i = 0; i < n; i++)
		if (cells[i] == c)
			return true;
	return false;
}

/* The delta stored under a binary key, created zeroed on first use. */
static void *
slot_for(struct fold *f, struct kx_hash *h, const char *buf, size_t len,
	 size_t size, bool *created)
{
	struct kx_hash_slot *slot;
	char *key;
	void *v = kx_hash_get(h, buf, len);

	*created = v == NULL;
	if (v)
		return v;
	if (!(key = kx_arena_alloc(&f->work, len)))
		return NULL;
	memcpy(key, buf, len);
	if (!(slot = kx_hash_put(h, key, len)))
		return NULL;
	slot->value = kx_arena_calloc(&f->work, 1, size);
	return slot->value;
}

/* A delta keyed by (interned cell, a 32-bit number): binary keys, so the
 * hot path formats nothing. */
static void *
delta_slot(struct fold *f, struct kx_hash *h, const struct cell *c,
	   int32_t n, size_t size, bool *created)
{
	char buf[sizeof(c) + sizeof(n)];

	memcpy(buf, &c, sizeof(c));
	memcpy(buf + sizeof(c), &n, sizeof(n));
	return slot_for(f, h, buf, sizeof(buf), size, created);
}

/* The (cell, shard) delta an entity's contribution goes to. */
static struct cell_delta *
cell_delta_of(struct fold *f, const struct ent *e, const struct cell *c)
{
	struct cell_delta *d;
	bool created;

	if (!(d = delta_slot(f, &f->cells, c, e->shard, sizeof(*d),
			     &created)))
		return NULL;
	if (created) {
		d->cell = c;
		d->shard = e->shard;
		d->last_at = d->removed_last = NO_TIME;
	}
	return d;
}

/* Adds measures v to cell c, where entity e is and stays. */
static int
add_measures(struct fold *f, const struct ent *e, const struct cell *c,
	     const int64_t v[M__COUNT])
{
	struct cell_delta *d = cell_delta_of(f, e, c);

	if (!d)
		return KX_ENOMEM;
	for (int i = 0; i < M__COUNT; i++)
		d->m[i] += v[i];
	if (e->last.at > d->last_at)
		d->last_at = e->last.at;
	return 0;
}

static int
add_cell(struct fold *f, const struct ent *e, const struct cell *c,
	 int sign, const int64_t v[M__COUNT], bool leaving)
{
	struct cell_delta *d = cell_delta_of(f, e, c);
	bool created;

	if (!d)
		return KX_ENOMEM;
	for (int i = 0; i < M__COUNT; i++)
		d->m[i] += sign * v[i];
	if (sign > 0 && e->last.at > d->last_at)
		d->last_at = e->last.at;
	if (leaving && e->last.at > d->removed_last)
		d->removed_last = e->last.at;

	/* A party is a partner of a goal (dim 1) while it is one of the
	 * goal under any programme (dim 2): the store derives the goal's
	 * references from the programme x goal crossings, so the batch does
	 * not count them again here. */
	for (size_t i = 0; c->dim != 1 && i < e->n_parties; i++) {
		struct party_delta *pd;
		if (!(pd = pdmap_get(&f->parties, c, e->party_ids[i],
				     &created)))
			return KX_ENOMEM;
		if (created)
			pd->shard = e->shard;
		pd->refs += sign;
	}
	return 0;
}

static int
add_month(struct fold *f, const struct ent *e, int sign)
{
	struct month_delta *d;
	char date[16], key[96];
	int64_t days;
	bool created;

	if (e->first.at == NO_TIME)
		return 0;
	/* Floor division: months before 1970 must not round toward zero. */
	days = e->first.at / 86400000000LL;
	if (e->first.at % 86400000000LL < 0)
		days--;
	kx_date_format((int32_t)days, date, sizeof(date));
	memcpy(date + 8, "01", 3);
	snprintf(key, sizeof(key), "%s|%s|%d", date, e->programme,
		 (int)e->shard);
	if (!(d = slot_for(f, &f->months, key, strlen(key), sizeof(*d),
			   &created)))
		return KX_ENOMEM;
	if (created) {
		memcpy(d->month, date, sizeof(d->month));
		d->programme = e->programme;
		d->shard = e->shard;
	}
	switch (e->kind) {
	case ENT_PAIRING:
		d->m[MM_PAIRINGS_MATCHED] += sign;
		break;
	case ENT_VISIT:
		d->m[MM_VISITS_HELD] += sign;
		if (e->u.visit.held.at != NO_TIME &&
		    e->u.visit.held_participants > 0)
			d->m[MM_PARTICIPANTS] +=
				sign * e->u.visit.held_participants;
		break;
	case ENT_TRANSFER:
		d->m[MM_TRANSFERS_REPLICATED] += sign;
		break;
	default:
		break;
	}
	return 0;
}

/* Most cells an entity is in: its programme, each goal, each programme x
 * goal, each target. */
static size_t
max_cells(const struct ent *e)
{
	return 1 + 2 * 17 + e->n_targets;
}

/* Room for cells_of() of cur and then of old: f->cellbuf, grown as
 * needed. */
static struct cell **
cell_arrays(struct fold *f, const struct ent *old, const struct ent *cur)
{
	size_t need = max_cells(cur) + (old ? max_cells(old) : 0);

	if (need > f->cellbuf_cap) {
		size_t cap = need < 256 ? 256 : need;
		struct cell **v = realloc(f->cellbuf, cap * sizeof(*v));
		if (!v)
			return NULL;
		f->cellbuf = v;
		f->cellbuf_cap = cap;
	}
	return f->cellbuf;
}

static bool
same_strs(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	if (a == b && na == nb)
		return true;
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i] != b[i] && strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

/* Whether two states of an entity are in the same cells of the same shard
 * with the same parties, so that they hold the same party references. */
static bool
same_refs(const struct ent *a, const struct ent *b)
{
	return a->shard == b->shard && a->goals == b->goals &&
	       (a->programme == b->programme ||
		strcmp(a->programme, b->programme) == 0) &&
	       same_strs(a->targets, a->n_targets, b->targets, b->n_targets) &&
	       a->n_parties == b->n_parties &&
	       (a->n_parties == 0 || a->party_ids == b->party_ids ||
		memcmp(a->party_ids, b->party_ids,
		       a->n_parties * sizeof(*a->party_ids)) == 0);
}

/* An entity that stayed in its cells and kept its parties: its party
 * references are unchanged, and each cell takes the difference of its
 * measures. Half the lookups of taking one contribution out and the other
 * in, and none per party. */
static int
contribute_in_place(struct fold *f, const struct ent *old,
		    const struct ent *cur)
{
	struct cell **cells;
	int64_t vo[M__COUNT], v[M__COUNT];
	size_t n;
	int rc;

	if (!(cells = cell_arrays(f, NULL, cur)) ||
	    (n = cells_of(f, cur, cells)) == (size_t)-1)
		return KX_ENOMEM;
	measures(old, vo);
	measures(cur, v);
	for (int i = 0; i < M__COUNT; i++)
		v[i] -= vo[i];
	for (size_t i = 0; i < n; i++)
		if ((rc = add_measures(f, cur, cells[i], v)))
			return rc;
	if ((rc = add_month(f, old, -1)))
		return rc;
	return add_month(f, cur, 1);
}

/* Adds the deltas of one changed entity: its old contribution out, its new
 * contribution in (in place when its references did not change). */
static int
contribute(struct fold *f, const struct ent *old, const struct ent *cur)
{
	struct cell **oc = NULL, **nc = NULL;
	size_t on = 0, nn = 0;
	int64_t v[M__COUNT];
	int rc;

	if (old && old->last.at != NO_TIME && cur->last.at != NO_TIME &&
	    same_refs(old, cur))
		return contribute_in_place(f, old, cur);
	if (!(nc = cell_arrays(f, old, cur)))
		return KX_ENOMEM;
	if (cur->last.at != NO_TIME && (nn = cells_of(f, cur, nc)) == (size_t)-1)
		return KX_ENOMEM;
	if (old && old->last.at != NO_TIME) {
		oc = nc + max_cells(cur);
		if ((on = cells_of(f, old, oc)) == (size_t)-1)
			return KX_ENOMEM;
		measures(old, v);
		for (size_t i = 0; i < on; i++) {
			bool leaving = !has_cell(nc, nn, oc[i], old->shard,
						 cur->shard);
			if ((rc = add_cell(f, old, oc[i], -1, v, leaving)))
				return rc;
		}
		if ((rc = add_month(f, old, -1)))
			return rc;
	}
	if (nn) {
		measures(cur, v);
		for (size_t i = 0; i < nn; i++)
			if ((rc = add_cell(f, cur, nc[i], 1, v, false)))
				return rc;
		if ((rc = add_month(f, cur, 1)))
			return rc;
	}
	return 0;
}

int
fold_run(struct fold *f)
{
	int rc;

	for (size_t i = 0; i < f->ents.cap; i++) {
		struct ent *e = f->ents.slots[i].value, prior, *old = NULL;
		bool listed;

		if (!f->ents.slots[i].key || !e || e->n_evs == 0)
			continue;
		/* The state before this batch, for the deltas: its strings
		 * and arrays stay where they are, since applying an event
		 * replaces the pointers, never what they point to. */
		if (e->exists) {
			prior = *e;
			old = &prior;
		}
		/* Changed by an earlier batch of the transaction: on the
		 * list already. dirty says whether this batch changes it. */
		listed = e->dirty;
		e->dirty = false;
		qsort(e->evs, e->n_evs, sizeof(*e->evs), pending_cmp);
		for (size_t j = 0; j < e->n_evs; j++)
			if ((rc = apply(f, e, e->evs[j])))
				return rc;
		if (!e->dirty) {
			e->dirty = listed;
			continue;
		}
		if (!listed) {
			e->next_dirty = f->dirty;
			f->dirty = e;
		}
		if ((rc = contribute(f, old, e)))
			return rc;
	}
	return 0;
}

int
fold_keep(struct fold *f)
{
	for (size_t i = 0; i < f->ents.cap; i++) {
		struct ent *e = f->ents.slots[i].value;

		if (!f->ents.slots[i].key || !e || e->n_evs == 0)
			continue;
		e->n_evs = 0;
		if (keep_borrowed(f, e))
			return KX_ENOMEM;
		/* The next batch's deltas start from this state. Not
		 * stored: a row this transaction creates is still
		 * inserted, so that one created meanwhile fails it on the
		 * key. */
		e->exists = e->last.at != NO_TIME;
	}
	return 0;
}

void
fold_give(struct fold *f, struct kx_hash *ents, struct kx_arena *arena)
{
	struct kx_hash h = f->ents;
	struct kx_arena a = f->arena;

	f->ents = *ents;
	f->arena = *arena;
	*ents = h;
	*arena = a;
	fold_reset(f);
}
