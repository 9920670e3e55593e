/*
 * The schema catalogue: every .avsc file of schemas/, embedded in the binary
 * at build time, with the fixed ids used when no Schema Registry is
 * configured (schemas/catalogue.txt). Nothing here reads from disk.
 */
#ifndef KX_SCHEMA_H
#define KX_SCHEMA_H

#include <stddef.h>

#include "kx/event.h"

struct kx_schema_entry {
	int id;                /* registry-less schema id */
	enum kx_family family;
	int version;
	const char *file;      /* e.g. "pairing.v1.avsc" */
	const char *avsc;      /* the file's text, exactly as written */
	size_t avsc_len;
};

/* All catalogue entries, in catalogue order; *n receives their number. */
const struct kx_schema_entry *kx_schema_catalogue(size_t *n);

/* The entry with the given id, or NULL. */
const struct kx_schema_entry *kx_schema_by_id(int id);

/* The newest version of a family, which producers write with. */
const struct kx_schema_entry *kx_schema_latest(enum kx_family family);

/* Version version of a family (0: the newest), or NULL. */
const struct kx_schema_entry *kx_schema_version(enum kx_family family,
						int version);

#endif
