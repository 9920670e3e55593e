/*
 * CSV partner exports: one record in, one partner-feed JSON object out.
 *
 * The dialect, exactly:
 * - Bytes are UTF-8. A UTF-8 byte order mark at the very start of the file
 *   is skipped; anywhere else it is data.
 * - Fields are separated by ',' and records end at an unquoted LF, CR or
 *   CRLF. Blank lines between records are skipped. The last record may lack
 *   its line ending. Line numbers, for messages, count LF bytes: the number
 *   of a record is that of the line its first byte is on, and a lone CR
 *   ends a record without starting a new line.
 * - A field is either unquoted, or quoted with '"' from its first byte to
 *   just before the next ',' or line ending, with '"' inside written as
 *   '""'. A quoted field may hold ',' and line breaks. A '"' inside an
 *   unquoted field, text after a closing quote and an unterminated quote at
 *   the end of the file are errors (libcsv's CSV_STRICT, CSV_STRICT_FINI).
 * - Spaces and tabs are data: nothing is trimmed, because the contract's
 *   values never need it and trimming would hide mistakes from validation.
 * - The first record is the header. Its names are the partner feed's field
 *   names for the family, case-sensitive; an unknown or repeated name, a
 *   blank name or a missing required column (event_id, event_type,
 *   occurred_at, source, programme, sdgs and the family's key) is
 *   KX_EPARSE. Columns may come in any order.
 * - Every data record must have as many fields as the header.
 * - An empty cell, quoted or not, is an absent field; only sdgs, which is
 *   required but may be empty, becomes []. Other cells convert by column:
 *   sdgs and themes split on ';' into arrays of strings; host, origin and
 *   adopter are parties "name|country|kind|eu"; members and visitors are
 *   ';'-separated parties; eu is exactly "true" or "false" (one spelling,
 *   as in JSON, so that exports round-trip without guessing);
 *   pilot_projects and participants are decimal integers, an optional '-'
 *   then digits, that fit in 64 bits; every other cell is a string. Empty
 *   list items and party parts are kept as "" for validation to judge.
 * - Limitation: the contract defines no escape for ';' or '|', so a party
 *   name or list item cannot contain them; such a value splits and the
 *   record is then rejected by the party shape or by validation.
 * - A cell must be valid UTF-8 without NUL bytes. A record longer than
 *   KX_LINE_MAX bytes (line endings inside quotes count, its own line ending
 *   does not) is rejected without being held in memory whole.
 *
 * Only shape and conversion happen here. Value rules belong to
 * kx_event_from_json(), so CSV and JSON input obey exactly the same rules.
 *
 * Invariants: input is read in fixed chunks and fed to libcsv one segment
 * at a time, a segment ending at the first CR or LF, so a record can only
 * complete on a segment's last byte and the record's raw text and line
 * numbers are known exactly. Memory is bounded by KX_LINE_MAX plus one
 * chunk whatever the input. A bad record is skipped up to its end with a
 * small quote-tracking scanner that agrees with libcsv on well-formed
 * input, so the reader resynchronises at the next record. The raw text of
 * a record excludes its own line ending; a record over KX_LINE_MAX has
 * empty raw text rather than a truncated copy.
 */
#include <csv.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/buf.h"
#include "kx/csv.h"
#include "kx/err.h"
#include "kx/event.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define CHUNK_SIZE ((size_t)64 * 1024)

/*
 * No header can have more distinct known columns than this, so only this
 * many cells of a record are stored; a longer record is still counted.
 */
#define MAX_COLUMNS 64

#define MSG_MAX 320

enum col_kind {
	COL_STRING,
	COL_LIST,
	COL_INT,
	COL_PARTY,
	COL_PARTIES,
};

#define FAM(f) (1u << KX_FAMILY_##f)
#define FAM_ALL (FAM(PAIRING) | FAM(VISIT) | FAM(PRACTICE))

struct col_def {
	const char *name;
	enum col_kind kind;
	unsigned families; /* families whose header may carry it */
	unsigned required; /* families whose header must carry it */
	bool empty_array;  /* an empty cell is [] rather than absent */
};

