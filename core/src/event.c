/*
 * Event type metadata and the symbol tables of the contract's enumerations.
 * Tables are indexed by enum value, so a value out of range is caught by a
 * bounds check, never by reading past an array.
 */
#include <string.h>

#include "kx/err.h"
#include "kx/event.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	enum kx_family family;
} event_types[] = {
#define KX_EVENT_TYPE_ROW(id, name, fam) {name, KX_FAMILY_##fam},
	KX_EVENT_TYPE_MAP(KX_EVENT_TYPE_ROW)
#undef KX_EVENT_TYPE_ROW
};

static const char *const family_names[] = {"pairing", "visit", "practice"};
static const char *const programme_names[] = {"IUC", "IURC", "ICP-AGIR",
					      "URBELAC", "RPD"};
static const char *const party_kind_names[] = {"city", "region",
					       "metropolitan_area",
					       "organisation"};
static const char *const cooperation_type_names[] = {"bilateral", "trio",
						     "cluster", "cohort"};
static const char *const visit_type_names[] = {"study_visit",
					       "networking_event", "webinar",
					       "staff_exchange"};
static const char *const visit_format_names[] = {"in_person", "virtual",
						 "hybrid"};
static const char *const product_type_names[] = {"case_study", "factsheet",
						 "guideline", "handbook"};
static const char *const follow_up_names[] = {"none", "action_plan", "pilot",
					      "replication"};

static const char *
table_name(const char *const *table, size_t n, int v)
{
	return v >= 0 && (size_t)v < n ? table[v] : NULL;
}

static int
table_parse(const char *const *table, size_t n, const char *s, int *out)
{
	for (size_t i = 0; s && i < n; i++) {
		if (strcmp(table[i], s) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return KX_EINVAL;
}

/*
 * One name/parse pair per enumeration. The parse goes through an int so the
 * enum's representation never matters.
 */
#define SYMBOL_TABLE(fn, type, table)                                        \
	const char *kx_##fn##_name(type v)                                   \
	{                                                                    \
		return table_name(table, N_ELEMS(table), (int)v);            \
	}                                                                    \
	int kx_##fn##_parse(const char *s, type *out)                        \
	{                                                                    \
		int v, rc = table_parse(table, N_ELEMS(table), s, &v);       \
		if (rc == 0)                                                 \
			*out = (type)v;                                      \
		return rc;                                                   \
	}

SYMBOL_TABLE(programme, enum kx_programme, programme_names)
SYMBOL_TABLE(party_kind, enum kx_party_kind, party_kind_names)
SYMBOL_TABLE(cooperation_type, enum kx_cooperation_type,
	     cooperation_type_names)
SYMBOL_TABLE(visit_type, enum kx_visit_type, visit_type_names)
SYMBOL_TABLE(visit_format, enum kx_visit_format, visit_format_names)
SYMBOL_TABLE(product_type, enum kx_product_type, product_type_names)
SYMBOL_TABLE(follow_up, enum kx_follow_up, follow_up_names)
SYMBOL_TABLE(family, enum kx_family, family_names)

const char *
kx_event_type_name(enum kx_event_type type)
{
	return (unsigned)type < N_ELEMS(event_types) ? event_types[type].name
						     : NULL;
}

int
kx_event_type_parse(const char *name, enum kx_event_type *type)
{
	for (size_t i = 0; name && i < N_ELEMS(event_types); i++) {
		if (strcmp(event_types[i].name, name) == 0) {
			*type = (enum kx_event_type)i;
			return 0;
		}
	}
	return KX_EINVAL;
}

enum kx_family
kx_event_type_family(enum kx_event_type type)
{
	return event_types[type].family;
}

enum kx_event_type
kx_family_first_type(enum kx_family family)
{
	for (size_t i = 0; i < N_ELEMS(event_types); i++)
		if (event_types[i].family == family)
			return (enum kx_event_type)i;
	return KX_EVENT__COUNT;
}

size_t
kx_family_type_count(enum kx_family family)
{
	size_t n = 0;

	for (size_t i = 0; i < N_ELEMS(event_types); i++)
		n += event_types[i].family == family;
	return n;
}

const char *
kx_event_key(const struct kx_event *ev)
{
	switch (kx_event_type_family(ev->type)) {
	case KX_FAMILY_PAIRING:
		return ev->u.pairing.pairing_id;
	case KX_FAMILY_VISIT:
		return ev->u.visit.visit_id;
	default:
		return ev->type == KX_EVENT_PRACTICE_DOCUMENTED
			       ? ev->u.practice.practice_id
			       : ev->u.transfer.practice_id;
	}
}

const char *
kx_event_entity_id(const struct kx_event *ev)
{
	if (ev->type >= KX_EVENT_TRANSFER_PLANNED)
		return ev->u.transfer.transfer_id;
	return kx_event_key(ev);
}

const char *
kx_event_state(const struct kx_event *ev)
{
	const char *dot = strchr(kx_event_type_name(ev->type), '.');

	return dot + 1;
}

static bool
str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
party_eq(const struct kx_party *a, const struct kx_party *b)
{
	return str_eq(a->name, b->name) &&
	       strcmp(a->country, b->country) == 0 && a->kind == b->kind &&
	       a->eu == b->eu;
}

static bool
parties_eq(const struct kx_party *a, size_t na, const struct kx_party *b,
	   size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!party_eq(&a[i], &b[i]))
			return false;
	return true;
}

static bool
strv_eq(const char **a, size_t na, const char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!str_eq(a[i], b[i]))
			return false;
	return true;
}

