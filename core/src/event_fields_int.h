/*
 * The fields of a partner event line, private to the core and shared by
 * its two parsers, event_json.c (jansson, which words every reason) and
 * event_fast.c (jsmn): their names in contract order, which is also the
 * order of their checks, and the fields each shape of event requires and
 * allows. One list, so the two parsers cannot drift apart.
 */
#ifndef KX_EVENT_FIELDS_INT_H
#define KX_EVENT_FIELDS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kx/event.h"

enum field {
	F_EVENT_ID,
	F_EVENT_TYPE,
	F_OCCURRED_AT,
	F_SOURCE,
	F_PROGRAMME,
	F_GEO_AREA,
	F_SDGS,
	F_THEMES,
	F_PAIRING_ID,
	F_COOPERATION_TYPE,
	F_MEMBERS,
	F_PILOT_PROJECTS,
	F_VISIT_ID,
	F_VISIT_TYPE,
	F_FORMAT,
	F_HOST,
	F_VISITORS,
	F_START_DATE,
	F_END_DATE,
	F_PARTICIPANTS,
	F_PRACTICE_ID,
	F_TITLE,
	F_ORIGIN,
	F_PRODUCT_TYPE,
	F_TRANSFER_ID,
	F_ADOPTER,
	F_BUDGET_EUR,		  /* v2 */
	F_REPORT_URL,		  /* v2 */
	F_PARTICIPANTS_BY_SECTOR, /* v2 */
	F_FOLLOW_UP,		  /* v2 */
	F_URL,			  /* v2 */
	F__COUNT
};

/* One bit per field: they must fit. B(GEO_AREA) is the bit of F_GEO_AREA. */
_Static_assert(F__COUNT <= 32, "field bits fit in uint32_t");
#define B(f) ((uint32_t)1 << F_##f)

struct kx__event_field {
	const char *name;
	size_t len;
};

extern const struct kx__event_field kx__event_fields[F__COUNT];

/* The four shapes of event: the fields (bits) each requires and allows. */
enum shape { SHAPE_PAIRING, SHAPE_VISIT, SHAPE_PRACTICE, SHAPE_TRANSFER };

struct kx__event_shape {
	uint32_t required;
	uint32_t allowed;
};

extern const struct kx__event_shape kx__event_shapes[];

enum shape kx__event_shape_of(enum kx_event_type type);

/* The field named by the len bytes at key, or -1. */
int kx__event_field_lookup(const char *key, size_t len);

#endif
