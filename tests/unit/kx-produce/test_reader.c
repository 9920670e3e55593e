/*
 * Tests of kx-produce's reader thread (producers/kx-produce/reader.c):
 * results come back in input order across batches, with the line numbers
 * and reasons of the one-thread path, and the thread stops cleanly
 * however the main thread leaves it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above first. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "kx/codec.h"
#include "kx/err.h"
#include "kx/event.h"
#include "kx/schema.h"
#include "reader.h"
#include "../text_file.h"

#define GOOD                                                                   \
	"{\"event_id\":\"3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b\","             \
	"\"event_type\":\"pairing.proposed\","                                \
	"\"occurred_at\":\"2025-03-14T09:30:00+01:00\","                      \
	"\"source\":\"iurc-crm\",\"programme\":\"IURC\",\"sdgs\":[\"11\"],"  \
	"\"pairing_id\":\"P-%d\",\"cooperation_type\":\"trio\","              \
	"\"members\":[{\"name\":\"Lille\",\"country\":\"FR\","                \
	"\"kind\":\"city\",\"eu\":true}]}"

struct fixture {
	struct kx_codec *codec;
	int32_t id[KX_FAMILY__COUNT];
	atomic_int stop;
	char err[256];
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->codec = kx_codec_new(fx->err, sizeof(fx->err));
	assert_non_null(fx->codec);
	for (int f = 0; f < KX_FAMILY__COUNT; f++)
		fx->id[f] = kx_schema_latest(f)->id;
	atomic_init(&fx->stop, 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	kx_codec_free(fx->codec);
	free(fx);
	return 0;
}

/* Every item of a run, flattened. */
struct seen {
	enum reader_kind kind;
	long lineno;
	char key[32];
	char text[1100];
	size_t valuelen;
};

static size_t
drain(struct reader *rd, struct seen *out, size_t max, int *rc)
{
	struct reader_batch *b;
	size_t n = 0;

	*rc = 0;
	while ((b = reader_next(rd))) {
		bool last = b->last;

		for (size_t i = 0; i < b->n; i++) {
			const struct reader_item *it = &b->item[i];
			const char *d = b->data.data;

			assert_true(n < max);
			out[n].kind = it->kind;
			out[n].lineno = it->lineno;
			out[n].key[0] = out[n].text[0] = '\0';
			out[n].valuelen = 0;
			if (it->kind == READER_EVENT) {
				assert_true(it->keylen < sizeof(out[n].key));
				memcpy(out[n].key, d + it->key, it->keylen);
				out[n].key[it->keylen] = '\0';
				out[n].valuelen = it->valuelen;
				/* Confluent framing: magic byte, schema id. */
				assert_int_equal(d[it->value], 0);
			}
			if (it->textlen) {
				assert_true(it->textlen < sizeof(out[n].text));
				memcpy(out[n].text, d + it->text, it->textlen);
				out[n].text[it->textlen] = '\0';
			}
			n++;
		}
		if (last)
			*rc = b->rc;
		reader_release(rd, b);
		if (last)
			break;
	}
	return n;
}

