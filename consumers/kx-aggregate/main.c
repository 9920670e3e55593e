/*
 * kx-aggregate: the consumer service. Folds the KX topics into PostgreSQL
 * with exactly-once effect: each batch commits its history rows, entity
 * states, aggregate deltas, rejected messages and offsets in one
 * transaction, and the offset update is guarded so a zombie or a rewound
 * database can never count a message twice (docs/exactly-once.md).
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fold.h"
#include "kx/arena.h"
#include "kx/codec.h"
#include "kx/conf.h"
#include "kx/err.h"
#include "kx/kafka.h"
#include "kx/log.h"
#include "kx/registry.h"
#include "kx/timeutil.h"
#include "metrics.h"
#include "source.h"
#include "store.h"

struct config {
	char *brokers;
	struct kx_strv props;
	char *db;
	char *group;
	char *topic_prefix;
	long batch_max;
	long batch_ms;
	long txn_max;
	char *http;
	bool until_caught_up;
	bool check;
	char *schema_registry;
	char *log_level;
	long progress_s;
	bool dump_config;
};

#define OFF(f) offsetof(struct config, f)
static const struct kx_conf_entry options[] = {
	{"brokers", 'b', KX_CONF_STR, NULL, "KX_BROKERS", OFF(brokers),
	 "HOST:PORT,...", "Kafka bootstrap servers", 0, 0},
	{"property", 'X', KX_CONF_LIST, NULL, NULL, OFF(props), "KEY=VALUE",
	 "any librdkafka consumer property (repeatable)", 0, 0},
	{"db", 'd', KX_CONF_STR, "", "KX_DB", OFF(db), "CONNINFO",
	 "libpq connection string; empty uses the PG* variables", 0, 0},
	{"group", 'g', KX_CONF_STR, "kx-aggregate", "KX_GROUP", OFF(group),
	 "ID", "consumer group id; also keys the offsets in PostgreSQL", 0, 0},
	{"topic-prefix", 0, KX_CONF_STR, "kx.", "KX_TOPIC_PREFIX",
	 OFF(topic_prefix), "PREFIX", "prefix of the topic names", 0, 0},
	{"batch-max", 0, KX_CONF_INT, "5000", "KX_BATCH_MAX", OFF(batch_max),
	 "N", "most messages per batch", 1, 1000000},
	{"batch-ms", 0, KX_CONF_INT, "50", "KX_BATCH_MS", OFF(batch_ms), "MS",
	 "longest time to collect a batch", 1, 600000},
	{"txn-max", 0, KX_CONF_INT, "20000", "KX_TXN_MAX", OFF(txn_max), "N",
	 "most messages per transaction: full batches add up to this many "
	 "(at most 32 batches) before one commit",
	 1, 10000000},
	{"http", 0, KX_CONF_STR, NULL, "KX_HTTP", OFF(http), "ADDR:PORT",
	 "serve /healthz, /readyz and /metrics", 0, 0},
	{"until-caught-up", 0, KX_CONF_BOOL, "false", NULL,
	 OFF(until_caught_up), NULL,
	 "exit 0 once the end offsets found at start-up are reached", 0, 0},
	{"check", 0, KX_CONF_BOOL, "false", NULL, OFF(check), NULL,
	 "validate the config and the connections, then exit", 0, 0},
	{"schema-registry", 0, KX_CONF_STR, NULL, "KX_SCHEMA_REGISTRY",
	 OFF(schema_registry), "URL",
	 "fetch unknown schema ids from this Confluent-compatible registry",
	 0, 0},
	{"log-level", 0, KX_CONF_STR, "info", "KX_LOG_LEVEL", OFF(log_level),
	 "LEVEL", "error, warn, info or debug", 0, 0},
	{"progress-interval", 0, KX_CONF_INT, "30", "KX_PROGRESS_INTERVAL",
	 OFF(progress_s), "SECONDS",
	 "log a progress line this often while events commit (0: never)", 0,
	 86400},
	{"dump-config", 0, KX_CONF_BOOL, "false", NULL, OFF(dump_config), NULL,
	 "print an example config file with every key and exit", 0, 0},
	KX_CONF_END};

/* Prefetch: librdkafka's defaults (100,000 messages, 64 MB) would hold a
 * whole catch-up backlog in memory. 2.0.2 stops fetching whenever the
 * queue is over a limit and decides again only once a second, unless
 * source_wake() wakes it when the queue runs low; so the limits only need
 * to cover a fetch's round trip. 5,000 messages, 2 MB and 1 MB responses
 * measured as fast as 3 MB ones, at 13 MB less RSS (docs/performance.md). */
static const char *const consumer_defaults[] = {
	"enable.auto.commit=false",
	"enable.auto.offset.store=false",
	"auto.offset.reset=earliest",
	"isolation.level=read_committed",
	"partition.assignment.strategy=range",
	"enable.partition.eof=true",
	"session.timeout.ms=10000",
	"queued.min.messages=5000",
	"queued.max.messages.kbytes=2048",
	"fetch.max.bytes=1048576",
	NULL};

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	/* A second SIGINT means "now": no drain. */
	if (stopping && sig == SIGINT)
		_exit(130);
	stopping = 1;
}

