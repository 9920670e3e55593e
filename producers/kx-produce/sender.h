/*
 * The Kafka side of kx-produce: an idempotent producer that accounts for
 * every message it is given. Each message ends as exactly one of: acked,
 * or written to the failed file. A fatal idempotence error (librdkafka
 * 2.0.2's "sequence desynchronization") rebuilds the producer and re-sends
 * what was not acknowledged.
 */
#ifndef KX_PRODUCE_SENDER_H
#define KX_PRODUCE_SENDER_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "kx/event.h"

struct sender;

struct sender_stats {
	long acked;    /* delivery reports without error */
	long failed;   /* written to the failed file (or counted, if none) */
	long rebuilds; /* producers rebuilt after a fatal error */
};

/*
 * Creates the producer. conf is taken (Ownership: takes conf), and a copy
 * is kept for rebuilds. topics are the three family topic names. failed may
 * be NULL: failures are then only counted and logged. Returns NULL with a
 * reason in errbuf.
 */
struct sender *sender_new(rd_kafka_conf_t *conf, char *const topics[3],
			  FILE *failed, char *errbuf, size_t errlen);

/*
 * Queues one message. line is the event as a JSON line (without newline),
 * kept until delivery so a failure can be written out as it came. Blocks
 * (serving delivery reports) while librdkafka's queue is full. Returns 0,
 * or a negative KX_E* code with a reason in errbuf: KX_EKAFKA once a
 * producer that hit a fatal error could not be rebuilt (the message then
 * went to the failed file, as does every later one).
 */
int sender_send(struct sender *s, enum kx_family family, const char *key,
		size_t keylen, const void *value, size_t len, const char *line,
		size_t linelen, char *errbuf, size_t errlen);

/* Serves delivery reports for up to timeout_ms; handles fatal errors. */
void sender_poll(struct sender *s, int timeout_ms);

/* Messages given but not yet acked or failed. */
long sender_outstanding(const struct sender *s);

/*
 * Makes sender_send() give up waiting for room in a full queue once *stop
 * is set (kx-produce: the second SIGINT or SIGTERM): the message it holds
 * then goes to the failed file instead of blocking until the broker comes
 * back.
 */
void sender_set_stop(struct sender *s, const atomic_int *stop);

/*
 * The level (syslog's: 4 and below are warnings) at which kx-produce logs
 * one of librdkafka's lines: level, except for a retried producer-id
 * request ("GETPID ... retrying"). A broker that has just started is
 * still loading its transaction coordinator when the first idempotent
 * producer asks it for an id, and librdkafka asks again: the first ten
 * such retries, counted in *pid_retries, are info (6); more stay warnings,
 * since the broker is then not coming up.
 */
int sender_log_level(atomic_int *pid_retries, int level, const char *fac,
		     const char *buf);

/*
 * Waits until every message is acked or failed. Once *abort is set (a
 * second SIGINT), purges what is still queued so it goes to the failed
 * file.
 */
void sender_drain(struct sender *s, const atomic_int *abort);

void sender_stats(const struct sender *s, struct sender_stats *st);

/* Destroys the producer; call sender_drain() first. */
void sender_free(struct sender *s);

#endif
