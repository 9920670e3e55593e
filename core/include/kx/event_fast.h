/*
 * The fast path of kx_event_parse_line(): partner JSON lines tokenized by
 * jsmn and read straight into a struct kx_event, with no DOM.
 *
 * It decides only what it is sure of. A line it accepts is one that
 * kx_event_parse_line() accepts too, and the event is the same; any other
 * line (invalid, or merely unusual: a byte order mark, a control byte, a
 * \u0000 or surrogate escape, a field it does not know, a repeated key, a
 * number that is not a small integer, over a thousand tokens) goes to
 * kx_event_parse_line(), whose reason is then the one reported. So every
 * reason a partner reads comes from event_json.c, word for word, and a
 * field added there but not here is still handled, only slower.
 */
#ifndef KX_EVENT_FAST_H
#define KX_EVENT_FAST_H

#include <stdbool.h>
#include <stddef.h>

#include "kx/arena.h"
#include "kx/event.h"

/*
 * Same contract as kx_event_parse_line() (event_json.h): returns 0 with ev
 * built in arena, or a negative KX_E* code with the same reason in errbuf.
 * Safe to call from several threads, each with its own arena.
 */
int kx_event_fast_parse_line(const char *line, size_t len,
			     struct kx_arena *arena, struct kx_event *ev,
			     char *errbuf, size_t errlen);

/*
 * The fast path alone: returns true with ev built in arena when it can
 * accept the line, false when the line needs kx_event_parse_line() (ev is
 * then undefined, and arena may hold scratch until its next reset).
 */
bool kx_event_fast_try(const char *line, size_t len, struct kx_arena *arena,
		       struct kx_event *ev);

#endif
