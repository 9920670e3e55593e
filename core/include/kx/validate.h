/*
 * The value rules of CONTRACT §1, checked on a struct kx_event whatever it
 * was decoded from (JSON, CSV or Avro), plus the small grammar checks they
 * are built from.
 *
 * Reasons are written to errbuf as "'field': reason", with the field's path
 * in the partner's terms (e.g. "'members[1].country'"), lower case and with
 * no full stop. The caller prefixes "line N: " where there is a line.
 */
#ifndef KX_VALIDATE_H
#define KX_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "kx/event.h"

/* Returns 0 when ev satisfies every rule, else KX_EINVALID_EVENT. */
int kx_event_validate(const struct kx_event *ev, char *errbuf, size_t errlen);

/*
 * Parses an SDG code: a goal ("11"), a target ("11.6", "7.a") or an
 * indicator ("11.6.2", "7.a.1"). On success returns 0, sets *goal (1-17)
 * and, when target is not NULL, writes the target ("11.6") or "" for a
 * goal-only code into target (at least 8 bytes). Returns KX_EINVAL and a
 * reason in errbuf otherwise (errbuf may be NULL).
 */
int kx_sdg_parse(const char *code, int *goal, char *target, char *errbuf,
		 size_t errlen);

/* True for an RFC 4122 textual UUID, any version, any case. */
bool kx_uuid_valid(const char *s);

/* Reads such a UUID into its 16 bytes; returns 0, or -1 (out untouched)
 * when s is not one. */
int kx_uuid_parse(const char *s, unsigned char out[16]);

/* True for an assigned ISO 3166-1 alpha-2 code (upper case) or XK. */
bool kx_country_valid(const char *cc);

/*
 * Counts the code points of a valid UTF-8 string; returns -1 for invalid
 * UTF-8 or for control characters (C0, DEL and C1).
 */
long kx_utf8_len(const char *s, size_t len);

/*
 * Returns the offset of the first byte of s (len bytes) that does not start
 * a valid UTF-8 sequence, or len when all of s is valid. Overlong forms,
 * surrogates (U+D800-U+DFFF), code points above U+10FFFF and truncated
 * sequences are invalid.
 */
size_t kx_utf8_check(const char *s, size_t len);

/*
 * Writes a partner's value as a reason quotes it: in single quotes, cut to
 * 64 code points with "..." after them, control characters and invalid
 * UTF-8 bytes escaped as \n, \t, \r or \xNN, so that a reason stays one
 * line of valid UTF-8 whatever the value holds. out is always
 * NUL-terminated (outlen > 0); returns out.
 */
const char *kx_quote_value(char *out, size_t outlen, const char *s,
			   size_t len);

#endif
