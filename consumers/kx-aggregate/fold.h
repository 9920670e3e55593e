/*
 * Folding a batch of new events into entity states and aggregate deltas.
 *
 * This is the pure part of kx-aggregate: no I/O. For each entity a batch
 * touches, the caller loads its stored state (or none), then the fold
 * applies the batch's new events in (occurred_at, event_id) order by the
 * snapshot rule, and finally turns "old contribution out, new contribution
 * in" into deltas, pre-aggregated so the batch touches each aggregate row
 * once (an entity that keeps its cells, shard and parties contributes only
 * the difference of its measures). Everything lives in the fold's arena
 * until fold_reset().
 */
#ifndef KX_AGGREGATE_FOLD_H
#define KX_AGGREGATE_FOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "kx/arena.h"
#include "kx/event.h"
#include "kx/hash.h"
#include "pdmap.h"

enum ent_kind { ENT_PAIRING, ENT_VISIT, ENT_PRACTICE, ENT_TRANSFER, ENT__COUNT };

/* Aggregate measures, in the column order of kx.agg_cell. */
#define MEASURE_MAP(XX)                                                      \
	XX(ENTITIES, "entities")                                             \
	XX(PAIRINGS_PROPOSED, "pairings_proposed")                           \
	XX(PAIRINGS_MATCHED, "pairings_matched")                             \
	XX(PAIRINGS_AGREEMENT_SIGNED, "pairings_agreement_signed")           \
	XX(PAIRINGS_ACTION_PLAN_ADOPTED, "pairings_action_plan_adopted")     \
	XX(PAIRINGS_COMPLETED, "pairings_completed")                         \
	XX(PAIRINGS_SUSPENDED, "pairings_suspended")                         \
	XX(PAIRINGS_WITHDRAWN, "pairings_withdrawn")                         \
	XX(ACTION_PLANS_ADOPTED, "action_plans_adopted")                     \
	XX(PILOT_PROJECTS, "pilot_projects")                                 \
	XX(VISITS_PLANNED, "visits_planned")                                 \
	XX(VISITS_HELD, "visits_held")                                       \
	XX(VISITS_CANCELLED, "visits_cancelled")                             \
	XX(PARTICIPANTS, "participants")                                     \
	XX(PRACTICES_DOCUMENTED, "practices_documented")                     \
	XX(TRANSFERS_PLANNED, "transfers_planned")                           \
	XX(TRANSFERS_PILOTING, "transfers_piloting")                         \
	XX(TRANSFERS_REPLICATED, "transfers_replicated")                     \
	XX(TRANSFERS_ABANDONED, "transfers_abandoned")

enum measure {
#define MEASURE_ENUM(id, col) M_##id,
	MEASURE_MAP(MEASURE_ENUM)
#undef MEASURE_ENUM
	M__COUNT
};

extern const char *const measure_columns[M__COUNT];

/* Monthly measures, in the column order of kx.agg_monthly. */
enum month_measure {
	MM_PAIRINGS_MATCHED,
	MM_VISITS_HELD,
	MM_PARTICIPANTS,
	MM_TRANSFERS_REPLICATED,
	MM__COUNT
};

#define NO_TIME INT64_MIN

/* An event marker: the (occurred_at, event_id) that orders events. The
 * id is the UUID's 16 bytes: event ids are lower case, so their bytes
 * order as their text does. */
struct mark {
	int64_t at; /* NO_TIME when unset */
	unsigned char id[16];
};

/* One entity's state: what the database row holds. The fields of one
 * kind only sit in a union (u.pairing for a pairing, and so on), as in
 * struct kx_event: a transaction keeps two states per entity it touches
 * (its own and the one carried from the transaction before), so their
 * size is most of its memory. */
