/*
 * The KX event model: one C struct for every partner event of CONTRACT §1.
 *
 * Every string of an event points into the arena it was built in (see
 * arena.h), so an event needs no freeing of its own: reset the arena. Strings
 * are valid UTF-8 and NUL-terminated. Optional strings are NULL when absent.
 *
 * The event's type decides which member of the union is meaningful:
 * pairing.* -> ev->u.pairing, visit.* -> ev->u.visit,
 * practice.documented -> ev->u.practice, transfer.* -> ev->u.transfer.
 */
#ifndef KX_EVENT_H
#define KX_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kafka topic families. Transfers travel with their practice. */
enum kx_family {
	KX_FAMILY_PAIRING,
	KX_FAMILY_VISIT,
	KX_FAMILY_PRACTICE,
	KX_FAMILY__COUNT
};

/*
 * Event types in contract order. The Avro enum symbol of a type is its
 * name with '.' written as '_'; within a family the symbols are in this
 * order.
 */
#define KX_EVENT_TYPE_MAP(XX)                                                \
	XX(PAIRING_PROPOSED, "pairing.proposed", PAIRING)                    \
	XX(PAIRING_MATCHED, "pairing.matched", PAIRING)                      \
	XX(PAIRING_AGREEMENT_SIGNED, "pairing.agreement_signed", PAIRING)    \
	XX(PAIRING_ACTION_PLAN_ADOPTED, "pairing.action_plan_adopted",       \
	   PAIRING)                                                          \
	XX(PAIRING_COMPLETED, "pairing.completed", PAIRING)                  \
	XX(PAIRING_SUSPENDED, "pairing.suspended", PAIRING)                  \
	XX(PAIRING_WITHDRAWN, "pairing.withdrawn", PAIRING)                  \
	XX(VISIT_PLANNED, "visit.planned", VISIT)                            \
	XX(VISIT_HELD, "visit.held", VISIT)                                  \
	XX(VISIT_CANCELLED, "visit.cancelled", VISIT)                        \
	XX(PRACTICE_DOCUMENTED, "practice.documented", PRACTICE)             \
	XX(TRANSFER_PLANNED, "transfer.planned", PRACTICE)                   \
	XX(TRANSFER_PILOTING, "transfer.piloting", PRACTICE)                 \
	XX(TRANSFER_REPLICATED, "transfer.replicated", PRACTICE)             \
	XX(TRANSFER_ABANDONED, "transfer.abandoned", PRACTICE)

enum kx_event_type {
#define KX_EVENT_TYPE_ENUM(id, name, fam) KX_EVENT_##id,
	KX_EVENT_TYPE_MAP(KX_EVENT_TYPE_ENUM)
#undef KX_EVENT_TYPE_ENUM
	KX_EVENT__COUNT
};

enum kx_programme {
	KX_PROGRAMME_IUC,
	KX_PROGRAMME_IURC,
	KX_PROGRAMME_ICP_AGIR,
	KX_PROGRAMME_URBELAC,
	KX_PROGRAMME_RPD,
	KX_PROGRAMME__COUNT
};

enum kx_party_kind {
	KX_PARTY_CITY,
	KX_PARTY_REGION,
	KX_PARTY_METROPOLITAN_AREA,
	KX_PARTY_ORGANISATION,
	KX_PARTY__COUNT
};

enum kx_cooperation_type {
	KX_COOP_BILATERAL,
	KX_COOP_TRIO,
	KX_COOP_CLUSTER,
	KX_COOP_COHORT,
	KX_COOP__COUNT
};

enum kx_visit_type {
	KX_VISIT_STUDY_VISIT,
	KX_VISIT_NETWORKING_EVENT,
	KX_VISIT_WEBINAR,
	KX_VISIT_STAFF_EXCHANGE,
	KX_VISIT__COUNT
};

enum kx_visit_format {
	KX_FORMAT_IN_PERSON,
	KX_FORMAT_VIRTUAL,
	KX_FORMAT_HYBRID,
	KX_FORMAT__COUNT
};

/* v2: what a visit led to. Absent reads as none. */
enum kx_follow_up {
	KX_FOLLOW_UP_NONE,
	KX_FOLLOW_UP_ACTION_PLAN,
	KX_FOLLOW_UP_PILOT,
	KX_FOLLOW_UP_REPLICATION,
	KX_FOLLOW_UP__COUNT
};

enum kx_product_type {
	KX_PRODUCT_CASE_STUDY,
	KX_PRODUCT_FACTSHEET,
	KX_PRODUCT_GUIDELINE,
	KX_PRODUCT_HANDBOOK,
	KX_PRODUCT__COUNT
};

