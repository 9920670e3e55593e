/*
 * The value rules on struct kx_event and the grammar checks under them.
 *
 * Events here are built by hand, as the Avro decoder builds them, so the
 * tests reach what JSON cannot express: enums out of range, an upper-case
 * event_id, invalid UTF-8 inside a string, a timestamp outside the
 * four-digit years, a country that is not NUL-terminated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* cmocka.h needs the headers above first. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "kx/err.h"
#include "kx/event.h"
#include "kx/timeutil.h"
#include "kx/validate.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* 2025-03-14T08:30:00Z, written as 09:30:00+01:00. */
#define SOME_TIME INT64_C(1741941000000000)
#define US_PER_DAY (INT64_C(86400) * 1000000)

static const char *sdgs[] = {"11", "11.6", "7.a.1"};
static const char *themes[] = {"circular-economy"};

static struct kx_party two_parties[2];
static struct kx_party one_party[1];

static struct kx_party
party(const char *name, const char *cc, enum kx_party_kind kind, bool eu)
{
	struct kx_party p = {name, "", kind, eu};

	memcpy(p.country, cc, 3);
	return p;
}

static void
common(struct kx_event *ev, enum kx_event_type type)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	strcpy(ev->event_id, "3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b");
	ev->occurred_at = SOME_TIME;
	ev->occurred_offset = 60;
	ev->source = "iurc-crm";
	ev->programme = KX_PROGRAMME_IURC;
	ev->geo_area = "LAC";
	ev->sdgs = sdgs;
	ev->n_sdgs = N_ELEMS(sdgs);
	ev->themes = themes;
	ev->n_themes = N_ELEMS(themes);
	two_parties[0] = party("São Paulo", "BR", KX_PARTY_CITY, false);
	two_parties[1] = party("Lisboa", "PT", KX_PARTY_CITY, true);
	one_party[0] = party("北京", "CN", KX_PARTY_CITY, false);
}

static void
pairing(struct kx_event *ev)
{
	common(ev, KX_EVENT_PAIRING_MATCHED);
	ev->u.pairing.pairing_id = "P-1";
	ev->u.pairing.cooperation_type = KX_COOP_BILATERAL;
	ev->u.pairing.members = two_parties;
	ev->u.pairing.n_members = 2;
	ev->u.pairing.pilot_projects = 3;
}

static void
visit(struct kx_event *ev)
{
	common(ev, KX_EVENT_VISIT_HELD);
	ev->u.visit.visit_id = "V-1";
	ev->u.visit.pairing_id = "P-1";
	ev->u.visit.visit_type = KX_VISIT_STUDY_VISIT;
	ev->u.visit.format = KX_FORMAT_HYBRID;
	ev->u.visit.host = party("Київ", "UA", KX_PARTY_CITY, false);
	ev->u.visit.visitors = one_party;
	ev->u.visit.n_visitors = 1;
	ev->u.visit.start_date = 20000;
	ev->u.visit.end_date = 20002;
	ev->u.visit.participants = 25;
}

static void
practice(struct kx_event *ev)
{
	common(ev, KX_EVENT_PRACTICE_DOCUMENTED);
	ev->u.practice.practice_id = "BP-9";
	ev->u.practice.title = "Green roofs";
	ev->u.practice.origin = party("القاهرة", "EG", KX_PARTY_CITY, false);
	ev->u.practice.product_type = KX_PRODUCT_HANDBOOK;
}

static void
transfer(struct kx_event *ev)
{
	common(ev, KX_EVENT_TRANSFER_REPLICATED);
	ev->u.transfer.transfer_id = "T-1";
	ev->u.transfer.practice_id = "BP-9";
	ev->u.transfer.adopter =
		party("Utrecht", "NL", KX_PARTY_ORGANISATION, true);
}

static void
expect(const struct kx_event *ev, const char *want)
{
	char err[512] = "";
	int rc = kx_event_validate(ev, err, sizeof(err));

	if (!want) {
		if (rc != 0)
			fail_msg("expected a valid event, got \"%s\"", err);
		return;
	}
	assert_int_equal(rc, KX_EINVALID_EVENT);
	assert_string_equal(err, want);
}

