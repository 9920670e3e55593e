/*
 * The JSON Lines reader of kx-produce: a second thread that reads,
 * parses, validates and encodes the lines of one input, and hands the
 * results to the main thread in batches, in input order. The main thread
 * keeps everything a user sees (counts, rejects, progress, sending, the
 * closing line), so those stay exactly as with one thread: the reader
 * only moves the CPU work of parsing and encoding off the thread that
 * feeds librdkafka.
 *
 * SIGINT and SIGTERM must be blocked in the calling thread while a reader
 * runs (see main.c): the reader thread takes them, so that a read blocked
 * on a pipe is cut short as it was before.
 */
#ifndef KX_PRODUCE_READER_H
#define KX_PRODUCE_READER_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kx/buf.h"
#include "kx/codec.h"
#include "kx/event.h"

#define READER_BATCH 256

enum reader_kind {
	READER_EVENT,  /* a valid line, encoded */
	READER_REJECT, /* an invalid line, with its reason */
	READER_FAIL    /* a valid line that could not be encoded: stop */
};

/* Offsets into the batch's data, which may move while it fills. */
struct reader_item {
	enum reader_kind kind;
	enum kx_family family;
	long lineno;
	size_t key, keylen;     /* READER_EVENT: the message key */
	size_t value, valuelen; /* READER_EVENT: the framed Avro value */
	size_t text, textlen;   /* the line (READER_EVENT, when kept) or
				 * the reason (READER_REJECT, READER_FAIL) */
};

struct reader_batch {
	struct reader_item item[READER_BATCH];
	size_t n;
	struct kx_buf data; /* every item's bytes, NUL-free offsets */
	bool last;          /* no batch follows this one */
	int rc;             /* with last: 0, or the read error (KX_E*) */
	char reason[512];   /* with rc: what to log */
};

struct reader;

/*
 * Starts a reader thread on fp (named name in reasons). It encodes with
 * codec and schema_id[family], which it uses alone until reader_finish().
 * keep_lines: copy each valid line into its item (for --failed). The
 * reader stops early once *stop is set. Returns NULL when out of memory
 * or when the thread cannot start.
 */
struct reader *reader_start(FILE *fp, struct kx_codec *codec,
			    const int32_t *schema_id, bool keep_lines,
			    const atomic_int *stop);

/*
 * Returns the next batch, waiting for it; NULL after the last one. Give
 * each batch back with reader_release() before asking for the next.
 */
struct reader_batch *reader_next(struct reader *rd);
void reader_release(struct reader *rd, struct reader_batch *b);

/* Stops the thread if it still runs, waits for it and frees rd. */
void reader_finish(struct reader *rd);

#endif
