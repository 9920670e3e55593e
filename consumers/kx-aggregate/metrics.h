/*
 * kx-aggregate's counters and gauges, written by the main loop and read by
 * the HTTP thread. Every field is atomic, so no lock is needed and a
 * scrape never stalls a batch.
 */
#ifndef KX_AGGREGATE_METRICS_H
#define KX_AGGREGATE_METRICS_H

#include <stdatomic.h>

/*
 * The steps of the main loop, for kx_consumer_seconds_total: where a
 * consumer's time goes. The batch's last query (the guard, the upserts and
 * COMMIT) runs while the loop goes on, so it has no step of its own: what
 * the loop waits for it is "commit_wait".
 */
enum step {
	STEP_POLL,    /* waiting for and taking messages from librdkafka */
	STEP_DECODE,  /* decoding and validating them */
	STEP_PARTIES, /* resolving parties to ids */
	STEP_HISTORY, /* inserting the batch into kx.events */
	STEP_LOAD,    /* locking and loading entity states */
	STEP_FOLD,    /* the fold, and the cells' ids */
	STEP_WRITE,   /* copying entity rows, deltas and offsets */
	STEP_WAIT,    /* waiting for an earlier batch's last query */
	STEP__COUNT
};

/* The label of each step in kx_consumer_seconds_total. */
extern const char *const step_names[STEP__COUNT];

struct metrics {
	atomic_long events_new;
	atomic_long events_duplicate;
	atomic_long rejected;
	atomic_long batches;
	atomic_long fenced;
	atomic_long db_errors;
	atomic_long lag;
	atomic_long batch_us_sum;    /* total batch latency, microseconds */
	atomic_long batch_le[8];     /* histogram buckets, cumulative */
	atomic_long step_us[STEP__COUNT]; /* microseconds, by step */
	atomic_int kafka_ok;
	atomic_int db_ok;
};

/* Bucket bounds of the batch latency histogram, in seconds. */
extern const double metrics_buckets[8];

void metrics_observe_batch(struct metrics *m, long us);

/*
 * Serves /healthz, /readyz and /metrics on addr ("127.0.0.1:9464" or
 * ":9464") from its own thread. Returns an opaque handle, or NULL with a
 * reason in errbuf.
 */
void *http_start(const char *addr, struct metrics *m, char *errbuf,
		 size_t errlen);
void http_stop(void *handle);

/* Checks an ADDR:PORT for --http without listening: 0, or KX_EINVAL
 * with a reason in errbuf. */
int http_check_addr(const char *addr, char *errbuf, size_t errlen);

#endif
