/*
 * Tests of kx-aggregate's entity rows (consumers/kx-aggregate/entrow.c):
 * a row as the load's SELECT returns it (store_sql_load(): timestamps as
 * epoch microseconds, dates as days, arrays as literals) read into a fold
 * state, what a stored value that is not what its column holds returns,
 * and the state written back as a binary COPY row, field by field. The
 * result is built client-side (PQmakeEmptyPGresult()), so no server is
 * needed.
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

#include <libpq-fe.h>

#include "entrow.h"
#include "fold.h"
#include "kx/buf.h"
#include "kx/err.h"
#include "store_int.h"

#define LAST_ID "0b7e3c1a-2f4d-4e5a-9b6c-7d8e9f0a1b2c"
#define HELD_ID "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"

/* A stored visit: held, with sectors and a report, two SDG codes under
 * goal 11 (a target and an indicator of another target) and one under 7. */
static const char *
visit_value(enum col c)
{
	switch (c) {
	case C_ID:
		return "V-1";
	case C_SHARD:
		return "4";
	case C_PROGRAMME:
		return "IURC";
	case C_STATE:
		return "held";
	case C_SOURCE:
		return "iurc-crm";
	case C_GEO:
		return "Asia";
	case C_PAIRING_ID:
		return "P-9";
	case C_VISIT_TYPE:
		return "study_visit";
	case C_FORMAT:
		return "in_person";
	case C_START:
		return "19000";
	case C_END:
		return "19003";
	case C_PARTICIPANTS:
		return "40";
	case C_SDGS:
		return "{11.6,\"11.2.1\",7}";
	case C_GOALS:
		return "{7,11}";
	case C_TARGETS:
		return "{11.2,11.6}";
	case C_THEMES:
		return "{mobility,\"air quality\"}";
	case C_PARTIES:
		return "{3,17}";
	case C_LAST_AT:
		return "1700000000000000";
	case C_LAST_ID:
		return LAST_ID;
	case C_FIRST_AT:
		return "1690000000000000";
	case C_FIRST_ID:
		return HELD_ID;
	case C_HELD_AT:
		return "1700000000000000";
	case C_HELD_ID:
		return LAST_ID;
	case C_HELD_PARTICIPANTS:
		return "38";
	case C_REPORT_URL:
		return "https://example.org/r";
	case C_SEC_PUBLIC:
		return "20";
	case C_SEC_PRIVATE:
		return "8";
	case C_SEC_ACADEMIA:
		return "6";
	case C_SEC_CIVIL:
		return "4";
	case C_FOLLOW_UP:
		return "action_plan";
	default:
		return NULL;
	}
}

/* One row of the kind's load, with value(c) in each column (NULL when it
 * returns NULL), and override in column `which` when which >= 0. */
static PGresult *
make_row(enum ent_kind kind, const char *(*value)(enum col), int which,
	 const char *override)
{
	PGresAttDesc attrs[C__END];
	char names[C__END][64];
	const enum col *cols = kinds[kind].cols;
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	int n = 0;

	assert_non_null(res);
	for (; cols[n] != C__END; n++) {
		col_name(kind, cols[n], names[n], sizeof(names[n]));
		memset(&attrs[n], 0, sizeof(attrs[n]));
		attrs[n].name = names[n];
		attrs[n].format = 0;
		attrs[n].typid = 25; /* text */
		attrs[n].typlen = -1;
		attrs[n].atttypmod = -1;
	}
	assert_int_equal(PQsetResultAttrs(res, n, attrs), 1);
	for (int i = 0; i < n; i++) {
		const char *v = i == which ? override : value(cols[i]);
		assert_int_equal(PQsetvalue(res, 0, i, (char *)v,
					    v ? (int)strlen(v) : -1),
				 1);
	}
	return res;
}

static int
column_of(enum ent_kind kind, enum col c)
{
	for (int i = 0; kinds[kind].cols[i] != C__END; i++)
		if (kinds[kind].cols[i] == c)
			return i;
	fail_msg("column %d not in kind %d", (int)c, (int)kind);
	return -1;
}