struct ent {
	const char *id;
	const char *programme;
	const char *source, *geo_area;
	const char **sdgs, **themes;
	const char **targets;
	int32_t *party_ids;
	uint32_t n_sdgs, n_themes, n_targets, n_parties;
	uint32_t goals; /* bit g set for each SDG goal g tagged */
	int32_t shard;
	enum kx_event_type type; /* current state, as the type that set it */
	enum ent_kind kind;
	bool exists;  /* a state before this batch: the deltas start from it */
	bool stored;  /* a row was loaded, or the transaction before writes
		       * one: the row is upserted, not inserted (store.c) */
	bool dirty;   /* the row must be written */
	uint16_t borrowed; /* B_* bits: strings still the events' */
	struct mark last;  /* newest event: the snapshot */
	struct mark first; /* earliest matched / held / replicated event */

	/* Batch bookkeeping. */
	struct pending **evs;   /* this batch's new events for the entity */
	uint32_t n_evs, cap_evs;
	struct ent *next_dirty; /* the list of the transaction's changes */

	/* The kind's own fields. Absent v2 attributes are -1, NULL and not
	 * present. */
	union {
		struct ent_pairing {
			const char *cooperation_type;
			int64_t budget_eur; /* v2 */
			int32_t pilot_projects;
		} pairing;
		struct ent_visit {
			const char *pairing_id, *visit_type, *format;
			int32_t start_date, end_date;
			int32_t participants; /* -1 when absent */
			int32_t held_participants;
			struct mark held; /* newest visit.held event */
			const char *report_url, *follow_up; /* v2 */
			struct kx_sectors by_sector;	    /* v2 */
		} visit;
		struct ent_practice {
			const char *title, *product_type;
			const char *url; /* v2 */
		} practice;
		struct ent_transfer {
			const char *practice_id;
		} transfer;
	} u;
};

/* The state's strings that point into an event until fold_keep(). */
enum {
	B_SOURCE = 1u << 0,
	B_GEO = 1u << 1,
	B_SDGS = 1u << 2,
	B_THEMES = 1u << 3,
	B_PAIRING = 1u << 4,
	B_REPORT = 1u << 5,
	B_TITLE = 1u << 6,
	B_URL = 1u << 7,
	B_PRACTICE = 1u << 8,
};

/* One new event waiting to be folded, with its resolved party ids. */
struct pending {
	const struct kx_event *ev;
	/* The event id's 16 bytes when the caller parsed it already (it
	 * must outlive fold_run()), or NULL: the fold parses it. */
	const unsigned char *id;
	int32_t shard;
	const int32_t *party_ids;
	size_t n_parties;
};

/*
 * An aggregate cell, interned once per batch: the fold compares cells by
 * pointer and keys its deltas by (cell, shard) and (cell, party) bytes.
 */
struct cell {
	int dim; /* 0 programme, 1 goal, 2 programme x goal, 3 target */
	const char *programme; /* "" unless dim 0 or 2 */
	int goal;              /* 0 for dim 0 */
	const char *target;    /* "" unless dim 3 */
	int32_t id;            /* kx.cells.cell_id, set by the store; 0 unset */
	struct cell *next;     /* the batch's cells, newest first */
};

struct cell_delta {
	const struct cell *cell;
	int32_t shard;
	int64_t m[M__COUNT];
	int64_t last_at;      /* newest last_event_at added, or NO_TIME */
	int64_t removed_last; /* newest last_event_at of a leaver, or NO_TIME */
};

struct month_delta {
	char month[11]; /* "YYYY-MM-01" */
	const char *programme;
	int32_t shard;
	int64_t m[MM__COUNT];
};

struct fold {
	/* The entity states: what the transaction after this one takes
	 * over (fold_give()). */
	struct kx_arena arena;
	/* The rest: queued events, cells and deltas. */
	struct kx_arena work;
	struct kx_hash ents;
	struct kx_hash cells, months;
	struct pdmap parties; /* struct party_delta, by (cell, party) */
	struct kx_hash cellset; /* interned cells, by fold_cell_key() */
	struct cell *cell_list;
	struct ent *dirty; /* list of entities changed in this batch */
	/* An entity's old and new cells while its deltas are added: reused
	 * for every entity, not taken from the arena for each. */
	struct cell **cellbuf;
	size_t cellbuf_cap;
	int32_t *ids; /* an event's party ids, sorted (take_snapshot()) */
	size_t ids_cap;
	/* fold_intern()'s, never reset: states of either transaction, and
	 * those carried, point at them. */
	struct kx_hash interned;
	struct kx_arena intern_arena;
};

