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
 * KX_EINVALID_EVENT with "'field': reason" in errbuf.
 */
int kx_event_from_json(const json_t *obj, struct kx_arena *arena,
		       struct kx_event *ev, char *errbuf, size_t errlen);

/*
 * Parses one JSON line (without its newline) of len bytes. Rejects lines
 * over KX_LINE_MAX, invalid UTF-8, invalid JSON, duplicate keys and
 * anything but an object, then calls kx_event_from_json(). Returns 0, or a
 * negative KX_E* code with a reason in errbuf.
 */
int kx_event_parse_line(const char *line, size_t len, struct kx_arena *arena,
			struct kx_event *ev, char *errbuf, size_t errlen);

/*
 * Returns a new JSON object for ev in the partner feed's form (absent
 * optional fields omitted, occurred_at in its written offset), or NULL when
 * out of memory. Ownership: the caller owns the returned reference.
 */
json_t *kx_event_to_json(const struct kx_event *ev);

#endif
