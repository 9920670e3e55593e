/*
 * The fast path against event_json.c's jansson path: whatever the
 * fast path accepts, jansson accepts too, with the same event and the same
 * Avro bytes; whatever it is unsure of goes to jansson, so every reason is
 * jansson's path's. (test_event_json_fast runs event_json's whole table of
 * lines and reasons through kx_event_fast_parse_line as well.)
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

#include "event_lines.h"
#include "kx/arena.h"
#include "kx/buf.h"
#include "kx/codec.h"
#include "kx/err.h"
#include "kx/event.h"
#include "kx/event_fast.h"
#include "kx/event_json.h"
#include "kx/schema.h"

#define GOOD_PAIRING                                                           \
	"{\"event_id\":\"3F1C2A4E-8b6d-4e2f-9a1b-0c2d3e4f5a6b\","             \
	"\"event_type\":\"pairing.matched\","                                 \
	"\"occurred_at\":\"2025-03-14T09:30:00.25+01:00\","                   \
	"\"source\":\"iurc-crm\",\"programme\":\"IURC\","                     \
	"\"geo_area\":\"LAC\",\"sdgs\":[\"11\",\"11.6\",\"7.a.1\"],"          \
	"\"themes\":[\"circular-economy\"],"                                  \
	"\"pairing_id\":\"P-2025-001\","                                      \
	"\"cooperation_type\":\"bilateral\","                                 \
	"\"members\":[{\"name\":\"São Paulo\",\"country\":\"BR\","           \
	"\"kind\":\"city\",\"eu\":false},{\"name\":\"Lisboa\","               \
	"\"country\":\"PT\",\"kind\":\"city\",\"eu\":true}],"                 \
	"\"pilot_projects\":3}"

static const char *const good[] = {
	GOOD_PAIRING,
	/* v2 fields the fast path reads: budget, report_url, follow_up */
	"{\"event_id\":\"4f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b\","
	"\"event_type\":\"pairing.matched\","
	"\"occurred_at\":\"2025-03-14T09:30:00+01:00\",\"source\":\"crm\","
	"\"programme\":\"IURC\",\"sdgs\":[\"11\"],\"pairing_id\":\"P-9\","
	"\"cooperation_type\":\"bilateral\",\"members\":[{\"name\":\"A\","
	"\"country\":\"PT\",\"kind\":\"city\",\"eu\":true},{\"name\":\"B\","
	"\"country\":\"BR\",\"kind\":\"city\",\"eu\":false}],"
	"\"budget_eur\":1000000000000}",
	"{\"event_id\":\"5f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b\","
	"\"event_type\":\"visit.held\",\"occurred_at\":\"2025-03-14T09:30:00Z\","
	"\"source\":\"crm\",\"programme\":\"IUC\",\"sdgs\":[\"7\"],"
	"\"visit_id\":\"V-9\",\"visit_type\":\"webinar\",\"format\":\"virtual\","
	"\"host\":{\"name\":\"A\",\"country\":\"PT\",\"kind\":\"city\","
	"\"eu\":true},\"visitors\":[{\"name\":\"B\",\"country\":\"BR\","
	"\"kind\":\"city\",\"eu\":false}],\"start_date\":\"2025-03-10\","
	"\"end_date\":\"2025-03-10\",\"participants\":30,"
	"\"report_url\":\"https://r.example.org/V-9\",\"follow_up\":\"pilot\"}",
	/* null as absent, an empty array, escapes, no pilot_projects */
	"  {\"event_id\":\"3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b\","
	"\"event_type\":\"pairing.proposed\",\"geo_area\":null,"
	"\"occurred_at\":\"2025-03-14T09:30:00Z\",\"themes\":null,"
	"\"source\":\"iurc-crm\",\"programme\":\"IURC\",\"sdgs\":[],"
	"\"pairing_id\":\"P-\\\"q\\\"\\/\\u00e5\\u2013\","
	"\"cooperation_type\":\"trio\",\"members\":[{\"name\":"
	"\"Ume\\u00e5\",\"country\":\"SE\",\"kind\":\"region\","
	"\"eu\":true}]}  ",
	LINE_VISIT_HELD,
	"{\"event_id\":\"9d2e4c1a-0b3f-4a5e-8c7d-6e5f4a3b2c1d\","
	"\"event_type\":\"visit.planned\","
	"\"occurred_at\":\"2025-05-02T18:00:00-03:30\","
	"\"source\":\"iurc-crm\",\"programme\":\"RPD\",\"participants\":null,"
	"\"sdgs\":[\"11.2\"],\"visit_id\":\"V-17\",\"visit_type\":\"webinar\","
	"\"format\":\"virtual\",\"host\":{\"name\":\"Київ\","
	"\"country\":\"UA\",\"kind\":\"city\",\"eu\":false},"
	"\"visitors\":[{\"name\":\"北京\",\"country\":\"CN\","
	"\"kind\":\"city\",\"eu\":false},{\"name\":\"X\",\"country\":\"FR\","
	"\"kind\":\"organisation\",\"eu\":true}],"
	"\"start_date\":\"2025-04-28\",\"end_date\":\"2025-04-30\"}",
	"{\"event_id\":\"5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c10\","
	"\"event_type\":\"practice.documented\","
	"\"occurred_at\":\"2025-07-01T10:00:00Z\","
	"\"source\":\"iurc-crm\",\"programme\":\"IURC\","
	"\"sdgs\":[\"11.7\"],\"practice_id\":\"BP-9\","
	"\"title\":\"\\\"Green\\\" roofs \\u00e9\",\"origin\":{\"name\":\"Lyon\","
	"\"country\":\"FR\",\"kind\":\"metropolitan_area\",\"eu\":true},"
	"\"product_type\":\"case_study\"}",
	"{\"event_id\":\"1b2c3d4e-5f60-4172-8394-a5b6c7d8e9f0\","
	"\"event_type\":\"transfer.piloting\","
	"\"occurred_at\":\"2025-08-01T10:00:00Z\","
	"\"source\":\"iurc-crm\",\"programme\":\"IUC\","
	"\"sdgs\":[\"11.7\"],\"themes\":[\"a\",\"b\",\"c\",\"d\",\"e\","
	"\"f\",\"g\",\"h\",\"i\",\"j\"],\"transfer_id\":\"T-1\","
	"\"practice_id\":\"BP-9\",\"adopter\":{\"eu\":false,\"kind\":\"city\","
	"\"country\":\"CL\",\"name\":\"Valparaíso\"}}",
};

