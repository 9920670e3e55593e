/*
 * PostgreSQL I/O for kx-aggregate.
 *
 * A batch is: resolve parties (own short transaction), then, in the
 * transaction (BEGIN with its first batch), COPY the batch's events
 * straight into kx.events, whose key stays the deduplication authority,
 * also across instances (on a key violation the batch goes back and
 * through a staging table, whose INSERT ... RETURNING says which are
 * new); lock and load the touched entities; fold. A transaction's last
 * batch then COPYs the new entity rows, the deltas and the offset moves
 * into staging tables and sends one multi-statement string without
 * waiting for it: it opens with the COPY of the party deltas, whose rows
 * go with it, then moves the offsets under the guard, upserts everything
 * and COMMITs. The history goes in event-id order (copy_history()). The
 * history and
 * the entity rows go in COPY's binary format (copybin.c), which spares the
 * server parsing their uuids, timestamps and arrays; the small delta rows
 * stay text. Staging tables are session temp tables emptied at commit, so
 * the session's settings (jit=off, synchronous_commit=off,
 * random_page_cost=1.1: store_sql.c says why) are all that is
 * per-connection (see docs/exactly-once.md for why synchronous_commit=off
 * is safe). The SQL text itself is built once, in store_sql.c.
 *
 * Batches alternate between two sessions: while one batch's last string
 * runs, the next batch does everything up to its own on the other. What
 * that needs, and why it stays exactly-once, is in docs/exactly-once.md
 * (the pipeline).
 */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/buf.h"
#include "kx/err.h"
#include "kx/log.h"
#include "kx/party.h"
#include "kx/timeutil.h"
#include "kx/validate.h"
#include "copybin.h"
#include "entrow.h"
#include "idset.h"
#include "partyids.h"
#include "metrics.h"
#include "store.h"
#include "store_int.h"

/* A history row to send: its key's first 8 bytes, as a number that sorts
 * as the bytes do, and its message. */
struct hist_row {
	uint64_t key;
	size_t i;
};

/*
 * One connection of the two. Batches alternate between them: the next
 * batch's history and entity work runs on one while the batch before it
 * commits on the other (see store.h).
 */
struct session {
	PGconn *conn;
	/* Event ids the transaction last applied here inserted: its later
	 * batches and the next transaction, on the other session, count them
	 * as duplicates without waiting for this one to commit. */
	struct idset ids;
	bool open;        /* a transaction holds batches, its end unsent */
	int batches;      /* batches applied in the open transaction */
	bool pending;     /* upserts and COMMIT sent, not waited for */
	bool done;        /* waited for; the outcome is not reported yet */
	bool added_cells; /* the batch inserted kx.cells rows */
	bool new_offsets; /* the batch inserted kx.consumer_offsets rows */
	unsigned long seq; /* which batch, in the order applied */
	int rc;
	char err[512];
};

struct store {
	struct session ses[2];
	struct session *ss; /* the session the next batch goes to */
	unsigned long seq;
	char *conninfo;
	char *group;
	char *load_sql[ENT__COUNT];   /* SELECT ... FOR UPDATE */
	char *upsert_sql;             /* every upsert of a batch */
	struct partyids parties;      /* partyids.c */
	struct kx_hash cell_cache;    /* fold_cell_key() bytes -> cell id */
	struct kx_arena cell_arena;
	/* The state of every entity the last batch applied touched, as it
	 * will be once that batch commits: its rows are locked until then,
	 * so the next batch takes them from here instead of waiting. */
	struct kx_hash carry;
	struct kx_arena carry_arena;
	bool carry_ok; /* carry holds the last applied batch's states */
	/* The rows of the COPY being sent: handed to libpq every
	 * COPY_CHUNK bytes, so neither this buffer nor libpq's output buffer
	 * grows with the batch (kept across batches: a steady load reuses the
	 * same pages). */
	struct kx_buf copy;
	/* The party deltas' rows, sent with the last string (send_last()). */
	struct kx_buf party_rows;
	int copy_failed; /* PQputCopyData() failed: the COPY is lost */
	char copy_state[6]; /* the SQLSTATE of a failed COPY, or "" */
	/* The history insert's: event_id -> the copy the batch inserts
	 * (insert_events()). */
	struct kx_hash fresh;
	struct hist_row *order; /* copy_history()'s row order */
	size_t order_cap;
	int staged_left;      /* batches to stage before a direct COPY */
	bool copy_missed;     /* the last direct COPY failed on the key */
	long step_us[STEP__COUNT]; /* store_step_us() */
};

static void settle(struct store *st, struct session *s);
static void forget_cells(struct store *st);
static void forget_states(struct store *st);

/* Counts the time since t (kx_mono_us()) to step, and returns now. */
static long
lap(struct store *st, enum step step, long t)
{
	long now = kx_mono_us();

	st->step_us[step] += now - t;
	return now;
}

const long *
store_step_us(const struct store *st)
{
	return st->step_us;
}

struct store *
store_new(const char *conninfo, const char *group)
{
	struct store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->conninfo = strdup(conninfo ? conninfo : "");
	st->group = strdup(group);
	st->upsert_sql = store_sql_upsert();
	for (int k = 0; k < ENT__COUNT; k++)
		st->load_sql[k] = store_sql_load(k);
	for (int i = 0; i < 2; i++) {
		idset_init(&st->ses[i].ids);
	}
	st->ss = &st->ses[0];
	partyids_init(&st->parties);
	kx_hash_init(&st->cell_cache);
	kx_arena_init(&st->cell_arena);
	kx_hash_init(&st->carry);
	kx_arena_init(&st->carry_arena);
	kx_buf_init(&st->copy);
	kx_buf_init(&st->party_rows);
	kx_hash_init(&st->fresh);
	if (!st->conninfo || !st->group || !st->upsert_sql) {
		store_free(st);
		return NULL;
	}
	return st;
}

void
store_free(struct store *st)
{
	if (!st)
		return;
	store_wait(st);
	for (int i = 0; i < 2; i++) {
		if (st->ses[i].conn)
			PQfinish(st->ses[i].conn);
		idset_release(&st->ses[i].ids);
	}
	for (int k = 0; k < ENT__COUNT; k++)
		free(st->load_sql[k]);
	free(st->upsert_sql);
	free(st->conninfo);
	free(st->group);
	partyids_release(&st->parties);
	kx_hash_release(&st->cell_cache);
	kx_arena_release(&st->cell_arena);
	kx_hash_release(&st->carry);
	kx_arena_release(&st->carry_arena);
	kx_buf_release(&st->copy);
	kx_buf_release(&st->party_rows);
	kx_hash_release(&st->fresh);
	free(st->order);
	free(st);
}

static void
oneline(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '\n')
			*p = (p[1] ? ' ' : '\0');
}

/* Records a failure of a session; drops its connection when broken. */
static int
session_fail(struct session *s, const char *what, char *errbuf,
	     size_t errlen)
{
	snprintf(errbuf, errlen, "%s: %s", what, PQerrorMessage(s->conn));
	oneline(errbuf);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		PQfinish(s->conn);
		s->conn = NULL;
	}
	return KX_EDB;
}

