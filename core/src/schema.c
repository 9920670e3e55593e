/*
 * Lookups over the catalogue that the build generates from
 * schemas/catalogue.txt. The catalogue is tiny, so linear scans are fine.
 */
#include <stddef.h>

#include "kx/schema.h"

extern const struct kx_schema_entry kx__schema_catalogue[];
extern const size_t kx__schema_catalogue_len;

const struct kx_schema_entry *
kx_schema_catalogue(size_t *n)
{
	*n = kx__schema_catalogue_len;
	return kx__schema_catalogue;
}

const struct kx_schema_entry *
kx_schema_by_id(int id)
{
	for (size_t i = 0; i < kx__schema_catalogue_len; i++)
		if (kx__schema_catalogue[i].id == id)
			return &kx__schema_catalogue[i];
	return NULL;
}

const struct kx_schema_entry *
kx_schema_latest(enum kx_family family)
{
	const struct kx_schema_entry *best = NULL;

	for (size_t i = 0; i < kx__schema_catalogue_len; i++) {
		const struct kx_schema_entry *e = &kx__schema_catalogue[i];
		if (e->family == family && (!best || e->version > best->version))
			best = e;
	}
	return best;
}

const struct kx_schema_entry *
kx_schema_version(enum kx_family family, int version)
{
	if (version == 0)
		return kx_schema_latest(family);
	for (size_t i = 0; i < kx__schema_catalogue_len; i++) {
		const struct kx_schema_entry *e = &kx__schema_catalogue[i];
		if (e->family == family && e->version == version)
			return e;
	}
	return NULL;
}
