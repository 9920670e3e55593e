/*
 * The SQL kx-aggregate sends, built once from the column tables, never
 * from input: the entity loads, the batch's upserts with the party
 * statement, and the session's settings and staging tables. Input only
 * ever travels as parameters: sql_arr_add() writes their array literals.
 */
#include <stdio.h>

#include "kx/buf.h"
#include "store_int.h"

const struct kind_spec kinds[ENT__COUNT] = {
	{"pairings",
	 "matched",
	 {C_ID, C_SHARD, C_PROGRAMME, C_STATE, C_SOURCE, C_GEO, C_COOP,
	  C_PILOT, C_SDGS, C_GOALS, C_TARGETS, C_THEMES, C_PARTIES, C_LAST_AT,
	  C_LAST_ID, C_FIRST_AT, C_FIRST_ID, C_BUDGET, C__END}},
	{"visits",
	 "held",
	 {C_ID, C_SHARD, C_PROGRAMME, C_STATE, C_SOURCE, C_GEO, C_PAIRING_ID,
	  C_VISIT_TYPE, C_FORMAT, C_START, C_END, C_PARTICIPANTS, C_SDGS,
	  C_GOALS, C_TARGETS, C_THEMES, C_PARTIES, C_LAST_AT, C_LAST_ID,
	  C_FIRST_AT, C_FIRST_ID, C_HELD_AT, C_HELD_ID, C_HELD_PARTICIPANTS,
	  C_REPORT_URL, C_SEC_PUBLIC, C_SEC_PRIVATE, C_SEC_ACADEMIA,
	  C_SEC_CIVIL, C_FOLLOW_UP, C__END}},
	{"practices",
	 NULL,
	 {C_ID, C_SHARD, C_PROGRAMME, C_STATE, C_SOURCE, C_GEO, C_TITLE,
	  C_PRODUCT, C_SDGS, C_GOALS, C_TARGETS, C_THEMES, C_PARTIES, C_LAST_AT,
	  C_LAST_ID, C_URL, C__END}},
	{"transfers",
	 "replicated",
	 {C_ID, C_SHARD, C_PROGRAMME, C_STATE, C_SOURCE, C_GEO, C_PRACTICE_ID,
	  C_SDGS, C_GOALS, C_TARGETS, C_THEMES, C_PARTIES, C_LAST_AT, C_LAST_ID,
	  C_FIRST_AT, C_FIRST_ID, C__END}},
};

const char *const id_cols[ENT__COUNT] = {"pairing_id", "visit_id",
						"practice_id", "transfer_id"};

enum coltype
col_type(enum col c)
{
	switch (c) {
	case C_SHARD:
	case C_PILOT:
	case C_PARTICIPANTS:
	case C_HELD_PARTICIPANTS:
	case C_BUDGET:
	case C_SEC_PUBLIC:
	case C_SEC_PRIVATE:
	case C_SEC_ACADEMIA:
	case C_SEC_CIVIL:
		return T_INT;
	case C_START:
	case C_END:
		return T_DATE;
	case C_LAST_AT:
	case C_FIRST_AT:
	case C_HELD_AT:
		return T_TS;
	case C_SDGS:
	case C_GOALS:
	case C_TARGETS:
	case C_THEMES:
	case C_PARTIES:
		return T_ARR;
	default:
		return T_TEXT;
	}
}

