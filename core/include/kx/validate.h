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

/* True for an assigned ISO 3166-1 alpha-2 code (upper case) or XK. */
bool kx_country_valid(const char *cc);

/*
 * Counts the code points of a valid UTF-8 string; returns -1 for invalid
 * UTF-8 or for C0 control characters and DEL.
 */
long kx_utf8_len(const char *s, size_t len);

#endif