static void
test_reader__results_in_input_order(void **state)
{
	struct fixture *fx = *state;
	char line[1024], *text = NULL;
	size_t len = 0, n;
	struct seen *seen = calloc(3000, sizeof(*seen));
	struct reader *rd;
	FILE *mem = open_memstream(&text, &len), *fp;
	long expect = 0;
	int rc;

	assert_non_null(seen);
	/* 2,000 lines across many batches: every 7th bad, every 50th blank. */
	for (int i = 1; i <= 2000; i++) {
		if (i % 50 == 0)
			fputs("  \n", mem);
		else if (i % 7 == 0)
			fputs("{\"event_id\":\n", mem);
		else {
			snprintf(line, sizeof(line), GOOD "\n", i);
			fputs(line, mem);
		}
	}
	fclose(mem);
	fp = text_file(text, len);
	rd = reader_start(fp, fx->codec, fx->id, true, &fx->stop);
	assert_non_null(rd);
	n = drain(rd, seen, 3000, &rc);
	reader_finish(rd);
	assert_int_equal(rc, 0);
	assert_int_equal(n, 2000 - 40);
	for (size_t i = 0; i < n; i++) {
		do
			expect++;
		while (expect % 50 == 0);
		assert_int_equal(seen[i].lineno, expect);
		if (expect % 7 == 0) {
			assert_int_equal(seen[i].kind, READER_REJECT);
			assert_string_equal(seen[i].text,
					    "invalid JSON at column 12: unexpected "
					    "token near end of file");
		} else {
			assert_int_equal(seen[i].kind, READER_EVENT);
			snprintf(line, sizeof(line), "P-%ld", expect);
			assert_string_equal(seen[i].key, line);
			snprintf(line, sizeof(line), GOOD, (int)expect);
			assert_string_equal(seen[i].text, line);
			assert_true(seen[i].valuelen > 5);
		}
	}
	fclose(fp);
	free(text);
	free(seen);
}

/* Without keep_lines an event carries no line; a long line is rejected. */
static void
test_reader__no_lines_kept_and_long_lines(void **state)
{
	struct fixture *fx = *state;
	size_t big = KX_LINE_MAX + 10, n;
	char *text = malloc(big + 2048);
	struct seen seen[4];
	struct reader *rd;
	FILE *fp;
	int rc, at;

	assert_non_null(text);
	at = snprintf(text, 2048, GOOD "\n", 1);
	memset(text + at, 'x', big);
	text[at + big] = '\n';
	at += (int)big + 1;
	at += snprintf(text + at, 1024, GOOD, 3);
	fp = text_file(text, (size_t)at);
	rd = reader_start(fp, fx->codec, fx->id, false, &fx->stop);
	assert_non_null(rd);
	n = drain(rd, seen, 4, &rc);
	reader_finish(rd);
	assert_int_equal(n, 3);
	assert_int_equal(seen[0].kind, READER_EVENT);
	assert_string_equal(seen[0].text, "");
	assert_int_equal(seen[1].kind, READER_REJECT);
	assert_int_equal(seen[1].lineno, 2);
	assert_string_equal(seen[1].text, "line is longer than 1048576 bytes");
	assert_int_equal(seen[2].kind, READER_EVENT);
	assert_int_equal(seen[2].lineno, 3);
	fclose(fp);
	free(text);
}

/* With the stop flag set it reads nothing and says so at once. */
static void
test_reader__stop_flag(void **state)
{
	struct fixture *fx = *state;
	static const char text[] = GOOD "\n";
	struct seen seen[2];
	struct reader *rd;
	FILE *fp = text_file(text, sizeof(text) - 1);
	int rc;

	atomic_store(&fx->stop, 1);
	rd = reader_start(fp, fx->codec, fx->id, true, &fx->stop);
	assert_non_null(rd);
	assert_int_equal(drain(rd, seen, 2, &rc), 0);
	reader_finish(rd);
	atomic_store(&fx->stop, 0);
	fclose(fp);
}

/* The main thread may leave after one batch: finish still ends it. */
static void
test_reader__finish_early(void **state)
{
	struct fixture *fx = *state;
	char line[1024], *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len), *fp;
	struct reader_batch *b;
	struct reader *rd;

	for (int i = 0; i < 20000; i++) {
		snprintf(line, sizeof(line), GOOD "\n", i);
		fputs(line, mem);
	}
	fclose(mem);
	fp = text_file(text, len);
	rd = reader_start(fp, fx->codec, fx->id, true, &fx->stop);
	assert_non_null(rd);
	b = reader_next(rd);
	assert_non_null(b);
	assert_true(b->n > 0);
	reader_release(rd, b);
	reader_finish(rd);
	fclose(fp);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader__results_in_input_order),
		cmocka_unit_test(test_reader__no_lines_kept_and_long_lines),
		cmocka_unit_test(test_reader__stop_flag),
		cmocka_unit_test(test_reader__finish_early),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