static void
test_validate__valid_events(void **state)
{
	struct kx_event ev;

	(void)state;
	pairing(&ev);
	expect(&ev, NULL);
	visit(&ev);
	expect(&ev, NULL);
	practice(&ev);
	expect(&ev, NULL);
	transfer(&ev);
	expect(&ev, NULL);
	/* Every type of every family, with optionals absent. */
	for (int t = 0; t < KX_EVENT__COUNT; t++) {
		switch (kx_event_type_family((enum kx_event_type)t)) {
		case KX_FAMILY_PAIRING:
			pairing(&ev);
			break;
		case KX_FAMILY_VISIT:
			visit(&ev);
			break;
		default:
			if (t == KX_EVENT_PRACTICE_DOCUMENTED)
				practice(&ev);
			else
				transfer(&ev);
		}
		ev.type = (enum kx_event_type)t;
		ev.geo_area = NULL;
		ev.n_sdgs = 0;
		ev.sdgs = NULL;
		ev.n_themes = 0;
		ev.themes = NULL;
		expect(&ev, NULL);
	}
}

static void
test_validate__common_rules(void **state)
{
	static const char *bad_sdgs[] = {"11", NULL};
	static const char *sdg18[] = {"18"};
	static const char *bad_themes[] = {"ok", "Not-Ok"};
	struct kx_event ev;

	(void)state;
	pairing(&ev);
	ev.type = KX_EVENT__COUNT;
	expect(&ev, "'event_type': value 15 is out of range");
	ev.type = (enum kx_event_type) - 1;
	expect(&ev, "'event_type': value -1 is out of range");

	pairing(&ev);
	strcpy(ev.event_id, "3F1C2A4E-8B6D-4E2F-9A1B-0C2D3E4F5A6B");
	expect(&ev, "'event_id': '3F1C2A4E-8B6D-4E2F-9A1B-0C2D3E4F5A6B' is not "
		    "in lower case");
	strcpy(ev.event_id, "3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6");
	expect(&ev, "'event_id': '3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6' is not "
		    "a UUID (8-4-4-4-12 hex digits)");
	/* A full buffer with no NUL: read no further than the struct. */
	memset(ev.event_id, 'a', sizeof(ev.event_id));
	expect(&ev, "'event_id': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is not "
		    "a UUID (8-4-4-4-12 hex digits)");

	pairing(&ev);
	ev.occurred_offset = 1440;
	expect(&ev, "'occurred_at': offset of 1440 minutes is out of range "
		    "(-1439 to 1439)");
	ev.occurred_offset = -1440;
	expect(&ev, "'occurred_at': offset of -1440 minutes is out of range "
		    "(-1439 to 1439)");
	ev.occurred_offset = -1439;
	expect(&ev, NULL);

	/* The written local time must have a four-digit year. */
	ev.occurred_offset = 0;
	ev.occurred_at = KX_DATE_MIN * US_PER_DAY;
	expect(&ev, NULL);
	ev.occurred_at--;
	expect(&ev, "'occurred_at': out of range (years 0001-9999)");
	ev.occurred_offset = 60; /* 0001-01-01T00:59:59.999999+01:00 */
	expect(&ev, NULL);
	ev.occurred_offset = 0;
	ev.occurred_at = (KX_DATE_MAX + 1) * US_PER_DAY - 1;
	expect(&ev, NULL);
	ev.occurred_at++;
	expect(&ev, "'occurred_at': out of range (years 0001-9999)");
	ev.occurred_at = INT64_MAX;
	expect(&ev, "'occurred_at': out of range (years 0001-9999)");
	ev.occurred_at = INT64_MIN;
	ev.occurred_offset = KX_OFFSET_MAX;
	expect(&ev, "'occurred_at': out of range (years 0001-9999)");

	pairing(&ev);
	ev.source = NULL;
	expect(&ev, "'source': required");
	ev.source = "Upper";
	expect(&ev, "'source': 'Upper' is not 1-64 characters of [a-z0-9._-]");

	pairing(&ev);
	ev.programme = KX_PROGRAMME__COUNT;
	expect(&ev, "'programme': value 5 is out of range");
	ev.programme = (enum kx_programme) - 3;
	expect(&ev, "'programme': value -3 is out of range");

	pairing(&ev);
	ev.geo_area = "";
	expect(&ev, "'geo_area': '' is not 1-16 characters of [A-Z0-9-]");
	ev.geo_area = "L\nAC";
	expect(&ev, "'geo_area': 'L\\nAC' is not 1-16 characters of [A-Z0-9-]");

	pairing(&ev);
	ev.sdgs = bad_sdgs;
	ev.n_sdgs = 2;
	expect(&ev, "'sdgs[1]': required");
	ev.sdgs = sdg18;
	ev.n_sdgs = 1;
	expect(&ev, "'sdgs[0]': '18' is not an SDG goal (1-17)");

	pairing(&ev);
	ev.themes = bad_themes;
	ev.n_themes = 2;
	expect(&ev, "'themes[1]': 'Not-Ok' is not lowercase kebab-case of 1-48 "
		    "characters");
}

