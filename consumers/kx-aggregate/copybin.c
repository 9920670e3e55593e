/*
 * PostgreSQL's binary COPY format (the COPY documentation's "Binary
 * Format", and each type's send/recv function): every integer big-endian,
 * every field its 4-byte length (-1 for null) then its bytes. Timestamps
 * and dates count from 2000-01-01; an array is its dimensions, a has-nulls
 * flag, its element type's OID, then its elements as fields.
 */
#include <string.h>

#include "copybin.h"
#include "kx/validate.h"

/* Days and microseconds from 1970-01-01 to 2000-01-01. */
#define PG_EPOCH_DAYS 10957
#define PG_EPOCH_US ((int64_t)PG_EPOCH_DAYS * 86400 * 1000000)

/* The element types' OIDs (pg_type.dat): fixed for built-in types. */
#define INT2OID 21
#define INT4OID 23
#define TEXTOID 25

static void
put16(struct kx_buf *b, uint16_t v)
{
	unsigned char p[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	kx_buf_add(b, p, 2);
}

static void
put32(struct kx_buf *b, uint32_t v)
{
	unsigned char p[4] = {(unsigned char)(v >> 24),
			      (unsigned char)(v >> 16),
			      (unsigned char)(v >> 8), (unsigned char)v};

	kx_buf_add(b, p, 4);
}

static void
put64(struct kx_buf *b, uint64_t v)
{
	put32(b, (uint32_t)(v >> 32));
	put32(b, (uint32_t)v);
}

void
copybin_header(struct kx_buf *b)
{
	kx_buf_add(b, "PGCOPY\n\377\r\n\0", 11);
	put32(b, 0); /* flags: no OIDs */
	put32(b, 0); /* header extension: none */
}

void
copybin_trailer(struct kx_buf *b)
{
	put16(b, 0xffff);
}

void
copybin_row(struct kx_buf *b, int n)
{
	put16(b, (uint16_t)n);
}

void
copybin_null(struct kx_buf *b)
{
	put32(b, 0xffffffffu);
}

void
copybin_int2(struct kx_buf *b, int16_t v)
{
	put32(b, 2);
	put16(b, (uint16_t)v);
}

void
copybin_int4(struct kx_buf *b, int32_t v)
{
	put32(b, 4);
	put32(b, (uint32_t)v);
}

void
copybin_int8(struct kx_buf *b, int64_t v)
{
	put32(b, 8);
	put64(b, (uint64_t)v);
}

void
copybin_text(struct kx_buf *b, const char *s)
{
	size_t n;

	if (!s) {
		copybin_null(b);
		return;
	}
	n = strlen(s);
	put32(b, (uint32_t)n);
	kx_buf_add(b, s, n);
}

int
copybin_uuid(struct kx_buf *b, const char *s)
{
	unsigned char u[16];

	if (kx_uuid_parse(s, u))
		return -1;
	copybin_uuid_bytes(b, u);
	return 0;
}

void
copybin_uuid_bytes(struct kx_buf *b, const unsigned char u[16])
{
	put32(b, 16);
	kx_buf_add(b, u, 16);
}

void
copybin_timestamptz(struct kx_buf *b, int64_t us)
{
	copybin_int8(b, us - PG_EPOCH_US);
}

void
copybin_date(struct kx_buf *b, int32_t days)
{
	copybin_int4(b, days - PG_EPOCH_DAYS);
}

/* The array's length in bytes, then its header up to the elements. */
static void
array_head(struct kx_buf *b, size_t body, uint32_t oid, size_t n)
{
	put32(b, (uint32_t)((n ? 20 : 12) + body));
	put32(b, n ? 1 : 0); /* dimensions: none for an empty array */
	put32(b, 0);	     /* no nulls */
	put32(b, oid);
	if (n) {
		put32(b, (uint32_t)n);
		put32(b, 1); /* lower bound */
	}
}

void
copybin_text_array(struct kx_buf *b, const char *const *v, size_t n)
{
	size_t body = 0;

	for (size_t i = 0; i < n; i++)
		body += 4 + strlen(v[i]);
	array_head(b, body, TEXTOID, n);
	for (size_t i = 0; i < n; i++)
		copybin_text(b, v[i]);
}

void
copybin_int2_array(struct kx_buf *b, const int16_t *v, size_t n)
{
	array_head(b, n * 6, INT2OID, n);
	for (size_t i = 0; i < n; i++)
		copybin_int2(b, v[i]);
}

void
copybin_int4_array(struct kx_buf *b, const int32_t *v, size_t n)
{
	array_head(b, n * 8, INT4OID, n);
	for (size_t i = 0; i < n; i++)
		copybin_int4(b, v[i]);
}