/* Records a failure of a session and drops its connection, which rolls
 * back whatever transaction it had open. */
static int
session_drop(struct session *s, const char *what, char *errbuf,
	     size_t errlen)
{
	snprintf(errbuf, errlen, "%s: %s", what, PQerrorMessage(s->conn));
	oneline(errbuf);
	PQfinish(s->conn);
	s->conn = NULL;
	return KX_EDB;
}

/* The same, for the session the next batch goes to. */
static int
db_fail(struct store *st, const char *what, char *errbuf, size_t errlen)
{
	return session_fail(st->ss, what, errbuf, errlen);
}

static int
exec_ok(struct store *st, const char *sql, const char *what, char *errbuf,
	size_t errlen)
{
	PGresult *res = PQexec(st->ss->conn, sql);
	ExecStatusType s = PQresultStatus(res);
	int rc = 0;

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		rc = db_fail(st, what, errbuf, errlen);
	PQclear(res);
	/* A multi-statement string can leave further results. */
	while (st->ss->conn && (res = PQgetResult(st->ss->conn)))
		PQclear(res);
	return rc;
}

/* SQLSTATE of the offset guard's refusal (store_sql.c). */
#define GUARD_SQLSTATE "KXF01"
#define UNIQUE_VIOLATION "23505"

/*
 * Waits for the session's batch in flight, if any, and keeps its outcome
 * for store_settle(). On failure the transaction is rolled back (a failed
 * statement skips the rest, COMMIT included): nothing of the batch was
 * written, and nothing built on it can commit either (its successor's
 * guard checks its offsets), so what was carried from it is dropped.
 */
static void
settle(struct store *st, struct session *s)
{
	PGresult *res;
	long t0;

	if (!s->pending)
		return;
	t0 = kx_mono_us();
	s->pending = false;
	s->done = true;
	s->rc = 0;
	while (s->conn && (res = PQgetResult(s->conn))) {
		ExecStatusType t = PQresultStatus(res);
		if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK && !s->rc) {
			const char *state =
				PQresultErrorField(res, PG_DIAG_SQLSTATE);
			const char *msg =
				PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
			if (state && msg && !strcmp(state, GUARD_SQLSTATE)) {
				snprintf(s->err, sizeof(s->err), "%s", msg);
				s->rc = KX_EFENCED;
			} else if (state && msg &&
				   !strcmp(state, UNIQUE_VIOLATION)) {
				/* Only the new entities' plain INSERTs can
				 * raise it (store_sql_upsert()). */
				snprintf(s->err, sizeof(s->err),
					 "another transaction created "
					 "entities of this batch after they "
					 "were loaded; the batch is read "
					 "again (%s)",
					 msg);
				s->rc = KX_EDB;
			} else {
				s->rc = session_fail(s, "cannot apply the batch",
						     s->err, sizeof(s->err));
			}
		}
		PQclear(res);
	}
	lap(st, STEP_WAIT, t0);
	if (!s->conn && !s->rc) {
		snprintf(s->err, sizeof(s->err), "cannot apply the batch: "
						 "connection lost");
		s->rc = KX_EDB;
	}
	if (!s->rc)
		return;
	forget_cells(st);
	forget_states(st);
	idset_clear(&s->ids);
	if (s->conn && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		PQclear(PQexec(s->conn, "ROLLBACK"));
}

void
store_wait(struct store *st)
{
	/* In the order applied. */
	struct session *a = &st->ses[0], *b = &st->ses[1];

	if (b->seq < a->seq) {
		a = &st->ses[1];
		b = &st->ses[0];
	}
	store_abort(st);
	settle(st, a);
	settle(st, b);
	/* Partitions may move now, and with them the rows carried. */
	forget_states(st);
}

int
store_settle(struct store *st, char *errbuf, size_t errlen)
{
	struct session *s = NULL;
	int rc;

	for (int i = 0; i < 2; i++) {
		struct session *c = &st->ses[i];
		if ((c->pending || c->done) && (!s || c->seq < s->seq))
			s = c;
	}
	if (!s)
		return 0;
	settle(st, s);
	s->done = false;
	rc = s->rc;
	if (rc)
		snprintf(errbuf, errlen, "%s", s->err);
	return rc;
}

bool
store_connected(const struct store *st)
{
	return st->ss->conn && PQstatus(st->ss->conn) == CONNECTION_OK;
}

/* Connects s if not connected (see store_connect()). */
static int
connect_session(struct store *st, struct session *s, char *errbuf,
		size_t errlen)
{
	PGresult *res;

	/* Every use of the session waits for its batch in flight first. */
	settle(st, s);
	if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
		return 0;
	/* A transaction open on a lost connection is gone: say so, rather
	 * than go on with its next batch outside any transaction. */
	if (s->open) {
		s->open = false;
		forget_cells(st);
		forget_states(st);
		idset_clear(&s->ids);
		snprintf(errbuf, errlen, "connection lost in a transaction");
		return KX_EDB;
	}
	if (s->conn)
		PQfinish(s->conn);
	s->conn = PQconnectdb(st->conninfo);
	if (PQstatus(s->conn) != CONNECTION_OK)
		return session_drop(s, "cannot connect to PostgreSQL", errbuf,
				    errlen);
	/* A new session may follow a server crash, and with
	 * synchronous_commit off a crash can lose commits already
	 * acknowledged: batches (read again from Kafka: the offset guard
	 * sees to that) but also the parties and cells they created. Ids
	 * cached from those would then name rows that no longer exist, and
	 * the same party would come back under a second id. So every new
	 * session asks the database again, and reads entity states from it
	 * rather than from what a batch left. */
	partyids_clear(&st->parties);
	forget_cells(st);
	forget_states(st);
	/* Likewise the event ids either session's last transaction inserted:
	 * a commit the crash lost would have its events skipped as
	 * duplicates when they are read again, and so lost. Forgetting them
	 * costs at most a COPY refused by the key. */
	idset_clear(&st->ses[0].ids);
	idset_clear(&st->ses[1].ids);
	/* A setup that failed is dropped with its connection, which may
	 * still be up: kept, it would pass for a prepared session. */
	res = PQexec(s->conn, store_sql_session);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		return session_drop(s, "cannot prepare the session (has "
				       "'kx-admin migrate' run?)",
				    errbuf, errlen);
	}
	PQclear(res);
	return 0;
}

int
store_connect(struct store *st, char *errbuf, size_t errlen)
{
	return connect_session(st, st->ss, errbuf, errlen);
}

int
store_ping(struct store *st, char *errbuf, size_t errlen)
{
	int rc;

	/* An open transaction's own queries tell; one failing here would
	 * fail it. */
	if (st->ss->open)
		return 0;
	rc = store_connect(st, errbuf, errlen);

	return rc ? rc : exec_ok(st, "SELECT 1", "ping", errbuf, errlen);
}