static void
test_validate__pairing_rules(void **state)
{
	struct kx_event ev;

	(void)state;
	pairing(&ev);
	ev.u.pairing.pairing_id = NULL;
	expect(&ev, "'pairing_id': required");
	ev.u.pairing.pairing_id = "P\xff";
	expect(&ev, "'pairing_id': invalid UTF-8 at byte 2");
	ev.u.pairing.pairing_id = "P\xc2\x85";
	expect(&ev, "'pairing_id': contains a control character");
	ev.u.pairing.pairing_id = "P\x7f";
	expect(&ev, "'pairing_id': contains a control character");

	pairing(&ev);
	ev.u.pairing.cooperation_type = KX_COOP__COUNT;
	expect(&ev, "'cooperation_type': value 4 is out of range");

	/* At least 1 member while proposed, 2 in every other state. */
	pairing(&ev);
	ev.u.pairing.n_members = 1;
	for (int t = KX_EVENT_PAIRING_PROPOSED; t <= KX_EVENT_PAIRING_WITHDRAWN;
	     t++) {
		char want[128];

		ev.type = (enum kx_event_type)t;
		snprintf(want, sizeof(want),
			 "'members': at least 2 parties required for %s",
			 kx_event_type_name(ev.type));
		expect(&ev, t == KX_EVENT_PAIRING_PROPOSED ? NULL : want);
	}
	ev.type = KX_EVENT_PAIRING_PROPOSED;
	ev.u.pairing.n_members = 0;
	expect(&ev,
	       "'members': at least 1 party required for pairing.proposed");
	ev.u.pairing.members = NULL;
	ev.u.pairing.n_members = 1;
	expect(&ev, "'members': required");

	pairing(&ev);
	two_parties[1].kind = KX_PARTY__COUNT;
	expect(&ev, "'members[1].kind': value 4 is out of range");
	pairing(&ev);
	two_parties[1].name = NULL;
	expect(&ev, "'members[1].name': required");
	two_parties[1].name = "";
	expect(&ev, "'members[1].name': empty, expected 1-200 characters");
	two_parties[1].name = "Lis\xe0\x80\x80oa";
	expect(&ev, "'members[1].name': invalid UTF-8 at byte 4");
	pairing(&ev);
	memcpy(two_parties[0].country, "G", 2);
	expect(&ev, "'members[0].country': 'G' is not an ISO 3166-1 alpha-2 "
		    "code (two upper-case letters)");
	memcpy(two_parties[0].country, "gb", 3);
	expect(&ev, "'members[0].country': 'gb' is not an ISO 3166-1 alpha-2 "
		    "code (two upper-case letters)");
	memcpy(two_parties[0].country, "GBR", 3);
	expect(&ev, "'members[0].country': 'GBR' is not an ISO 3166-1 alpha-2 "
		    "code (two upper-case letters)");
	memcpy(two_parties[0].country, "ZZ", 3);
	expect(&ev, "'members[0].country': 'ZZ' is not an assigned ISO 3166-1 "
		    "alpha-2 code");

	pairing(&ev);
	ev.u.pairing.pilot_projects = -1;
	expect(&ev, "'pilot_projects': -1 is out of range (0-1000)");
	ev.u.pairing.pilot_projects = 1001;
	expect(&ev, "'pilot_projects': 1001 is out of range (0-1000)");
	ev.u.pairing.pilot_projects = 1000;
	expect(&ev, NULL);
	ev.u.pairing.pilot_projects = 0;
	expect(&ev, NULL);
}

