/*
 * The party ids of a batch's events: the cache of what kx.parties gave,
 * the parties it lacks as the creating statement's parameters, and each
 * event's ids. No I/O: store.c sends the statement and puts what it
 * returns.
 */
#include <stdint.h>
#include <string.h>

#include "kx/err.h"
#include "kx/party.h"
#include "partyids.h"
#include "store_int.h"

#define CACHE_MAX 200000

void
partyids_init(struct partyids *pi)
{
	kx_hash_init(&pi->cache);
	kx_buf_init(&pi->key);
	kx_arena_init(&pi->arena);
}

void
partyids_release(struct partyids *pi)
{
	kx_hash_release(&pi->cache);
	kx_buf_release(&pi->key);
	kx_arena_release(&pi->arena);
}

void
partyids_clear(struct partyids *pi)
{
	kx_hash_clear(&pi->cache);
	kx_arena_reset(&pi->arena);
}

/* "CC\tname", the cache's key, in pi->key: valid until the next call (a
 * lookup allocates nothing). */
static const char *
cache_key(struct partyids *pi, const struct kx_party *p, size_t *len)
{
	kx_buf_reset(&pi->key);
	if (kx_buf_add(&pi->key, p->country, 2) ||
	    kx_buf_add(&pi->key, "\t", 1) || kx_buf_adds(&pi->key, p->name))
		return NULL;
	*len = pi->key.len;
	return pi->key.data;
}

void
partyids_trim(struct partyids *pi)
{
	if (pi->cache.len > CACHE_MAX)
		partyids_clear(pi);
}

int
partyids_put(struct partyids *pi, const char *raw, int32_t id)
{
	size_t len = strlen(raw);
	struct kx_hash_slot *slot;
	char *k;

	if (!(k = kx_arena_strndup(&pi->arena, raw, len)) ||
	    !(slot = kx_hash_put(&pi->cache, k, len)))
		return KX_ENOMEM;
	slot->value = (void *)(intptr_t)id;
	return 0;
}

static size_t
event_parties(const struct kx_event *ev, const struct kx_party **out)
{
	switch (ev->type) {
	case KX_EVENT_PRACTICE_DOCUMENTED:
		*out = &ev->u.practice.origin;
		return 1;
	case KX_EVENT_TRANSFER_PLANNED:
	case KX_EVENT_TRANSFER_PILOTING:
	case KX_EVENT_TRANSFER_REPLICATED:
	case KX_EVENT_TRANSFER_ABANDONED:
		*out = &ev->u.transfer.adopter;
		return 1;
	default:
		break;
	}
	if (kx_event_type_family(ev->type) == KX_FAMILY_PAIRING) {
		*out = ev->u.pairing.members;
		return ev->u.pairing.n_members;
	}
	/* Visits: the host, then the visitors (resolved separately). */
	*out = &ev->u.visit.host;
	return 1;
}

/* Calls cb for every party an event names. */
static int
each_party(const struct kx_event *ev,
	   int (*cb)(void *opaque, const struct kx_party *p, size_t i),
	   void *opaque)
{
	const struct kx_party *ps;
	size_t n = event_parties(ev, &ps), i;
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = cb(opaque, &ps[i], i)))
			return rc;
	if (kx_event_type_family(ev->type) == KX_FAMILY_VISIT)
		for (size_t j = 0; j < ev->u.visit.n_visitors; j++)
			if ((rc = cb(opaque, &ev->u.visit.visitors[j], i + j)))
				return rc;
	return 0;
}

static size_t
party_count(const struct kx_event *ev)
{
	const struct kx_party *ps;
	size_t n = event_parties(ev, &ps);

	if (kx_event_type_family(ev->type) == KX_FAMILY_VISIT)
		n += ev->u.visit.n_visitors;
	return n;
}

void
partyids_misses_init(struct partyids_misses *m)
{
	kx_hash_init(&m->seen);
	for (int i = 0; i < PM__COUNT; i++) {
		kx_buf_init(&m->param[i]);
		kx_buf_adds(&m->param[i], "{");
	}
	m->n = 0;
}

void
partyids_misses_end(struct partyids_misses *m)
{
	for (int i = 0; i < PM__COUNT; i++)
		kx_buf_adds(&m->param[i], "}");
}

void
partyids_misses_release(struct partyids_misses *m)
{
	kx_hash_release(&m->seen);
	for (int i = 0; i < PM__COUNT; i++)
		kx_buf_release(&m->param[i]);
}

struct collect_ctx {
	struct partyids *pi;
	struct kx_arena *arena;
	struct partyids_misses *m;
};

static int
collect_miss(void *opaque, const struct kx_party *p, size_t i)
{
	struct collect_ctx *c = opaque;
	struct partyids_misses *m = c->m;
	struct kx_hash_slot *slot;
	const char *k, *name_key;
	size_t len;

	(void)i;
	if (!(k = cache_key(c->pi, p, &len)))
		return KX_ENOMEM;
	if (kx_hash_get(&c->pi->cache, k, len) || kx_hash_get(&m->seen, k, len))
		return 0;
	/* A miss: its key is kept for the batch. */
	if (!(k = kx_arena_strndup(c->arena, k, len)) ||
	    !(slot = kx_hash_put(&m->seen, k, len)))
		return KX_ENOMEM;
	slot->value = (void *)p;
	if (!(name_key = kx_party_name_key(p->name, c->arena)))
		return KX_ENOMEM;
	sql_arr_add(&m->param[PM_COUNTRY], p->country);
	sql_arr_add(&m->param[PM_NAME_KEY], name_key);
	sql_arr_add(&m->param[PM_NAME], p->name);
	sql_arr_add(&m->param[PM_KIND], kx_party_kind_name(p->kind));
	sql_arr_add(&m->param[PM_EU], p->eu ? "true" : "false");
	sql_arr_add(&m->param[PM_RAW], k);
	m->n++;
	return 0;
}

int
partyids_collect(struct partyids *pi, const struct kx_event *ev,
		 struct kx_arena *arena, struct partyids_misses *m)
{
	struct collect_ctx c = {pi, arena, m};

	return each_party(ev, collect_miss, &c);
}

struct fill_ctx {
	struct partyids *pi;
	int32_t *ids;
};

static int
fill_id(void *opaque, const struct kx_party *p, size_t i)
{
	struct fill_ctx *c = opaque;
	const char *k;
	size_t len;
	void *v;

	if (!(k = cache_key(c->pi, p, &len)))
		return KX_ENOMEM;
	if (!(v = kx_hash_get(&c->pi->cache, k, len)))
		return KX_EDB;
	c->ids[i] = (int32_t)(intptr_t)v;
	return 0;
}

int
partyids_fill(struct partyids *pi, const struct kx_event *ev,
	      struct kx_arena *arena, int32_t **ids, size_t *n)
{
	struct fill_ctx c = {pi, NULL};

	*n = party_count(ev);
	if (!(c.ids = kx_arena_alloc(arena, (*n + 1) * sizeof(int32_t))))
		return KX_ENOMEM;
	*ids = c.ids;
	return each_party(ev, fill_id, &c);
}
