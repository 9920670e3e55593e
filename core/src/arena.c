/*
 * Arena allocator. Blocks grow geometrically up to a cap; a request larger
 * than the block size gets a block of its own. reset() moves every block to
 * the free list, so a steady workload reaches a fixed footprint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kx/arena.h"

#define BLOCK_MIN ((size_t)16 * 1024)
#define BLOCK_MAX ((size_t)1024 * 1024)
#define ALIGN (sizeof(max_align_t))

struct kx_arena_block {
	struct kx_arena_block *next;
	size_t size; /* usable bytes in data */
	size_t pos;
	max_align_t data[];
};

void
kx_arena_init(struct kx_arena *a)
{
	a->head = NULL;
	a->free = NULL;
	a->used = 0;
}

static void
free_list(struct kx_arena_block *b)
{
	while (b) {
		struct kx_arena_block *next = b->next;
		free(b);
		b = next;
	}
}

void
kx_arena_release(struct kx_arena *a)
{
	free_list(a->head);
	free_list(a->free);
	kx_arena_init(a);
}

void
kx_arena_reset(struct kx_arena *a)
{
	while (a->head) {
		struct kx_arena_block *b = a->head;
		a->head = b->next;
		/* Oversized one-off blocks are not worth keeping around. */
		if (b->size > BLOCK_MAX) {
			free(b);
			continue;
		}
		b->pos = 0;
		b->next = a->free;
		a->free = b;
	}
	a->used = 0;
}

static struct kx_arena_block *
new_block(struct kx_arena *a, size_t need)
{
	struct kx_arena_block *b, **pp;
	size_t size;

	for (pp = &a->free; *pp; pp = &(*pp)->next) {
		if ((*pp)->size >= need) {
			b = *pp;
			*pp = b->next;
			return b;
		}
	}
	size = a->head ? a->head->size * 2 : BLOCK_MIN;
	if (size > BLOCK_MAX)
		size = BLOCK_MAX;
	if (size < need)
		size = need;
	b = malloc(sizeof(*b) + size);
	if (!b)
		return NULL;
	b->size = size;
	b->pos = 0;
	return b;
}

void *
kx_arena_alloc(struct kx_arena *a, size_t n)
{
	struct kx_arena_block *b = a->head;
	void *p;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - ALIGN)
		return NULL;
	n = (n + ALIGN - 1) & ~(ALIGN - 1);
	if (!b || b->size - b->pos < n) {
		b = new_block(a, n);
		if (!b)
			return NULL;
		b->next = a->head;
		a->head = b;
	}
	p = (char *)b->data + b->pos;
	b->pos += n;
	a->used += n;
	return p;
}

void *
kx_arena_calloc(struct kx_arena *a, size_t n, size_t sz)
{
	void *p;

	if (sz && n > SIZE_MAX / sz)
		return NULL;
	p = kx_arena_alloc(a, n * sz);
	if (p)
		memset(p, 0, n * sz);
	return p;
}

char *
kx_arena_strndup(struct kx_arena *a, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		return NULL;
	p = kx_arena_alloc(a, len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
kx_arena_strdup(struct kx_arena *a, const char *s)
{
	return kx_arena_strndup(a, s, strlen(s));
}