static const struct col_def col_defs[] = {
	{"event_id", COL_STRING, FAM_ALL, FAM_ALL, false},
	{"event_type", COL_STRING, FAM_ALL, FAM_ALL, false},
	{"occurred_at", COL_STRING, FAM_ALL, FAM_ALL, false},
	{"source", COL_STRING, FAM_ALL, FAM_ALL, false},
	{"programme", COL_STRING, FAM_ALL, FAM_ALL, false},
	{"geo_area", COL_STRING, FAM_ALL, 0, false},
	{"sdgs", COL_LIST, FAM_ALL, FAM_ALL, true},
	{"themes", COL_LIST, FAM_ALL, 0, false},
	{"pairing_id", COL_STRING, FAM(PAIRING) | FAM(VISIT), FAM(PAIRING),
	 false},
	{"cooperation_type", COL_STRING, FAM(PAIRING), 0, false},
	{"members", COL_PARTIES, FAM(PAIRING), 0, false},
	{"pilot_projects", COL_INT, FAM(PAIRING), 0, false},
	{"visit_id", COL_STRING, FAM(VISIT), FAM(VISIT), false},
	{"visit_type", COL_STRING, FAM(VISIT), 0, false},
	{"format", COL_STRING, FAM(VISIT), 0, false},
	{"host", COL_PARTY, FAM(VISIT), 0, false},
	{"visitors", COL_PARTIES, FAM(VISIT), 0, false},
	{"start_date", COL_STRING, FAM(VISIT), 0, false},
	{"end_date", COL_STRING, FAM(VISIT), 0, false},
	{"participants", COL_INT, FAM(VISIT), 0, false},
	{"practice_id", COL_STRING, FAM(PRACTICE), FAM(PRACTICE), false},
	{"title", COL_STRING, FAM(PRACTICE), 0, false},
	{"origin", COL_PARTY, FAM(PRACTICE), 0, false},
	{"product_type", COL_STRING, FAM(PRACTICE), 0, false},
	{"transfer_id", COL_STRING, FAM(PRACTICE), 0, false},
	{"adopter", COL_PARTY, FAM(PRACTICE), 0, false},
};

_Static_assert(N_ELEMS(col_defs) <= 64, "the seen set is a uint64_t");
_Static_assert(N_ELEMS(col_defs) < MAX_COLUMNS,
	       "a header longer than MAX_COLUMNS must repeat a name");

/* Where the resync scanner stands inside a record. */
enum scan_state {
	SCAN_FIELD_START,
	SCAN_UNQUOTED,
	SCAN_QUOTED,
	SCAN_QUOTE_SEEN,
	SCAN_END,
};

struct kx_csv_reader {
	FILE *fp; /* borrowed */
	enum kx_family family;
	struct csv_parser csv;
	bool csv_live; /* csv holds an initialised parser */

	unsigned char in[CHUNK_SIZE];
	size_t in_pos, in_len;
	bool started; /* the first chunk was read and its BOM skipped */
	bool eof;
	long line; /* line of the next unread byte */

	bool header_done;
	int done; /* once non-zero, every call returns it */
	const struct col_def *cols[MAX_COLUMNS];
	size_t ncols;

	/* The record being read. */
	bool in_record;
	bool rec_done;
	long rec_line;
	struct kx_buf raw;
	bool raw_dropped; /* raw outgrew KX_LINE_MAX and was emptied */
	struct kx_buf cells; /* stored cells, each followed by a NUL */
	size_t cell_off[MAX_COLUMNS];
	size_t cell_len[MAX_COLUMNS];
	size_t ncells; /* cells seen, stored or not */
	bool oom;

	char msg[MSG_MAX];
};