static void
test_validate__visit_rules(void **state)
{
	struct kx_event ev;

	(void)state;
	visit(&ev);
	ev.u.visit.visit_id = "";
	expect(&ev, "'visit_id': empty, expected 1-64 characters");
	visit(&ev);
	ev.u.visit.pairing_id = NULL;
	expect(&ev, NULL);
	ev.u.visit.visit_type = KX_VISIT__COUNT;
	expect(&ev, "'visit_type': value 4 is out of range");
	visit(&ev);
	ev.u.visit.format = KX_FORMAT__COUNT;
	expect(&ev, "'format': value 3 is out of range");
	visit(&ev);
	ev.u.visit.host.kind = (enum kx_party_kind) - 1;
	expect(&ev, "'host.kind': value -1 is out of range");
	visit(&ev);
	ev.u.visit.n_visitors = 0;
	expect(&ev, "'visitors': at least 1 party required");
	visit(&ev);
	one_party[0].name = "\t";
	expect(&ev, "'visitors[0].name': contains a control character");

	visit(&ev);
	ev.u.visit.start_date = KX_DATE_MIN - 1;
	expect(&ev, "'start_date': day -719163 is out of range (0001-01-01 to "
		    "9999-12-31)");
	visit(&ev);
	ev.u.visit.end_date = KX_DATE_MAX + 1;
	expect(&ev, "'end_date': day 2932897 is out of range (0001-01-01 to "
		    "9999-12-31)");
	visit(&ev);
	ev.u.visit.end_date = ev.u.visit.start_date;
	expect(&ev, NULL);
	ev.u.visit.end_date--;
	expect(&ev, "'end_date': 2024-10-03 is before start_date 2024-10-04");

	/* participants: -1 is absent, which only visit.held forbids. */
	visit(&ev);
	ev.u.visit.participants = -1;
	expect(&ev, "'participants': required for visit.held");
	ev.type = KX_EVENT_VISIT_PLANNED;
	expect(&ev, NULL);
	ev.type = KX_EVENT_VISIT_CANCELLED;
	expect(&ev, NULL);
	ev.u.visit.participants = -2;
	expect(&ev, "'participants': -2 is out of range (0-100000)");
	ev.u.visit.participants = 100001;
	expect(&ev, "'participants': 100001 is out of range (0-100000)");
	ev.u.visit.participants = 100000;
	expect(&ev, NULL);
	ev.u.visit.participants = 0;
	ev.type = KX_EVENT_VISIT_HELD;
	expect(&ev, NULL);
}

static void
test_validate__practice_and_transfer_rules(void **state)
{
	char title[302 * 3];
	struct kx_event ev;

	(void)state;
	practice(&ev);
	ev.u.practice.title = NULL;
	expect(&ev, "'title': required");
	/* 300 code points of a three-byte script are 900 bytes. */
	title[0] = '\0';
	for (int i = 0; i < 300; i++)
		strcat(title, "北");
	ev.u.practice.title = title;
	expect(&ev, NULL);
	strcat(title, "x");
	expect(&ev, "'title': 301 characters, expected 1-300");
	practice(&ev);
	ev.u.practice.product_type = KX_PRODUCT__COUNT;
	expect(&ev, "'product_type': value 4 is out of range");
	practice(&ev);
	memcpy(ev.u.practice.origin.country, "ZZ", 3);
	expect(&ev, "'origin.country': 'ZZ' is not an assigned ISO 3166-1 "
		    "alpha-2 code");

	transfer(&ev);
	ev.u.transfer.transfer_id = NULL;
	expect(&ev, "'transfer_id': required");
	transfer(&ev);
	ev.u.transfer.practice_id = "";
	expect(&ev, "'practice_id': empty, expected 1-64 characters");
	transfer(&ev);
	ev.u.transfer.adopter.name = "";
	expect(&ev, "'adopter.name': empty, expected 1-200 characters");
}

/* Arrays past the most one Avro array carries are rejected here, with a
 * reason, not refused later by the encoder (which stopped kx-produce). */
static void
test_validate__array_limits(void **state)
{
	static const char *many[KX_ITEMS_MAX + 1];
	static struct kx_party parties[KX_ITEMS_MAX + 1];
	struct kx_event ev;

	(void)state;
	for (size_t i = 0; i <= KX_ITEMS_MAX; i++)
		parties[i] = party("Lisboa", "PT", KX_PARTY_CITY, true);

	for (int is_themes = 0; is_themes < 2; is_themes++) {
		const char ***items = is_themes ? &ev.themes : &ev.sdgs;
		size_t *n = is_themes ? &ev.n_themes : &ev.n_sdgs;

		for (size_t i = 0; i <= KX_ITEMS_MAX; i++)
			many[i] = is_themes ? "ok" : "11";
		pairing(&ev);
		*items = many;
		*n = KX_ITEMS_MAX;
		expect(&ev, NULL);
		*n = KX_ITEMS_MAX + 1;
		expect(&ev, is_themes
				    ? "'themes': 32769 themes, at most 32768"
				    : "'sdgs': 32769 codes, at most 32768");
	}

	visit(&ev);
	ev.u.visit.visitors = parties;
	ev.u.visit.n_visitors = KX_ITEMS_MAX;
	expect(&ev, NULL);
	ev.u.visit.n_visitors = KX_ITEMS_MAX + 1;
	expect(&ev, "'visitors': 32769 parties, at most 32768");

	pairing(&ev);
	ev.u.pairing.members = parties;
	ev.u.pairing.n_members = KX_ITEMS_MAX + 1;
	expect(&ev, "'members': 32769 parties, at most 32768");
}