static void
test_load_visit(void **state)
{
	struct fold f;
	struct ent *e;
	PGresult *res = make_row(ENT_VISIT, visit_value, -1, NULL);
	bool created;

	(void)state;
	fold_init(&f);
	e = fold_entity(&f, ENT_VISIT, "V-1", &created);
	assert_non_null(e);
	assert_int_equal(entrow_load(&f, e, res, 0), 0);

	assert_true(e->exists);
	assert_int_equal(e->shard, 4);
	assert_string_equal(e->programme, "IURC");
	assert_int_equal(e->type, KX_EVENT_VISIT_HELD);
	assert_string_equal(e->source, "iurc-crm");
	assert_string_equal(e->geo_area, "Asia");
	assert_string_equal(e->u.visit.pairing_id, "P-9");
	assert_int_equal(e->u.visit.start_date, 19000);
	assert_int_equal(e->u.visit.end_date, 19003);
	assert_int_equal(e->u.visit.participants, 40);
	assert_int_equal(e->n_sdgs, 3);
	assert_string_equal(e->sdgs[0], "11.6");
	assert_string_equal(e->sdgs[1], "11.2.1");
	assert_string_equal(e->sdgs[2], "7");
	/* The goals and targets come from the SDG codes, not the row. */
	assert_int_equal(e->goals, (1u << 7) | (1u << 11));
	assert_int_equal(e->n_targets, 2);
	assert_int_equal(e->n_themes, 2);
	assert_string_equal(e->themes[1], "air quality");
	assert_int_equal(e->n_parties, 2);
	assert_int_equal(e->party_ids[0], 3);
	assert_int_equal(e->party_ids[1], 17);
	assert_int_equal(e->last.at, 1700000000000000LL);
	assert_int_equal(e->first.at, 1690000000000000LL);
	assert_int_equal(e->u.visit.held.at, 1700000000000000LL);
	assert_memory_equal(e->u.visit.held.id, e->last.id, 16);
	assert_int_equal(e->last.id[0], 0x0b);
	assert_int_equal(e->last.id[15], 0x2c);
	assert_int_equal(e->u.visit.held_participants, 38);
	assert_string_equal(e->u.visit.report_url, "https://example.org/r");
	assert_true(e->u.visit.by_sector.present);
	assert_int_equal(e->u.visit.by_sector.public_sector, 20);
	assert_int_equal(e->u.visit.by_sector.civil_society, 4);
	assert_string_equal(e->u.visit.follow_up, "action_plan");
	/* A value that repeats across entities is kept once. */
	assert_ptr_equal(e->programme, fold_intern(&f, "IURC"));

	PQclear(res);
	fold_release(&f);
}

/* NULLs: a visit with no participants, no held event and no v2
 * attributes. */
static const char *
sparse_value(enum col c)
{
	switch (c) {
	case C_STATE:
		return "planned";
	case C_PARTICIPANTS:
	case C_FIRST_AT:
	case C_FIRST_ID:
	case C_HELD_AT:
	case C_HELD_ID:
	case C_HELD_PARTICIPANTS:
	case C_REPORT_URL:
	case C_SEC_PUBLIC:
	case C_SEC_PRIVATE:
	case C_SEC_ACADEMIA:
	case C_SEC_CIVIL:
	case C_FOLLOW_UP:
		return NULL;
	case C_SDGS:
	case C_TARGETS:
	case C_THEMES:
	case C_PARTIES:
		return "{}";
	default:
		return visit_value(c);
	}
}

static void
test_load_nulls(void **state)
{
	struct fold f;
	struct ent *e;
	PGresult *res = make_row(ENT_VISIT, sparse_value, -1, NULL);
	bool created;

	(void)state;
	fold_init(&f);
	e = fold_entity(&f, ENT_VISIT, "V-1", &created);
	assert_int_equal(entrow_load(&f, e, res, 0), 0);
	assert_int_equal(e->type, KX_EVENT_VISIT_PLANNED);
	assert_int_equal(e->u.visit.participants, -1);
	assert_true(e->first.at == NO_TIME);
	assert_true(e->u.visit.held.at == NO_TIME);
	assert_int_equal(e->u.visit.held_participants, 0);
	assert_null(e->u.visit.report_url);
	assert_false(e->u.visit.by_sector.present);
	assert_null(e->u.visit.follow_up);
	assert_int_equal(e->n_sdgs, 0);
	assert_int_equal(e->goals, 0);
	assert_int_equal(e->n_parties, 0);
	PQclear(res);
	fold_release(&f);
}

