/*
 * A bump allocator for per-line and per-batch scratch memory.
 *
 * Everything allocated from an arena lives until kx_arena_reset() or
 * kx_arena_release(); nothing is freed one by one. Decoded events point into
 * the arena they were decoded with, so the hot path does no malloc per event
 * once the arena has grown to its working size (PostgreSQL's memory contexts
 * follow the same idea).
 */
#ifndef KX_ARENA_H
#define KX_ARENA_H

#include <stddef.h>

struct kx_arena_block;

struct kx_arena {
	struct kx_arena_block *head; /* block being filled */
	struct kx_arena_block *free; /* blocks kept for reuse after a reset */
	size_t used;                 /* bytes handed out since the last reset */
};

void kx_arena_init(struct kx_arena *a);
void kx_arena_release(struct kx_arena *a);

/* Forgets every allocation but keeps the memory for reuse. */
void kx_arena_reset(struct kx_arena *a);

/* Returns n bytes aligned for any type, or NULL when out of memory. */
void *kx_arena_alloc(struct kx_arena *a, size_t n);

/* Returns a zeroed array of n elements of size sz, or NULL. */
void *kx_arena_calloc(struct kx_arena *a, size_t n, size_t sz);

/* Copies len bytes of s and a NUL; returns the copy or NULL. */
char *kx_arena_strndup(struct kx_arena *a, const char *s, size_t len);
char *kx_arena_strdup(struct kx_arena *a, const char *s);

#endif
