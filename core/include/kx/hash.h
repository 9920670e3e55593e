/*
 * A string-keyed hash table for per-batch bookkeeping (entities touched by a
 * batch, aggregate deltas). Keys and values are borrowed: both usually live
 * in the batch's arena. Open addressing with linear probing; no deletion,
 * since a batch only ever adds, then clears.
 */
#ifndef KX_HASH_H
#define KX_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * Mixes two 64-bit words into one whose low bits all depend on both: the
 * slot of a fixed-size key (a UUID's halves, a pointer and an id) in the
 * tables that do not store string keys. (A multiply-xorshift mix built
 * from splitmix64's constants: its golden-ratio step and the first
 * multiplier of its finaliser.)
 */
static inline uint64_t
kx_hash_mix2(uint64_t a, uint64_t b)
{
	a ^= b * 0x9e3779b97f4a7c15ULL;
	a ^= a >> 29;
	a *= 0xbf58476d1ce4e5b9ULL;
	a ^= a >> 32;
	return a;
}

struct kx_hash_slot {
	const char *key; /* NULL when free */
	size_t keylen;
	size_t hash;
	void *value;
};

struct kx_hash {
	struct kx_hash_slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t len;
};

void kx_hash_init(struct kx_hash *h);
void kx_hash_release(struct kx_hash *h);

/* Forgets every entry, keeping the memory. */
void kx_hash_clear(struct kx_hash *h);

/* Returns the value stored under key, or NULL. */
void *kx_hash_get(const struct kx_hash *h, const char *key, size_t keylen);

/*
 * Finds key or inserts it with a NULL value; returns the slot (its value
 * can be set through it), or NULL when out of memory. key must outlive the
 * entry.
 */
struct kx_hash_slot *kx_hash_put(struct kx_hash *h, const char *key,
				 size_t keylen);

#endif
