/*
 * Party name keys. utf8proc applies composition and case folding in one
 * pass; the result is copied into the caller's arena so keys live as long
 * as the batch that needs them.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "kx/party.h"

char *
kx_party_name_key(const char *name, struct kx_arena *arena)
{
	utf8proc_uint8_t *out = NULL;
	utf8proc_ssize_t n;
	char *key;

	/* Fold case, then compose again: folding can decompose (e.g. U+0130),
	 * and the contract compares in NFC. */
	n = utf8proc_map((const utf8proc_uint8_t *)name, 0, &out,
			 UTF8PROC_NULLTERM | UTF8PROC_STABLE |
				 UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
	if (n < 0)
		return NULL;
	key = kx_arena_strndup(arena, (const char *)out, (size_t)n);
	free(out);
	return key;
}
