/*
 * The reader thread: lines in, encoded events and rejects out, in batches
 * through two queues. Batches go round: the thread takes an empty one from
 * `empty`, fills it and puts it on `full`; the main thread takes it from
 * `full`, uses it and gives it back to `empty`. So memory is bounded by
 * the batch count, and steady work allocates nothing.
 *
 * A batch is handed over when it is full, and also as soon as the line
 * reader has nothing left in its buffer: the next read(2) may wait on a
 * pipe, and lines already read must not wait with it (a trickle on stdin
 * is sent line by line, as before).
 */
/* For pthread_setname_np(). */
#define _GNU_SOURCE

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kx/arena.h"
#include "kx/err.h"
#include "kx/event_fast.h"
#include "kx/lines.h"
#include "kx/queue.h"
#include "reader.h"

/* The main thread holds one, the reader fills one, the rest wait full. */
#define BATCHES 8

struct reader {
	pthread_t thread;
	struct kx_lines lr;
	struct kx_arena arena;
	struct kx_codec *codec;
	const int32_t *schema_id;
	bool keep_lines;
	const atomic_int *stop;
	atomic_bool quit; /* the main thread wants no more */
	struct kx_queue *empty, *full;
	struct reader_batch *batch[BATCHES];
};

static bool
blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/* Adds text and its NUL; returns 0 or KX_ENOMEM. */
static int
add_text(struct reader_batch *b, struct reader_item *it, const char *text,
	 size_t len)
{
	it->text = b->data.len;
	it->textlen = len;
	return kx_buf_add(&b->data, text, len) ||
			       kx_buf_add(&b->data, "", 1)
		       ? KX_ENOMEM
		       : 0;
}

static int
add_reject(struct reader_batch *b, long lineno, const char *reason)
{
	struct reader_item *it = &b->item[b->n];

	it->kind = READER_REJECT;
	it->lineno = lineno;
	if (add_text(b, it, reason, strlen(reason)))
		return KX_ENOMEM;
	b->n++;
	return 0;
}

/* Encodes ev into b; on a failure the item is a READER_FAIL. */
static int
add_event(struct reader *rd, struct reader_batch *b, const struct kx_event *ev,
	  const char *line, size_t len)
{
	struct reader_item *it = &b->item[b->n];
	const char *key = kx_event_key(ev);
	char errbuf[512], reason[600];
	int rc;

	it->kind = READER_EVENT;
	it->lineno = rd->lr.lineno;
	it->family = kx_event_type_family(ev->type);
	it->key = b->data.len;
	it->keylen = strlen(key);
	if (kx_buf_add(&b->data, key, it->keylen))
		return KX_ENOMEM;
	it->value = b->data.len;
	rc = kx_codec_encode(rd->codec, ev, rd->schema_id[it->family],
			     &b->data, errbuf, sizeof(errbuf));
	if (rc) {
		it->kind = READER_FAIL;
		snprintf(reason, sizeof(reason), "cannot encode event '%s': %s",
			 ev->event_id, errbuf);
		b->rc = rc;
		if (add_text(b, it, reason, strlen(reason)))
			return KX_ENOMEM;
		b->n++;
		return rc;
	}
	it->valuelen = b->data.len - it->value;
	it->text = it->textlen = 0;
	if (rd->keep_lines && add_text(b, it, line, len))
		return KX_ENOMEM;
	b->n++;
	return 0;
}

static void
fail(struct reader_batch *b, int rc, const char *reason)
{
	b->rc = rc;
	snprintf(b->reason, sizeof(b->reason), "%s", reason);
}

