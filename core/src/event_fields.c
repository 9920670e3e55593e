/*
 * The fields of a partner event line (see event_fields_int.h).
 */
#include <string.h>

#include "event_fields_int.h"

/* clang-format off */
#define NAME(s) {s, sizeof(s) - 1}

const struct kx__event_field kx__event_fields[F__COUNT] = {
	NAME("event_id"), NAME("event_type"), NAME("occurred_at"),
	NAME("source"), NAME("programme"), NAME("geo_area"), NAME("sdgs"),
	NAME("themes"), NAME("pairing_id"), NAME("cooperation_type"),
	NAME("members"), NAME("pilot_projects"), NAME("visit_id"),
	NAME("visit_type"), NAME("format"), NAME("host"), NAME("visitors"),
	NAME("start_date"), NAME("end_date"), NAME("participants"),
	NAME("practice_id"), NAME("title"), NAME("origin"),
	NAME("product_type"), NAME("transfer_id"), NAME("adopter"),
	NAME("budget_eur"), NAME("report_url"), NAME("participants_by_sector"),
	NAME("follow_up"), NAME("url"),
};
/* clang-format on */

#define COMMON_REQUIRED                                                        \
	(B(EVENT_ID) | B(EVENT_TYPE) | B(OCCURRED_AT) | B(SOURCE) |            \
	 B(PROGRAMME) | B(SDGS))
#define COMMON_OPTIONAL (B(GEO_AREA) | B(THEMES))

const struct kx__event_shape kx__event_shapes[] = {
	[SHAPE_PAIRING] = {COMMON_REQUIRED | B(PAIRING_ID) |
				   B(COOPERATION_TYPE) | B(MEMBERS),
			   COMMON_REQUIRED | COMMON_OPTIONAL | B(PAIRING_ID) |
				   B(COOPERATION_TYPE) | B(MEMBERS) |
				   B(PILOT_PROJECTS) | B(BUDGET_EUR)},
	[SHAPE_VISIT] = {COMMON_REQUIRED | B(VISIT_ID) | B(VISIT_TYPE) |
				 B(FORMAT) | B(HOST) | B(VISITORS) |
				 B(START_DATE) | B(END_DATE),
			 COMMON_REQUIRED | COMMON_OPTIONAL | B(VISIT_ID) |
				 B(PAIRING_ID) | B(VISIT_TYPE) | B(FORMAT) |
				 B(HOST) | B(VISITORS) | B(START_DATE) |
				 B(END_DATE) | B(PARTICIPANTS) | B(REPORT_URL) |
				 B(PARTICIPANTS_BY_SECTOR) | B(FOLLOW_UP)},
	[SHAPE_PRACTICE] = {COMMON_REQUIRED | B(PRACTICE_ID) | B(TITLE) |
				    B(ORIGIN) | B(PRODUCT_TYPE),
			    COMMON_REQUIRED | COMMON_OPTIONAL | B(PRACTICE_ID) |
				    B(TITLE) | B(ORIGIN) | B(PRODUCT_TYPE) |
				    B(URL)},
	[SHAPE_TRANSFER] = {COMMON_REQUIRED | B(TRANSFER_ID) | B(PRACTICE_ID) |
				    B(ADOPTER),
			    COMMON_REQUIRED | COMMON_OPTIONAL | B(TRANSFER_ID) |
				    B(PRACTICE_ID) | B(ADOPTER)},
};

enum shape
kx__event_shape_of(enum kx_event_type type)
{
	switch (kx_event_type_family(type)) {
	case KX_FAMILY_PAIRING:
		return SHAPE_PAIRING;
	case KX_FAMILY_VISIT:
		return SHAPE_VISIT;
	default:
		return type == KX_EVENT_PRACTICE_DOCUMENTED ? SHAPE_PRACTICE
							    : SHAPE_TRANSFER;
	}
}

/*
 * Every key of every line comes through here. The length and one or two
 * bytes pick the only candidate, so a key costs one memcmp.
 */
int
kx__event_field_lookup(const char *key, size_t len)
{
	int f = -1;

	if (len == 0)
		return -1;
	switch (len) {
	case 3:
		f = F_URL;
		break;
	case 4:
		f = key[0] == 's' ? F_SDGS : F_HOST;
		break;
	case 5:
		f = F_TITLE;
		break;
	case 6:
		f = key[0] == 's'   ? F_SOURCE
		    : key[0] == 't' ? F_THEMES
		    : key[0] == 'f' ? F_FORMAT
				    : F_ORIGIN;
		break;
	case 7:
		f = key[0] == 'm' ? F_MEMBERS : F_ADOPTER;
		break;
	case 8:
		f = key[0] == 'g'   ? F_GEO_AREA
		    : key[0] == 'e' ? (key[1] == 'v' ? F_EVENT_ID : F_END_DATE)
		    : key[5] == '_' ? F_VISIT_ID
				    : F_VISITORS;
		break;
	case 9:
		f = key[0] == 'p' ? F_PROGRAMME : F_FOLLOW_UP;
		break;
	case 10:
		f = key[0] == 'e'   ? F_EVENT_TYPE
		    : key[0] == 'p' ? F_PAIRING_ID
		    : key[0] == 'v' ? F_VISIT_TYPE
		    : key[0] == 's' ? F_START_DATE
		    : key[0] == 'b' ? F_BUDGET_EUR
				    : F_REPORT_URL;
		break;
	case 11:
		f = key[0] == 'o'   ? F_OCCURRED_AT
		    : key[0] == 'p' ? F_PRACTICE_ID
				    : F_TRANSFER_ID;
		break;
	case 12:
		f = key[1] == 'a' ? F_PARTICIPANTS : F_PRODUCT_TYPE;
		break;
	case 14:
		f = F_PILOT_PROJECTS;
		break;
	case 16:
		f = F_COOPERATION_TYPE;
		break;
	case 22:
		f = F_PARTICIPANTS_BY_SECTOR;
		break;
	default:
		return -1;
	}
	return memcmp(kx__event_fields[f].name, key, len) == 0 ? f : -1;
}
