/*
 * An entity's row in its kind's table, both ways: a row loaded as text
 * (store_sql_load()'s SELECT) into a fold state, and a state into a row
 * of COPY's binary format. The columns are kinds[].cols (store_int.h),
 * the one list the loads, the COPYs and the upserts share.
 */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/err.h"
#include "kx/event.h"
#include "kx/validate.h"
#include "copybin.h"
#include "entrow.h"
#include "store_int.h"

/* ---- a loaded row into a state ---- */

/* Parses a PostgreSQL text array literal ({a,"b c"}) into *out, an array
 * in the fold's arena whose values fold_intern() keeps once: a state's
 * SDG codes and themes repeat across entities. Returns 0 or KX_ENOMEM. */
static int
parse_arr(struct fold *f, const char *lit, const char ***out, uint32_t *n)
{
	size_t cap = 1, k = 0, len = strlen(lit);
	char small[256], *buf = small;
	const char **v;
	const char *p;
	int rc = 0;

	for (p = lit; *p; p++)
		cap += *p == ',';
	if (!(v = kx_arena_alloc(&f->arena, cap * sizeof(*v))))
		return KX_ENOMEM;
	if (len >= sizeof(small) && !(buf = malloc(len + 1)))
		return KX_ENOMEM;
	p = lit;
	if (*p == '{')
		p++;
	while (*p && *p != '}' && k < cap) {
		char *q = buf;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				*q++ = *p;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',' && *p != '}')
				*q++ = *p++;
		}
		*q = '\0';
		/* Codes and themes repeat across entities: kept once. */
		if (!(v[k++] = fold_intern(f, buf))) {
			rc = KX_ENOMEM;
			break;
		}
		if (*p == ',')
			p++;
	}
	if (buf != small)
		free(buf);
	*out = v;
	*n = k;
	return rc;
}

/* Parses an integer array literal ({1,2}) into *out, in the fold's
 * arena. Returns 0, KX_ENOMEM, or KX_EDB for what is not one. */
static int
parse_ids(struct fold *f, const char *lit, int32_t **out, uint32_t *n)
{
	size_t cap = 1, k = 0;
	const char *p;
	int32_t *v;

	for (p = lit; *p; p++)
		cap += *p == ',';
	if (!(v = kx_arena_alloc(&f->arena, cap * sizeof(*v))))
		return KX_ENOMEM;
	p = lit;
	if (*p == '{')
		p++;
	while (*p && *p != '}') {
		char *end;
		long x = strtol(p, &end, 10);
		if (end == p || k == cap || x < INT32_MIN || x > INT32_MAX)
			return KX_EDB;
		v[k++] = (int32_t)x;
		p = *end == ',' ? end + 1 : end;
	}
	*out = v;
	*n = k;
	return 0;
}


/* The count of one sector column. */
static int32_t *
sector_of(struct ent *e, enum col c)
{
	switch (c) {
	case C_SEC_PUBLIC:
		return &e->u.visit.by_sector.public_sector;
	case C_SEC_PRIVATE:
		return &e->u.visit.by_sector.private_sector;
	case C_SEC_ACADEMIA:
		return &e->u.visit.by_sector.academia;
	default:
		return &e->u.visit.by_sector.civil_society;
	}
}

/* Whether a text column's values repeat across entities (fold_intern()). */
static bool
repeats(enum col c)
{
	switch (c) {
	case C_PAIRING_ID:
	case C_TITLE:
	case C_PRACTICE_ID:
	case C_REPORT_URL:
	case C_URL:
		return false;
	default:
		return true;
	}
}

/* The columns whose text entrow_load() keeps in the entity. */
static bool
keeps_text(enum col c)
{
	switch (c) {
	case C_PROGRAMME:
	case C_SOURCE:
	case C_GEO:
	case C_COOP:
	case C_PAIRING_ID:
	case C_VISIT_TYPE:
	case C_FORMAT:
	case C_TITLE:
	case C_PRODUCT:
	case C_PRACTICE_ID:
	case C_REPORT_URL:
	case C_FOLLOW_UP:
	case C_URL:
		return true;
	default:
		return false;
	}
}