static void
test_validate__sdg_grammar(void **state)
{
	static const struct {
		const char *code;
		int goal;	 /* 0: rejected */
		const char *out; /* target, or the reason when rejected */
	} cases[] = {
		{"1", 1, ""},
		{"11", 11, ""},
		{"17", 17, ""},
		{"11.6", 11, "11.6"},
		{"7.a", 7, "7.a"},
		{"7.j", 7, "7.j"},
		{"17.19", 17, "17.19"},
		{"11.6.2", 11, "11.6"},
		{"7.a.1", 7, "7.a"},
		{"3.d.99", 3, "3.d"},
		{"17.19.2", 17, "17.19"},
		{"18", 0, "'18' is not an SDG goal (1-17)"},
		{"0", 0, "'0' is not an SDG goal (1-17)"},
		{"011", 0, "'011' is not an SDG goal (1-17)"},
		{"01", 0, "'01' is not an SDG goal (1-17)"},
		{"", 0, "'' is not an SDG goal (1-17)"},
		{"-1", 0, "'-1' is not an SDG goal (1-17)"},
		{"1a", 0, "'1a' is not an SDG goal (1-17)"},
		{"11 ", 0, "'11 ' is not an SDG goal (1-17)"},
		{".6", 0, "'.6' is not an SDG code: goal '' is not 1-17"},
		{"0.1", 0, "'0.1' is not an SDG code: goal '0' is not 1-17"},
		{"11.", 0,
		 "'11.' is not an SDG code: target '' is not 1-19 or a-j"},
		{"11.0", 0,
		 "'11.0' is not an SDG code: target '0' is not 1-19 or a-j"},
		{"11.20", 0,
		 "'11.20' is not an SDG code: target '20' is not 1-19 or a-j"},
		{"11.06", 0,
		 "'11.06' is not an SDG code: target '06' is not 1-19 or a-j"},
		{"7.k", 0,
		 "'7.k' is not an SDG code: target 'k' is not 1-19 or a-j"},
		{"7.ab", 0,
		 "'7.ab' is not an SDG code: target 'ab' is not 1-19 or a-j"},
		{"7.a.", 0,
		 "'7.a.' is not an SDG code: indicator '' is not 1-99"},
		{"7.a.0", 0,
		 "'7.a.0' is not an SDG code: indicator '0' is not 1-99"},
		{"7.a.01", 0,
		 "'7.a.01' is not an SDG code: indicator '01' is not 1-99"},
		{"7.a.b", 0,
		 "'7.a.b' is not an SDG code: indicator 'b' is not 1-99"},
		{"11.6.100", 0,
		 "'11.6.100' is not an SDG code: indicator '100' is not 1-99"},
		{"11.6.2.1", 0,
		 "'11.6.2.1' is not an SDG code: more than three parts"},
		{"11..", 0,
		 "'11..' is not an SDG code: target '' is not 1-19 or a-j"},
	};
	char target[8], err[256];
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		int goal = -1, rc;

		strcpy(target, "junk");
		err[0] = '\0';
		rc = kx_sdg_parse(cases[i].code, &goal, target, err,
				  sizeof(err));
		if (cases[i].goal ? rc != 0 || goal != cases[i].goal ||
					    strcmp(target, cases[i].out) != 0
				  : rc != KX_EINVAL ||
					    strcmp(err, cases[i].out) != 0) {
			fprintf(stderr,
				"'%s': rc %d goal %d target '%s' err '%s'\n",
				cases[i].code, rc, goal, target, err);
			failed++;
		}
	}
	/* errbuf and target are optional. */
	assert_int_equal(kx_sdg_parse("18", &(int){0}, NULL, NULL, 0),
			 KX_EINVAL);
	assert_int_equal(kx_sdg_parse("7.a.1", &(int){0}, NULL, NULL, 0), 0);
	assert_int_equal(failed, 0);
}