/* Contract limits. Lengths of text are in Unicode code points. */
#define KX_KEY_MAX 64
#define KX_SOURCE_MAX 64
#define KX_GEO_AREA_MAX 16
#define KX_THEME_MAX 48
#define KX_PARTY_NAME_MAX 200
#define KX_TITLE_MAX 300
#define KX_PILOT_PROJECTS_MAX 1000
#define KX_ITEMS_MAX 32768 /* items of one array: sdgs, themes, parties */
#define KX_PARTICIPANTS_MAX 100000
#define KX_LINE_MAX ((size_t)1024 * 1024)
#define KX_BUDGET_MAX INT64_C(1000000000000) /* euros */
#define KX_URL_MAX 2048			     /* bytes */

/* A city, region or organisation. Identity is (country, NFC casefolded name). */
struct kx_party {
	const char *name;
	char country[3];
	enum kx_party_kind kind;
	bool eu;
};

struct kx_pairing {
	const char *pairing_id;
	enum kx_cooperation_type cooperation_type;
	struct kx_party *members;
	size_t n_members;
	int32_t pilot_projects; /* 0 when absent */
	int64_t budget_eur;	/* v2: whole euros, -1 when absent */
};

/* v2: a visit's participants by the sector they work in. */
struct kx_sectors {
	bool present; /* false: the partner did not say */
	int32_t public_sector;
	int32_t private_sector;
	int32_t academia;
	int32_t civil_society;
};

struct kx_visit {
	const char *visit_id;
	const char *pairing_id; /* optional */
	enum kx_visit_type visit_type;
	enum kx_visit_format format;
	struct kx_party host;
	struct kx_party *visitors;
	size_t n_visitors;
	int32_t start_date; /* days since 1970-01-01 */
	int32_t end_date;
	int32_t participants; /* -1 when absent */
	const char *report_url;	       /* v2, optional */
	struct kx_sectors by_sector;   /* v2, optional */
	enum kx_follow_up follow_up;   /* v2 */
};

struct kx_practice {
	const char *practice_id;
	const char *title;
	struct kx_party origin;
	enum kx_product_type product_type;
	const char *url; /* v2, optional */
};

struct kx_transfer {
	const char *transfer_id;
	const char *practice_id;
	struct kx_party adopter;
};

struct kx_event {
	enum kx_event_type type;
	char event_id[37];       /* lower case, 8-4-4-4-12 */
	int64_t occurred_at;     /* microseconds since the epoch, UTC */
	int32_t occurred_offset; /* the offset the partner wrote, in minutes */
	const char *source;
	enum kx_programme programme;
	const char *geo_area; /* optional */
	const char **sdgs;
	size_t n_sdgs;
	const char **themes;
	size_t n_themes;
	union {
		struct kx_pairing pairing;
		struct kx_visit visit;
		struct kx_practice practice;
		struct kx_transfer transfer;
	} u;
};

/* The contract name of type, e.g. "pairing.matched". */
const char *kx_event_type_name(enum kx_event_type type);

/* Looks up a contract name; returns 0 and sets *type, or KX_EINVAL. */
int kx_event_type_parse(const char *name, enum kx_event_type *type);

/* The topic family an event type travels in. */
enum kx_family kx_event_type_family(enum kx_event_type type);

/* "pairing", "visit" or "practice". */
const char *kx_family_name(enum kx_family family);
int kx_family_parse(const char *name, enum kx_family *family);

/* First event type of a family; the family's types follow contiguously. */
enum kx_event_type kx_family_first_type(enum kx_family family);
size_t kx_family_type_count(enum kx_family family);

/*
 * The Kafka message key of an event: pairing_id, visit_id or practice_id
 * (transfers are keyed by their practice, so they stay in order with it).
 */
const char *kx_event_key(const struct kx_event *ev);

/* The entity an event describes: its id (transfers: transfer_id). */
const char *kx_event_entity_id(const struct kx_event *ev);

/* The state part of the type name, after the dot, e.g. "matched". */
const char *kx_event_state(const struct kx_event *ev);

/*
 * Symbol tables: each returns the contract spelling of a value, or NULL for
 * a value out of range; each _parse returns 0 and sets *out, or KX_EINVAL.
 */
const char *kx_programme_name(enum kx_programme p);
int kx_programme_parse(const char *s, enum kx_programme *out);
const char *kx_party_kind_name(enum kx_party_kind k);
int kx_party_kind_parse(const char *s, enum kx_party_kind *out);
const char *kx_cooperation_type_name(enum kx_cooperation_type c);
int kx_cooperation_type_parse(const char *s, enum kx_cooperation_type *out);
const char *kx_visit_type_name(enum kx_visit_type v);
int kx_visit_type_parse(const char *s, enum kx_visit_type *out);
const char *kx_visit_format_name(enum kx_visit_format f);
int kx_visit_format_parse(const char *s, enum kx_visit_format *out);
const char *kx_product_type_name(enum kx_product_type p);
int kx_product_type_parse(const char *s, enum kx_product_type *out);
const char *kx_follow_up_name(enum kx_follow_up f);
int kx_follow_up_parse(const char *s, enum kx_follow_up *out);

/*
 * Compares two events field by field; returns true when equal. Used by the
 * round-trip tests and by the interop checks.
 */
bool kx_event_equal(const struct kx_event *a, const struct kx_event *b);

#endif