/* A batch holds decoded copies, not librdkafka's messages: a message pins
 * the whole fetch response it came in, so each is destroyed as soon as it
 * is decoded and the consumer's memory stays bounded by its own arena. */
struct batch {
	struct msg *msgs;
	size_t n, cap;
	struct kx_arena arena;
};

/* A batch applied whose outcome is not known yet: its guard, upserts and
 * COMMIT run in the database while the next one is collected and applied
 * on the other connection (store_apply()). Its Kafka offsets and metrics
 * wait for store_settle() to say it committed. */
struct inflight {
	struct offset_move *moves; /* topics copied */
	size_t n_moves, cap;
	size_t n;
	long n_new, dups, rej, t0;
};

/* The transaction being built: while the consumer is behind, full batches
 * add up in one (store_apply()), so each entity and aggregate row is
 * written once for all of them. Only the first batch can be retried from
 * memory: the messages of the others are gone once applied, so a failure
 * after them rolls the transaction back and re-reads from the stored
 * offsets. */
struct txn {
	bool open; /* batches applied, the end not sent */
	int batches;
	struct offset_move *moves; /* of every batch, and of the one before */
	size_t n_moves, cap;
	size_t n;
	long n_new, dups, rej, t0;
};

struct app {
	struct config *conf;
	struct store *st;
	struct source src;
	struct kx_codec *codec;
	struct kx_registry *registry;
	struct fold fold;
	struct batch b;
	struct txn txn;
	struct inflight inflight[2]; /* oldest first, from inflight_head */
	size_t inflight_head, n_inflight;
	int refused; /* batches in a row the database refused at commit */
	struct metrics metrics;
	struct part *ends; /* --until-caught-up: the ends to reach */
	long test_commit_delay_ms; /* KX_TEST_COMMIT_DELAY_MS, tests only */
	long started_us;           /* when the batch loop started */
	long poll_us, decode_us;   /* the loop's own steps, for publish_steps() */
	long progress_us;          /* when the last progress line was due */
	long progress_total;       /* events committed at that line */
	size_t n_ends;
	bool behind; /* the last batch was full: more is waiting */
	int end_left;
	bool reseek_pending; /* a re-seek failed: apply nothing until done */
};

static void
usage(FILE *fp)
{
	fputs("usage: kx-aggregate [OPTION...]\n\n"
	      "Consumes the KX topics and folds them into PostgreSQL (schema "
	      "kx) with\nexactly-once effect. Runs in the foreground and logs "
	      "to stderr. SIGTERM or\nSIGINT finishes the current batch and "
	      "exits 0; a second SIGINT exits at once.\n\nOptions:\n",
	      fp);
	kx_conf_usage(fp, options);
	fputs("\nExit status: 0 stopped by SIGTERM/SIGINT, or caught up; 1 "
	      "stopped by an error\nwhile running (logged); 2 usage, config "
	      "or connection error at start-up;\n130 a second SIGINT.\n",
	      fp);
}

/* Shows the time of each step in the metrics: the loop's own, counted
 * per message without atomics, and the store's. Once per pass. */
static void
publish_steps(struct app *app)
{
	const long *us = store_step_us(app->st);

	for (int i = 0; i < STEP__COUNT; i++)
		atomic_store(&app->metrics.step_us[i],
			     i == STEP_POLL     ? app->poll_us
			     : i == STEP_DECODE ? app->decode_us
						: us[i]);
}

static void
batch_clear(struct batch *b)
{
	b->n = 0;
	kx_arena_reset(&b->arena);
}

static int
batch_push(struct batch *b)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		void *r = realloc(b->msgs, cap * sizeof(*b->msgs));
		if (!r)
			return KX_ENOMEM;
		b->msgs = r;
		b->cap = cap;
	}
	b->n++;
	return 0;
}

/* Keeps a rejected message's bytes: kx.rejected_events stores them. */
static void
keep_raw(struct kx_arena *a, const rd_kafka_message_t *m, struct msg *out)
{
	void *k = NULL, *v = NULL;

	if (m->key && !(k = kx_arena_alloc(a, m->key_len + 1)))
		goto oom;
	if (m->payload && !(v = kx_arena_alloc(a, m->len + 1)))
		goto oom;
	if (k)
		memcpy(k, m->key, m->key_len);
	if (v)
		memcpy(v, m->payload, m->len);
	out->key = k;
	out->value = v;
	return;
oom:
	out->key = out->value = NULL;
	out->reason = "out of memory";
}