/* The column's name in the kind's table. */
void
col_name(enum ent_kind kind, enum col c, char *out, size_t outlen)
{
	static const char *const names[C__END] = {
		[C_SHARD] = "shard",
		[C_PROGRAMME] = "programme",
		[C_STATE] = "state",
		[C_SOURCE] = "source",
		[C_GEO] = "geo_area",
		[C_COOP] = "cooperation_type",
		[C_PILOT] = "pilot_projects",
		[C_PAIRING_ID] = "pairing_id",
		[C_VISIT_TYPE] = "visit_type",
		[C_FORMAT] = "format",
		[C_START] = "start_date",
		[C_END] = "end_date",
		[C_PARTICIPANTS] = "participants",
		[C_TITLE] = "title",
		[C_PRODUCT] = "product_type",
		[C_PRACTICE_ID] = "practice_id",
		[C_SDGS] = "sdgs",
		[C_GOALS] = "goals",
		[C_TARGETS] = "targets",
		[C_THEMES] = "themes",
		[C_PARTIES] = "party_ids",
		[C_LAST_AT] = "last_event_at",
		[C_LAST_ID] = "last_event_id",
		[C_HELD_AT] = "held_newest_at",
		[C_HELD_ID] = "held_newest_id",
		[C_HELD_PARTICIPANTS] = "held_participants",
		[C_BUDGET] = "budget_eur",
		[C_REPORT_URL] = "report_url",
		[C_SEC_PUBLIC] = "public_sector",
		[C_SEC_PRIVATE] = "private_sector",
		[C_SEC_ACADEMIA] = "academia",
		[C_SEC_CIVIL] = "civil_society",
		[C_FOLLOW_UP] = "follow_up",
		[C_URL] = "url",
	};

	if (c == C_ID)
		snprintf(out, outlen, "%s", id_cols[kind]);
	else if (c == C_FIRST_AT)
		snprintf(out, outlen, "first_%s_at", kinds[kind].first);
	else if (c == C_FIRST_ID)
		snprintf(out, outlen, "first_%s_id", kinds[kind].first);
	else
		snprintf(out, outlen, "%s", names[c]);
}

char *
store_sql_load(enum ent_kind kind)
{
	struct kx_buf b = KX_BUF_INIT;
	char name[64];

	kx_buf_adds(&b, "SELECT ");
	for (const enum col *c = kinds[kind].cols; *c != C__END; c++) {
		col_name(kind, *c, name, sizeof(name));
		if (c != kinds[kind].cols)
			kx_buf_adds(&b, ", ");
		switch (col_type(*c)) {
		case T_TS:
			kx_buf_addf(&b,
				    "(extract(epoch FROM %s) * 1000000)::bigint",
				    name);
			break;
		case T_DATE:
			kx_buf_addf(&b, "(%s - date '1970-01-01')", name);
			break;
		default:
			kx_buf_adds(&b, name);
		}
	}
	kx_buf_addf(&b, " FROM kx.%s WHERE %s = ANY ($1::text[]) FOR UPDATE",
		    kinds[kind].table, id_cols[kind]);
	return b.data;
}

/* " (c1, c2, ...) SELECT c1, c2, ..." over the kind's columns. */
static void
add_columns(struct kx_buf *b, enum ent_kind kind)
{
	char name[64];

	for (int select = 0; select < 2; select++) {
		kx_buf_adds(b, select ? ") SELECT " : " (");
		for (const enum col *c = kinds[kind].cols; *c != C__END; c++) {
			col_name(kind, *c, name, sizeof(name));
			kx_buf_addf(b, "%s%s",
				    c == kinds[kind].cols ? "" : ", ", name);
		}
	}
}

/* The transaction's new entities, COPYed to s_new_<table>: a plain
 * INSERT, so that a row another transaction created meanwhile fails it
 * on the key, and with it the COMMIT (docs/exactly-once.md). */
static void
add_entity_insert(struct kx_buf *b, enum ent_kind kind)
{
	kx_buf_addf(b, "INSERT INTO kx.%s", kinds[kind].table);
	add_columns(b, kind);
	kx_buf_addf(b, " FROM s_new_%s;\n", kinds[kind].table);
}

static void
add_entity_upsert(struct kx_buf *b, enum ent_kind kind)
{
	char name[64];

	kx_buf_addf(b, "INSERT INTO kx.%s AS t", kinds[kind].table);
	add_columns(b, kind);
	kx_buf_addf(b, " FROM s_%s ON CONFLICT (%s) DO UPDATE SET updated_at = now()",
		    kinds[kind].table, id_cols[kind]);
	for (const enum col *c = kinds[kind].cols + 1; *c != C__END; c++) {
		col_name(kind, *c, name, sizeof(name));
		kx_buf_addf(b, ", %s = EXCLUDED.%s", name, name);
	}
	kx_buf_adds(b, ";\n");
}

