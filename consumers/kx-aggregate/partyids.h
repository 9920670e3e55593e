/*
 * The party ids of a batch's events (partyids.c): the ids kx.parties
 * gave, cached by "CC\tname"; the parties an event names that the cache
 * lacks, as the array parameters of the statement that creates them
 * (store.c sends it); and each event's ids, in the order it names its
 * parties. Private to kx-aggregate's store.
 */
#ifndef KX_AGGREGATE_PARTYIDS_H
#define KX_AGGREGATE_PARTYIDS_H

#include <stddef.h>
#include <stdint.h>

#include "kx/arena.h"
#include "kx/buf.h"
#include "kx/event.h"
#include "kx/hash.h"

struct partyids {
	struct kx_hash cache; /* "CC\tname" -> party id */
	struct kx_buf key;    /* the key being looked up */
	struct kx_arena arena;
};

void partyids_init(struct partyids *pi);
void partyids_release(struct partyids *pi);

/* Forgets every id: after a new connection, a rolled-back insert may
 * have taken ids the cache holds. */
void partyids_clear(struct partyids *pi);

/* Empties a cache past 200,000 parties: partners number in the
 * thousands, but a hostile feed must not grow it without end. Called
 * before a batch's lookups, never between them and its fills: the fills
 * need every id its lookups found. */
void partyids_trim(struct partyids *pi);

/* Keeps raw's id, as the statement returned it. Returns 0 or
 * KX_ENOMEM. */
int partyids_put(struct partyids *pi, const char *raw, int32_t id);

/* The creating statement's parameters, $1 to $6, in order. PM_RAW is
 * each party's cache key, which the statement returns with its id. */
enum partyids_param {
	PM_COUNTRY,
	PM_NAME_KEY,
	PM_NAME,
	PM_KIND,
	PM_EU,
	PM_RAW,
	PM__COUNT
};

/* The parties missing from the cache, each once, as one PostgreSQL array
 * literal per parameter (closed by partyids_misses_end()). */
struct partyids_misses {
	struct kx_hash seen;
	struct kx_buf param[PM__COUNT];
	size_t n;
};

void partyids_misses_init(struct partyids_misses *m);
void partyids_misses_release(struct partyids_misses *m);

/* Adds the parties of ev that the cache lacks to m; keys and name keys
 * go into arena, which must outlive m. Returns 0 or KX_ENOMEM. */
int partyids_collect(struct partyids *pi, const struct kx_event *ev,
		     struct kx_arena *arena, struct partyids_misses *m);

/* Closes m's array literals. */
void partyids_misses_end(struct partyids_misses *m);

/* Sets *ids (in arena) and *n to ev's party ids, in the order it names
 * them (a visit: the host, then the visitors). Returns 0, KX_ENOMEM, or
 * KX_EDB when a party is not in the cache. */
int partyids_fill(struct partyids *pi, const struct kx_event *ev,
		  struct kx_arena *arena, int32_t **ids, size_t *n);

#endif
