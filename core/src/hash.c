/*
 * Hash table. FNV-1a over the key bytes; the table doubles at 50% load, so
 * probes stay short and iteration over slots stays cheap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kx/hash.h"

static size_t
fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

void
kx_hash_init(struct kx_hash *h)
{
	h->slots = NULL;
	h->cap = 0;
	h->len = 0;
}

void
kx_hash_release(struct kx_hash *h)
{
	free(h->slots);
	kx_hash_init(h);
}

void
kx_hash_clear(struct kx_hash *h)
{
	if (h->slots)
		memset(h->slots, 0, h->cap * sizeof(*h->slots));
	h->len = 0;
}

static struct kx_hash_slot *
probe(struct kx_hash_slot *slots, size_t cap, const char *key, size_t keylen,
      size_t hash)
{
	size_t i = hash & (cap - 1);

	for (;;) {
		struct kx_hash_slot *s = &slots[i];
		if (!s->key || (s->hash == hash && s->keylen == keylen &&
				memcmp(s->key, key, keylen) == 0))
			return s;
		i = (i + 1) & (cap - 1);
	}
}

void *
kx_hash_get(const struct kx_hash *h, const char *key, size_t keylen)
{
	struct kx_hash_slot *s;

	if (!h->cap)
		return NULL;
	s = probe(h->slots, h->cap, key, keylen, fnv1a(key, keylen));
	return s->key ? s->value : NULL;
}

static int
grow(struct kx_hash *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	struct kx_hash_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < h->cap; i++) {
		struct kx_hash_slot *o = &h->slots[i];
		if (o->key)
			*probe(slots, cap, o->key, o->keylen, o->hash) = *o;
	}
	free(h->slots);
	h->slots = slots;
	h->cap = cap;
	return 0;
}

struct kx_hash_slot *
kx_hash_put(struct kx_hash *h, const char *key, size_t keylen)
{
	size_t hash = fnv1a(key, keylen);
	struct kx_hash_slot *s;

	if ((h->len + 1) * 2 > h->cap && grow(h))
		return NULL;
	s = probe(h->slots, h->cap, key, keylen, hash);
	if (!s->key) {
		s->key = key;
		s->keylen = keylen;
		s->hash = hash;
		s->value = NULL;
		h->len++;
	}
	return s;
}