/* A stored value that is not what its column holds fails the load with
 * KX_EDB, whichever column it is in. */
static void
test_load_bad_values(void **state)
{
	static const struct {
		enum col col;
		const char *value;
	} bad[] = {
		{C_STATE, "teleported"},
		{C_LAST_ID, "not-a-uuid"},
		{C_FIRST_ID, "0b7e3c1a"},
		{C_HELD_ID, "zzzzzzzz-2f4d-4e5a-9b6c-7d8e9f0a1b2c"},
		{C_PARTIES, "{3,x}"},
		{C_PARTIES, "{99999999999}"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fold f;
		struct ent *e;
		bool created;
		PGresult *res =
			make_row(ENT_VISIT, visit_value,
				 column_of(ENT_VISIT, bad[i].col), bad[i].value);

		fold_init(&f);
		e = fold_entity(&f, ENT_VISIT, "V-1", &created);
		if (entrow_load(&f, e, res, 0) != KX_EDB)
			fail_msg("'%s' in column %d was accepted",
				 bad[i].value, (int)bad[i].col);
		PQclear(res);
		fold_release(&f);
	}
}

/* Reads the next field of a binary COPY row: its length (-1 for NULL)
 * and a pointer to its bytes. */
static int32_t
next_field(const unsigned char **p, const unsigned char **bytes)
{
	int32_t len = (int32_t)((uint32_t)(*p)[0] << 24 |
				(uint32_t)(*p)[1] << 16 |
				(uint32_t)(*p)[2] << 8 | (uint32_t)(*p)[3]);
	*p += 4;
	*bytes = *p;
	if (len > 0)
		*p += len;
	return len;
}

static uint32_t
be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

/* The loaded visit written back: one field per column, each text as
 * loaded, the absent ones NULL. */
static void
test_copy_row(void **state)
{
	struct fold f;
	struct ent *e;
	struct kx_buf b = KX_BUF_INIT;
	PGresult *res = make_row(ENT_VISIT, visit_value, -1, NULL);
	const unsigned char *p, *v;
	const enum col *cols = kinds[ENT_VISIT].cols;
	int n_cols = 0;
	bool created;

	(void)state;
	while (cols[n_cols] != C__END)
		n_cols++;
	fold_init(&f);
	e = fold_entity(&f, ENT_VISIT, "V-1", &created);
	assert_int_equal(entrow_load(&f, e, res, 0), 0);
	entrow_copy(&b, e, n_cols);

	p = (const unsigned char *)b.data;
	assert_int_equal((p[0] << 8) | p[1], n_cols);
	p += 2;
	for (int i = 0; i < n_cols; i++) {
		int32_t len = next_field(&p, &v);
		const char *text = visit_value(cols[i]);

		switch (col_type(cols[i])) {
		case T_TEXT:
			if (cols[i] == C_LAST_ID || cols[i] == C_FIRST_ID ||
			    cols[i] == C_HELD_ID) {
				assert_int_equal(len, 16); /* uuid */
				break;
			}
			if (cols[i] == C_STATE)
				text = "held";
			assert_int_equal(len, (int32_t)strlen(text));
			assert_memory_equal(v, text, (size_t)len);
			break;
		case T_INT:
			assert_int_equal(len, 4);
			assert_int_equal((int32_t)be32(v), atoi(text));
			break;
		case T_DATE:
			assert_int_equal(len, 4); /* days since 2000-01-01 */
			assert_int_equal((int32_t)be32(v),
					 atoi(text) - 10957);
			break;
		case T_TS:
			assert_int_equal(len, 8);
			break;
		case T_ARR:
			/* Its header: dimensions 1 (0 for an empty array). */
			assert_true(len >= 12);
			assert_int_equal(be32(v), 1);
			break;
		}
	}
	assert_int_equal((size_t)(p - (const unsigned char *)b.data), b.len);

	kx_buf_release(&b);
	PQclear(res);
	fold_release(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_visit),
		cmocka_unit_test(test_load_nulls),
		cmocka_unit_test(test_load_bad_values),
		cmocka_unit_test(test_copy_row),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