/* Lines the fast path must leave to jansson, accepted or not there. */
static const char *const unsure[] = {
	/* a byte order mark */
	"\xef\xbb\xbf{\"event_id\":1}",
	/* \u0000, a lone surrogate, a pair */
	"{\"source\":\"a\\u0000b\"}",
	"{\"source\":\"a\\ud800b\"}",
	"{\"source\":\"a\\ud83d\\ude00b\"}",
	/* a tab and a form feed between tokens */
	"{\t\"source\":\"a\"}",
	"{\f\"source\":\"a\"}",
	/* an unknown field, even a null one; a repeated key */
	"{\"extra\":null}",
	"{\"source\":\"a\",\"source\":\"a\"}",
	"{\"source\":null,\"source\":\"a\"}",
	/* numbers that are not small plain integers */
	"{\"pilot_projects\":-0}",
	"{\"pilot_projects\":1.0}",
	"{\"pilot_projects\":1e2}",
	"{\"pilot_projects\":2147483648}",
	"{\"pilot_projects\":99999999999999999999999}",
	/* not an object, two values, a truncated one */
	"[]",
	"{} {}",
	"{\"source\":\"a\"",
	"",
	/* whole values after the object (cut ones: the regression test) */
	GOOD_PAIRING " 1",
	GOOD_PAIRING " null",
	GOOD_PAIRING "\"x\"",
	GOOD_PAIRING "[",
	GOOD_PAIRING "]",
	GOOD_PAIRING "{",
	GOOD_PAIRING " /* c */",
};

struct fixture {
	struct kx_codec *codec;
	struct kx_arena a, b;
	struct kx_buf va, vb;
	char err[512];
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->codec = kx_codec_new(fx->err, sizeof(fx->err));
	assert_non_null(fx->codec);
	kx_arena_init(&fx->a);
	kx_arena_init(&fx->b);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	kx_codec_free(fx->codec);
	kx_arena_release(&fx->a);
	kx_arena_release(&fx->b);
	kx_buf_release(&fx->va);
	kx_buf_release(&fx->vb);
	free(fx);
	return 0;
}

/*
 * Checks one line both ways. Returns 1 when the fast path accepted it
 * (and then the two events and their Avro bytes must be equal), else 0
 * (and then kx_event_fast_parse_line must give jansson's result).
 */