static void
set_msg(struct kx_csv_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_msg(struct kx_csv_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

/*
 * Returns the length of the valid UTF-8 sequence at s (1-4), or 0 when the
 * bytes there are not one: overlong forms, surrogates and code points past
 * U+10FFFF are invalid.
 */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	while (len) {
		size_t n = utf8_seq(p, len);

		if (!n)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/*
 * Writes a short, printable rendering of untrusted text into dst for an
 * error message: invalid UTF-8 and control bytes become '?', and long text
 * is cut at a character boundary with "...".
 */
static void
printable(char *dst, size_t size, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	while (len) {
		size_t n = utf8_seq(p, len);

		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
			if (o + 1 + 4 > size)
				break;
			dst[o++] = '?';
			n = 1;
		} else {
			if (o + n + 4 > size)
				break;
			memcpy(dst + o, p, n);
			o += n;
		}
		p += n;
		len -= n;
	}
	if (len) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

static int
no_space(unsigned char c)
{
	(void)c;
	return 0;
}

/* Starts a fresh libcsv parser, dropping whatever state the old one had. */
static int
parser_reset(struct kx_csv_reader *r)
{
	if (r->csv_live)
		csv_free(&r->csv);
	r->csv_live = false;
	/* Cells are copied by length, so CSV_APPEND_NULL is not needed. */
	if (csv_init(&r->csv, CSV_STRICT | CSV_STRICT_FINI))
		return KX_ENOMEM;
	/* libcsv trims spaces and tabs by default; here they are data. */
	csv_set_space_func(&r->csv, no_space);
	/*
	 * libcsv grows its field buffer by blk_size bytes at a time, 128 by
	 * default: a field near KX_LINE_MAX would cost thousands of reallocs.
	 */
	csv_set_blk_size(&r->csv, CHUNK_SIZE);
	r->csv_live = true;
	return 0;
}

static void
on_field(void *s, size_t len, void *data)
{
	struct kx_csv_reader *r = data;
	size_t i = r->ncells++;

	if (i >= MAX_COLUMNS || r->oom)
		return;
	r->cell_off[i] = r->cells.len;
	r->cell_len[i] = len;
	if (kx_buf_add(&r->cells, s, len) || kx_buf_add(&r->cells, "", 1))
		r->oom = true;
}

static void
on_row(int c, void *data)
{
	struct kx_csv_reader *r = data;

	(void)c;
	r->rec_done = true;
}

/* Names field i of the current record for an error message. */
static void
field_label(const struct kx_csv_reader *r, size_t i, char *dst, size_t size)
{
	if (!r->header_done)
		snprintf(dst, size, "column %zu", i + 1);
	else if (i < r->ncols)
		snprintf(dst, size, "'%s'", r->cols[i]->name);
	else
		snprintf(dst, size, "field %zu", i + 1);
}

/* Reads the next chunk. Returns 0 (r->eof set at the end) or KX_EIO. */
static int
fill(struct kx_csv_reader *r)
{
	size_t n = fread(r->in, 1, sizeof(r->in), r->fp);

	r->in_pos = 0;
	r->in_len = n;
	if (n == 0) {
		if (ferror(r->fp))
			return KX_EIO;
		r->eof = true;
		return 0;
	}
	if (!r->started) {
		r->started = true;
		if (n >= 3 && memcmp(r->in, "\xef\xbb\xbf", 3) == 0)
			r->in_pos = 3;
	}
	return 0;
}

/*
 * Appends record bytes to raw, emptying it for good once the record has
 * outgrown KX_LINE_MAX: raw must never grow with the input.
 */
static int
raw_add(struct kx_csv_reader *r, const void *p, size_t n)
{
	if (r->raw_dropped)
		return 0;
	if (r->raw.len + n > KX_LINE_MAX) {
		kx_buf_reset(&r->raw);
		r->raw_dropped = true;
		return 0;
	}
	return kx_buf_add(&r->raw, p, n);
}

static enum scan_state
scan_byte(enum scan_state st, unsigned char c)
{
	bool term = c == '\r' || c == '\n';

	switch (st) {
	case SCAN_FIELD_START:
		if (c == '"')
			return SCAN_QUOTED;
		/* fall through */
	case SCAN_UNQUOTED:
		if (c == ',')
			return SCAN_FIELD_START;
		return term ? SCAN_END : SCAN_UNQUOTED;
	case SCAN_QUOTED:
		return c == '"' ? SCAN_QUOTE_SEEN : SCAN_QUOTED;
	case SCAN_QUOTE_SEEN:
		if (c == '"')
			return SCAN_QUOTED;
		if (c == ',')
			return SCAN_FIELD_START;
		/*
		 * Text after a closing quote is an error already reported;
		 * the rest of the field is taken as unquoted.
		 */
		return term ? SCAN_END : SCAN_UNQUOTED;
	case SCAN_END:
		break;
	}
	return SCAN_END;
}

/*
 * Skips the rest of a bad record, whose bytes so far are in raw (unless
 * dropped) and whose scanner state is st, then readies the parser for the
 * next record. Returns KX_EINVAL (the reason is already in r->msg), or
 * KX_EIO/KX_ENOMEM.
 */
static int
skip_record(struct kx_csv_reader *r, enum scan_state st)
{
	int rc;

	while (st != SCAN_END) {
		size_t start, i;

		if (r->in_pos == r->in_len) {
			if (r->eof)
				break;
			if ((rc = fill(r)))
				return rc;
			continue;
		}
		start = r->in_pos;
		for (i = start; i < r->in_len; i++) {
			unsigned char c = r->in[i];

			st = scan_byte(st, c);
			if (c == '\n')
				r->line++;
			if (st == SCAN_END)
				break;
		}
		if ((rc = raw_add(r, r->in + start, i - start)))
			return rc;
		r->in_pos = i < r->in_len ? i + 1 : i;
	}
	r->in_record = false;
	if ((rc = parser_reset(r)))
		return rc;
	return KX_EINVAL;
}

static enum scan_state
scan_bytes(enum scan_state st, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n && st != SCAN_END; i++)
		st = scan_byte(st, b[i]);
	return st;
}

/*
 * Rejects the current record for being longer than KX_LINE_MAX. The last
 * n bytes of it, at seg, were fed but not added to raw, which still holds
 * the rest: together they tell where the record goes on.
 */
static int
too_long(struct kx_csv_reader *r, const void *seg, size_t n)
{
	enum scan_state st = SCAN_END;

	set_msg(r, "record is longer than %zu bytes", KX_LINE_MAX);
	if (!r->rec_done) {
		st = scan_bytes(SCAN_FIELD_START, r->raw.data, r->raw.len);
		st = scan_bytes(st, seg, n);
		/* libcsv saw no record end, so neither can the scanner. */
		if (st == SCAN_END)
			st = SCAN_UNQUOTED;
	}
	kx_buf_reset(&r->raw);
	r->raw_dropped = true;
	return skip_record(r, st);
}

/*
 * Finishes the record at the end of the input. Returns 0, or KX_EINVAL for
 * an unterminated quoted field.
 */
static int
finish_at_eof(struct kx_csv_reader *r)
{
	char label[96];
	int rc;

	r->in_record = false;
	if (csv_fini(&r->csv, on_field, on_row, r) == 0)
		return r->oom ? KX_ENOMEM : 0;
	field_label(r, r->ncells, label, sizeof(label));
	set_msg(r, "%s: unterminated quoted field", label);
	if ((rc = parser_reset(r)))
		return rc;
	return KX_EINVAL;
}

/*
 * Reads one record into r->cells and r->raw. Returns 0, KX_EEOF, KX_EIO,
 * KX_ENOMEM, or KX_EINVAL with the reason in r->msg (the bad record has
 * been skipped).
 */
static int
read_record(struct kx_csv_reader *r)
{
	int rc;

	kx_buf_reset(&r->raw);
	kx_buf_reset(&r->cells);
	r->raw_dropped = false;
	r->ncells = 0;
	r->rec_done = false;
	r->in_record = false;
	r->rec_line = r->line;

	for (;;) {
		const unsigned char *seg, *nl;
		size_t seglen, n, keep;

		if (r->in_pos == r->in_len) {
			if (r->eof) {
				if (!r->in_record) {
					r->rec_line = r->line;
					return KX_EEOF;
				}
				return finish_at_eof(r);
			}
			if ((rc = fill(r)))
				return rc;
			continue;
		}
		seg = r->in + r->in_pos;
		if (!r->in_record) {
			/* libcsv skips line endings between records too. */
			if (*seg == '\r' || *seg == '\n') {
				if (*seg == '\n')
					r->line++;
				r->in_pos++;
				continue;
			}
			r->in_record = true;
			r->rec_line = r->line;
		}

		seglen = r->in_len - r->in_pos;
		for (nl = seg; nl < seg + seglen; nl++) {
			if (*nl == '\r' || *nl == '\n')
				break;
		}
		if (nl < seg + seglen)
			seglen = (size_t)(nl - seg) + 1;

		n = csv_parse(&r->csv, seg, seglen, on_field, on_row, r);
		if (r->oom)
			return KX_ENOMEM;
		if (n < seglen) {
			char label[96];

			if (csv_error(&r->csv) != CSV_EPARSE)
				return KX_ENOMEM;
			/* seg[n] is the offending byte, never a line ending. */
			field_label(r, r->ncells, label, sizeof(label));
			if (seg[n] == '"')
				set_msg(r, "%s: '\"' inside an unquoted field",
					label);
			else
				set_msg(r, "%s: text after a closing quote",
					label);
			if ((rc = raw_add(r, seg, n + 1)))
				return rc;
			r->in_pos += n + 1;
			return skip_record(r, SCAN_UNQUOTED);
		}

		r->in_pos += seglen;
		if (seg[seglen - 1] == '\n')
			r->line++;
		/* A record completes on a segment's line ending only. */
		keep = r->rec_done ? seglen - 1 : seglen;
		if (r->raw.len + keep > KX_LINE_MAX)
			return too_long(r, seg, keep);
		if ((rc = raw_add(r, seg, keep)))
			return rc;
		if (r->rec_done) {
			r->in_record = false;
			return 0;
		}
	}
}

static int
check_header(struct kx_csv_reader *r)
{
	const char *fam = kx_family_name(r->family);
	unsigned bit = 1u << r->family;
	uint64_t seen = 0;
	char text[96];
	size_t n = r->ncells < MAX_COLUMNS ? r->ncells : MAX_COLUMNS;

	for (size_t i = 0; i < n; i++) {
		const char *name = r->cells.data + r->cell_off[i];
		size_t len = r->cell_len[i];
		size_t d;

		if (len == 0) {
			set_msg(r, "header: column %zu has no name", i + 1);
			return KX_EPARSE;
		}
		for (d = 0; d < N_ELEMS(col_defs); d++) {
			if ((col_defs[d].families & bit) &&
			    strlen(col_defs[d].name) == len &&
			    memcmp(col_defs[d].name, name, len) == 0)
				break;
		}
		if (d == N_ELEMS(col_defs)) {
			printable(text, sizeof(text), name, len);
			set_msg(r, "header: '%s': unknown column for family %s",
				text, fam);
			return KX_EPARSE;
		}
		if (seen & ((uint64_t)1 << d)) {
			set_msg(r, "header: '%s': duplicate column",
				col_defs[d].name);
			return KX_EPARSE;
		}
		seen |= (uint64_t)1 << d;
		r->cols[i] = &col_defs[d];
	}
	for (size_t d = 0; d < N_ELEMS(col_defs); d++) {
		if ((col_defs[d].required & bit) &&
		    !(seen & ((uint64_t)1 << d))) {
			set_msg(r,
				"header: '%s': required column for family %s "
				"is missing",
				col_defs[d].name, fam);
			return KX_EPARSE;
		}
	}
	r->ncols = n;
	return 0;
}

/* Sets key in obj to v, taking v. Returns 0 or KX_ENOMEM. */
static int
set_new(json_t *obj, const char *key, json_t *v)
{
	if (!v)
		return KX_ENOMEM;
	return json_object_set_new(obj, key, v) ? KX_ENOMEM : 0;
}

static int
append_new(json_t *arr, json_t *v)
{
	if (!v)
		return KX_ENOMEM;
	return json_array_append_new(arr, v) ? KX_ENOMEM : 0;
}

/* Splits s[0..len) on sep: each call yields the next item. */
struct split {
	const char *p, *end;
	char sep;
	bool over;
};

static void
split_init(struct split *sp, const char *s, size_t len, char sep)
{
	sp->p = s;
	sp->end = s + len;
	sp->sep = sep;
	sp->over = false;
}

static bool
split_next(struct split *sp, const char **item, size_t *len)
{
	const char *q;

	if (sp->over)
		return false;
	q = memchr(sp->p, sp->sep, (size_t)(sp->end - sp->p));
	if (!q) {
		q = sp->end;
		sp->over = true;
	}
	*item = sp->p;
	*len = (size_t)(q - sp->p);
	sp->p = q + 1;
	return true;
}

static json_t *
list_value(const char *s, size_t len)
{
	json_t *arr = json_array();
	struct split sp;
	const char *item;
	size_t n;

	if (!arr)
		return NULL;
	split_init(&sp, s, len, ';');
	while (split_next(&sp, &item, &n)) {
		if (append_new(arr, json_stringn(item, n))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/*
 * Converts a decimal integer. Returns 0 and sets *out, or KX_EINVAL with
 * the reason in r->msg.
 */
static int
int_value(struct kx_csv_reader *r, const char *path, const char *s,
	  size_t len, json_t **out)
{
	bool neg = len > 0 && s[0] == '-';
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
	size_t i = neg ? 1 : 0;

	*out = NULL;
	if (i == len) {
		set_msg(r, "'%s': expected an integer", path);
		return KX_EINVAL;
	}
	for (; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9) {
			set_msg(r, "'%s': expected an integer", path);
			return KX_EINVAL;
		}
		if (v > (limit - d) / 10) {
			set_msg(r, "'%s': integer out of range", path);
			return KX_EINVAL;
		}
		v = v * 10 + d;
	}
	/* -2^63 has no positive twin, so negate in unsigned arithmetic. */
	*out = json_integer(neg ? (json_int_t)(0 - v) : (json_int_t)v);
	return *out ? 0 : KX_ENOMEM;
}

/*
 * Converts "name|country|kind|eu" into a party object. path names it in
 * messages, e.g. "host" or "members[1]". Returns 0 and sets *out, KX_EINVAL
 * with the reason in r->msg, or KX_ENOMEM.
 */
static int
party_value(struct kx_csv_reader *r, const char *path, const char *s,
	    size_t len, json_t **out)
{
	static const char *const keys[] = {"name", "country", "kind"};
	const char *part[4];
	size_t plen[4], n = 0, i;
	struct split sp;
	const char *item;
	size_t ilen;
	json_t *obj = NULL;
	bool eu;
	int rc = 0;

	*out = NULL;
	split_init(&sp, s, len, '|');
	while (split_next(&sp, &item, &ilen)) {
		if (n == 4) {
			n++;
			break;
		}
		part[n] = item;
		plen[n++] = ilen;
	}
	if (n != 4) {
		set_msg(r, "'%s': expected name|country|kind|eu", path);
		return KX_EINVAL;
	}
	if (plen[3] == 4 && memcmp(part[3], "true", 4) == 0) {
		eu = true;
	} else if (plen[3] == 5 && memcmp(part[3], "false", 5) == 0) {
		eu = false;
	} else {
		set_msg(r, "'%s.eu': expected true or false", path);
		return KX_EINVAL;
	}
	if (!(obj = json_object()))
		return KX_ENOMEM;
	for (i = 0; i < N_ELEMS(keys); i++) {
		rc = set_new(obj, keys[i], json_stringn(part[i], plen[i]));
		if (rc)
			goto out;
	}
	if ((rc = set_new(obj, "eu", json_boolean(eu))))
		goto out;
	*out = obj;
	obj = NULL;
out:
	json_decref(obj);
	return rc;
}

static int
parties_value(struct kx_csv_reader *r, const char *name, const char *s,
	      size_t len, json_t **out)
{
	json_t *arr = NULL, *party = NULL;
	struct split sp;
	const char *item;
	size_t n, i = 0;
	char path[64];
	int rc = KX_ENOMEM;

	*out = NULL;
	if (!(arr = json_array()))
		goto out;
	split_init(&sp, s, len, ';');
	while (split_next(&sp, &item, &n)) {
		snprintf(path, sizeof(path), "%s[%zu]", name, i++);
		if ((rc = party_value(r, path, item, n, &party)))
			goto out;
		if ((rc = append_new(arr, party)))
			goto out;
	}
	*out = arr;
	arr = NULL;
	rc = 0;
out:
	json_decref(arr);
	return rc;
}

/* Turns the stored cells into the partner feed's JSON object. */
static int
build_object(struct kx_csv_reader *r, json_t **out)
{
	json_t *obj = NULL, *v = NULL;
	int rc = KX_ENOMEM;

	if (!(obj = json_object()))
		goto out;
	for (size_t i = 0; i < r->ncols; i++) {
		const struct col_def *col = r->cols[i];
		const char *s = r->cells.data + r->cell_off[i];
		size_t len = r->cell_len[i];

		if (len == 0) {
			if (!col->empty_array)
				continue;
			if ((rc = set_new(obj, col->name, json_array())))
				goto out;
			continue;
		}
		if (memchr(s, '\0', len)) {
			set_msg(r, "'%s': contains a NUL byte", col->name);
			rc = KX_EINVAL;
			goto out;
		}
		if (!utf8_valid(s, len)) {
			set_msg(r, "'%s': invalid UTF-8", col->name);
			rc = KX_EINVAL;
			goto out;
		}
		rc = 0;
		switch (col->kind) {
		case COL_STRING:
			v = json_stringn(s, len);
			break;
		case COL_LIST:
			v = list_value(s, len);
			break;
		case COL_INT:
			rc = int_value(r, col->name, s, len, &v);
			break;
		case COL_PARTY:
			rc = party_value(r, col->name, s, len, &v);
			break;
		case COL_PARTIES:
			rc = parties_value(r, col->name, s, len, &v);
			break;
		}
		if (rc)
			goto out;
		rc = set_new(obj, col->name, v);
		v = NULL;
		if (rc)
			goto out;
	}
	*out = obj;
	obj = NULL;
	rc = 0;
out:
	json_decref(obj);
	return rc;
}

struct kx_csv_reader *
kx_csv_reader_new(FILE *fp, enum kx_family family)
{
	struct kx_csv_reader *r = NULL;

	if ((unsigned)family >= KX_FAMILY__COUNT)
		return NULL;
	if (!(r = calloc(1, sizeof(*r))))
		return NULL;
	r->fp = fp;
	r->family = family;
	r->line = 1;
	kx_buf_init(&r->raw);
	kx_buf_init(&r->cells);
	if (parser_reset(r)) {
		kx_csv_reader_free(r);
		return NULL;
	}
	return r;
}

void
kx_csv_reader_free(struct kx_csv_reader *r)
{
	if (!r)
		return;
	if (r->csv_live)
		csv_free(&r->csv);
	kx_buf_release(&r->raw);
	kx_buf_release(&r->cells);
	free(r);
}

int
kx_csv_reader_next(struct kx_csv_reader *r, json_t **obj, long *line,
		   char *errbuf, size_t errlen)
{
	int rc;

	*obj = NULL;
	*line = r->line;
	r->msg[0] = '\0';
	if (r->done) {
		rc = r->done;
		goto out;
	}

	if (!r->header_done) {
		rc = read_record(r);
		*line = r->rec_line;
		if (rc == KX_EEOF) {
			set_msg(r, "header: missing, the input is empty");
			rc = KX_EPARSE;
		} else if (rc == KX_EINVAL) {
			char reason[MSG_MAX];

			memcpy(reason, r->msg, sizeof(reason));
			set_msg(r, "header: %s", reason);
			rc = KX_EPARSE;
		} else if (rc == 0) {
			rc = check_header(r);
		}
		if (rc) {
			r->done = rc == KX_EPARSE ? KX_EEOF : rc;
			goto out;
		}
		r->header_done = true;
	}

	rc = read_record(r);
	*line = r->rec_line;
	if (rc == KX_EEOF) {
		*line = r->line;
		r->done = rc;
		goto out;
	}
	if (rc == KX_EIO || rc == KX_ENOMEM) {
		r->done = rc;
		goto out;
	}
	if (rc)
		goto out;
	if (r->ncells != r->ncols) {
		set_msg(r, "record has %zu fields, header has %zu", r->ncells,
			r->ncols);
		rc = KX_EINVAL;
		goto out;
	}
	rc = build_object(r, obj);
	if (rc == KX_ENOMEM)
		r->done = rc;
out:
	if (errlen) {
		if (rc && !r->msg[0])
			snprintf(errbuf, errlen, "%s", kx_strerror(rc));
		else
			snprintf(errbuf, errlen, "%s", r->msg);
	}
	return rc;
}

const char *
kx_csv_reader_raw(const struct kx_csv_reader *r, size_t *len)
{
	*len = r->raw.len;
	return r->raw.data ? r->raw.data : "";
}
