/*
 * Tests of kx-aggregate's party ids (consumers/kx-aggregate/partyids.c):
 * the parties a batch's events name that the cache lacks come out once
 * each, as the array literals of the statement that creates them (quotes
 * and backslashes escaped); the ids that statement returns fill each
 * event's ids in the order it names its parties; a party the cache lacks
 * fails the fill; a cleared cache misses everything again; a cache past
 * its cap is emptied before a batch's lookups, not between them and its
 * fills.
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

#include "kx/arena.h"
#include "kx/err.h"
#include "kx/event_json.h"
#include "partyids.h"

/* A visit: the host, then two visitors; the second names a party whose
 * name needs escaping in an array literal. */
static const char visit[] =
	"{\"event_id\":\"0b0a6c1e-1d2f-4c3b-8a4d-5e6f70819209\","
	"\"event_type\":\"visit.held\",\"occurred_at\":\"2025-05-02T18:00:00Z\","
	"\"source\":\"iurc-crm\",\"programme\":\"IURC\",\"sdgs\":[\"11.2\"],"
	"\"themes\":[\"public-transport\"],\"visit_id\":\"V-17\","
	"\"pairing_id\":\"P-2025-001\",\"visit_type\":\"study_visit\","
	"\"format\":\"hybrid\",\"host\":{\"name\":\"Lisboa\",\"country\":\"PT\","
	"\"kind\":\"city\",\"eu\":true},\"visitors\":[{\"name\":\"São Paulo\","
	"\"country\":\"BR\",\"kind\":\"city\",\"eu\":false},{\"name\":"
	"\"Say \\\"hi\\\" \\\\ co\",\"country\":\"EG\",\"kind\":\"region\","
	"\"eu\":false}],\"start_date\":\"2025-04-28\",\"end_date\":"
	"\"2025-04-30\",\"participants\":25}";

/* Another event naming the host again. */
static const char practice[] =
	"{\"event_id\":\"1b0a6c1e-1d2f-4c3b-8a4d-5e6f70819209\","
	"\"event_type\":\"practice.documented\","
	"\"occurred_at\":\"2025-05-03T10:00:00Z\",\"source\":\"agir\","
	"\"programme\":\"IURC\",\"sdgs\":[\"7\"],\"practice_id\":\"PR-1\","
	"\"title\":\"Bus lanes\",\"product_type\":\"handbook\","
	"\"origin\":{\"name\":\"Lisboa\",\"country\":\"PT\",\"kind\":\"city\","
	"\"eu\":true}}";

static struct kx_event *
parse(struct kx_arena *a, const char *line)
{
	struct kx_event *ev = kx_arena_alloc(a, sizeof(*ev));
	char err[256];

	assert_non_null(ev);
	if (kx_event_parse_line(line, strlen(line), a, ev, err, sizeof(err)))
		fail_msg("sample line rejected: %s", err);
	return ev;
}

/* What the creating statement returns for the visit's parties. */
static void
put_visit_ids(struct partyids *pi)
{
	assert_int_equal(partyids_put(pi, "PT\tLisboa", 7), 0);
	assert_int_equal(partyids_put(pi, "BR\tSão Paulo", 11), 0);
	assert_int_equal(partyids_put(pi, "EG\tSay \"hi\" \\ co", 13), 0);
}

static void
test_misses_and_fill(void **state)
{
	struct kx_arena a;
	struct partyids pi;
	struct partyids_misses m;
	struct kx_event *v, *p;
	int32_t *ids;
	size_t n;

	(void)state;
	kx_arena_init(&a);
	partyids_init(&pi);
	v = parse(&a, visit);
	p = parse(&a, practice);

	/* Nothing cached: the fill fails, and the misses are the three
	 * parties, Lisboa once although both events name it. */
	assert_int_equal(partyids_fill(&pi, v, &a, &ids, &n), KX_EDB);
	partyids_misses_init(&m);
	assert_int_equal(partyids_collect(&pi, v, &a, &m), 0);
	assert_int_equal(partyids_collect(&pi, p, &a, &m), 0);
	partyids_misses_end(&m);
	assert_int_equal(m.n, 3);
	assert_string_equal(m.param[PM_COUNTRY].data,
			    "{\"PT\",\"BR\",\"EG\"}");
	assert_string_equal(m.param[PM_NAME].data,
			    "{\"Lisboa\",\"São Paulo\","
			    "\"Say \\\"hi\\\" \\\\ co\"}");
	assert_string_equal(m.param[PM_KIND].data,
			    "{\"city\",\"city\",\"region\"}");
	assert_string_equal(m.param[PM_EU].data,
			    "{\"true\",\"false\",\"false\"}");
	/* The name keys are case-folded. */
	assert_non_null(strstr(m.param[PM_NAME_KEY].data, "\"lisboa\""));
	assert_string_equal(m.param[PM_RAW].data,
			    "{\"PT\tLisboa\",\"BR\tSão Paulo\","
			    "\"EG\tSay \\\"hi\\\" \\\\ co\"}");

	/* The statement's answer, by raw key. */
	put_visit_ids(&pi);
	partyids_misses_release(&m);

	assert_int_equal(partyids_fill(&pi, v, &a, &ids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 7); /* the host first */
	assert_int_equal(ids[1], 11);
	assert_int_equal(ids[2], 13);
	assert_int_equal(partyids_fill(&pi, p, &a, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 7);

	/* Cached: no misses now. */
	partyids_misses_init(&m);
	assert_int_equal(partyids_collect(&pi, v, &a, &m), 0);
	assert_int_equal(m.n, 0);
	partyids_misses_release(&m);

	/* A new session forgets them all. */
	partyids_clear(&pi);
	assert_int_equal(partyids_fill(&pi, p, &a, &ids, &n), KX_EDB);
	partyids_misses_init(&m);
	assert_int_equal(partyids_collect(&pi, v, &a, &m), 0);
	assert_int_equal(m.n, 3);
	partyids_misses_release(&m);

	partyids_release(&pi);
	kx_arena_release(&a);
}

/* A cache past its cap held the host (a hit) when the batch's lookups
 * ran; storing the other parties' new ids emptied it, and the host's
 * fill failed ("party ... did not resolve"), failing the batch. */
static void
test_cap_before_lookups(void **state)
{
	struct kx_arena a;
	struct partyids pi;
	struct partyids_misses m;
	struct kx_event *v;
	char raw[32];
	int32_t *ids;
	size_t n;

	(void)state;
	kx_arena_init(&a);
	partyids_init(&pi);
	v = parse(&a, visit);
	assert_int_equal(partyids_put(&pi, "PT\tLisboa", 7), 0);
	for (int i = 0; i < 200000; i++) {
		snprintf(raw, sizeof(raw), "XX\tparty %d", i);
		assert_int_equal(partyids_put(&pi, raw, 100 + i), 0);
	}
	partyids_trim(&pi);
	partyids_misses_init(&m);
	assert_int_equal(partyids_collect(&pi, v, &a, &m), 0);
	partyids_misses_end(&m);
	/* Emptied first: every party of the batch is looked up again. */
	assert_int_equal(m.n, 3);
	put_visit_ids(&pi);
	partyids_misses_release(&m);
	assert_int_equal(partyids_fill(&pi, v, &a, &ids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 7);

	partyids_release(&pi);
	kx_arena_release(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_misses_and_fill),
		cmocka_unit_test(test_cap_before_lookups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
