/*
 * Batch folding. Invariant: after fold_run(), applying the deltas to the
 * aggregate tables gives exactly what recomputing them from the new entity
 * states would give (kx-admin verify checks this from the database side).
 * Deltas are "old contribution out, new contribution in", so any change an
 * event can make, state, programme, SDG tags, parties or counts, moves
 * every measure it touches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "kx/err.h"
#include "kx/timeutil.h"

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
	kx_hash_init(&f->ents);
	kx_hash_init(&f->cells);
	kx_hash_init(&f->parties);
	kx_hash_init(&f->months);
	f->dirty = NULL;
}

void
fold_release(struct fold *f)
{
	kx_hash_release(&f->ents);
	kx_hash_release(&f->cells);
	kx_hash_release(&f->parties);
	kx_hash_release(&f->months);
	kx_arena_release(&f->arena);
}

void
fold_reset(struct fold *f)
{
	kx_hash_clear(&f->ents);
	kx_hash_clear(&f->cells);
	kx_hash_clear(&f->parties);
	kx_hash_clear(&f->months);
	kx_arena_reset(&f->arena);
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
	return strcmp(a->id, b->id);
}

struct ent *
fold_entity(struct fold *f, enum ent_kind kind, const char *id, bool *created)
{
	size_t idlen = strlen(id);
	char *key = kx_arena_alloc(&f->arena, idlen + 3);
	struct kx_hash_slot *slot;
	struct ent *e;

	if (!key)
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
	e->participants = -1;
	e->budget_eur = -1;
	e->last.at = e->first.at = e->held.at = NO_TIME;
	slot->value = e;
	return e;
}

int
fold_add(struct fold *f, struct ent *e, const struct pending *p)
{
	struct pending *copy;

	if (e->n_evs == e->cap_evs) {
		size_t cap = e->cap_evs ? e->cap_evs * 2 : 4;
		struct pending **v = kx_arena_alloc(&f->arena,
						    cap * sizeof(*v));
		if (!v)
			return KX_ENOMEM;
		if (e->n_evs)
			memcpy(v, e->evs, e->n_evs * sizeof(*v));
		e->evs = v;
		e->cap_evs = cap;
	}
	if (!(copy = kx_arena_alloc(&f->arena, sizeof(*copy))))
		return KX_ENOMEM;
	*copy = *p;
	e->evs[e->n_evs++] = copy;
	return 0;
}

int
fold_sdg_cells(struct kx_arena *a, const char **sdgs, size_t n,
	       uint32_t *goals, const char ***targets, size_t *n_targets)
{
	const char **t = n ? kx_arena_alloc(a, n * sizeof(*t)) : NULL;
	size_t nt = 0;

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
		if (!(t[nt] = kx_arena_strndup(a, code, len)))
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

/* Replaces the entity's snapshot with the event's attributes. */
static int
take_snapshot(struct fold *f, struct ent *e, const struct pending *p)
{
	const struct kx_event *ev = p->ev;
	int32_t *ids = NULL;
	size_t n = 0;

	e->type = ev->type;
	e->shard = p->shard;
	e->programme = kx_programme_name(ev->programme);
	e->source = ev->source;
	e->geo_area = ev->geo_area;
	e->sdgs = ev->sdgs;
	e->n_sdgs = ev->n_sdgs;
	e->themes = ev->themes;
	e->n_themes = ev->n_themes;
	if (fold_sdg_cells(&f->arena, ev->sdgs, ev->n_sdgs, &e->goals,
			   &e->targets, &e->n_targets))
		return KX_ENOMEM;
	/* A party named twice by one event still counts once. */
	if (p->n_parties) {
		if (!(ids = kx_arena_alloc(&f->arena,
					   p->n_parties * sizeof(*ids))))
			return KX_ENOMEM;
		memcpy(ids, p->party_ids, p->n_parties * sizeof(*ids));
		qsort(ids, p->n_parties, sizeof(*ids), int32_cmp);
		for (size_t i = 0; i < p->n_parties; i++)
			if (n == 0 || ids[n - 1] != ids[i])
				ids[n++] = ids[i];
	}
	e->party_ids = ids;
	e->n_parties = n;
	e->pilot_projects = 0;
	e->participants = -1;
	e->budget_eur = -1;
	e->report_url = e->follow_up = e->url = NULL;
	memset(&e->by_sector, 0, sizeof(e->by_sector));
	switch (e->kind) {
	case ENT_PAIRING:
		e->cooperation_type = kx_cooperation_type_name(
			ev->u.pairing.cooperation_type);
		e->pilot_projects = ev->u.pairing.pilot_projects;
		e->budget_eur = ev->u.pairing.budget_eur;
		break;
	case ENT_VISIT:
		e->pairing_id = ev->u.visit.pairing_id;
		e->visit_type = kx_visit_type_name(ev->u.visit.visit_type);
		e->format = kx_visit_format_name(ev->u.visit.format);
		e->start_date = ev->u.visit.start_date;
		e->end_date = ev->u.visit.end_date;
		e->participants = ev->u.visit.participants;
		e->report_url = ev->u.visit.report_url;
		e->by_sector = ev->u.visit.by_sector;
		e->follow_up = kx_follow_up_name(ev->u.visit.follow_up);
		break;
	case ENT_PRACTICE:
		e->title = ev->u.practice.title;
		e->product_type =
			kx_product_type_name(ev->u.practice.product_type);
		e->url = ev->u.practice.url;
		break;
	default:
		e->practice_id = ev->u.transfer.practice_id;
		break;
	}
	e->last.at = ev->occurred_at;
	memcpy(e->last.id, ev->event_id, sizeof(e->last.id));
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

	m.at = ev->occurred_at;
	memcpy(m.id, ev->event_id, sizeof(m.id));
	if (e->last.at == NO_TIME || fold_mark_cmp(&m, &e->last) > 0) {
		if ((rc = take_snapshot(f, e, p)))
			return rc;
		e->dirty = true;
	}
	if (ev->type == first_type(e->kind) &&
	    (e->first.at == NO_TIME || fold_mark_cmp(&m, &e->first) < 0)) {
		e->first = m;
		e->dirty = true;
	}
	if (ev->type == KX_EVENT_VISIT_HELD &&
	    (e->held.at == NO_TIME || fold_mark_cmp(&m, &e->held) > 0)) {
		e->held = m;
		e->held_participants = ev->u.visit.participants;
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
		v[M_PILOT_PROJECTS] = e->pilot_projects;
		break;
	case ENT_VISIT:
		v[M_VISITS_PLANNED + (e->type - KX_EVENT_VISIT_PLANNED)] = 1;
		if (e->type == KX_EVENT_VISIT_HELD && e->participants > 0)
			v[M_PARTICIPANTS] = e->participants;
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

struct cell_key {
	int dim;
	const char *programme;
	int goal;
	const char *target;
};

/* Lists an entity's cells; returns how many (at most 1 + 2*17 + targets). */
static size_t
cells_of(const struct ent *e, struct cell_key *out)
{
	size_t n = 0;

	out[n++] = (struct cell_key){0, e->programme, 0, ""};
	for (int g = 1; g <= 17; g++) {
		if (!(e->goals & (1u << g)))
			continue;
		out[n++] = (struct cell_key){1, "", g, ""};
		out[n++] = (struct cell_key){2, e->programme, g, ""};
	}
	for (size_t i = 0; i < e->n_targets; i++)
		out[n++] = (struct cell_key){3, "", atoi(e->targets[i]),
					     e->targets[i]};
	return n;
}

static bool
has_cell(const struct cell_key *cells, size_t n, const struct cell_key *k,
	 int32_t shard, int32_t other_shard)
{
	if (shard != other_shard)
		return false;
	for (size_t i = 0; i < n; i++)
		if (cells[i].dim == k->dim && cells[i].goal == k->goal &&
		    !strcmp(cells[i].programme, k->programme) &&
		    !strcmp(cells[i].target, k->target))
			return true;
	return false;
}

static void *
delta_slot(struct fold *f, struct kx_hash *h, const char *fmt_key,
	   size_t size, bool *created)
{
	size_t len = strlen(fmt_key);
	char *key = kx_arena_strndup(&f->arena, fmt_key, len);
	struct kx_hash_slot *slot = key ? kx_hash_put(h, key, len) : NULL;

	if (!slot)
		return NULL;
	*created = !slot->value;
	if (!slot->value)
		slot->value = kx_arena_calloc(&f->arena, 1, size);
	return slot->value;
}

static int
add_cell(struct fold *f, const struct ent *e, const struct cell_key *k,
	 int sign, const int64_t v[M__COUNT], bool leaving)
{
	char key[160];
	struct cell_delta *d;
	bool created;

	snprintf(key, sizeof(key), "%d|%s|%d|%s|%d", k->dim, k->programme,
		 k->goal, k->target, (int)e->shard);
	if (!(d = delta_slot(f, &f->cells, key, sizeof(*d), &created)))
		return KX_ENOMEM;
	if (created) {
		d->dim = k->dim;
		d->programme = k->programme;
		d->goal = k->goal;
		d->target = k->target;
		d->shard = e->shard;
		d->last_at = d->removed_last = NO_TIME;
	}
	for (int i = 0; i < M__COUNT; i++)
		d->m[i] += sign * v[i];
	if (sign > 0 && e->last.at > d->last_at)
		d->last_at = e->last.at;
	if (leaving && e->last.at > d->removed_last)
		d->removed_last = e->last.at;

	for (size_t i = 0; i < e->n_parties; i++) {
		struct party_delta *pd;
		snprintf(key, sizeof(key), "%d|%s|%d|%s|%d|%d", k->dim,
			 k->programme, k->goal, k->target, (int)e->shard,
			 (int)e->party_ids[i]);
		if (!(pd = delta_slot(f, &f->parties, key, sizeof(*pd),
				      &created)))
			return KX_ENOMEM;
		if (created) {
			pd->dim = k->dim;
			pd->programme = k->programme;
			pd->goal = k->goal;
			pd->target = k->target;
			pd->shard = e->shard;
			pd->party_id = e->party_ids[i];
		}
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
	if (!(d = delta_slot(f, &f->months, key, sizeof(*d), &created)))
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
		if (e->held.at != NO_TIME && e->held_participants > 0)
			d->m[MM_PARTICIPANTS] += sign * e->held_participants;
		break;
	case ENT_TRANSFER:
		d->m[MM_TRANSFERS_REPLICATED] += sign;
		break;
	default:
		break;
	}
	return 0;
}

static struct cell_key *
cell_array(struct fold *f, const struct ent *e)
{
	return kx_arena_alloc(&f->arena,
			      (1 + 2 * 17 + e->n_targets) * sizeof(struct cell_key));
}

/* Adds the deltas of one changed entity: its old contribution out, its new
 * contribution in. */
static int
contribute(struct fold *f, const struct ent *old, const struct ent *cur)
{
	struct cell_key *oc = NULL, *nc = NULL;
	size_t on = 0, nn = 0;
	int64_t v[M__COUNT];
	int rc;

	if (!(nc = cell_array(f, cur)) || (old && !(oc = cell_array(f, old))))
		return KX_ENOMEM;
	if (cur->last.at != NO_TIME)
		nn = cells_of(cur, nc);
	if (old && old->last.at != NO_TIME) {
		on = cells_of(old, oc);
		measures(old, v);
		for (size_t i = 0; i < on; i++) {
			bool leaving = !has_cell(nc, nn, &oc[i], old->shard,
						 cur->shard);
			if ((rc = add_cell(f, old, &oc[i], -1, v, leaving)))
				return rc;
		}
		if ((rc = add_month(f, old, -1)))
			return rc;
	}
	if (nn) {
		measures(cur, v);
		for (size_t i = 0; i < nn; i++)
			if ((rc = add_cell(f, cur, &nc[i], 1, v, false)))
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
		struct ent *e = f->ents.slots[i].value, *old = NULL;

		if (!f->ents.slots[i].key || !e || e->n_evs == 0)
			continue;
		if (e->exists) {
			if (!(old = kx_arena_alloc(&f->arena, sizeof(*old))))
				return KX_ENOMEM;
			*old = *e;
		}
		qsort(e->evs, e->n_evs, sizeof(*e->evs), pending_cmp);
		for (size_t j = 0; j < e->n_evs; j++)
			if ((rc = apply(f, e, e->evs[j])))
				return rc;
		if (!e->dirty)
			continue;
		e->old = old;
		e->next_dirty = f->dirty;
		f->dirty = e;
		if ((rc = contribute(f, old, e)))
			return rc;
	}
	return 0;
}