int
store_load_offset(struct store *st, const char *topic, int32_t partition,
		  int64_t *next, char *errbuf, size_t errlen)
{
	char part[16];
	const char *params[3] = {st->group, topic, part};
	PGresult *res;
	int rc;

	if ((rc = store_connect(st, errbuf, errlen)))
		return rc;
	snprintf(part, sizeof(part), "%d", (int)partition);
	res = PQexecParams(st->ss->conn,
			   "SELECT next_offset FROM kx.consumer_offsets WHERE "
			   "group_id = $1 AND topic = $2 AND partition = $3",
			   3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return db_fail(st, "cannot read offsets", errbuf, errlen);
	}
	*next = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
	PQclear(res);
	return 0;
}

int
store_each_offset(struct store *st,
		  void (*cb)(void *opaque, const char *topic, int32_t partition,
			     int64_t next),
		  void *opaque, char *errbuf, size_t errlen)
{
	const char *params[1] = {st->group};
	PGresult *res;
	int rc;

	if ((rc = store_connect(st, errbuf, errlen)))
		return rc;
	res = PQexecParams(st->ss->conn,
			   "SELECT topic, partition, next_offset FROM "
			   "kx.consumer_offsets WHERE group_id = $1",
			   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return db_fail(st, "cannot read offsets", errbuf, errlen);
	}
	for (int i = 0; i < PQntuples(res); i++)
		cb(opaque, PQgetvalue(res, i, 0),
		   (int32_t)atoi(PQgetvalue(res, i, 1)),
		   strtoll(PQgetvalue(res, i, 2), NULL, 10));
	PQclear(res);
	return 0;
}

/* ---- COPY text format ---- */

/* Writes a decimal integer at out (24 bytes are enough); returns its
 * length. */
static size_t
fmt_int(char *out, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
				     : (unsigned long long)v;
	size_t n;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(out, p, n);
	return n;
}

/* Appends a decimal integer: the COPY writer's hot path, without printf. */
static void
add_int(struct kx_buf *b, long long v)
{
	char tmp[24];

	kx_buf_add(b, tmp, fmt_int(tmp, v));
}

/* A text field of a COPY row: runs of plain bytes are appended whole. */
static void
copy_text(struct kx_buf *b, const char *s)
{
	if (!s) {
		kx_buf_adds(b, "\\N");
		return;
	}
	for (;;) {
		size_t n = strcspn(s, "\\\t\n\r");
		kx_buf_add(b, s, n);
		s += n;
		switch (*s) {
		case '\0':
			return;
		case '\\':
			kx_buf_add(b, "\\\\", 2);
			break;
		case '\t':
			kx_buf_add(b, "\\t", 2);
			break;
		case '\n':
			kx_buf_add(b, "\\n", 2);
			break;
		default: /* '\r' */
			kx_buf_add(b, "\\r", 2);
		}
		s++;
	}
}

static void
copy_bytea(struct kx_buf *b, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;

	if (!data) {
		kx_buf_adds(b, "\\N");
		return;
	}
	kx_buf_adds(b, "\\\\x");
	for (size_t i = 0; i < len; i++) {
		char h[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
		kx_buf_add(b, h, 2);
	}
}

static void
copy_ts(struct kx_buf *b, int64_t us)
{
	char ts[40];

	if (us == NO_TIME) {
		kx_buf_adds(b, "\\N");
		return;
	}
	kx_time_format_rfc3339(us, 0, ts, sizeof(ts));
	kx_buf_adds(b, ts);
}

/* ---- COPY binary format (copybin.c) for the history and the entities ---- */

/* An event id, validated 8-4-4-4-12 hex when it was decoded; anything
 * else is a bug, which fails the batch rather than the COPY. */
static int
bin_uuid(struct kx_buf *b, const char *id)
{
	return copybin_uuid(b, id) ? KX_EINVAL : 0;
}

/*
 * COPY ... FROM STDIN, streamed: copy_begin() starts it and returns the
 * buffer to write rows into, copy_row() hands the rows to libpq once they
 * pass COPY_CHUNK bytes, copy_end() sends the rest and the end. A batch's
 * rows are megabytes; built whole, they were held twice (here and in
 * libpq's output buffer, which grows to the largest message and never
 * shrinks), at the moment librdkafka's prefetch is fullest.
 */
#define COPY_CHUNK ((size_t)64 * 1024)

static struct kx_buf *
copy_begin(struct store *st, const char *sql, char *errbuf, size_t errlen,
	   int *rc)
{
	PGresult *res = PQexec(st->ss->conn, sql);

	kx_buf_reset(&st->copy);
	st->copy_failed = 0;
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		PQclear(res);
		*rc = db_fail(st, "cannot start COPY", errbuf, errlen);
		return NULL;
	}
	PQclear(res);
	*rc = 0;
	return &st->copy;
}

static void
copy_put(struct store *st)
{
	if (st->copy.len && !st->copy_failed &&
	    PQputCopyData(st->ss->conn, st->copy.data, (int)st->copy.len) != 1)
		st->copy_failed = 1;
	kx_buf_reset(&st->copy);
}

/* Called after each row. */
static void
copy_row(struct store *st)
{
	if (st->copy.len >= COPY_CHUNK)
		copy_put(st);
}

/*
 * Ends the COPY: sends the rest of the rows, or with give_up set drops
 * them and has the server fail the COPY with that message (and with it
 * the transaction). On failure st->copy_state holds the SQLSTATE, if the
 * server gave one.
 */
static int
copy_finish(struct store *st, const char *give_up, char *errbuf,
	    size_t errlen)
{
	PGconn *conn = st->ss->conn;
	PGresult *res;
	int rc = 0;

	st->copy_state[0] = '\0';
	if (give_up)
		kx_buf_reset(&st->copy);
	else
		copy_put(st);
	/* Even when the rows could not all be sent, the server's error, if
	 * it sent one, is read below: it says why. */
	if (!st->copy_failed && PQputCopyEnd(conn, give_up) != 1)
		st->copy_failed = 1;
	while ((res = PQgetResult(conn))) {
		ExecStatusType t = PQresultStatus(res);
		if (t != PGRES_COMMAND_OK && !rc) {
			const char *state =
				PQresultErrorField(res, PG_DIAG_SQLSTATE);
			if (state)
				snprintf(st->copy_state,
					 sizeof(st->copy_state), "%s", state);
			rc = db_fail(st, "COPY failed", errbuf, errlen);
		}
		PQclear(res);
		if (t == PGRES_COPY_IN) {
			/* Still copying: the data could not be sent. */
			PQfinish(conn);
			st->ss->conn = NULL;
		}
		if (!st->ss->conn)
			break;
	}
	if (!rc && st->copy_failed)
		rc = db_fail(st, "COPY failed", errbuf, errlen);
	return rc;
}

static int
copy_end(struct store *st, char *errbuf, size_t errlen)
{
	return copy_finish(st, NULL, errbuf, errlen);
}

/* Ends a COPY the client gave up on, keeping the caller's error text. */
static void
copy_abort(struct store *st)
{
	char ignored[256];

	copy_finish(st, "kx-aggregate gave up this COPY", ignored,
		    sizeof(ignored));
}

/* Ends a binary COPY: its trailer and end, or, when rc says its rows could
 * not all be written, gives it up. *unique is set when the server refused
 * the rows on a unique key. */
