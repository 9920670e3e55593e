/*
 * UUID set: linear probing, doubled at half load. Event ids are random
 * (version 4) or start with a timestamp (versions 1, 6, 7), so the slot
 * comes from both halves mixed, not from the leading bytes alone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"
#include "kx/hash.h"
#include "kx/err.h"

static const unsigned char nil[16];

void
idset_init(struct idset *s)
{
	s->slots = NULL;
	s->cap = s->len = 0;
	s->has_nil = false;
}

void
idset_release(struct idset *s)
{
	free(s->slots);
	idset_init(s);
}

void
idset_clear(struct idset *s)
{
	if (s->slots)
		memset(s->slots, 0, s->cap * sizeof(*s->slots));
	s->len = 0;
	s->has_nil = false;
}

static size_t
slot_of(const unsigned char id[16], size_t cap)
{
	uint64_t a, b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	return (size_t)kx_hash_mix2(a, b) & (cap - 1);
}

/* The slot holding id, or the empty one where it would go. */
static size_t
find(unsigned char (*slots)[16], size_t cap, const unsigned char id[16])
{
	size_t i = slot_of(id, cap);

	while (memcmp(slots[i], id, 16) && memcmp(slots[i], nil, 16))
		i = (i + 1) & (cap - 1);
	return i;
}

static int
grow(struct idset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	unsigned char(*slots)[16] = calloc(cap, sizeof(*slots));

	if (!slots)
		return KX_ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (memcmp(s->slots[i], nil, 16))
			memcpy(slots[find(slots, cap, s->slots[i])],
			       s->slots[i], 16);
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

int
idset_add(struct idset *s, const unsigned char id[16])
{
	size_t i;

	if (!memcmp(id, nil, 16)) {
		s->len += !s->has_nil;
		s->has_nil = true;
		return 0;
	}
	if ((s->len + 1) * 2 > s->cap && grow(s))
		return KX_ENOMEM;
	i = find(s->slots, s->cap, id);
	if (memcmp(s->slots[i], id, 16)) {
		memcpy(s->slots[i], id, 16);
		s->len++;
	}
	return 0;
}

bool
idset_has(const struct idset *s, const unsigned char id[16])
{
	if (!memcmp(id, nil, 16))
		return s->has_nil;
	if (!s->cap)
		return false;
	return !memcmp(s->slots[find(s->slots, s->cap, id)], id, 16);
}