/* The upserts of kx.agg_party and kx.agg_country, as CTEs ending in
 * m (cell_id, partners, countries): the crossings to book. Each stage
 * reads the RETURNING of the one before and nothing else, so no stage
 * joins a CTE whose size the planner cannot know (it guesses one row,
 * and a nested loop over a few thousand crossings cost seconds).
 * s_party is read without ORDER BY: send_last() copies it sorted by
 * the key, and a sequential scan of a temp table filled by one COPY
 * returns its rows in that order (temp tables are never scanned in
 * sync). The order only keeps two instances from deadlocking; should it
 * ever not hold, PostgreSQL detects the deadlock and the batch is retried.
 * The sort of ~20,000 rows was ~8 % of the statement. */
#define PARTY_CTES                                                           \
	"p AS (INSERT INTO kx.agg_party AS a (cell_id, party_id, refs, "     \
	"delta) SELECT cell_id, party_id, refs, refs FROM s_party ON "       \
	"CONFLICT (cell_id, party_id) DO UPDATE SET refs = a.refs "          \
	"+ EXCLUDED.refs, delta = EXCLUDED.refs RETURNING a.cell_id, "       \
	"a.party_id, a.refs, a.delta), "                                     \
	"x0 AS (SELECT cell_id, party_id, CASE WHEN refs > 0 THEN 1 ELSE "   \
	"-1 END AS d FROM p WHERE (refs > 0) <> (refs - delta > 0)), "       \
	"g AS (SELECT k.goal_cell_id AS cell_id, x0.party_id, "              \
	"sum(x0.d)::int AS d FROM x0 JOIN kx.cells k USING (cell_id) WHERE " \
	"k.goal_cell_id IS NOT NULL GROUP BY 1, 2 HAVING sum(x0.d) <> 0), "  \
	"p1 AS (INSERT INTO kx.agg_party AS a (cell_id, party_id, refs, "    \
	"delta) SELECT cell_id, party_id, d, d FROM g ORDER BY 1, 2 ON "     \
	"CONFLICT (cell_id, party_id) DO UPDATE SET refs = a.refs + "        \
	"EXCLUDED.refs, delta = EXCLUDED.refs RETURNING a.cell_id, "         \
	"a.party_id, a.refs, a.delta), "                                     \
	"x AS (SELECT cell_id, party_id, d FROM x0 UNION ALL SELECT "        \
	"cell_id, party_id, CASE WHEN refs > 0 THEN 1 ELSE -1 END FROM p1 "  \
	"WHERE (refs > 0) <> (refs - delta > 0)), "                          \
	"xc AS (SELECT x.cell_id, pa.country, sum(x.d)::int AS d FROM x "    \
	"JOIN kx.parties pa USING (party_id) GROUP BY 1, 2 HAVING "          \
	"sum(x.d) <> 0), "                                                   \
	"c AS (INSERT INTO kx.agg_country AS a (cell_id, country, refs, "    \
	"delta) SELECT cell_id, country, d, d FROM xc ORDER BY 1, 2 ON "     \
	"CONFLICT (cell_id, country) DO UPDATE SET refs = a.refs + "         \
	"EXCLUDED.refs, delta = EXCLUDED.refs RETURNING a.cell_id, "         \
	"a.refs, a.delta), "                                                 \
	"cx AS (SELECT cell_id, CASE WHEN refs > 0 THEN 1 ELSE -1 END AS d " \
	"FROM c WHERE (refs > 0) <> (refs - delta > 0)), "                   \
	"m AS (SELECT cell_id, d AS partners, 0 AS countries FROM x UNION "  \
	"ALL SELECT cell_id, 0, d FROM cx) "

