/*
 * The Kafka side of kx-aggregate: a consumer-group member on the three KX
 * topics whose start positions come from PostgreSQL, never from Kafka's
 * committed offsets (those are written only for lag tools).
 *
 * Partition bookkeeping: for each assigned partition, the stored next
 * offset the next batch builds on ("expected"), which the offset guard
 * compares with the database.
 */
#ifndef KX_AGGREGATE_SOURCE_H
#define KX_AGGREGATE_SOURCE_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct part {
	char topic[256];
	int32_t partition;
	int64_t expected; /* -1: no stored offset yet */
	int64_t eof;      /* offset of the last partition EOF seen, or -1 */
};

struct source {
	rd_kafka_t *rk;
	struct store *st;
	char *prefix;
	struct part *parts;
	size_t n_parts;
	bool revoked;           /* a revoke happened: drop the batch */
	rd_kafka_topic_t *probe_rkt; /* what source_probe() asks about */
	int kafka_ok;           /* a broker answered the last probe */
	int kafka_suspect;      /* an error since: probe again */
	int assign_errors;
	rd_kafka_queue_t *wakeq; /* where source_wake()'s answers land */
	bool wake_out;           /* one of them is outstanding */
	rd_kafka_queue_t *consumer_q; /* the prefetched messages */
	size_t low_mark;         /* queued.min.messages */
};

/*
 * Creates the consumer (Ownership: takes conf) and subscribes to the
 * prefix's three topics. Returns 0, or KX_EKAFKA with a reason in errbuf.
 */
int source_init(struct source *src, rd_kafka_conf_t *conf, struct store *st,
		const char *prefix, char *errbuf, size_t errlen);
void source_release(struct source *src);

/*
 * Asks the brokers for one subscribed topic's metadata, waiting up to
 * timeout_ms: an answer proves Kafka reachable. Sets kafka_ok, clears
 * kafka_suspect; returns 0 or librdkafka's error.
 */
rd_kafka_resp_err_t source_probe(struct source *src, int timeout_ms);

/* The partition's bookkeeping, or NULL when not assigned. */
struct part *source_part(struct source *src, const char *topic,
			 int32_t partition);

/*
 * Re-reads the stored offsets of every assigned partition and seeks to
 * them (after the offset guard fenced a batch).
 */
int source_reseek(struct source *src, char *errbuf, size_t errlen);

/* Commits offsets to Kafka asynchronously, for lag tools only. */
void source_commit_async(struct source *src,
			 const struct offset_move *moves, size_t n);

/*
 * Keeps librdkafka's fetcher fetching, without waiting for anything.
 * librdkafka 2.0.2 stops fetching while its queue holds queued.min.messages
 * (or queued.max.messages.kbytes), and decides again only when a broker's
 * thread wakes: on I/O, or once a second. A consumer that drains the queue
 * sooner starves for the rest of that second. When the queue has fallen
 * under queued.min.messages, this wakes the brokers' threads with I/O: an
 * asynchronous ListConsumerGroups, which librdkafka sends to every broker,
 * unless the last one has not been answered yet. Its answer is dropped by
 * the next call, or by source_release().
 */
void source_wake(struct source *src);

/* Sum over assigned partitions of high watermark - expected (cached). */
long source_lag(struct source *src);

/*
 * Fills the high watermarks of every partition of the three topics (for
 * --until-caught-up). *out is malloc'd. Returns 0 or KX_EKAFKA.
 */
int source_high_watermarks(struct source *src, struct part **out, size_t *n,
			   char *errbuf, size_t errlen);

#endif
