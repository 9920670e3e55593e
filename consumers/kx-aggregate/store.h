/*
 * kx-aggregate's PostgreSQL side. Two connections, one transaction per
 * batch or per several: history, entity states, aggregate deltas,
 * rejected messages and the guarded offset update commit together or not
 * at all.
 *
 * No SQL text is ever built from input: values travel as parameters or
 * through COPY.
 */
#ifndef KX_AGGREGATE_STORE_H
#define KX_AGGREGATE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fold.h"
#include "kx/event.h"

struct store;

/* A message of the batch as the store sees it. */
struct msg {
	const char *topic;
	int32_t partition;
	int64_t offset;
	int32_t shard;
	const struct kx_event *ev; /* NULL when rejected */
	const char *reason;        /* why it was rejected */
	const void *key, *value;
	size_t keylen, len;
	bool dup; /* set by store_apply(): not new to kx.events */
	bool has_id; /* id holds ev->event_id's 16 bytes (store_apply()) */
	unsigned char id[16];
	int32_t *party_ids;
	size_t n_parties;
};

/* Where a partition's batch starts and ends, for the offset guard. */
struct offset_move {
	const char *topic;
	int32_t partition;
	int64_t expected; /* stored next_offset the batch builds on; -1: none */
	int64_t next;     /* next_offset after the batch */
};

struct store *store_new(const char *conninfo, const char *group);
void store_free(struct store *st);

/* Connects if not connected. 0, or KX_EDB with the reason in errbuf. */
int store_connect(struct store *st, char *errbuf, size_t errlen);
bool store_connected(const struct store *st);

/* Checks the server answers (for --check and /readyz). */
int store_ping(struct store *st, char *errbuf, size_t errlen);

/* Reads a partition's stored next offset; *next = -1 when none. */
int store_load_offset(struct store *st, const char *topic, int32_t partition,
		      int64_t *next, char *errbuf, size_t errlen);

/* All stored offsets of the group: calls cb for each row. */
int store_each_offset(struct store *st,
		      void (*cb)(void *opaque, const char *topic,
				 int32_t partition, int64_t next),
		      void *opaque, char *errbuf, size_t errlen);

/*
 * Resolves the parties of the batch's accepted events to party ids
 * (creating the missing ones, outside the batch transaction: the
 * dictionary only grows). Fills msg->party_ids.
 */
int store_resolve_parties(struct store *st, struct msg *msgs, size_t n,
			  struct kx_arena *arena, char *errbuf, size_t errlen);

/* Most batches one transaction holds: each after the first inserts its
 * history in a subtransaction, and PostgreSQL keeps up to 64 of them in
 * a transaction's shared entry before other sessions must look further. */
#define STORE_TXN_BATCHES 32

/*
 * Applies a batch. Marks duplicates, loads the touched entities into
 * fold, runs it and writes what it must. A transaction holds one batch or
 * several: the first begins it; each inserts its history and rejected
 * messages and folds its events; last ends it, writing the entity states,
 * the deltas and moves, the offset moves of every batch of the
 * transaction. Its end, the offset guard, the set-based upserts and the
 * COMMIT, is sent and left running: 0 means "sent" (or, for a batch that
 * is not last, "applied"), and store_settle() says whether it committed.
 * n may be 0 to end a transaction with the batches it holds. Returns
 * KX_EDB when the batch could not be applied: the whole transaction is
 * then rolled back, earlier batches included.
 *
 * Transactions alternate between two connections, so this one's history
 * and entity work runs while the one before still commits on the other.
 * A transaction builds on that one (the entity states it left, the events
 * it inserted), so moves must list that one's partitions too, with next
 * = expected where this one has none of their messages: then the guard
 * lets this one commit only if that one did.
 */
int store_apply(struct store *st, struct msg *msgs, size_t n,
		const struct offset_move *moves, size_t n_moves,
		struct fold *fold, bool last, long *n_new, char *errbuf,
		size_t errlen);

/* Rolls back the open transaction, if any, with all of its batches. */
void store_abort(struct store *st);

/*
 * Waits for the oldest batch store_apply() left running and returns how it
 * ended: 0 when it committed (or none was running); KX_EFENCED when the
 * offset guard refused it, or KX_EDB, with the reason in errbuf, in which
 * case none of it was written. Any other call may wait for a batch first;
 * its outcome is still reported here, in the order the batches were
 * applied.
 */
int store_settle(struct store *st, char *errbuf, size_t errlen);

/*
 * Microseconds the store has spent in each step of metrics.h since
 * store_new(), indexed by enum step (those that are not the store's stay
 * 0). A step that failed is not counted, except STEP_WAIT: every wait for
 * a batch's last query is, whatever its outcome.
 */
const long *store_step_us(const struct store *st);

/*
 * Rolls back the open transaction, waits for every batch in flight (their
 * outcomes stay for store_settle()) and forgets the entity states they
 * left: called when partitions move.
 */
void store_wait(struct store *st);

#endif