static int
check_line(struct fixture *fx, const char *line, size_t len)
{
	struct kx_event fast, slow;
	char e1[512] = "", e2[512] = "";
	int rs, rf;
	bool took;

	kx_arena_reset(&fx->a);
	kx_arena_reset(&fx->b);
	rs = kx_event_parse_line(line, len, &fx->b, &slow, e2, sizeof(e2));
	took = kx_event_fast_try(line, len, &fx->a, &fast);
	if (took) {
		enum kx_family f = kx_event_type_family(fast.type);
		int32_t id = kx_schema_latest(f)->id;

		if (rs != 0)
			fail_msg("fast path accepted what jansson rejects "
				 "(%s): %.*s",
				 e2, (int)len, line);
		assert_true(kx_event_equal(&fast, &slow));
		kx_buf_reset(&fx->va);
		kx_buf_reset(&fx->vb);
		assert_int_equal(kx_codec_encode(fx->codec, &fast, id, &fx->va,
						 fx->err, sizeof(fx->err)),
				 0);
		assert_int_equal(kx_codec_encode(fx->codec, &slow, id, &fx->vb,
						 fx->err, sizeof(fx->err)),
				 0);
		assert_int_equal(fx->va.len, fx->vb.len);
		assert_memory_equal(fx->va.data, fx->vb.data, fx->va.len);
		return 1;
	}
	kx_arena_reset(&fx->a);
	rf = kx_event_fast_parse_line(line, len, &fx->a, &fast, e1,
				      sizeof(e1));
	assert_int_equal(rf, rs);
	assert_string_equal(e1, e2);
	return 0;
}

static void
test_event_fast__takes_plain_lines(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!check_line(fx, good[i], strlen(good[i])))
			fail_msg("fast path did not take good[%zu]", i);
	}
}

static void
test_event_fast__leaves_the_unsure_to_jansson(void **state)
{
	struct fixture *fx = *state;
	struct kx_event ev;

	for (size_t i = 0; i < sizeof(unsure) / sizeof(unsure[0]); i++) {
		kx_arena_reset(&fx->a);
		if (kx_event_fast_try(unsure[i], strlen(unsure[i]), &fx->a,
				      &ev))
			fail_msg("fast path took unsure[%zu]", i);
		check_line(fx, unsure[i], strlen(unsure[i]));
	}
}

/*
 * yajl (the fast path's parser before its own scanner) lexed one token
 * after the value in its trailing garbage check and let an unfinished one
 * pass: the fast path took {...}" (found by a mutation corpus through
 * test_event_fast__corpus).
 */
static void
test_event_fast__regression_unfinished_token_after_object(void **state)
{
	static const char *const lines[] = {
		GOOD_PAIRING "\"", GOOD_PAIRING "\"abc}", GOOD_PAIRING " tru",
		GOOD_PAIRING " -",  GOOD_PAIRING "1.",      GOOD_PAIRING "\"\\u00",
	};
	struct fixture *fx = *state;
	struct kx_event ev;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		kx_arena_reset(&fx->a);
		assert_false(kx_event_fast_try(lines[i], strlen(lines[i]),
					       &fx->a, &ev));
		check_line(fx, lines[i], strlen(lines[i]));
	}
}

/*
 * A long string made of escapes, decoded into the arena, must come out as
 * jansson has it (here: a title too long).
 */
static void
test_event_fast__long_escaped_string(void **state)
{
	static const char head[] =
		"{\"event_id\":\"5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c10\","
		"\"event_type\":\"practice.documented\","
		"\"occurred_at\":\"2025-07-01T10:00:00Z\","
		"\"source\":\"iurc-crm\",\"programme\":\"IURC\","
		"\"sdgs\":[\"11.7\"],\"practice_id\":\"BP-9\","
		"\"origin\":{\"name\":\"Lyon\",\"country\":\"FR\","
		"\"kind\":\"city\",\"eu\":true},"
		"\"product_type\":\"case_study\",\"title\":\"";
	struct fixture *fx = *state;
	size_t n = 0, cap = sizeof(head) + 6 * 5000 + 8;
	char *line = malloc(cap);

	assert_non_null(line);
	memcpy(line, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	for (int i = 0; i < 5000; i++) {
		memcpy(line + n, "\\u00e9", 6);
		n += 6;
	}
	memcpy(line + n, "\"}", 2);
	n += 2;
	assert_int_equal(check_line(fx, line, n), 0);
	free(line);
}

/* Replaces the first occurrence of what in GOOD_PAIRING with with. */
static char *
edit_good(const char *what, const char *with)
{
	static char buf[2048];
	const char *at = strstr(GOOD_PAIRING, what);

	assert_non_null(at);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - GOOD_PAIRING),
		 GOOD_PAIRING, with, at + strlen(what));
	return buf;
}

/*
 * The JSON grammar at the places where the fast path could differ from
 * jansson: white space, escapes (in keys too), numbers, literals,
 * separators and nesting, and what jsmn's strict mode still lets through
 * (separators, primitives). Whatever it takes must be jansson's event;
 * whether it takes a line is said where it matters.
 */