/* Decodes one message, or records why it cannot be accepted. */
static void
decode_event(struct app *app, const rd_kafka_message_t *m, struct msg *out)
{
	struct kx_arena *a = &app->b.arena;
	const char *topic = rd_kafka_topic_name(m->rkt);
	enum kx_family family;
	struct kx_event *ev;
	char errbuf[512];
	int32_t id;

	memset(out, 0, sizeof(*out));
	out->topic = kx_arena_strdup(a, topic);
	out->partition = m->partition;
	out->offset = m->offset;
	out->keylen = m->key_len;
	out->len = m->len;
	if (!out->topic) {
		out->topic = "";
		out->reason = "out of memory";
		return;
	}
	if (kx_kafka_topic_family(app->conf->topic_prefix, topic, &family))
		family = KX_FAMILY_PAIRING;
	out->shard = (int32_t)family * 10000 + m->partition;

	if (!(ev = kx_arena_alloc(a, sizeof(*ev)))) {
		out->reason = "out of memory";
		return;
	}
	if (!m->payload || m->len == 0) {
		out->reason = "empty value";
		return;
	}
	if (kx_codec_decode(app->codec, m->payload, m->len, a, ev, &id, errbuf,
			    sizeof(errbuf))) {
		out->reason = kx_arena_strdup(a, errbuf);
		return;
	}
	if (kx_event_type_family(ev->type) != family) {
		snprintf(errbuf, sizeof(errbuf),
			 "a %s event does not belong on topic '%s'",
			 kx_event_type_name(ev->type), topic);
		out->reason = kx_arena_strdup(a, errbuf);
		return;
	}
	if (!m->key) {
		out->reason = "message has no key";
		return;
	}
	if (m->key_len != strlen(kx_event_key(ev)) ||
	    memcmp(m->key, kx_event_key(ev), m->key_len)) {
		snprintf(errbuf, sizeof(errbuf),
			 "message key does not match the event's entity key "
			 "'%s'",
			 kx_event_key(ev));
		out->reason = kx_arena_strdup(a, errbuf);
		return;
	}
	out->ev = ev;
}

static void
decode(struct app *app, const rd_kafka_message_t *m, struct msg *out)
{
	decode_event(app, m, out);
	if (!out->ev)
		keep_raw(&app->b.arena, m, out);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR && !stopping)
		;
}

/* Reports whether every end found at start-up is reached. */
static void
note_offset(void *opaque, const char *topic, int32_t partition, int64_t next)
{
	struct app *app = opaque;

	for (size_t i = 0; i < app->n_ends; i++)
		if (app->ends[i].partition == partition &&
		    !strcmp(app->ends[i].topic, topic) &&
		    next >= app->ends[i].expected)
			app->ends[i].eof = app->ends[i].expected;
}

static bool
caught_up(struct app *app)
{
	char errbuf[512];
	bool all = true;

	if (store_each_offset(app->st, note_offset, app, errbuf,
			      sizeof(errbuf)))
		return false;
	for (size_t i = 0; i < app->n_ends; i++) {
		struct part *e = &app->ends[i];
		/* Reached through the database, or the partition is empty
		 * past its start (transaction markers only), as EOF said. */
		struct part *p = source_part(&app->src, e->topic, e->partition);
		if (e->eof >= e->expected)
			continue;
		if (p && p->eof >= e->expected)
			continue;
		all = false;
	}
	return all;
}

static void
inflight_clear(struct inflight *f)
{
	for (size_t i = 0; i < f->n_moves; i++)
		free((char *)f->moves[i].topic);
	f->n_moves = 0;
}

static int
inflight_set(struct inflight *f, const struct offset_move *moves,
	     size_t n_moves)
{
	inflight_clear(f);
	if (n_moves > f->cap) {
		void *r = realloc(f->moves, n_moves * sizeof(*f->moves));
		if (!r)
			return KX_ENOMEM;
		f->moves = r;
		f->cap = n_moves;
	}
	for (size_t i = 0; i < n_moves; i++) {
		f->moves[i] = moves[i];
		if (!(f->moves[i].topic = strdup(moves[i].topic)))
			return KX_ENOMEM;
		f->n_moves = i + 1;
	}
	return 0;
}

/* The newest batch in flight, or NULL. */
static struct inflight *
inflight_newest(struct app *app)
{
	return app->n_inflight
		       ? &app->inflight[(app->inflight_head +
					 app->n_inflight - 1) % 2]
		       : NULL;
}

/*
 * Waits for the oldest batch in flight. Committed: its offsets go to Kafka
 * and its counts to the metrics, and it returns 0 (also when none was in
 * flight). Not committed: nothing of it was written, nor of any batch
 * built on it (each batch's guard checks the one before), and it returns
 * 1: the caller re-seeks to the stored offsets (settle_all()), the one path
 * for every way offsets can go wrong (a commit whose acknowledgement alone
 * was lost passes the guard, rightly). A database that keeps refusing
 * batches while reachable ends the process (KX_EDB), as in commit_batch().
 */
