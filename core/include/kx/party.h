/*
 * Party identity: CONTRACT §1 says a party is identified by its (country,
 * name) pair, compared case-insensitively after Unicode NFC normalisation.
 */
#ifndef KX_PARTY_H
#define KX_PARTY_H

#include "kx/arena.h"
#include "kx/event.h"

/*
 * Returns the comparison key of a party name: NFC, then Unicode case
 * folding (utf8proc), so "Malmö" in NFD and "MALMÖ" give the same key.
 * The key is allocated in arena. Returns NULL for invalid UTF-8 or when out
 * of memory.
 */
char *kx_party_name_key(const char *name, struct kx_arena *arena);

#endif