/* Longest key fold_cell_key() writes. */
#define FOLD_CELL_KEY_MAX 96

/*
 * Writes the binary identity of a cell into buf (FOLD_CELL_KEY_MAX bytes)
 * and returns its length. The same bytes key the store's cell id cache.
 */
size_t fold_cell_key(int dim, const char *programme, int goal,
		     const char *target, char *buf);

void fold_init(struct fold *f);
void fold_release(struct fold *f);
void fold_reset(struct fold *f);

/* Entity kind of an event. */
enum ent_kind fold_kind_of(enum kx_event_type type);
const char *fold_kind_name(enum ent_kind kind);

/*
 * Returns the batch's entity (kind, id), creating an empty one on first
 * use (*created set). NULL when out of memory.
 */
struct ent *fold_entity(struct fold *f, enum ent_kind kind, const char *id,
			bool *created);

/*
 * The key of an entity in the fold's table: its kind's digit, ':' and its
 * id. e->id always points into it, 2 bytes on.
 */
const char *fold_entity_key(const struct ent *e, size_t *len);

/*
 * Copies src's state (what the database row holds) into dst, every string
 * and array into the fold (fold_intern() for the values that repeat), so
 * the copy outlives src. dst keeps its kind, id and queued events; the
 * rest of the batch bookkeeping is cleared. Returns 0 or KX_ENOMEM.
 */
int fold_copy_state(struct fold *f, const struct ent *src, struct ent *dst);

/* Most bytes fold_intern() keeps; a feed of ever new values is copied
 * past it, not kept. */
#define FOLD_INTERN_MAX ((size_t)4 << 20)

/*
 * A copy of s that lives as long as the fold, fold_reset() included, for
 * the values that repeat across entities (programmes, sources, areas, SDG
 * codes, themes, the enumerations' names): each is kept once. Past
 * FOLD_INTERN_MAX bytes in all, s is copied into the fold's arena
 * instead. NULL for NULL, or when out of memory.
 */
const char *fold_intern(struct fold *f, const char *s);

/* Queues a new event for its entity. Returns 0 or KX_ENOMEM. */
int fold_add(struct fold *f, struct ent *e, const struct pending *p);

/*
 * Applies every queued event of every entity (after their stored states
 * were loaded into them) and computes the deltas. Returns 0 or KX_ENOMEM.
 *
 * A transaction may fold several batches: fold_keep() between them, and
 * the deltas and the list of changed entities add up until fold_reset().
 */
int fold_run(struct fold *f);

/*
 * Ends a batch within a transaction: the states copy what they took from
 * the batch's events into the fold's arena, so the events may be freed,
 * and the next fold_run() starts each entity's deltas from its state now.
 * Returns 0 or KX_ENOMEM.
 */
int fold_keep(struct fold *f);

/*
 * Hands the entity states over, after fold_keep(): swaps the fold's table
 * of entities and the arena holding them with *ents and *arena (emptied
 * by the caller), and resets the fold. Spares copying them.
 */
void fold_give(struct fold *f, struct kx_hash *ents, struct kx_arena *arena);

/* Compares two markers by (occurred_at, event_id). */
int fold_mark_cmp(const struct mark *a, const struct mark *b);

/* Sets bits of *goals and fills targets from SDG codes (their array in
 * the fold's arena, the targets interned); 0 or KX_ENOMEM. */
int fold_sdg_cells(struct fold *f, const char **sdgs, size_t n,
		   uint32_t *goals, const char ***targets,
		   uint32_t *n_targets);

#endif
