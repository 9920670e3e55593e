/*
 * Party delta map: linear probing, doubled at half load. Cells are
 * pointers into one arena and party ids small integers, so both are mixed
 * before the slot is taken from the low bits.
 */
#include <stdlib.h>
#include <string.h>

#include "pdmap.h"
#include "kx/hash.h"

void
pdmap_init(struct pdmap *m)
{
	m->slots = NULL;
	m->cap = m->len = 0;
}

void
pdmap_release(struct pdmap *m)
{
	free(m->slots);
	pdmap_init(m);
}

void
pdmap_clear(struct pdmap *m)
{
	if (m->slots)
		memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->len = 0;
}

static size_t
slot_of(const struct cell *cell, int32_t party_id, size_t cap)
{
	return (size_t)kx_hash_mix2((uint64_t)(uintptr_t)cell,
				    (uint64_t)(uint32_t)party_id) &
	       (cap - 1);
}

/* The slot holding the key, or the free one where it would go. */
static struct party_delta *
find(struct party_delta *slots, size_t cap, const struct cell *cell,
     int32_t party_id)
{
	size_t i = slot_of(cell, party_id, cap);

	while (slots[i].cell &&
	       (slots[i].cell != cell || slots[i].party_id != party_id))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int
grow(struct pdmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	struct party_delta *slots;

	if (cap > SIZE_MAX / sizeof(*slots) ||
	    !(slots = calloc(cap, sizeof(*slots))))
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		const struct party_delta *o = &m->slots[i];
		if (o->cell)
			*find(slots, cap, o->cell, o->party_id) = *o;
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

struct party_delta *
pdmap_get(struct pdmap *m, const struct cell *cell, int32_t party_id,
	  bool *created)
{
	struct party_delta *d;

	*created = false;
	if (m->cap && (d = find(m->slots, m->cap, cell, party_id))->cell)
		return d;
	if ((m->len + 1) * 2 > m->cap && grow(m))
		return NULL;
	d = find(m->slots, m->cap, cell, party_id);
	d->cell = cell;
	d->party_id = party_id;
	d->shard = 0;
	d->refs = 0;
	m->len++;
	*created = true;
	return d;
}