static int
settle_one(struct app *app)
{
	struct inflight *f = &app->inflight[app->inflight_head];
	char errbuf[1024];
	int rc;

	if (!app->n_inflight)
		return 0;
	rc = store_settle(app->st, errbuf, sizeof(errbuf));
	app->inflight_head = (app->inflight_head + 1) % 2;
	app->n_inflight--;
	if (!rc) {
		source_commit_async(&app->src, f->moves, f->n_moves);
		atomic_store(&app->metrics.db_ok, 1);
		atomic_fetch_add(&app->metrics.events_new, f->n_new);
		atomic_fetch_add(&app->metrics.events_duplicate, f->dups);
		atomic_fetch_add(&app->metrics.rejected, f->rej);
		metrics_observe_batch(&app->metrics, kx_mono_us() - f->t0);
		kx_log_debug("aggregate",
			     "batch of %zu: %ld new, %ld duplicate, %ld "
			     "rejected",
			     f->n, f->n_new, f->dups, f->rej);
		app->refused = 0;
		inflight_clear(f);
		return 0;
	}
	inflight_clear(f);
	if (rc == KX_EFENCED) {
		atomic_fetch_add(&app->metrics.fenced, 1);
		kx_log_warn("aggregate", "%s; re-seeking to the stored offsets",
			    errbuf);
		return 1;
	}
	atomic_fetch_add(&app->metrics.db_errors, 1);
	atomic_store(&app->metrics.db_ok, store_connected(app->st));
	if (store_connected(app->st) && ++app->refused >= 8) {
		kx_log_error("aggregate",
			     "the database refused the batch %d times while "
			     "reachable: %s",
			     app->refused, errbuf);
		return KX_EDB;
	}
	kx_log_warn("aggregate", "batch not committed: %s; re-seeking to the "
				 "stored offsets",
		    errbuf);
	return 1;
}

/*
 * Seeks to the stored offsets. Until that is done, no batch may be
 * applied: one read past dropped messages would pass the guard where
 * nothing was committed, and skip them; commit_batch() tries again.
 */
static void
reseek(struct app *app)
{
	char errbuf[512];

	app->reseek_pending = source_reseek(&app->src, errbuf,
					    sizeof(errbuf)) != 0;
	if (app->reseek_pending)
		kx_log_error("aggregate", "cannot re-seek: %s", errbuf);
}

/* The move of p's partition in moves, added unmoved when not there yet. */
static struct offset_move *
move_for(struct offset_move *moves, size_t *n, const struct part *p)
{
	size_t j;

	for (j = 0; j < *n; j++)
		if (moves[j].partition == p->partition &&
		    !strcmp(moves[j].topic, p->topic))
			return &moves[j];
	moves[j].topic = p->topic;
	moves[j].partition = p->partition;
	moves[j].expected = moves[j].next = p->expected;
	(*n)++;
	return &moves[j];
}

/*
 * Waits for every batch in flight. Returns 0 when all committed; when one
 * did not (or lost says one before them did not), re-seeks to the stored
 * offsets and returns 1 (whatever was read past them is stale); or KX_EDB.
 */
static int
settle_all(struct app *app, int lost)
{
	int rc;

	while (app->n_inflight) {
		if ((rc = settle_one(app)) < 0)
			return rc;
		lost |= rc;
	}
	if (lost)
		reseek(app);
	return lost;
}

/*
 * Drops the open transaction after a failure that rolled it back: its
 * earlier batches are gone from memory, so the consumer re-seeks to the
 * stored offsets and reads them again, waiting with backoff while the
 * database cannot say where those are. Returns KX_EFENCED (the batch in
 * hand is dropped with it), KX_EINTR when stopping, or KX_EDB.
 */