static bool
sectors_eq(const struct kx_sectors *a, const struct kx_sectors *b)
{
	if (!a->present || !b->present)
		return a->present == b->present;
	return a->public_sector == b->public_sector &&
	       a->private_sector == b->private_sector &&
	       a->academia == b->academia &&
	       a->civil_society == b->civil_society;
}

bool
kx_event_equal(const struct kx_event *a, const struct kx_event *b)
{
	if (a->type != b->type || strcmp(a->event_id, b->event_id) != 0 ||
	    a->occurred_at != b->occurred_at ||
	    a->occurred_offset != b->occurred_offset ||
	    !str_eq(a->source, b->source) || a->programme != b->programme ||
	    !str_eq(a->geo_area, b->geo_area) ||
	    !strv_eq(a->sdgs, a->n_sdgs, b->sdgs, b->n_sdgs) ||
	    !strv_eq(a->themes, a->n_themes, b->themes, b->n_themes))
		return false;

	switch (kx_event_type_family(a->type)) {
	case KX_FAMILY_PAIRING: {
		const struct kx_pairing *x = &a->u.pairing, *y = &b->u.pairing;
		return str_eq(x->pairing_id, y->pairing_id) &&
		       x->cooperation_type == y->cooperation_type &&
		       x->pilot_projects == y->pilot_projects &&
		       x->budget_eur == y->budget_eur &&
		       parties_eq(x->members, x->n_members, y->members,
				  y->n_members);
	}
	case KX_FAMILY_VISIT: {
		const struct kx_visit *x = &a->u.visit, *y = &b->u.visit;
		return str_eq(x->visit_id, y->visit_id) &&
		       str_eq(x->pairing_id, y->pairing_id) &&
		       x->visit_type == y->visit_type &&
		       x->format == y->format && party_eq(&x->host, &y->host) &&
		       parties_eq(x->visitors, x->n_visitors, y->visitors,
				  y->n_visitors) &&
		       x->start_date == y->start_date &&
		       x->end_date == y->end_date &&
		       x->participants == y->participants &&
		       str_eq(x->report_url, y->report_url) &&
		       sectors_eq(&x->by_sector, &y->by_sector) &&
		       x->follow_up == y->follow_up;
	}
	default:
		break;
	}
	if (a->type == KX_EVENT_PRACTICE_DOCUMENTED) {
		const struct kx_practice *x = &a->u.practice, *y = &b->u.practice;
		return str_eq(x->practice_id, y->practice_id) &&
		       str_eq(x->title, y->title) &&
		       party_eq(&x->origin, &y->origin) &&
		       x->product_type == y->product_type &&
		       str_eq(x->url, y->url);
	}
	return str_eq(a->u.transfer.transfer_id, b->u.transfer.transfer_id) &&
	       str_eq(a->u.transfer.practice_id, b->u.transfer.practice_id) &&
	       party_eq(&a->u.transfer.adopter, &b->u.transfer.adopter);
}