static int
copy_close(struct store *st, int rc, bool *unique, char *errbuf,
	   size_t errlen)
{
	*unique = false;
	copybin_trailer(&st->copy);
	if (rc) {
		copy_abort(st);
		return rc;
	}
	rc = copy_end(st, errbuf, errlen);
	*unique = rc && !strcmp(st->copy_state, UNIQUE_VIOLATION);
	return rc;
}

/* ---- parties ---- */

int
store_resolve_parties(struct store *st, struct msg *msgs, size_t n,
		      struct kx_arena *arena, char *errbuf, size_t errlen)
{
	struct partyids_misses m;
	PGresult *res = NULL;
	struct session *o;
	long t;
	int rc;

	/* Connect first, even when every party is in the cache: a new
	 * session empties the cache (store_connect), and that must happen
	 * before the batch takes its ids from it, not in store_apply(). */
	if ((rc = store_connect(st, errbuf, errlen)))
		return rc;
	/* Likewise the other session, which creates the parties while a
	 * transaction is open on this one (below); when connected already,
	 * it is left to commit its batch in flight. */
	o = &st->ses[st->ss == st->ses];
	if (st->ss->open &&
	    !(o->conn && PQstatus(o->conn) == CONNECTION_OK) &&
	    (rc = connect_session(st, o, errbuf, errlen)))
		return rc;
	t = kx_mono_us();
	partyids_trim(&st->parties);
	partyids_misses_init(&m);
	for (size_t i = 0; i < n && !rc; i++)
		if (msgs[i].ev)
			rc = partyids_collect(&st->parties, msgs[i].ev, arena,
					      &m);
	if (rc)
		goto out;
	if (m.n) {
		const char *params[PM__COUNT];
		/* New parties commit at once, outside the batch's own
		 * transaction: a transaction of several batches open on
		 * this session leaves them to the other, once that one's
		 * batch in flight has ended (rare: parties number in the
		 * thousands). */
		struct session *s = st->ss;
		if (s->open) {
			s = &st->ses[s == st->ses];
			settle(st, s);
		}
		partyids_misses_end(&m);
		for (int i = 0; i < PM__COUNT; i++)
			params[i] = m.param[i].data;
		/* Insert the missing ones, then read back every id: another
		 * instance may have created some of them meanwhile. */
		res = PQexecParams(
			s->conn,
			"WITH input AS (SELECT * FROM unnest($1::text[], "
			"$2::text[], $3::text[], $4::text[], $5::boolean[], "
			"$6::text[]) AS i(country, name_key, name, kind, eu, raw)), "
			"ins AS (INSERT INTO kx.parties (country, name_key, name, "
			"kind, eu) SELECT DISTINCT ON (country, name_key) country, "
			"name_key, name, kind, eu FROM input ORDER BY country, "
			"name_key ON CONFLICT DO NOTHING RETURNING party_id, "
			"country, name_key) "
			"SELECT i.raw, coalesce(n.party_id, p.party_id) FROM input i "
			"LEFT JOIN ins n ON n.country = i.country AND n.name_key = "
			"i.name_key LEFT JOIN kx.parties p ON p.country = "
			"i.country AND p.name_key = i.name_key",
			PM__COUNT, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			rc = session_fail(s, "cannot resolve parties", errbuf,
					  errlen);
			goto out;
		}
		for (int r = 0; r < PQntuples(res) && !rc; r++)
			if (!PQgetisnull(res, r, 1)) /* else a concurrent
						       * commit created it */
				rc = partyids_put(&st->parties,
						  PQgetvalue(res, r, 0),
						  atoi(PQgetvalue(res, r, 1)));
		if (rc)
			goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		if (!msgs[i].ev)
			continue;
		rc = partyids_fill(&st->parties, msgs[i].ev, arena,
				   &msgs[i].party_ids, &msgs[i].n_parties);
		if (rc == KX_EDB)
			snprintf(errbuf, errlen,
				 "party of event '%s' did not resolve",
				 msgs[i].ev->event_id);
	}
	if (!rc)
		lap(st, STEP_PARTIES, t);
out:
	PQclear(res);
	partyids_misses_release(&m);
	return rc;
}

/* ---- the batch transaction ---- */

/*
 * The history insert. Each event of the batch goes in once: of two copies
 * in one batch, the one with the lower (offset, shard); none that the batch
 * before inserted (skip). Those rows are COPYed straight into kx.events,
 * whose key says whether any was inserted before: the COPY then fails as a
 * whole, and the batch starts again through the staging table, inserting
 * what is new (a later batch of a transaction goes back to a savepoint
 * taken before its COPY; the first rolls back and begins again). That
 * costs a COPY wasted; after two batches in a row pay it (a feed sending
 * old events again), the next HISTORY_STAGED take the staging path at
 * once. The staging path costs about four times the direct COPY per row.
 */
#define HISTORY_STAGED 16

/* Picks each event's copy into st->fresh (event_id -> struct msg *), and
 * marks every other message of an event a duplicate. */
static int
choose_copies(struct store *st, struct msg *msgs, size_t n,
	      const struct idset *skip, const struct idset *own)
{
	kx_hash_clear(&st->fresh);
	for (size_t i = 0; i < n; i++) {
		const struct kx_event *ev = msgs[i].ev;
		struct kx_hash_slot *slot;
		struct msg *o;
		size_t len;

		if (!ev)
			continue;
		len = strlen(ev->event_id);
		/* Inserted by the transaction before (committed, or
		 * committing: this one's guard checks that it did), or by
		 * an earlier batch of this one. (An id that is no UUID
		 * fails the COPY, which says so.) */
		msgs[i].has_id = !kx_uuid_parse(ev->event_id, msgs[i].id);
		if (msgs[i].has_id && (idset_has(skip, msgs[i].id) ||
				       idset_has(own, msgs[i].id)))
			continue;
		if (!(slot = kx_hash_put(&st->fresh, ev->event_id, len)))
			return KX_ENOMEM;
		o = slot->value;
		if (!o || msgs[i].offset < o->offset ||
		    (msgs[i].offset == o->offset && msgs[i].shard < o->shard))
			slot->value = &msgs[i];
	}
	/* Every message of an event a duplicate, then each event's chosen
	 * copy not: one pass over the table, not a lookup per message. */
	for (size_t i = 0; i < n; i++)
		msgs[i].dup = msgs[i].ev != NULL;
	for (size_t i = 0; i < st->fresh.cap; i++)
		if (st->fresh.slots[i].key)
			((struct msg *)st->fresh.slots[i].value)->dup = false;
	return 0;
}

