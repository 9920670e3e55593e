/*
 * An entity's row in its kind's table, both ways (entrow.c). Private to
 * kx-aggregate's store.
 */
#ifndef KX_AGGREGATE_ENTROW_H
#define KX_AGGREGATE_ENTROW_H

#include <libpq-fe.h>

#include "kx/buf.h"
#include "fold.h"

/* Reads row r of res, a load of e's kind with the columns of
 * kinds[e->kind].cols in order, into e, and marks it as stored. Values
 * that repeat across entities are kept once (fold_intern()), the other
 * text in the fold's arena. Returns 0, KX_ENOMEM, or KX_EDB for a value
 * that is not what the column holds (an unknown state, a bad id). */
int entrow_load(struct fold *f, struct ent *e, PGresult *res, int r);

/* Appends e as one row of COPY's binary format with n_cols columns, in
 * kinds[e->kind].cols order: absent values as NULL, or as the defaults
 * the table's NOT NULL columns take. */
void entrow_copy(struct kx_buf *b, const struct ent *e, int n_cols);

#endif