char *
store_sql_upsert(void)
{
	struct kx_buf b = KX_BUF_INIT;

	/* The party deltas' rows come with the string (send_last() in
	 * store.c), so the loop does not wait for the server to take them. */
	kx_buf_adds(&b, "COPY s_party (cell_id, party_id, shard, refs) FROM "
			"STDIN;\n");

	/* The offset guard first: a fenced batch then writes nothing more.
	 * Each partition's row moves only from the offset this instance
	 * expects; a row that did not move raises KXF01 (GUARD_SQLSTATE in
	 * store.c), which fails the batch, COMMIT included. It ends the
	 * transaction, not begins it: the batch before may still be
	 * committing on the other session with these rows locked, and a
	 * batch lists that one's partitions too (next = expected), so it
	 * commits only if that one did. The rows are locked first, which
	 * waits for that batch: the UPDATE after takes a new snapshot, so
	 * it compares with what that batch committed. (An UPDATE alone would
	 * filter the rows by its own snapshot, from before that commit, and
	 * refuse batches that were right.) */
	kx_buf_adds(&b,
		    "DO $kx$ DECLARE n bigint; m bigint; BEGIN "
		    "SELECT count(*) INTO m FROM s_offsets; "
		    "PERFORM 1 FROM kx.consumer_offsets o JOIN s_offsets i ON "
		    "o.group_id = i.group_id AND o.topic = i.topic AND "
		    "o.partition = i.part ORDER BY o.topic, o.partition FOR "
		    "UPDATE OF o; "
		    "WITH upd AS (UPDATE kx.consumer_offsets o SET "
		    "next_offset = i.next, updated_at = now() FROM s_offsets "
		    "i WHERE o.group_id = i.group_id AND o.topic = i.topic AND "
		    "o.partition = i.part AND o.next_offset = i.expected AND "
		    "i.expected >= 0 RETURNING 1), "
		    "ins AS (INSERT INTO kx.consumer_offsets (group_id, topic, "
		    "partition, next_offset) SELECT group_id, topic, part, "
		    "next FROM s_offsets WHERE expected < 0 ON CONFLICT DO "
		    "NOTHING RETURNING 1) "
		    "SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM "
		    "ins) INTO n; "
		    "IF n <> m THEN RAISE EXCEPTION 'offset guard: stored "
		    "offsets moved under this instance (another owner, or a "
		    "database that lost its newest commits)' USING ERRCODE = "
		    "'KXF01'; END IF; END $kx$;\n");
	for (int k = 0; k < ENT__COUNT; k++) {
		add_entity_insert(&b, k);
		add_entity_upsert(&b, k);
	}

	/* Party references, and the partners/countries they move. RETURNING
	 * gives each (cell, party) row's refs after this batch (other
	 * instances' commits included: ON CONFLICT updates the newest
	 * version) and the batch's own delta, so refs - delta is the count
	 * before it, and a 0 <-> 1 crossing is global for the cell. A goal's
	 * rows (dim 1) count the programmes in which the party is a partner
	 * of the goal: the programme x goal crossings move them, in a second
	 * upsert. Rows are locked in key order, stage by stage, so two
	 * instances wait for each other but never deadlock. Every crossing
	 * is booked as +-1 in the agg_cell row of one of this batch's own
	 * shards (the lowest in s_party); the views sum the shards. */
	kx_buf_adds(&b, "WITH " PARTY_CTES
			"INSERT INTO s_cell (dim, programme, goal, target, "
			"shard, partners, countries) SELECT k.dim, k.programme, "
			"k.goal, k.target, (SELECT min(shard) FROM s_party), "
			"sum(m.partners), sum(m.countries) FROM m JOIN kx.cells "
			"k USING (cell_id) GROUP BY 1, 2, 3, 4;\n");

	kx_buf_adds(&b, "INSERT INTO kx.agg_cell AS a (dim, programme, goal, "
			"target, shard");
	for (int i = 0; i < M__COUNT; i++)
		kx_buf_addf(&b, ", %s", measure_columns[i]);
	kx_buf_adds(&b, ", partners, countries, last_event_at) SELECT dim, "
			"programme, goal, target, shard");
	for (int i = 0; i < M__COUNT; i++)
		kx_buf_addf(&b, ", sum(%s)", measure_columns[i]);
	kx_buf_adds(&b, ", sum(partners), sum(countries), max(last_event_at) "
			"FROM s_cell GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, "
			"5 ON CONFLICT (dim, programme, goal, target, shard) DO "
			"UPDATE SET last_event_at = greatest(a.last_event_at, "
			"EXCLUDED.last_event_at), partners = a.partners + "
			"EXCLUDED.partners, countries = a.countries + "
			"EXCLUDED.countries");
	for (int i = 0; i < M__COUNT; i++)
		kx_buf_addf(&b, ", %s = a.%s + EXCLUDED.%s", measure_columns[i],
			    measure_columns[i], measure_columns[i]);
	kx_buf_adds(&b, ";\n");

	/* A cell whose newest entity left it gets its last_event_at
	 * recomputed from the (already updated) entity tables. */
	kx_buf_adds(&b,
		    "UPDATE kx.agg_cell a SET last_event_at = kx.cell_last_event("
		    "a.dim, a.programme, a.goal, a.target, a.shard) FROM s_cell s "
		    "WHERE s.removed_last IS NOT NULL AND a.dim = s.dim AND "
		    "a.programme = s.programme AND a.goal = s.goal AND a.target = "
		    "s.target AND a.shard = s.shard AND (a.last_event_at IS NULL "
		    "OR a.last_event_at <= s.removed_last);\n");

	kx_buf_adds(&b,
		    "INSERT INTO kx.agg_monthly AS a (month, programme, shard, "
		    "pairings_matched, visits_held, participants, "
		    "transfers_replicated) SELECT * FROM s_month ORDER BY 1, 2, "
		    "3 ON CONFLICT (month, programme, shard) DO UPDATE SET "
		    "pairings_matched = a.pairings_matched + "
		    "EXCLUDED.pairings_matched, visits_held = a.visits_held + "
		    "EXCLUDED.visits_held, participants = a.participants + "
		    "EXCLUDED.participants, transfers_replicated = "
		    "a.transfers_replicated + EXCLUDED.transfers_replicated;\n");
	kx_buf_adds(&b,
		    "INSERT INTO kx.rejected_events (group_id, topic, partition, "
		    "kafka_offset, key, value, reason) SELECT * FROM s_reject ON "
		    "CONFLICT DO NOTHING;\n");
	kx_buf_adds(&b, "COMMIT;\n");
	return b.data;
}