int
entrow_load(struct fold *f, struct ent *e, PGresult *res, int r)
{
	const enum col *cols = kinds[e->kind].cols;
	struct kx_arena *a = &f->arena;
	char tname[64];

	for (int i = 0; cols[i] != C__END; i++) {
		const char *v = PQgetisnull(res, r, i) ? NULL
						       : PQgetvalue(res, r, i);
		/* Only text the entity keeps is copied out of the result
		 * (once for values that repeat across entities); numbers and
		 * markers are read from it directly. */
		const char *copy = !v || !keeps_text(cols[i]) ? NULL
				   : repeats(cols[i]) ? fold_intern(f, v)
						      : kx_arena_strdup(a, v);

		if (v && keeps_text(cols[i]) && !copy)
			return KX_ENOMEM;
		switch (cols[i]) {
		case C_SHARD:
			e->shard = atoi(v);
			break;
		case C_PROGRAMME:
			e->programme = copy;
			break;
		case C_STATE:
			snprintf(tname, sizeof(tname), "%s.%s",
				 fold_kind_name(e->kind), v);
			if (kx_event_type_parse(tname, &e->type))
				return KX_EDB;
			break;
		case C_SOURCE:
			e->source = copy;
			break;
		case C_GEO:
			e->geo_area = copy;
			break;
		case C_COOP:
			e->u.pairing.cooperation_type = copy;
			break;
		case C_PILOT:
			e->u.pairing.pilot_projects = atoi(v);
			break;
		case C_PAIRING_ID:
			e->u.visit.pairing_id = copy;
			break;
		case C_VISIT_TYPE:
			e->u.visit.visit_type = copy;
			break;
		case C_FORMAT:
			e->u.visit.format = copy;
			break;
		case C_START:
			e->u.visit.start_date = atoi(v);
			break;
		case C_END:
			e->u.visit.end_date = atoi(v);
			break;
		case C_PARTICIPANTS:
			e->u.visit.participants = v ? atoi(v) : -1;
			break;
		case C_TITLE:
			e->u.practice.title = copy;
			break;
		case C_PRODUCT:
			e->u.practice.product_type = copy;
			break;
		case C_PRACTICE_ID:
			e->u.transfer.practice_id = copy;
			break;
		case C_SDGS:
			if (parse_arr(f, v, &e->sdgs, &e->n_sdgs) ||
			    fold_sdg_cells(f, e->sdgs, e->n_sdgs, &e->goals,
					   &e->targets, &e->n_targets))
				return KX_ENOMEM;
			break;
		case C_THEMES:
			if (parse_arr(f, v, &e->themes, &e->n_themes))
				return KX_ENOMEM;
			break;
		case C_PARTIES: {
			int rc = parse_ids(f, v, &e->party_ids, &e->n_parties);
			if (rc)
				return rc;
			break;
		}
		case C_LAST_AT:
			e->last.at = strtoll(v, NULL, 10);
			break;
		case C_LAST_ID:
			if (kx_uuid_parse(v, e->last.id))
				return KX_EDB;
			break;
		case C_FIRST_AT:
			e->first.at = v ? strtoll(v, NULL, 10) : NO_TIME;
			break;
		case C_FIRST_ID:
			if (v && kx_uuid_parse(v, e->first.id))
				return KX_EDB;
			break;
		case C_HELD_AT:
			e->u.visit.held.at = v ? strtoll(v, NULL, 10) : NO_TIME;
			break;
		case C_HELD_ID:
			if (v && kx_uuid_parse(v, e->u.visit.held.id))
				return KX_EDB;
			break;
		case C_HELD_PARTICIPANTS:
			e->u.visit.held_participants = v ? atoi(v) : 0;
			break;
		case C_BUDGET:
			e->u.pairing.budget_eur = v ? strtoll(v, NULL, 10) : -1;
			break;
		case C_REPORT_URL:
			e->u.visit.report_url = copy;
			break;
		case C_SEC_PUBLIC:
		case C_SEC_PRIVATE:
		case C_SEC_ACADEMIA:
		case C_SEC_CIVIL:
			/* All four are NULL together: the partner said nothing. */
			e->u.visit.by_sector.present = v != NULL;
			*sector_of(e, cols[i]) = v ? atoi(v) : 0;
			break;
		case C_FOLLOW_UP:
			e->u.visit.follow_up = copy;
			break;
		case C_URL:
			e->u.practice.url = copy;
			break;
		default:
			break;
		}
	}
	e->exists = e->stored = true;
	return 0;
}

/* ---- a state into a binary COPY row ---- */

static void
bin_ts(struct kx_buf *b, int64_t us)
{
	if (us == NO_TIME)
		copybin_null(b);
	else
		copybin_timestamptz(b, us);
}