static int
hist_row_cmp(const void *a, const void *b)
{
	const struct hist_row *x = a, *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

/* The chosen rows (those not marked duplicates) in st->order, sorted by
 * event id: kx.events' key then takes them in its own order, which costs
 * it less than ids all over the index (docs/performance.md, The history
 * in event-id order). A row without a parsed id goes last (its COPY
 * fails). Returns how many, or -1 when out of memory. */
static long
order_history(struct store *st, const struct msg *msgs, size_t n)
{
	size_t k = 0;

	if (n > st->order_cap) {
		struct hist_row *o = realloc(st->order, n * sizeof(*o));
		if (!o)
			return -1;
		st->order = o;
		st->order_cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t key = UINT64_MAX;

		if (!msgs[i].ev || msgs[i].dup)
			continue;
		if (msgs[i].has_id) {
			key = 0;
			for (int b = 0; b < 8; b++)
				key = key << 8 | msgs[i].id[b];
		}
		st->order[k].key = key;
		st->order[k++].i = i;
	}
	qsort(st->order, k, sizeof(*st->order), hist_row_cmp);
	return (long)k;
}

/* COPYs the chosen rows into table, in event-id order. *unique is set
 * when the COPY failed on kx.events' key. */
static int
copy_history(struct store *st, const char *table, struct msg *msgs,
	     size_t n, bool *unique, char *errbuf, size_t errlen)
{
	struct kx_buf *rows;
	char sql[160];
	long n_rows;
	int rc;

	*unique = false;
	if ((n_rows = order_history(st, msgs, n)) < 0)
		return KX_ENOMEM;
	snprintf(sql, sizeof(sql),
		 "COPY %s (event_id, entity, entity_id, event_type, "
		 "occurred_at, programme, shard, kafka_offset) FROM STDIN "
		 "(FORMAT binary)",
		 table);
	if (!(rows = copy_begin(st, sql, errbuf, errlen, &rc)))
		return rc;
	copybin_header(rows);
	for (long r = 0; r < n_rows && !rc; r++) {
		const struct msg *m = &msgs[st->order[r].i];
		const struct kx_event *ev = m->ev;

		copybin_row(rows, 8);
		if (m->has_id)
			copybin_uuid_bytes(rows, m->id);
		else if ((rc = bin_uuid(rows, ev->event_id)))
			snprintf(errbuf, errlen, "event '%s' is not a UUID",
				 ev->event_id);
		copybin_int2(rows, (int16_t)fold_kind_of(ev->type));
		copybin_text(rows, kx_event_entity_id(ev));
		copybin_text(rows, kx_event_type_name(ev->type));
		copybin_timestamptz(rows, ev->occurred_at);
		copybin_text(rows, kx_programme_name(ev->programme));
		copybin_int4(rows, m->shard);
		copybin_int8(rows, m->offset);
		copy_row(st);
	}
	return copy_close(st, rc, unique, errbuf, errlen);
}

/* The staging path: copies the chosen rows, inserts those kx.events lacks,
 * and marks the others duplicates. */
static int
insert_staged(struct store *st, struct msg *msgs, size_t n, char *errbuf,
	      size_t errlen)
{
	PGresult *res;
	bool unique;
	int rc;

	if ((rc = copy_history(st, "s_events", msgs, n, &unique, errbuf,
			       errlen)))
		return rc;
	res = PQexec(st->ss->conn,
		     "INSERT INTO kx.events (event_id, entity, entity_id, "
		     "event_type, occurred_at, programme, shard, kafka_offset) "
		     "SELECT event_id, entity, entity_id, event_type, "
		     "occurred_at, programme, shard, kafka_offset "
		     "FROM s_events ON CONFLICT (event_id) DO NOTHING "
		     "RETURNING event_id");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = db_fail(st, "cannot insert events", errbuf, errlen);
		PQclear(res);
		return rc;
	}
	/* Every copy a duplicate, then the returned ones new again. */
	for (size_t i = 0; i < n; i++)
		msgs[i].dup = msgs[i].ev != NULL;
	for (int r = 0; r < PQntuples(res); r++) {
		const char *id = PQgetvalue(res, r, 0);
		struct msg *m = kx_hash_get(&st->fresh, id, strlen(id));
		if (m)
			m->dup = false;
	}
	PQclear(res);
	return 0;
}

static int
insert_events(struct store *st, struct msg *msgs, size_t n,
	      const struct idset *skip, long *n_new, char *errbuf,
	      size_t errlen)
{
	struct session *s = st->ss;
	bool unique = false;
	int rc;

	if ((rc = choose_copies(st, msgs, n, skip, &s->ids)))
		return rc;
	if (st->staged_left > 0) {
		st->staged_left--;
		rc = insert_staged(st, msgs, n, errbuf, errlen);
	} else {
		/* Later batches of a transaction keep what the earlier
		 * ones wrote should the COPY fail (at most
		 * STORE_TXN_BATCHES - 1 subtransactions: see store.h). */
		bool sp = s->batches > 0;
		if (sp && (rc = exec_ok(st, "SAVEPOINT history",
					"cannot take a savepoint", errbuf,
					errlen)))
			return rc;
		rc = copy_history(st, "kx.events", msgs, n, &unique, errbuf,
				  errlen);
		if (rc && unique) {
			/* One was inserted before: start again, staged. */
			kx_log_debug("aggregate", "history: an event of the "
						  "batch was inserted before%s",
				     st->copy_missed ? "; staging the next "
						       "batches"
						     : "");
			if (st->copy_missed)
				st->staged_left = HISTORY_STAGED;
			if (sp)
				rc = exec_ok(st, "ROLLBACK TO SAVEPOINT history",
					     "cannot roll back", errbuf,
					     errlen);
			else if (!(rc = exec_ok(st, "ROLLBACK",
						"cannot roll back", errbuf,
						errlen)))
				rc = exec_ok(st, "BEGIN", "cannot begin",
					     errbuf, errlen);
			if (!rc)
				rc = insert_staged(st, msgs, n, errbuf,
						   errlen);
		}
		st->copy_missed = unique;
	}
	if (rc)
		return rc;
	*n_new = 0;
	for (size_t i = 0; i < n; i++) {
		if (!msgs[i].ev || msgs[i].dup)
			continue;
		(*n_new)++;
		/* For the later batches' and the next transaction's skip. */
		if (msgs[i].has_id && idset_add(&s->ids, msgs[i].id))
			return KX_ENOMEM;
	}
	return 0;
}

/* The state the transaction before left for an entity of this one, or
 * NULL. */
static const struct ent *
carried(struct store *st, const struct ent *e)
{
	size_t len;
	const char *key = fold_entity_key(e, &len);
	const struct ent *c =
		st->carry.len ? kx_hash_get(&st->carry, key, len) : NULL;

	return c && c->last.at != NO_TIME ? c : NULL;
}

/* Queues the new events on their entities and loads the stored states of
 * those entities, locking their rows for the transaction; an entity the
 * batch before touched takes the state it left instead. */
