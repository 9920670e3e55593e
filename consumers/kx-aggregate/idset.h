/*
 * A set of UUIDs, kept as their 16 bytes in one open-addressed table: the
 * event ids a transaction inserted, which the next one counts as
 * duplicates without asking the database (store.c). About 32 bytes per
 * id, against about 110 for the text in an arena and a generic hash slot.
 */
#ifndef KX_AGGREGATE_IDSET_H
#define KX_AGGREGATE_IDSET_H

#include <stdbool.h>
#include <stddef.h>

struct idset {
	unsigned char (*slots)[16]; /* all zero: empty */
	size_t cap;                 /* a power of two, or 0 */
	size_t len;                 /* ids held, the nil UUID included */
	bool has_nil;               /* the all-zero UUID, which no slot holds */
};

void idset_init(struct idset *s);
void idset_release(struct idset *s);
/* Empties the set, keeping its table. */
void idset_clear(struct idset *s);

/* Adds id (16 bytes); returns 0 or KX_ENOMEM. */
int idset_add(struct idset *s, const unsigned char id[16]);
bool idset_has(const struct idset *s, const unsigned char id[16]);

#endif