static int
drop_txn(struct app *app)
{
	long backoff = 100;
	int rc;

	store_abort(app->st);
	app->txn.open = false;
	kx_log_warn("aggregate", "a transaction of %d batches was rolled "
				 "back; re-seeking to the stored offsets to "
				 "read them again",
		    app->txn.batches + 1);
	/* As for a batch refused at commit (settle_one()): a database that
	 * keeps refusing while reachable ends the process. */
	if (store_connected(app->st) && ++app->refused >= 8) {
		kx_log_error("aggregate", "the database refused the "
					  "transaction %d times while "
					  "reachable",
			     app->refused);
		return KX_EDB;
	}
	for (;;) {
		if ((rc = settle_all(app, 0)) < 0)
			return rc;
		/* A batch in flight that committed said the database was
		 * fine; this failure says whether it is now, while the
		 * re-seek may wait for it (/readyz). */
		atomic_store(&app->metrics.db_ok, store_connected(app->st));
		if (!rc)
			reseek(app);
		if (!app->reseek_pending)
			return KX_EFENCED;
		if (stopping)
			return KX_EINTR;
		sleep_ms(backoff);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
}

/* Starts a transaction: its moves begin with the partitions of the batch
 * still in flight, unmoved, so its guard checks that one committed. */
static int
txn_begin(struct app *app, long t0)
{
	struct txn *x = &app->txn;
	struct inflight *f = inflight_newest(app);
	size_t cap = app->src.n_parts + 1;

	if (cap > x->cap) {
		void *r = realloc(x->moves, cap * sizeof(*x->moves));
		if (!r)
			return KX_ENOMEM;
		x->moves = r;
		x->cap = cap;
	}
	x->n_moves = x->n = 0;
	x->batches = 0;
	x->n_new = x->dups = x->rej = 0;
	x->t0 = t0;
	for (size_t i = 0; f && i < f->n_moves; i++) {
		struct part *p = source_part(&app->src, f->moves[i].topic,
					     f->moves[i].partition);
		if (p)
			move_for(x->moves, &x->n_moves, p);
	}
	fold_reset(&app->fold);
	return 0;
}

/*
 * Applies the batch to the open transaction, or to a new one, and with
 * last ends that transaction (sends its commit). The first batch of a
 * transaction is retried on database errors with backoff for as long as
 * it takes (nothing is lost: the messages stay in memory and the offsets
 * do not move); a later one's failure drops the transaction (drop_txn()).
 * Returns 0, or KX_EFENCED when the batch must be dropped (a batch before
 * it did not commit, and the consumer re-seeked).
 */
static int
commit_batch(struct app *app, bool last)
{
	struct batch *b = &app->b;
	struct txn *x = &app->txn;
	struct inflight *f;
	long backoff = 100, t0 = kx_mono_us(), n_new = 0;
	char errbuf[1024];
	int rc, refused = 0;

	/* A re-seek that failed: this batch was read from a position that
	 * is not the stored one. Seek now and drop it, or drop it and try
	 * again with the next. */
	if (app->reseek_pending) {
		if (x->open) {
			store_abort(app->st);
			x->open = false;
		}
		if ((rc = settle_all(app, 0)) < 0)
			return rc;
		reseek(app);
		return KX_EFENCED;
	}
	if (!x->open) {
		/* A session must be free: the older of two batches in
		 * flight is waited for. If it did not commit, this one was
		 * read past it. */
		while (app->n_inflight >= 2) {
			if ((rc = settle_one(app)) < 0)
				return rc;
			if (rc)
				return settle_all(app, 1) < 0 ? KX_EDB
							      : KX_EFENCED;
		}
		if ((rc = txn_begin(app, t0)))
			return rc;
	}
	/* Only partitions this instance owns may be applied: each needs its
	 * offset guard. (A revoke clears the batch, so this drops nothing in
	 * practice; it keeps the invariant local.) Messages come in runs of
	 * one partition, so its lookups are kept for the next message. */
	{
		const char *topic = NULL;
		int32_t partition = -1;
		struct offset_move *mv = NULL;
		size_t k = 0;

		for (size_t i = 0; i < b->n; i++) {
			struct msg *m = &b->msgs[i];
			if (!topic || m->partition != partition ||
			    strcmp(m->topic, topic)) {
				struct part *p = source_part(
					&app->src, m->topic, m->partition);
				topic = m->topic;
				partition = m->partition;
				mv = p ? move_for(x->moves, &x->n_moves, p)
				       : NULL;
			}
			if (!mv)
				continue;
			if (m->offset + 1 > mv->next)
				mv->next = m->offset + 1;
			b->msgs[k++] = *m;
		}
		b->n = k;
	}

	for (;;) {
		rc = store_resolve_parties(app->st, b->msgs, b->n, &b->arena,
					   errbuf, sizeof(errbuf));
		if (!rc) {
			if (!x->open)
				fold_reset(&app->fold);
			rc = store_apply(app->st, b->msgs, b->n, x->moves,
					 x->n_moves, &app->fold, last, &n_new,
					 errbuf, sizeof(errbuf));
		}
		if (!rc)
			break;
		atomic_fetch_add(&app->metrics.db_errors, 1);
		atomic_store(&app->metrics.db_ok, store_connected(app->st));
		if (x->open) {
			kx_log_warn("aggregate", "batch not applied: %s",
				    errbuf);
			return drop_txn(app);
		}
		if (stopping) {
			/* Nothing is lost: the offsets did not move, so the
			 * next run reads this batch again. */
			kx_log_warn("aggregate",
				    "stopping with an uncommitted batch of %zu "
				    "messages; it will be read again",
				    b->n);
			return KX_EINTR;
		}
		/* Whatever failed here may have failed the batch in flight
		 * too: if it did not commit, this one is dropped. */
		if ((rc = settle_all(app, 0)))
			return rc < 0 ? rc : KX_EFENCED;
		/* An unreachable database is waited for as long as it takes.
		 * A batch the server keeps refusing while reachable (a bug, or
		 * a schema out of step) is retried a few times in case it was
		 * a deadlock or a lock timeout, then the process exits so the
		 * supervisor restarts it and the failure is seen, instead of
		 * stalling silently. */
		if (store_connected(app->st) && ++refused >= 8) {
			kx_log_error("aggregate",
				     "the database refused the batch %d times "
				     "while reachable: %s",
				     refused, errbuf);
			return KX_EDB;
		}
		kx_log_warn("aggregate", "batch not committed: %s; retrying in "
					 "%ld ms",
			    errbuf, backoff);
		/* No polling meanwhile: that would hand out messages past
		 * the batch. If the outage outlasts max.poll.interval.ms the
		 * group moves on; the next poll then revokes, and the stored
		 * offsets tell the new owner where to start. */
		sleep_ms(backoff);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
	x->batches++;
	x->n += b->n;
	x->n_new += n_new;
	for (size_t i = 0; i < b->n; i++) {
		x->rej += !b->msgs[i].ev;
		x->dups += b->msgs[i].ev && b->msgs[i].dup;
	}
	if (!last) {
		x->open = true;
		return 0;
	}
	x->open = false;
	/* Sent: the next transaction builds on these offsets. Should this
	 * one not commit after all, settle_one() says so and the consumer
	 * re-seeks; the guard refuses anything built on them meanwhile. */
	for (size_t j = 0; j < x->n_moves; j++) {
		struct part *p = source_part(&app->src, x->moves[j].topic,
					     x->moves[j].partition);
		if (p)
			p->expected = x->moves[j].next;
	}
	f = &app->inflight[(app->inflight_head + app->n_inflight) % 2];
	app->n_inflight++;
	if ((rc = inflight_set(f, x->moves, x->n_moves)))
		return rc;
	f->n = x->n;
	f->n_new = x->n_new;
	f->dups = x->dups;
	f->rej = x->rej;
	f->t0 = x->t0;
	atomic_store(&app->metrics.lag, source_lag(&app->src));
	return 0;
}

/*
 * What /readyz says. PostgreSQL: a batch's own queries tell, so "SELECT 1"
 * is sent only while no message arrives (nothing else would notice that it
 * went away). Kafka: nothing says that it came back, not even a message,
 * which may have been fetched before the broker went down and waited in
 * librdkafka's queue. So Kafka is probed with a metadata request (at most
 * 1 s) while it is down or an error came since the last probe, idle or
 * not. Returns whether it probed anything.
 */
static bool
probe(struct app *app, bool idle)
{
	bool kafka = !app->src.kafka_ok || app->src.kafka_suspect;
	char errbuf[512];

	if (!idle && !kafka)
		return false;
	if (idle)
		atomic_store(&app->metrics.db_ok,
			     store_ping(app->st, errbuf, sizeof(errbuf)) == 0);
	if (kafka)
		source_probe(&app->src, 1000);
	atomic_store(&app->metrics.kafka_ok, app->src.kafka_ok);
	return true;
}

/* Events committed so far: new, duplicates and rejected ones. */
static long
committed(struct app *app, long *n_new, long *dups, long *rej)
{
	*n_new = atomic_load(&app->metrics.events_new);
	*dups = atomic_load(&app->metrics.events_duplicate);
	*rej = atomic_load(&app->metrics.rejected);
	return *n_new + *dups + *rej;
}

/*
 * Every --progress-interval seconds, a line on what committed since the
 * last one, so that a long catch-up shows it is moving (nothing when
 * nothing committed: an idle service stays quiet).
 */
static void
log_progress(struct app *app)
{
	long now = kx_mono_us(), n_new, dups, rej, total;
	double secs;

	if (!app->conf->progress_s ||
	    now - app->progress_us < app->conf->progress_s * 1000000L)
		return;
	total = committed(app, &n_new, &dups, &rej);
	secs = (double)(now - app->progress_us) / 1e6;
	if (total != app->progress_total)
		kx_log_info("aggregate",
			    "progress: %ld events committed (%ld new, %ld "
			    "duplicates, %ld rejected), %.0f events/s, lag %ld",
			    total, n_new, dups, rej,
			    (double)(total - app->progress_total) / secs,
			    atomic_load(&app->metrics.lag));
	app->progress_us = now;
	app->progress_total = total;
}

/* The last lines of a run: everything it committed, and where the time
 * went (kx_consumer_seconds_total). */
static void
log_summary(struct app *app)
{
	long n_new, dups, rej, total = committed(app, &n_new, &dups, &rej);
	struct kx_buf steps = KX_BUF_INIT;

	kx_log_info("aggregate",
		    "%ld events committed (%ld new, %ld duplicates, %ld "
		    "rejected) in %ld transactions, %.1f s",
		    total, n_new, dups, rej, atomic_load(&app->metrics.batches),
		    (double)(kx_mono_us() - app->started_us) / 1e6);
	publish_steps(app);
	for (int i = 0; i < STEP__COUNT; i++)
		kx_buf_addf(&steps, "%s%s %.1f s", i ? ", " : "", step_names[i],
			    (double)atomic_load(&app->metrics.step_us[i]) / 1e6);
	if (steps.data)
		kx_log_info("aggregate", "time by step: %s", steps.data);
	kx_buf_release(&steps);
}

static int
run_loop(struct app *app)
{
	struct batch *b = &app->b;
	long last_check = 0, last_probe = 0, last_wake = 0;

	while (!stopping) {
		long deadline = kx_mono_us() + app->conf->batch_ms * 1000L;
		bool idle = true;

		while (b->n < (size_t)app->conf->batch_max && !stopping) {
			long now = kx_mono_us(), left = (deadline - now) / 1000;
			/* Behind (the last batch was full, or this one is half
			 * full): the fetcher is woken whenever the queue runs
			 * low (source_wake()), every 20 ms at most. Not at a
			 * trickle, where the queue never fills and nothing
			 * stops the fetcher. */
			bool behind = app->behind ||
				      b->n >= (size_t)app->conf->batch_max / 2;
			rd_kafka_message_t *m;
			long waited;
			if (left <= 0)
				break;
			waited = store_step_us(app->st)[STEP_WAIT];
			m = rd_kafka_consumer_poll(
				app->src.rk,
				behind && left > 5 ? 5 : (int)left);
			/* A revocation inside the poll waits for the batches
			 * in flight: that is commit_wait's, not the poll's. */
			app->poll_us += kx_mono_us() - now -
					(store_step_us(app->st)[STEP_WAIT] -
					 waited);
			if (behind && now - last_wake > 20000L) {
				source_wake(&app->src);
				last_wake = now;
			}
			/* The revocation rolled back the open transaction
			 * (store_wait()). */
			if (app->src.revoked) {
				batch_clear(b);
				app->txn.open = false;
				app->src.revoked = false;
			}
			/* Partitions the group gave us but whose stored offsets
			 * could not be read would sit unconsumed: exit, so the
			 * supervisor restarts us and the group reassigns. */
			if (app->src.assign_errors)
				return KX_EDB;
			if (!m)
				continue;
			if (m->err) {
				if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
					struct part *p = source_part(
						&app->src,
						rd_kafka_topic_name(m->rkt),
						m->partition);
					if (p)
						p->eof = m->offset;
				} else {
					kx_log_warn("aggregate", "kafka: %s",
						    rd_kafka_message_errstr(m));
				}
				rd_kafka_message_destroy(m);
				continue;
			}
			idle = false;
			if (batch_push(b)) {
				rd_kafka_message_destroy(m);
				return KX_ENOMEM;
			}
			now = kx_mono_us();
			decode(app, m, &b->msgs[b->n - 1]);
			rd_kafka_message_destroy(m);
			app->decode_us += kx_mono_us() - now;
		}
		atomic_store(&app->metrics.kafka_ok, app->src.kafka_ok);
		if (b->n || app->txn.open) {
			struct txn *x = &app->txn;
			/* A transaction goes on while full batches come (the
			 * consumer is behind), up to --txn-max messages. */
			size_t held = x->open ? x->n : 0;
			int batches = x->open ? x->batches : 0;
			bool last = b->n < (size_t)app->conf->batch_max ||
				    held + b->n >= (size_t)app->conf->txn_max ||
				    batches + 1 >= STORE_TXN_BATCHES ||
				    stopping || app->test_commit_delay_ms > 0;
			int rc;
			/* Test hook: hold a collected batch before committing,
			 * so a fault test can freeze the process at the one
			 * moment a zombie is dangerous. */
			if (app->test_commit_delay_ms > 0 && b->n) {
				kx_log_info("aggregate",
					    "test hook: holding a batch of %zu "
					    "messages for %ld ms",
					    b->n, app->test_commit_delay_ms);
				sleep_ms(app->test_commit_delay_ms);
			}
			app->behind = b->n >= (size_t)app->conf->batch_max;
			rc = commit_batch(app, last);
			batch_clear(b);
			/* Give freed pages back, librdkafka's threads' arenas
			 * included: fetch buffers come and go in every batch. */
			malloc_trim(0);
			if (rc == KX_EINTR)
				return 0;
			if (rc && rc != KX_EFENCED)
				return rc;
		}
		if (kx_mono_us() - last_probe > 2000000L && probe(app, idle))
			last_probe = kx_mono_us();
		log_progress(app);
		/* Nothing came: let the batches in flight finish, so their
		 * offsets reach Kafka and a refusal is seen now. */
		if (idle && app->n_inflight) {
			int rc = settle_all(app, 0);
			if (rc < 0)
				return rc;
		}
		/* The stored offsets say what committed; batches still in
		 * flight are waited for by run(). */
		if (app->conf->until_caught_up && !app->txn.open &&
		    (idle || kx_mono_us() - last_check > 1000000L)) {
			last_check = kx_mono_us();
			if (caught_up(app)) {
				kx_log_info("aggregate", "caught up");
				return 0;
			}
		}
		publish_steps(app);
	}
	return 0;
}

/* Runs the batch loop, then waits for the last batches to commit. */
static int
run(struct app *app)
{
	int rc = run_loop(app), last = settle_all(app, 0);

	/* A last batch that did not commit was logged: the next run reads
	 * it again from the stored offsets. */
	return rc ? rc : last < 0 ? last : 0;
}

static int
setup(struct app *app, char *errbuf, size_t errlen)
{
	struct config *c = app->conf;
	rd_kafka_conf_t *kconf;
	rd_kafka_resp_err_t err;
	char rkerr[256];

	if (!(app->codec = kx_codec_new(errbuf, errlen)))
		return KX_ESCHEMA;
	if (c->schema_registry && *c->schema_registry) {
		if (!(app->registry = kx_registry_new(c->schema_registry,
						      errbuf, errlen)))
			return KX_ECONFIG;
		kx_codec_set_resolver(app->codec, kx_registry_fetch,
				      app->registry);
	}
	if (!(app->st = store_new(c->db, c->group))) {
		snprintf(errbuf, errlen, "out of memory");
		return KX_ENOMEM;
	}
	if (store_ping(app->st, errbuf, errlen))
		return KX_EDB;
	atomic_store(&app->metrics.db_ok, 1);
	if (!(kconf = kx_kafka_conf_new(c->brokers, consumer_defaults,
					&c->props, errbuf, errlen)))
		return KX_ECONFIG;
	if (rd_kafka_conf_set(kconf, "group.id", c->group, rkerr,
			      sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
		snprintf(errbuf, errlen, "'group': %s", rkerr);
		rd_kafka_conf_destroy(kconf);
		return KX_ECONFIG;
	}
	if (source_init(&app->src, kconf, app->st, c->topic_prefix, errbuf,
			errlen))
		return KX_EKAFKA;
	/* Creating the consumer contacts no broker: ask one, so that a start
	 * with Kafka unreachable fails (and a supervisor retries it). */
	if ((err = source_probe(&app->src, 10000))) {
		snprintf(errbuf, errlen, "cannot reach Kafka at '%s': %s",
			 c->brokers, rd_kafka_err2str(err));
		return KX_EKAFKA;
	}
	atomic_store(&app->metrics.kafka_ok, 1);
	if (c->check || c->until_caught_up) {
		int rc = source_high_watermarks(&app->src, &app->ends,
						&app->n_ends, errbuf, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct config conf = {0};
	struct kx_strv args = {0};
	struct app app;
	struct sigaction sa;
	enum kx_log_level level;
	void *http = NULL;
	char errbuf[1024];
	int rc, status = 2;

	memset(&app, 0, sizeof(app));
	app.conf = &conf;
	fold_init(&app.fold);
	kx_arena_init(&app.b.arena);
	if (!kx_conf_start(options, &conf, argc, argv, &args, "kx-aggregate",
			   KX_VERSION, usage, &status))
		goto out;
	if (conf.dump_config) {
		kx_conf_example(stdout, options);
		status = 0;
		goto out;
	}
	if (args.n) {
		fprintf(stderr, "kx-aggregate: unexpected argument '%s' (see "
				"--help)\n",
			args.v[0]);
		goto out;
	}
	if (kx_log_level_parse(conf.log_level, &level)) {
		fprintf(stderr, "kx-aggregate: 'log-level': '%s' is not one of "
				"error, warn, info, debug\n",
			conf.log_level);
		goto out;
	}
	/* A bad address is a config error, also for --check. */
	if (conf.http && *conf.http &&
	    http_check_addr(conf.http, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "kx-aggregate: %s\n", errbuf);
		goto out;
	}
	kx_log_set_level(level);
	kx_codec_global_init();
	if (getenv("KX_TEST_COMMIT_DELAY_MS"))
		app.test_commit_delay_ms =
			strtol(getenv("KX_TEST_COMMIT_DELAY_MS"), NULL, 10);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN; /* logs go to stderr: nothing to reopen */
	sigaction(SIGHUP, &sa, NULL);

	if (setup(&app, errbuf, sizeof(errbuf))) {
		kx_log_error("aggregate", "%s", errbuf);
		goto out;
	}
	if (conf.check) {
		printf("kx-aggregate: config ok, PostgreSQL ok, Kafka ok (%zu "
		       "partitions)\n",
		       app.n_ends);
		status = 0;
		goto out;
	}
	if (conf.http && *conf.http &&
	    !(http = http_start(conf.http, &app.metrics, errbuf,
				sizeof(errbuf)))) {
		kx_log_error("aggregate", "%s", errbuf);
		goto out;
	}
	kx_log_info("aggregate", "started: group '%s', batches of up to %ld "
				 "messages or %ld ms",
		    conf.group, conf.batch_max, conf.batch_ms);
	app.started_us = app.progress_us = kx_mono_us();
	rc = run(&app);
	log_summary(&app);
	if (rc) {
		kx_log_error("aggregate", "stopping: %s", kx_strerror(rc));
		status = 1;
	} else {
		kx_log_info("aggregate", "stopped");
		status = 0;
	}
out:
	http_stop(http);
	batch_clear(&app.b);
	free(app.b.msgs);
	kx_arena_release(&app.b.arena);
	for (int i = 0; i < 2; i++) {
		inflight_clear(&app.inflight[i]);
		free(app.inflight[i].moves);
	}
	if (app.src.rk)
		source_release(&app.src);
	free(app.ends);
	free(app.txn.moves);
	store_free(app.st);
	kx_registry_free(app.registry);
	kx_codec_free(app.codec);
	fold_release(&app.fold);
	kx_strv_release(&args);
	kx_conf_release(options, &conf);
	return status;
}
