/*
 * PostgreSQL's binary COPY format, written into a buffer: the rows of
 * "COPY ... FROM STDIN (FORMAT binary)". The server then parses no text:
 * for the history and the entity rows (uuids, timestamps, arrays) that
 * halved what a text COPY cost it (docs/performance.md).
 *
 * Each field must have exactly the column's type: an int4 column takes
 * copybin_int4(), a text[] column copybin_text_array(), and so on.
 */
#ifndef KX_AGGREGATE_COPYBIN_H
#define KX_AGGREGATE_COPYBIN_H

#include <stddef.h>
#include <stdint.h>

#include "kx/buf.h"

/* The signature, flags and header extension, before the first row. */
void copybin_header(struct kx_buf *b);
/* The end marker, after the last row. */
void copybin_trailer(struct kx_buf *b);
/* Starts a row of n fields. */
void copybin_row(struct kx_buf *b, int n);

void copybin_null(struct kx_buf *b);
void copybin_int2(struct kx_buf *b, int16_t v);
void copybin_int4(struct kx_buf *b, int32_t v);
void copybin_int8(struct kx_buf *b, int64_t v);
/* A text field; NULL writes null. The bytes go as they are: the caller
 * passes valid UTF-8 without NUL. */
void copybin_text(struct kx_buf *b, const char *s);
/* A uuid from its 8-4-4-4-12 hex form; returns -1 (writing nothing) if s
 * is not in that form. */
int copybin_uuid(struct kx_buf *b, const char *s);
/* A uuid from its 16 bytes. */
void copybin_uuid_bytes(struct kx_buf *b, const unsigned char u[16]);
/* A timestamptz from microseconds since 1970-01-01 UTC. */
void copybin_timestamptz(struct kx_buf *b, int64_t us);
/* A date from days since 1970-01-01. */
void copybin_date(struct kx_buf *b, int32_t days);
/* One-dimensional arrays without nulls: text[], smallint[] and int[]. */
void copybin_text_array(struct kx_buf *b, const char *const *v, size_t n);
void copybin_int2_array(struct kx_buf *b, const int16_t *v, size_t n);
void copybin_int4_array(struct kx_buf *b, const int32_t *v, size_t n);

#endif