/* random_page_cost: the default (4) prices an index probe for a disk
 * that seeks, and the entity load (store_sql_load()) then turned to a
 * sequential scan of the whole table past about 2,000 keys of a 105k-row
 * table, 44-135 ms where the index takes 11-35 ms. In a steady flow one
 * such load delayed the next batches and made them larger
 * (docs/performance.md, the entity load's plan). The database's pages
 * are cached here, which is what 1.1 says. */
const char store_sql_session[] =
	"SET synchronous_commit = off;\n"
	"SET jit = off;\n"
	"SET random_page_cost = 1.1;\n"
	"SET TimeZone = 'UTC';\n"
	"SET client_min_messages = warning;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_events (LIKE kx.events INCLUDING DEFAULTS) ON COMMIT "
	"DELETE ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_pairings (LIKE kx.pairings INCLUDING DEFAULTS) ON "
	"COMMIT DELETE ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_visits (LIKE kx.visits INCLUDING DEFAULTS) ON COMMIT "
	"DELETE ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_practices (LIKE kx.practices INCLUDING DEFAULTS) ON "
	"COMMIT DELETE ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_transfers (LIKE kx.transfers INCLUDING DEFAULTS) ON "
	"COMMIT DELETE ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_new_pairings (LIKE kx.pairings INCLUDING DEFAULTS) ON "
	"COMMIT DELETE ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_new_visits (LIKE kx.visits INCLUDING DEFAULTS) ON "
	"COMMIT DELETE ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_new_practices (LIKE kx.practices INCLUDING DEFAULTS) ON "
	"COMMIT DELETE ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_new_transfers (LIKE kx.transfers INCLUDING DEFAULTS) ON "
	"COMMIT DELETE ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_cell (LIKE kx.agg_cell INCLUDING "
	"DEFAULTS, removed_last timestamptz) ON COMMIT DELETE ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_party (cell_id int, party_id int, "
	"shard int, refs int) ON COMMIT DELETE ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_month (LIKE kx.agg_monthly) ON "
	"COMMIT DELETE ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_offsets (group_id text, topic "
	"text, part int, expected bigint, next bigint) ON COMMIT DELETE "
	"ROWS;\n"
	"CREATE TEMP TABLE IF NOT EXISTS s_reject (group_id text, topic text, "
	"partition int, kafka_offset bigint, key bytea, value bytea, reason "
	"text) ON COMMIT DELETE ROWS;\n";

void
sql_arr_add(struct kx_buf *b, const char *s)
{
	kx_buf_add(b, b->len > 1 ? ",\"" : "\"", b->len > 1 ? 2 : 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			kx_buf_add(b, "\\", 1);
		kx_buf_add(b, s, 1);
	}
	kx_buf_add(b, "\"", 1);
}
