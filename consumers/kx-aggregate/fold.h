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

/* An event marker: the (occurred_at, event_id) that orders events. */
struct mark {
	int64_t at; /* NO_TIME when unset */
	char id[37];
};

/* One entity's state: what the database row holds. */
struct ent {
	enum ent_kind kind;
	const char *id;
	bool exists;  /* a row was loaded */
	bool dirty;   /* the row must be written */
	int32_t shard;
	enum kx_event_type type; /* current state, as the type that set it */
	const char *programme;
	const char *source, *geo_area;
	const char **sdgs, **themes;
	size_t n_sdgs, n_themes;
	uint32_t goals; /* bit g set for each SDG goal g tagged */
	const char **targets;
	size_t n_targets;
	int32_t *party_ids;
	size_t n_parties;
	int32_t pilot_projects;
	int32_t participants; /* -1 when absent */
	const char *cooperation_type, *pairing_id, *visit_type, *format;
	int32_t start_date, end_date;
	const char *title, *product_type, *practice_id;
	struct mark last;  /* newest event: the snapshot */
	struct mark first; /* earliest matched / held / replicated event */
	struct mark held;  /* newest visit.held event */
	int32_t held_participants;
	/* v2 attributes: absent ones are -1, NULL and not present. */
	int64_t budget_eur;
	const char *report_url, *follow_up, *url;
	struct kx_sectors by_sector;

	/* Batch bookkeeping. */
	struct ent *old;        /* the state as loaded, for deltas */
	struct pending **evs;   /* this batch's new events for the entity */
	size_t n_evs, cap_evs;
	struct ent *next_dirty;
};

/* One new event waiting to be folded, with its resolved party ids. */
struct pending {
	const struct kx_event *ev;
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

/* Party references count over all shards; shard is the first shard
 * whose entity moved them. The party statement books every crossing of
 * the batch in the lowest of these shards (store_sql.c, PARTY_CTES). */
struct party_delta {
	const struct cell *cell;
	int32_t shard;
	int32_t party_id;
	int64_t refs;
};

struct month_delta {
	char month[11]; /* "YYYY-MM-01" */
	const char *programme;
	int32_t shard;
	int64_t m[MM__COUNT];
};

struct fold {
	struct kx_arena arena;
	struct kx_hash ents;
	struct kx_hash cells, parties, months;
	struct kx_hash cellset; /* interned cells, by fold_cell_key() */
	struct cell *cell_list;
	struct ent *dirty; /* list of entities changed in this batch */
	/* An entity's old and new cells while its deltas are added: reused
	 * for every entity, not taken from the arena for each. */
	struct cell **cellbuf;
	size_t cellbuf_cap;
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
 * and array into a, so the copy outlives src's batch. dst keeps its kind,
 * id and queued events; the rest of the batch bookkeeping is cleared.
 * Returns 0 or KX_ENOMEM.
 */
int fold_copy_state(struct kx_arena *a, const struct ent *src,
		    struct ent *dst);

/* The same, with src's kind and id (copied into a too). */
int fold_copy_entity(struct kx_arena *a, const struct ent *src,
		     struct ent *dst);

/* Queues a new event for its entity. Returns 0 or KX_ENOMEM. */
int fold_add(struct fold *f, struct ent *e, const struct pending *p);

/*
 * Applies every queued event of every entity (after their stored states
 * were loaded into them) and computes the deltas. Returns 0 or KX_ENOMEM.
 */
int fold_run(struct fold *f);

/* Compares two markers by (occurred_at, event_id). */
int fold_mark_cmp(const struct mark *a, const struct mark *b);

/* Sets bits of *goals and fills targets from SDG codes; 0 or KX_ENOMEM. */
int fold_sdg_cells(struct kx_arena *a, const char **sdgs, size_t n,
		   uint32_t *goals, const char ***targets, size_t *n_targets);

#endif