/* A marker's event id; NULL when there is none (at == NO_TIME). */
static void
bin_mark_id(struct kx_buf *b, const struct mark *m)
{
	if (m->at == NO_TIME)
		copybin_null(b);
	else
		copybin_uuid_bytes(b, m->id);
}

static const char *
or_text(const char *s, const char *absent)
{
	return s ? s : absent;
}

void
entrow_copy(struct kx_buf *b, const struct ent *e, int n_cols)
{
	const enum col *cols = kinds[e->kind].cols;

	copybin_row(b, n_cols);
	for (int i = 0; cols[i] != C__END; i++) {
		switch (cols[i]) {
		case C_ID:
			copybin_text(b, e->id);
			break;
		case C_SHARD:
			copybin_int4(b, e->shard);
			break;
		case C_PROGRAMME:
			copybin_text(b, e->programme);
			break;
		case C_STATE:
			copybin_text(b, strchr(kx_event_type_name(e->type),
					       '.') + 1);
			break;
		case C_SOURCE:
			copybin_text(b, e->source);
			break;
		case C_GEO:
			copybin_text(b, e->geo_area);
			break;
		case C_COOP:
			copybin_text(b, e->u.pairing.cooperation_type);
			break;
		case C_PILOT:
			copybin_int4(b, e->u.pairing.pilot_projects);
			break;
		case C_PAIRING_ID:
			copybin_text(b, e->u.visit.pairing_id);
			break;
		case C_VISIT_TYPE:
			copybin_text(b, e->u.visit.visit_type);
			break;
		case C_FORMAT:
			copybin_text(b, e->u.visit.format);
			break;
		case C_START:
			copybin_date(b, e->u.visit.start_date);
			break;
		case C_END:
			copybin_date(b, e->u.visit.end_date);
			break;
		case C_PARTICIPANTS:
			if (e->u.visit.participants < 0)
				copybin_null(b);
			else
				copybin_int4(b, e->u.visit.participants);
			break;
		case C_TITLE:
			copybin_text(b, or_text(e->u.practice.title, ""));
			break;
		case C_PRODUCT:
			copybin_text(b, or_text(e->u.practice.product_type, ""));
			break;
		case C_PRACTICE_ID:
			copybin_text(b, e->u.transfer.practice_id);
			break;
		case C_SDGS:
			copybin_text_array(b, e->sdgs, e->n_sdgs);
			break;
		case C_GOALS: {
			int16_t goals[17];
			size_t k = 0;
			for (int g = 1; g <= 17; g++)
				if (e->goals & (1u << g))
					goals[k++] = (int16_t)g;
			copybin_int2_array(b, goals, k);
			break;
		}
		case C_TARGETS:
			copybin_text_array(b, e->targets, e->n_targets);
			break;
		case C_THEMES:
			copybin_text_array(b, e->themes, e->n_themes);
			break;
		case C_PARTIES:
			copybin_int4_array(b, e->party_ids, e->n_parties);
			break;
		case C_LAST_AT:
			bin_ts(b, e->last.at);
			break;
		case C_LAST_ID:
			bin_mark_id(b, &e->last);
			break;
		case C_FIRST_AT:
			bin_ts(b, e->first.at);
			break;
		case C_FIRST_ID:
			bin_mark_id(b, &e->first);
			break;
		case C_HELD_AT:
			bin_ts(b, e->u.visit.held.at);
			break;
		case C_HELD_ID:
			bin_mark_id(b, &e->u.visit.held);
			break;
		case C_HELD_PARTICIPANTS:
			if (e->u.visit.held.at == NO_TIME)
				copybin_null(b);
			else
				copybin_int4(b, e->u.visit.held_participants);
			break;
		case C_BUDGET:
			if (e->u.pairing.budget_eur < 0)
				copybin_null(b);
			else
				copybin_int8(b, e->u.pairing.budget_eur);
			break;
		case C_REPORT_URL:
			copybin_text(b, e->u.visit.report_url);
			break;
		case C_SEC_PUBLIC:
		case C_SEC_PRIVATE:
		case C_SEC_ACADEMIA:
		case C_SEC_CIVIL:
			if (!e->u.visit.by_sector.present)
				copybin_null(b);
			else
				copybin_int4(b, *sector_of((struct ent *)e,
							   cols[i]));
			break;
		case C_FOLLOW_UP:
			copybin_text(b, or_text(e->u.visit.follow_up, "none"));
			break;
		case C_URL:
			copybin_text(b, e->u.practice.url);
			break;
		default:
			copybin_null(b);
			break;
		}
	}
}