static void
test_validate__uuid(void **state)
{
	(void)state;
	assert_true(kx_uuid_valid("3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b"));
	assert_true(kx_uuid_valid("3F1C2A4E-8B6D-4E2F-9A1B-0C2D3E4F5A6B"));
	assert_true(kx_uuid_valid("00000000-0000-0000-0000-000000000000"));
	/* Any version and variant: v1, v7, and the max UUID. */
	assert_true(kx_uuid_valid("c232ab00-9414-11ec-b3c8-9f6bdeced846"));
	assert_true(kx_uuid_valid("017f22e2-79b0-7cc3-98c4-dc0c0c07398f"));
	assert_true(kx_uuid_valid("ffffffff-ffff-ffff-ffff-ffffffffffff"));
	assert_false(kx_uuid_valid(""));
	assert_false(kx_uuid_valid("3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6"));
	assert_false(kx_uuid_valid("3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b7"));
	assert_false(kx_uuid_valid("3f1c2a4e8b6d4e2f9a1b0c2d3e4f5a6b"));
	assert_false(kx_uuid_valid("3f1c2a4e-8b6d-4e2f-9a1b_0c2d3e4f5a6b"));
	assert_false(kx_uuid_valid("3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6g"));
	assert_false(kx_uuid_valid("{3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b}"));
	assert_false(
		kx_uuid_valid("urn:uuid:3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b"));
	assert_false(kx_uuid_valid(" 3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6"));
}

static void
test_validate__country_codes(void **state)
{
	char cc[3] = "";
	int n = 0;

	(void)state;
	/* 249 assigned ISO 3166-1 codes plus XK. */
	for (cc[0] = 'A'; cc[0] <= 'Z'; cc[0]++)
		for (cc[1] = 'A'; cc[1] <= 'Z'; cc[1]++)
			n += kx_country_valid(cc);
	assert_int_equal(n, 250);
	assert_true(kx_country_valid("GB"));
	assert_true(kx_country_valid("FR"));
	assert_true(kx_country_valid("AD"));
	assert_true(kx_country_valid("ZW"));
	assert_true(kx_country_valid("SS"));
	assert_true(kx_country_valid("XK"));
	assert_true(kx_country_valid("AX"));
	assert_false(kx_country_valid("ZZ"));
	assert_false(kx_country_valid("UK"));
	assert_false(kx_country_valid("EU"));
	assert_false(kx_country_valid("AN")); /* withdrawn in 2010 */
	assert_false(kx_country_valid("YU"));
	assert_false(kx_country_valid("gb"));
	assert_false(kx_country_valid("Gb"));
	assert_false(kx_country_valid("G"));
	assert_false(kx_country_valid("GBR"));
	assert_false(kx_country_valid(""));
	assert_false(kx_country_valid(NULL));
}