static void
test_event_fast__json_edge_cases(void **state)
{
	static const struct {
		const char *what, *with;
		int taken; /* 1 taken, 0 left to jansson, -1 either */
	} edits[] = {
		{"{\"event_id\"", "  {  \"event_id\"  ", 1},
		{"\"source\":", "\"source\" : ", 1},
		{"\"source\":", "\"\\u0073ource\":", 1},
		{"\"source\":", "\"sou\\rce\":", 0},
		{"iurc-crm", "iurc\\/crm", 0}, /* '/' is not a source byte */
		{"P-2025-001", "P\\/2025\\u00e9\\u20ac\\\"", 1},
		{"P-2025-001", "P\\b\\f\\n\\r\\t", -1},
		{"P-2025-001", "P\\x41", 0},
		{"P-2025-001", "P\\", 0},
		{"\"pilot_projects\":3", "\"pilot_projects\":03", 0},
		{"\"pilot_projects\":3", "\"pilot_projects\":0", 1},
		{"\"pilot_projects\":3", "\"pilot_projects\":-3", 0},
		{"\"pilot_projects\":3", "\"pilot_projects\":3.0", 0},
		{"\"pilot_projects\":3", "\"pilot_projects\":3e0", 0},
		{"\"pilot_projects\":3", "\"pilot_projects\":1-2", 0},
		{"\"pilot_projects\":3", "\"pilot_projects\":null", 1},
		{"\"pilot_projects\":3", "\"pilot_projects\":nul", 0},
		{"\"pilot_projects\":3", "\"pilot_projects\":nullx", 0},
		{"\"eu\":false", "\"eu\":fals", 0},
		{"\"eu\":false", "\"eu\":falsey", 0},
		{"\"eu\":false", "\"eu\":true", 1},
		{"\"themes\":[\"circular-economy\"]", "\"themes\":[ ]", 1},
		{"\"themes\":[\"circular-economy\"]",
		 "\"themes\":[\"circular-economy\",]", 0},
		{"\"themes\":[\"circular-economy\"]",
		 "\"themes\":[\"circular-economy\" \"x\"]", 0},
		{"\"themes\":[\"circular-economy\"]",
		 "\"themes\":[[\"circular-economy\"]]", 0},
		{"\"themes\":[\"circular-economy\"]",
		 "\"themes\":[\"circular-economy\"}", 0},
		{"\"themes\":[\"circular-economy\"],", "", 1},
		{"\"source\":", "\"source\"", 0},
		{"\"source\":", "\"source\"::", 0},
		{",\"programme\"", ",,\"programme\"", 0},
		{"\"pilot_projects\":3}", "\"pilot_projects\":3,}", 0},
		{"\"pilot_projects\":3}", "\"pilot_projects\":3}}", 0},
		{"\"pilot_projects\":3}", "\"pilot_projects\":3]", 0},
		{"\"pilot_projects\":3}", "\"pilot_projects\":3} ", 1},
		{"\"pilot_projects\":3}", "\"pilot_projects\":3", 0},
		{"\"eu\":false}", "\"eu\":false,\"eu\":true}", 0},
		{"{\"name\":\"Lisboa\"", "{{\"name\":\"Lisboa\"", 0},
		{"\"geo_area\":\"LAC\"", "\"geo_area\":{\"a\":[{}]}", 0},
		{"\"geo_area\":\"LAC\"", "\"geo_area\":\"LAC", 0},
		/* What jsmn's strict mode lets through. */
		{"{\"event_id\"", "{,\"event_id\"", 0},
		{",\"programme\"", " \"programme\"", 0},
		{"\"source\":\"iurc-crm\"", "\"source\":\"iurc-crm\":\"x\"", 0},
		{"\"themes\":[\"circular-economy\"]",
		 "\"themes\":[,\"circular-economy\"]", 0},
		{"\"themes\":[\"circular-economy\"]",
		 "\"themes\":[\"circular-economy\":\"x\"]", 0},
		{"\"pilot_projects\":3", "\"pilot_projects\":3 4", 0},
		{"\"pilot_projects\":3", "\"pilot_projects\":", 0},
		{"\"pilot_projects\":3", "\"pilot_projects\":tru", 0},
		{"\"pilot_projects\":3", "\"pilot_projects\":1.2.3", 0},
		{"\"pilot_projects\":3", "\"pilot_projects\":3:4", 0},
		{"\"pilot_projects\":3}", "\"pilot_projects\":3}{}", 0},
		{"\"pilot_projects\":3}", "\"pilot_projects\":3} 1", 0},
		{"\"eu\":false", "\"eu\":false:true", 0},
		{"\"eu\":false", "\"eu\":false true", 0},
		{"P-2025-001", "P\\u00", 0},
		{"P-2025-001", "P\\u00g1", 0},
	};
	struct fixture *fx = *state;
	struct kx_event ev;

	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		const char *line = edit_good(edits[i].what, edits[i].with);
		int taken = check_line(fx, line, strlen(line));

		if (edits[i].taken >= 0 && taken != edits[i].taken)
			fail_msg("edit %zu: fast path %s: %s", i,
				 taken ? "took it" : "left it", line);
	}
	/* The bare value of a line is not an event. */
	assert_false(kx_event_fast_try("{}", 2, &fx->a, &ev));
	assert_false(kx_event_fast_try("\"x\"", 3, &fx->a, &ev));
	assert_false(kx_event_fast_try("[]", 2, &fx->a, &ev));
}