static int
load_entities(struct store *st, struct msg *msgs, size_t n, struct fold *f,
	      char *errbuf, size_t errlen)
{
	struct kx_buf ids[ENT__COUNT];
	int rc = 0;

	for (int k = 0; k < ENT__COUNT; k++) {
		kx_buf_init(&ids[k]);
		kx_buf_adds(&ids[k], "{");
	}
	for (size_t i = 0; i < n; i++) {
		struct pending p;
		const struct ent *c;
		struct ent *e;
		bool created;

		if (!msgs[i].ev || msgs[i].dup)
			continue;
		p.ev = msgs[i].ev;
		p.id = msgs[i].has_id ? msgs[i].id : NULL;
		p.shard = msgs[i].shard;
		p.party_ids = msgs[i].party_ids;
		p.n_parties = msgs[i].n_parties;
		e = fold_entity(f, fold_kind_of(p.ev->type),
				kx_event_entity_id(p.ev), &created);
		if (!e || fold_add(f, e, &p)) {
			rc = KX_ENOMEM;
			goto out;
		}
		if (!created)
			continue;
		if ((c = carried(st, e))) {
			if (fold_copy_state(f, c, e)) {
				rc = KX_ENOMEM;
				goto out;
			}
			e->exists = e->stored = true;
		} else {
			sql_arr_add(&ids[e->kind], e->id);
		}
	}
	for (int k = 0; k < ENT__COUNT; k++) {
		const char *params[1];
		PGresult *res;

		if (ids[k].len == 1)
			continue;
		/* Appending may move the buffer: take its address after. */
		kx_buf_adds(&ids[k], "}");
		params[0] = ids[k].data;
		res = PQexecParams(st->ss->conn, st->load_sql[k], 1, NULL, params,
				   NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			PQclear(res);
			rc = db_fail(st, "cannot load entity states", errbuf,
				     errlen);
			goto out;
		}
		for (int r = 0; r < PQntuples(res) && !rc; r++) {
			bool created;
			struct ent *e = fold_entity(f, k, PQgetvalue(res, r, 0),
						    &created);
			rc = e ? entrow_load(f, e, res, r) : KX_ENOMEM;
			if (rc == KX_EDB)
				snprintf(errbuf, errlen,
					 "stored %s '%s' has an unknown state",
					 fold_kind_name(k), e->id);
		}
		PQclear(res);
		if (rc)
			goto out;
	}
out:
	for (int k = 0; k < ENT__COUNT; k++)
		kx_buf_release(&ids[k]);
	return rc;
}

/* COPYs the changed entities of one kind into the staging table
 * <prefix><table>: those with a stored row (loaded or carried) when stored
 * is set, else the others. */
static int
copy_entities(struct store *st, struct fold *f, enum ent_kind k,
	      const char *prefix, bool stored, char *errbuf, size_t errlen)
{
	char sql[1024], name[64];
	struct kx_buf *rows = NULL;
	int n_cols = 0, rc = 0;
	bool unique; /* a temporary table has no key to refuse a row */
	size_t n;

	for (struct ent *e = f->dirty; e && !rows; e = e->next_dirty)
		if (e->kind == k && e->stored == stored)
			rows = &st->copy;
	if (!rows)
		return 0;
	n = (size_t)snprintf(sql, sizeof(sql), "COPY %s%s (", prefix,
			     kinds[k].table);
	for (const enum col *c = kinds[k].cols; *c != C__END; c++) {
		col_name(k, *c, name, sizeof(name));
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%s",
				      n_cols++ ? ", " : "", name);
	}
	snprintf(sql + n, sizeof(sql) - n, ") FROM STDIN (FORMAT binary)");
	if (!(rows = copy_begin(st, sql, errbuf, errlen, &rc)))
		return rc;
	copybin_header(rows);
	for (struct ent *e = f->dirty; e; e = e->next_dirty) {
		if (e->kind != k || e->stored != stored)
			continue;
		entrow_copy(rows, e, n_cols);
		copy_row(st);
	}
	return copy_close(st, rc, &unique, errbuf, errlen);
}

/*
 * Writes the changed entity states, one COPY per kind and destination.
 * Entities with a stored row go to the staging tables, for the batch's
 * last query to upsert. Entities without one go to s_new_<table>, which
 * that query inserts with a plain INSERT: a row created after the load
 * (by another instance, or for a transfer whose events span partitions)
 * then fails it on the key, with the COMMIT, and the batch is read again
 * and loads that row, since its deltas must start from the state the row
 * holds. An upsert would overwrite that state without taking its
 * contribution out, counting the entity twice. (Both go to temporary
 * tables, so the loop does not wait for the entity tables' inserts.)
 */
static int
write_entities(struct store *st, struct fold *f, char *errbuf, size_t errlen)
{
	int rc = 0;

	for (int k = 0; k < ENT__COUNT && !rc; k++)
		rc = copy_entities(st, f, k, "s_new_", false, errbuf, errlen);
	for (int k = 0; k < ENT__COUNT && !rc; k++)
		rc = copy_entities(st, f, k, "s_", true, errbuf, errlen);
	return rc;
}

/* ---- cell ids ---- */

static int
cache_cells(struct store *st, PGresult *res)
{
	for (int r = 0; r < PQntuples(res); r++) {
		char buf[FOLD_CELL_KEY_MAX], *key;
		size_t len = fold_cell_key(atoi(PQgetvalue(res, r, 1)),
					   PQgetvalue(res, r, 2),
					   atoi(PQgetvalue(res, r, 3)),
					   PQgetvalue(res, r, 4), buf);
		struct kx_hash_slot *slot;

		if (!(key = kx_arena_alloc(&st->cell_arena, len)))
			return KX_ENOMEM;
		memcpy(key, buf, len);
		if (!(slot = kx_hash_put(&st->cell_cache, key, len)))
			return KX_ENOMEM;
		slot->value = (void *)(intptr_t)atoi(PQgetvalue(res, r, 0));
	}
	return 0;
}

static void
forget_cells(struct store *st)
{
	kx_hash_clear(&st->cell_cache);
	kx_arena_reset(&st->cell_arena);
}

/* (Re)reads every cell id into the cache. */
static int
load_cells(struct store *st, char *errbuf, size_t errlen)
{
	PGresult *res = PQexec(st->ss->conn, "SELECT cell_id, dim, programme, "
					 "goal, target FROM kx.cells");
	int rc;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return db_fail(st, "cannot read cells", errbuf, errlen);
	}
	rc = cache_cells(st, res);
	PQclear(res);
	return rc;
}

/*
 * Gives every cell of the batch its kx.cells id. The ids are cached for
 * the session (kx.cells holds every cell the CONTRACT allows from the
 * migration on); a cell not there yet is inserted in the batch's
 * transaction, and read back by a second statement, which also sees one
 * another instance committed meanwhile.
 */