static void
test_validate__utf8(void **state)
{
	static const struct {
		const char *s;
		long len;   /* kx_utf8_len */
		size_t bad; /* kx_utf8_check; SIZE_MAX when valid */
	} cases[] = {
		{"", 0, SIZE_MAX},
		{"abc", 3, SIZE_MAX},
		{"Київ", 4, SIZE_MAX},
		{"北京", 2, SIZE_MAX},
		{"São Paulo", 9, SIZE_MAX},
		{"القاهرة", 7, SIZE_MAX},
		{"\xf0\x9f\x8f\x99", 1, SIZE_MAX}, /* U+1F3D9 */
		{"\xf4\x8f\xbf\xbf", 1, SIZE_MAX}, /* U+10FFFF */
		{"\xef\xbf\xbf", 1, SIZE_MAX},	   /* U+FFFF */
		{"\xc2\xa0", 1, SIZE_MAX},	   /* U+00A0 */
		{"a\tb", -1, SIZE_MAX},		   /* C0 */
		{"a\nb", -1, SIZE_MAX},
		{"a\x7f", -1, SIZE_MAX},     /* DEL */
		{"a\xc2\x85", -1, SIZE_MAX}, /* C1 (NEL) */
		{"a\xc2\x9f", -1, SIZE_MAX},
		{"\x80", -1, 0}, /* stray continuation */
		{"ab\xbf", -1, 2},
		{"\xc0\xaf", -1, 0}, /* overlong '/' */
		{"\xc1\xbf", -1, 0},
		{"\xe0\x80\xaf", -1, 0}, /* overlong, 3 bytes */
		{"\xe0\x9f\xbf", -1, 0},
		{"\xf0\x80\x80\xaf", -1, 0}, /* overlong, 4 bytes */
		{"\xf0\x8f\xbf\xbf", -1, 0},
		{"x\xed\xa0\x80", -1, 1},    /* U+D800 */
		{"x\xed\xbf\xbf", -1, 1},    /* U+DFFF */
		{"\xf4\x90\x80\x80", -1, 0}, /* U+110000 */
		{"\xf5\x80\x80\x80", -1, 0},
		{"\xff", -1, 0},
		{"S\xc3", -1, 1}, /* truncated */
		{"\xe2\x82", -1, 0},
		{"\xe2\x82x", -1, 0},
		{"\xf0\x9f\x8f", -1, 0},
		{"abcdefgh\xc3\xa9ijklmnop\xff", -1,
		 18}, /* after the fast path */
	};
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		size_t len = strlen(cases[i].s);
		size_t bad = cases[i].bad == SIZE_MAX ? len : cases[i].bad;

		if (kx_utf8_len(cases[i].s, len) != cases[i].len ||
		    kx_utf8_check(cases[i].s, len) != bad) {
			fprintf(stderr, "case %zu: len %ld check %zu\n", i,
				kx_utf8_len(cases[i].s, len),
				kx_utf8_check(cases[i].s, len));
			failed++;
		}
	}
	/* The length given is honoured, NUL or not. */
	assert_int_equal(kx_utf8_len("ab\0c", 4), -1);
	assert_int_equal(kx_utf8_len("S\xc3\xa3o", 2), -1);
	assert_int_equal(kx_utf8_check("S\xc3\xa3o", 2), 1);
	assert_int_equal(failed, 0);
}

static void
test_validate__quote_value(void **state)
{
	char out[512], tiny[20], s[300];

	(void)state;
	assert_string_equal(kx_quote_value(out, sizeof(out), "Київ", 8),
			    "'Київ'");
	assert_string_equal(kx_quote_value(out, sizeof(out), "", 0), "''");
	assert_string_equal(kx_quote_value(out, sizeof(out), "a\nb\tc\rd", 7),
			    "'a\\nb\\tc\\rd'");
	assert_string_equal(kx_quote_value(out, sizeof(out), "\x01\x7f", 2),
			    "'\\x01\\x7f'");
	assert_string_equal(kx_quote_value(out, sizeof(out), "\xc2\x85", 2),
			    "'\\u0085'");
	assert_string_equal(kx_quote_value(out, sizeof(out), "a\xff\xc3", 3),
			    "'a\\xff\\xc3'");
	assert_string_equal(kx_quote_value(out, sizeof(out), "a\0b", 3),
			    "'a\\x00b'");
	/* Cut at 64 code points, never inside one. */
	s[0] = '\0';
	for (int i = 0; i < 70; i++)
		strcat(s, "é");
	kx_quote_value(out, sizeof(out), s, strlen(s));
	assert_int_equal(strlen(out), 1 + 64 * 2 + 3 + 1);
	assert_int_equal(strncmp(out + 129, "...'", 5), 0);
	/* A small buffer cuts early but stays quoted and terminated. */
	kx_quote_value(tiny, sizeof(tiny), s, strlen(s));
	assert_int_equal(tiny[strlen(tiny) - 1], '\'');
	assert_int_equal(kx_utf8_check(tiny, strlen(tiny)), strlen(tiny));
	assert_int_equal(strncmp(tiny + strlen(tiny) - 4, "...'", 4), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate__valid_events),
		cmocka_unit_test(test_validate__common_rules),
		cmocka_unit_test(test_validate__pairing_rules),
		cmocka_unit_test(test_validate__visit_rules),
		cmocka_unit_test(test_validate__array_limits),
		cmocka_unit_test(test_validate__practice_and_transfer_rules),
		cmocka_unit_test(test_validate__sdg_grammar),
		cmocka_unit_test(test_validate__uuid),
		cmocka_unit_test(test_validate__country_codes),
		cmocka_unit_test(test_validate__utf8),
		cmocka_unit_test(test_validate__quote_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