/* Every line of the fixture files, valid and invalid. */
static void
test_event_fast__fixture_files(void **state)
{
	static const char *const files[] = {
		KX_TEST_DATA "/json/events.jsonl",
		KX_TEST_DATA "/produce/mixed-a.jsonl",
		KX_TEST_DATA "/produce/mixed-b.jsonl",
		KX_TEST_DATA "/json/v2-events.jsonl",
	};
	struct fixture *fx = *state;
	char *line = NULL;
	size_t cap = 0;
	int taken = 0;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *fp = fopen(files[i], "r");
		ssize_t n;

		assert_non_null(fp);
		while ((n = getline(&line, &cap, fp)) > 0) {
			if (line[n - 1] == '\n')
				n--;
			taken += check_line(fx, line, (size_t)n);
		}
		fclose(fp);
	}
	free(line);
	assert_true(taken > 0);
}

/*
 * Small edits of the good lines (a byte dropped, doubled or replaced by
 * one that matters to JSON) give a few thousand near-valid lines: the fast
 * path may take only those jansson takes, with the same result.
 */
static void
test_event_fast__edited_lines_agree(void **state)
{
	static const char bytes[] = "{}[],:\"\\ 0-9.eEtnu\x01\x80\xc3";
	struct fixture *fx = *state;
	char buf[2048];
	int taken = 0, total = 0;

	for (size_t g = 0; g < sizeof(good) / sizeof(good[0]); g++) {
		size_t len = strlen(good[g]);

		assert_true(len + 1 < sizeof(buf));
		for (size_t at = 0; at < len; at++) {
			/* drop the byte at 'at' */
			memcpy(buf, good[g], at);
			memcpy(buf + at, good[g] + at + 1, len - at - 1);
			taken += check_line(fx, buf, len - 1);
			/* double it */
			memcpy(buf, good[g], at + 1);
			memcpy(buf + at + 1, good[g] + at, len - at);
			taken += check_line(fx, buf, len + 1);
			total += 2;
			/* replace it, on every 7th byte to keep this quick */
			if (at % 7)
				continue;
			for (size_t b = 0; b < sizeof(bytes) - 1; b++) {
				memcpy(buf, good[g], len);
				buf[at] = bytes[b];
				taken += check_line(fx, buf, len);
				total++;
			}
		}
	}
	print_message("fast path took %d of %d edited lines\n", taken, total);
	assert_true(taken > 0);
}

/*
 * KX_FAST_CORPUS=FILE checks every line of FILE (e.g. kxgen output) the
 * same way; without it the test is skipped.
 */
static void
test_event_fast__corpus(void **state)
{
	struct fixture *fx = *state;
	const char *path = getenv("KX_FAST_CORPUS");
	char *line = NULL;
	size_t cap = 0;
	long taken = 0, total = 0;
	ssize_t n;
	FILE *fp;

	if (!path || !*path)
		skip();
	assert_non_null(fp = fopen(path, "r"));
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		taken += check_line(fx, line, (size_t)n);
		total++;
	}
	fclose(fp);
	free(line);
	print_message("fast path took %ld of %ld lines\n", taken, total);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_fast__takes_plain_lines),
		cmocka_unit_test(test_event_fast__leaves_the_unsure_to_jansson),
		cmocka_unit_test(
			test_event_fast__regression_unfinished_token_after_object),
		cmocka_unit_test(test_event_fast__long_escaped_string),
		cmocka_unit_test(test_event_fast__json_edge_cases),
		cmocka_unit_test(test_event_fast__fixture_files),
		cmocka_unit_test(test_event_fast__edited_lines_agree),
		cmocka_unit_test(test_event_fast__corpus),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
