/*
 * kx-aggregate's PostgreSQL side, inside: the shape of the entity tables
 * (one column list per kind, shared by the loads, the COPY rows and the
 * upserts) and the SQL text built from it once (store_sql.c). Private to
 * store.c and the modules it is built from (store_sql.c, entrow.c,
 * partyids.c).
 */
#ifndef KX_AGGREGATE_STORE_INT_H
#define KX_AGGREGATE_STORE_INT_H

#include <stddef.h>

#include "kx/buf.h"

#include "fold.h"

/* Columns of the entity tables, in the order each kind lists them. */
enum col {
	C_ID,
	C_SHARD,
	C_PROGRAMME,
	C_STATE,
	C_SOURCE,
	C_GEO,
	C_COOP,
	C_PILOT,
	C_PAIRING_ID,
	C_VISIT_TYPE,
	C_FORMAT,
	C_START,
	C_END,
	C_PARTICIPANTS,
	C_TITLE,
	C_PRODUCT,
	C_PRACTICE_ID,
	C_SDGS,
	C_GOALS,
	C_TARGETS,
	C_THEMES,
	C_PARTIES,
	C_LAST_AT,
	C_LAST_ID,
	C_FIRST_AT,
	C_FIRST_ID,
	C_HELD_AT,
	C_HELD_ID,
	C_HELD_PARTICIPANTS,
	C_BUDGET,	/* v2 attributes (migration 003) */
	C_REPORT_URL,
	C_SEC_PUBLIC,
	C_SEC_PRIVATE,
	C_SEC_ACADEMIA,
	C_SEC_CIVIL,
	C_FOLLOW_UP,
	C_URL,
	C__END
};

struct kind_spec {
	const char *table;
	const char *first; /* name stem of the first_* markers, or NULL */
	enum col cols[C__END + 1];
};

enum coltype { T_TEXT, T_INT, T_DATE, T_TS, T_ARR };

extern const struct kind_spec kinds[ENT__COUNT];
extern const char *const id_cols[ENT__COUNT];

enum coltype col_type(enum col c);

/* The column's name in the kind's table. */
void col_name(enum ent_kind kind, enum col c, char *out, size_t outlen);

/* SELECT of the kind's rows whose keys are in $1 (text[]), FOR UPDATE. */
char *store_sql_load(enum ent_kind kind);

/* The batch's last query: every upsert, the party statement and COMMIT. */
char *store_sql_upsert(void);

/* Appends s, quoted, to the PostgreSQL array literal in b ("{" so far,
 * or "{..."); the caller closes it with "}". */
void sql_arr_add(struct kx_buf *b, const char *s);

/* Run once per connection: session settings and the staging tables. */
extern const char store_sql_session[];

#endif