static int
resolve_cells(struct store *st, struct fold *f, char *errbuf, size_t errlen)
{
	struct kx_buf dims = KX_BUF_INIT, progs = KX_BUF_INIT,
		      goals = KX_BUF_INIT, targets = KX_BUF_INIT;
	PGresult *res = NULL;
	size_t missing = 0;
	int rc = 0;

	if (!st->cell_cache.len && (rc = load_cells(st, errbuf, errlen)))
		goto out;
	for (int pass = 0; pass < 2; pass++) {
		missing = 0;
		kx_buf_reset(&dims);
		kx_buf_reset(&progs);
		kx_buf_reset(&goals);
		kx_buf_reset(&targets);
		kx_buf_adds(&dims, "{");
		kx_buf_adds(&progs, "{");
		kx_buf_adds(&goals, "{");
		kx_buf_adds(&targets, "{");
		for (struct cell *c = f->cell_list; c; c = c->next) {
			char buf[FOLD_CELL_KEY_MAX];
			size_t len = fold_cell_key(c->dim, c->programme,
						   c->goal, c->target, buf);
			void *v = kx_hash_get(&st->cell_cache, buf, len);

			c->id = (int32_t)(intptr_t)v;
			if (v)
				continue;
			if (missing++) {
				kx_buf_add(&dims, ",", 1);
				kx_buf_add(&goals, ",", 1);
			}
			add_int(&dims, c->dim);
			add_int(&goals, c->goal);
			sql_arr_add(&progs, c->programme);
			sql_arr_add(&targets, c->target);
		}
		if (!missing)
			break;
		if (pass) {
			snprintf(errbuf, errlen, "%zu cells did not resolve",
				 missing);
			rc = KX_EDB;
			goto out;
		}
		kx_buf_adds(&dims, "}");
		kx_buf_adds(&progs, "}");
		kx_buf_adds(&goals, "}");
		kx_buf_adds(&targets, "}");
		st->ss->added_cells = true;
		{
			const char *params[4] = {dims.data, progs.data,
						 goals.data, targets.data};
			res = PQexecParams(
				st->ss->conn,
				"INSERT INTO kx.cells (dim, programme, goal, "
				"target) SELECT * FROM unnest($1::smallint[], "
				"$2::text[], $3::smallint[], $4::text[]) ORDER "
				"BY 1, 2, 3, 4 ON CONFLICT DO NOTHING",
				4, NULL, params, NULL, NULL, 0);
		}
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = db_fail(st, "cannot add cells", errbuf, errlen);
			goto out;
		}
		PQclear(res);
		res = NULL;
		if ((rc = load_cells(st, errbuf, errlen)))
			goto out;
	}
out:
	PQclear(res);
	kx_buf_release(&dims);
	kx_buf_release(&progs);
	kx_buf_release(&goals);
	kx_buf_release(&targets);
	return rc;
}

/* Orders party deltas by (cell id, party id), the key of kx.agg_party. */
static int
party_delta_cmp(const void *a, const void *b)
{
	const struct party_delta *x = *(const struct party_delta *const *)a;
	const struct party_delta *y = *(const struct party_delta *const *)b;

	if (x->cell->id != y->cell->id)
		return x->cell->id < y->cell->id ? -1 : 1;
	if (x->party_id != y->party_id)
		return x->party_id < y->party_id ? -1 : 1;
	return 0;
}

static int
write_deltas(struct store *st, struct fold *f, char *errbuf, size_t errlen)
{
	struct kx_buf *b;
	int rc;

	if (!(b = copy_begin(st,
			     "COPY s_cell (dim, programme, goal, target, shard, "
			     "entities, pairings_proposed, pairings_matched, "
			     "pairings_agreement_signed, "
			     "pairings_action_plan_adopted, pairings_completed, "
			     "pairings_suspended, pairings_withdrawn, "
			     "action_plans_adopted, pilot_projects, "
			     "visits_planned, visits_held, visits_cancelled, "
			     "participants, practices_documented, "
			     "transfers_planned, transfers_piloting, "
			     "transfers_replicated, transfers_abandoned, "
			     "last_event_at, removed_last) FROM STDIN",
			     errbuf, errlen, &rc)))
		return rc;
	for (size_t i = 0; i < f->cells.cap; i++) {
		const struct cell_delta *d = f->cells.slots[i].value;
		if (!f->cells.slots[i].key)
			continue;
		add_int(b, d->cell->dim);
		kx_buf_add(b, "\t", 1);
		copy_text(b, d->cell->programme);
		kx_buf_add(b, "\t", 1);
		add_int(b, d->cell->goal);
		kx_buf_add(b, "\t", 1);
		copy_text(b, d->cell->target);
		kx_buf_add(b, "\t", 1);
		add_int(b, d->shard);
		for (int m = 0; m < M__COUNT; m++) {
			kx_buf_add(b, "\t", 1);
			add_int(b, d->m[m]);
		}
		kx_buf_add(b, "\t", 1);
		copy_ts(b, d->last_at);
		kx_buf_add(b, "\t", 1);
		copy_ts(b, d->removed_last);
		kx_buf_add(b, "\n", 1);
		copy_row(st);
	}
	if ((rc = copy_end(st, errbuf, errlen)))
		return rc;

	if (f->months.len &&
	    !(b = copy_begin(st, "COPY s_month FROM STDIN", errbuf, errlen,
			     &rc)))
		return rc;
	for (size_t i = 0; i < f->months.cap; i++) {
		const struct month_delta *d = f->months.slots[i].value;
		if (!f->months.slots[i].key)
			continue;
		kx_buf_addf(b, "%s\t", d->month);
		copy_text(b, d->programme);
		kx_buf_addf(b, "\t%d\t%lld\t%lld\t%lld\t%lld\n",
			    (int)d->shard, (long long)d->m[0],
			    (long long)d->m[1], (long long)d->m[2],
			    (long long)d->m[3]);
		copy_row(st);
	}
	if (f->months.len && (rc = copy_end(st, errbuf, errlen)))
		return rc;
	return 0;
}

/* The batch's rejected messages, for kx.rejected_events. */
static int
write_rejects(struct store *st, const struct msg *msgs, size_t n,
	      char *errbuf, size_t errlen)
{
	struct kx_buf *b;
	size_t r;
	int rc;

	for (r = 0; r < n && msgs[r].ev; r++)
		;
	if (r == n)
		return 0; /* nothing rejected */
	if (!(b = copy_begin(st, "COPY s_reject FROM STDIN", errbuf, errlen,
			     &rc)))
		return rc;
	for (size_t i = r; i < n; i++) {
		if (msgs[i].ev)
			continue;
		copy_text(b, st->group);
		kx_buf_add(b, "\t", 1);
		copy_text(b, msgs[i].topic);
		kx_buf_addf(b, "\t%d\t%lld\t", (int)msgs[i].partition,
			    (long long)msgs[i].offset);
		copy_bytea(b, msgs[i].key, msgs[i].keylen);
		kx_buf_add(b, "\t", 1);
		/* A NULL value (a tombstone) stays NULL: the row keeps the
		 * message as it was, and an empty value is not a NULL one. */
		copy_bytea(b, msgs[i].value, msgs[i].len);
		kx_buf_add(b, "\t", 1);
		copy_text(b, msgs[i].reason);
		kx_buf_add(b, "\n", 1);
		copy_row(st);
	}
	return copy_end(st, errbuf, errlen);
}

/* The batch's offset moves, for the guard that ends the transaction
 * (store_sql_upsert()): each row moves only from the value this instance
 * last saw. */
