/*
 * Partner JSON to struct kx_event and back.
 *
 * kx_event_from_json() enforces the shape rules that only JSON has (types,
 * unknown fields, required fields per type, null as absent, integers only)
 * and then every value rule of validate.h. CSV rows are turned into JSON
 * objects first (csv.h), so both inputs share this one path.
 */
#ifndef KX_EVENT_JSON_H
#define KX_EVENT_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "kx/arena.h"
#include "kx/event.h"

/*
 * Builds ev from obj. Strings are copied into arena. Returns 0, or
 * KX_EINVALID_EVENT with "'field': reason" in errbuf (KX_ENOMEM when the
 * arena is exhausted). A field whose value is null counts as absent, even
 * a field that the event's type does not have.
 */
int kx_event_from_json(const json_t *obj, struct kx_arena *arena,
		       struct kx_event *ev, char *errbuf, size_t errlen);

/*
 * Parses one JSON line (without its newline) of len bytes. Rejects lines
 * over KX_LINE_MAX, invalid UTF-8, invalid JSON, duplicate keys and
 * anything but an object, then calls kx_event_from_json(). Returns 0, or a
 * negative KX_E* code with a reason in errbuf:
 *   KX_ETOOLONG        "line is longer than 1048576 bytes"
 *   KX_EUTF8           "invalid UTF-8 at byte N" (N counts from 1)
 *   KX_EPARSE          "empty line", "NUL byte at byte N",
 *                      "invalid JSON at column N: <jansson's text>",
 *                      "expected a JSON object, not an array"
 *   KX_EINVALID_EVENT  "'field': reason", see kx_event_from_json()
 *   KX_ENOMEM          "out of memory"
 * A trailing CR and a leading UTF-8 byte order mark are accepted.
 */
int kx_event_parse_line(const char *line, size_t len, struct kx_arena *arena,
			struct kx_event *ev, char *errbuf, size_t errlen);

/*
 * Returns a new JSON object for ev in the partner feed's form (fields in
 * contract order, absent optional fields and empty themes omitted,
 * pilot_projects always written for pairings, occurred_at in its written
 * offset), or NULL when out of memory or when ev holds what JSON cannot
 * (a NULL required string, invalid UTF-8, an enum out of range: validate
 * first). Ownership: the caller owns the returned reference.
 */
json_t *kx_event_to_json(const struct kx_event *ev);

#endif