/* Fills b; returns true when the input has ended or reading must stop. */
static bool
fill(struct reader *rd, struct reader_batch *b)
{
	char errbuf[512];
	const char *line;
	size_t len;
	int rc;

	/* Hand over what is here before a read that may wait. */
	while (b->n < READER_BATCH &&
	       !(b->n > 0 && rd->lr.rpos == rd->lr.rlen)) {
		struct kx_event ev;

		if (*rd->stop || atomic_load(&rd->quit))
			return true;
		rc = kx_lines_next(&rd->lr, &line, &len);
		if (rc == KX_EEOF)
			return true;
		if (rc == KX_ETOOLONG) {
			if (add_reject(b, rd->lr.lineno,
				       "line is longer than 1048576 bytes"))
				goto nomem;
			continue;
		}
		/* A signal cut a blocking read (a pipe): stop here. */
		if (rc == KX_EIO && *rd->stop)
			return true;
		if (rc) {
			fail(b, rc, rc == KX_EIO ? strerror(errno)
						 : kx_strerror(rc));
			return true;
		}
		if (blank(line, len))
			continue;
		kx_arena_reset(&rd->arena);
		if (kx_event_fast_parse_line(line, len, &rd->arena, &ev, errbuf,
					     sizeof(errbuf))) {
			if (add_reject(b, rd->lr.lineno, errbuf))
				goto nomem;
			continue;
		}
		rc = add_event(rd, b, &ev, line, len);
		if (rc == KX_ENOMEM)
			goto nomem;
		if (rc)
			return true;
	}
	return false;
nomem:
	fail(b, KX_ENOMEM, kx_strerror(KX_ENOMEM));
	return true;
}

static void *
run(void *arg)
{
	struct reader *rd = arg;
	struct reader_batch *b;
	sigset_t set;
	bool last = false;

	/* This thread takes SIGINT and SIGTERM (see reader.h). */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!last && (b = kx_queue_pop(rd->empty))) {
		b->n = 0;
		b->rc = 0;
		b->reason[0] = '\0';
		kx_buf_reset(&b->data);
		last = b->last = fill(rd, b);
		/* Never waits: `full` has room for every batch. */
		kx_queue_push(rd->full, b);
	}
	kx_queue_close(rd->full);
	return NULL;
}

static void
destroy(struct reader *rd)
{
	for (int i = 0; i < BATCHES; i++) {
		if (rd->batch[i])
			kx_buf_release(&rd->batch[i]->data);
		free(rd->batch[i]);
	}
	kx_queue_free(rd->empty);
	kx_queue_free(rd->full);
	kx_lines_release(&rd->lr);
	kx_arena_release(&rd->arena);
	free(rd);
}

struct reader *
reader_start(FILE *fp, struct kx_codec *codec, const int32_t *schema_id,
	     bool keep_lines, const atomic_int *stop)
{
	struct reader *rd = calloc(1, sizeof(*rd));

	if (!rd)
		return NULL;
	kx_lines_init(&rd->lr, fp, KX_LINE_MAX);
	kx_arena_init(&rd->arena);
	rd->codec = codec;
	rd->schema_id = schema_id;
	rd->keep_lines = keep_lines;
	rd->stop = stop;
	atomic_init(&rd->quit, false);
	if (!(rd->empty = kx_queue_new(BATCHES)) ||
	    !(rd->full = kx_queue_new(BATCHES)))
		goto fail;
	for (int i = 0; i < BATCHES; i++) {
		if (!(rd->batch[i] = calloc(1, sizeof(*rd->batch[i]))) ||
		    kx_queue_push(rd->empty, rd->batch[i]))
			goto fail;
	}
	if (pthread_create(&rd->thread, NULL, run, rd))
		goto fail;
	/* Named for top -H and perf, beside librdkafka's rdk:* threads. */
	pthread_setname_np(rd->thread, "kx:reader");
	return rd;
fail:
	destroy(rd);
	return NULL;
}

struct reader_batch *
reader_next(struct reader *rd)
{
	return kx_queue_pop(rd->full);
}

void
reader_release(struct reader *rd, struct reader_batch *b)
{
	kx_queue_push(rd->empty, b);
}

void
reader_finish(struct reader *rd)
{
	/*
	 * A reader still going (the main thread stopped early) ends before
	 * its next line. One waiting in read(2) on a pipe was woken by the
	 * signal that stopped the main thread, since it is the thread that
	 * takes it; other early stops (out of memory) wait for that read.
	 */
	atomic_store(&rd->quit, true);
	kx_queue_close(rd->empty);
	pthread_join(rd->thread, NULL);
	destroy(rd);
}
