/*
 * The fold's party deltas, keyed by (cell, party id) and held in the map's
 * own slots. The fold looks one up for each party of each cell of each
 * entity it adds or moves, several million times in a catch-up of 1M
 * events, so a lookup mixes two words and reads one slot: no key to format,
 * copy or follow, as a generic hash keyed by bytes would need.
 */
#ifndef KX_AGGREGATE_PDMAP_H
#define KX_AGGREGATE_PDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cell;

/* Party references count over all shards; shard is the first shard
 * whose entity moved them. The party statement books every crossing of
 * the batch in the lowest of these shards (store_sql.c, PARTY_CTES). */
struct party_delta {
	const struct cell *cell; /* NULL: a free slot */
	int32_t shard;
	int32_t party_id;
	int64_t refs;
};

struct pdmap {
	struct party_delta *slots;
	size_t cap; /* a power of two, or 0 */
	size_t len;
};

void pdmap_init(struct pdmap *m);
void pdmap_release(struct pdmap *m);
/* Empties the map, keeping its table. */
void pdmap_clear(struct pdmap *m);

/*
 * The delta of (cell, party_id); one is added, with shard and refs 0, when
 * there was none, and *created says so. cell must not be NULL. Returns
 * NULL when out of memory. The pointer is valid until the next call that
 * adds one, or pdmap_clear().
 */
struct party_delta *pdmap_get(struct pdmap *m, const struct cell *cell,
			      int32_t party_id, bool *created);

/* Iteration: every slot i < cap whose cell is not NULL. */

#endif