static int
write_offsets(struct store *st, const struct offset_move *moves, size_t n,
	      char *errbuf, size_t errlen)
{
	struct kx_buf *b;
	int rc;

	if (!(b = copy_begin(st, "COPY s_offsets FROM STDIN", errbuf, errlen,
			     &rc)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (moves[i].expected < 0)
			st->ss->new_offsets = true;
		copy_text(b, st->group);
		kx_buf_add(b, "\t", 1);
		copy_text(b, moves[i].topic);
		kx_buf_addf(b, "\t%d\t%lld\t%lld\n", (int)moves[i].partition,
			    (long long)moves[i].expected,
			    (long long)moves[i].next);
		copy_row(st);
	}
	return copy_end(st, errbuf, errlen);
}

/* Formats the transaction's party deltas into st->party_rows, the rows
 * of the COPY that opens its last string (send_last()). */
static int
format_party_rows(struct store *st, struct fold *f)
{
	const struct party_delta **sorted;
	struct kx_buf *b = &st->party_rows;
	size_t n_sorted = 0;

	/* In key order: the party statement upserts them in the order they
	 * were copied, so two instances take the rows in the same order
	 * (see PARTY_CTES). */
	sorted = kx_arena_alloc(&f->work,
				(f->parties.len + 1) * sizeof(*sorted));
	if (!sorted)
		return KX_ENOMEM;
	for (size_t i = 0; i < f->parties.cap; i++) {
		const struct party_delta *d = &f->parties.slots[i];
		if (d->cell && d->refs != 0)
			sorted[n_sorted++] = d;
	}
	qsort(sorted, n_sorted, sizeof(*sorted), party_delta_cmp);
	kx_buf_reset(b);
	/* A row is three int32s (at most 11 characters each), an int64 (at
	 * most 20) and four separators: with that room the adds below
	 * cannot fail. */
	if (kx_buf_grow(b, n_sorted * (3 * 11 + 20 + 4)))
		return KX_ENOMEM;
	for (size_t i = 0; i < n_sorted; i++) {
		const struct party_delta *d = sorted[i];
		add_int(b, d->cell->id);
		kx_buf_add(b, "\t", 1);
		add_int(b, d->party_id);
		kx_buf_add(b, "\t", 1);
		add_int(b, d->shard);
		kx_buf_add(b, "\t", 1);
		add_int(b, d->refs);
		kx_buf_add(b, "\n", 1);
	}
	return 0;
}

/*
 * Sends the transaction's last string (store_sql_upsert()) without waiting
 * for it. It opens with the COPY of the party deltas, whose rows
 * (st->party_rows) go here, so the loop does not wait for the server to
 * take them; the guard, the upserts and the COMMIT follow on the server.
 * store_settle() reads how it all ended.
 */
static int
send_last(struct store *st, char *errbuf, size_t errlen)
{
	struct session *s = st->ss;
	const struct kx_buf *b = &st->party_rows;
	PGresult *res;
	bool ok;

	if (!PQsendQuery(s->conn, st->upsert_sql))
		return db_fail(st, "cannot apply the batch", errbuf, errlen);
	res = PQgetResult(s->conn);
	ok = PQresultStatus(res) == PGRES_COPY_IN;
	PQclear(res);
	for (size_t off = 0; ok && off < b->len; off += COPY_CHUNK) {
		size_t len = b->len - off;
		if (len > COPY_CHUNK)
			len = COPY_CHUNK;
		ok = PQputCopyData(s->conn, b->data + off, (int)len) == 1;
	}
	if (ok && PQputCopyEnd(s->conn, NULL) == 1)
		return 0;
	/* The COMMIT at the end of the string cannot have run: dropping the
	 * connection rolls the transaction back. */
	return session_drop(s, "cannot apply the batch", errbuf, errlen);
}

/* Keeps the state of every entity the transaction touched, for the next
 * one (struct store, carry): the fold's states are handed over whole. */
static int
carry_states(struct store *st, struct fold *f)
{
	int rc;

	forget_states(st);
	if ((rc = fold_keep(f)))
		return rc;
	fold_give(f, &st->carry, &st->carry_arena);
	st->carry_ok = true;
	return 0;
}

static void
forget_states(struct store *st)
{
	kx_hash_clear(&st->carry);
	kx_arena_reset(&st->carry_arena);
	st->carry_ok = false;
}

int
store_apply(struct store *st, struct msg *msgs, size_t n,
	    const struct offset_move *moves, size_t n_moves, struct fold *fold,
	    bool last, long *n_new, char *errbuf, size_t errlen)
{
	struct session *s = st->ss, *prev = &st->ses[s == st->ses];
	long t;
	int rc;

	*n_new = 0;
	if (!s->open) {
		if ((rc = store_connect(st, errbuf, errlen)))
			return rc;
		/* The transaction before this one may still be committing
		 * on the other session. Its rows are locked and its new ones
		 * invisible until it does, so this one takes their states
		 * from what it carried, and counts the events it inserted
		 * as duplicates. Without those states (a failure or a new
		 * session forgot them), or when it inserted cells this one
		 * may name, it is waited for first. (Offset rows it
		 * inserted are waited for at the end, below.) */
		if (prev->pending && (prev->added_cells || !st->carry_ok))
			settle(st, prev);
		idset_clear(&s->ids);
		s->added_cells = s->new_offsets = false;
		if ((rc = exec_ok(st, "BEGIN", "cannot begin", errbuf,
				  errlen)))
			return rc;
		s->open = true;
		s->batches = 0;
	}
	t = kx_mono_us();
	if (n) {
		if ((rc = insert_events(st, msgs, n, &prev->ids, n_new, errbuf,
					errlen)))
			goto fail;
		t = lap(st, STEP_HISTORY, t);
		if ((rc = load_entities(st, msgs, n, fold, errbuf, errlen)))
			goto fail;
		t = lap(st, STEP_LOAD, t);
		if ((rc = fold_run(fold)) ||
		    (rc = resolve_cells(st, fold, errbuf, errlen)) ||
		    (!last && (rc = fold_keep(fold))))
			goto fail;
		t = lap(st, STEP_FOLD, t);
		if ((rc = write_rejects(st, msgs, n, errbuf, errlen)))
			goto fail;
	}
	s->batches++;
	if (!last) {
		lap(st, STEP_WRITE, t);
		return 0;
	}
	/* This one's guard checks the offset rows of the transaction
	 * before: rows that one inserted must have committed first. (A
	 * fresh group's first transactions insert them, one per partition
	 * as its first messages come; waiting here rather than at the
	 * start lets this one's work run meanwhile.) */
	if (prev->pending && prev->new_offsets)
		settle(st, prev);
	if ((rc = write_entities(st, fold, errbuf, errlen)) ||
	    (rc = write_deltas(st, fold, errbuf, errlen)) ||
	    (rc = write_offsets(st, moves, n_moves, errbuf, errlen)) ||
	    (rc = format_party_rows(st, fold)) ||
	    (rc = carry_states(st, fold)))
		goto fail;
	/* The guard, the upserts and the COMMIT run while the caller
	 * collects the next batch and applies it on the other session;
	 * store_settle() tells how they ended. */
	if ((rc = send_last(st, errbuf, errlen)))
		goto fail;
	lap(st, STEP_WRITE, t);
	s->open = false;
	s->pending = true;
	s->seq = ++st->seq;
	st->ss = prev;
	return 0;
fail:
	if (rc == KX_ENOMEM)
		snprintf(errbuf, errlen, "out of memory");
	store_abort(st);
	return rc;
}

void
store_abort(struct store *st)
{
	struct session *s = st->ss;

	if (!s->open)
		return;
	/* Cells this transaction added are gone with it: read them again.
	 * What it carried was built on rows it did not write. */
	forget_cells(st);
	forget_states(st);
	s->open = false;
	idset_clear(&s->ids);
	if (s->conn)
		PQclear(PQexec(s->conn, "ROLLBACK"));
}
