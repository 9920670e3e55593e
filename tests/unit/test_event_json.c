/*
 * Partner JSON lines: every shape and value rule of CONTRACT §1, accepted
 * and rejected, with the exact reason a partner reads in --rejects.
 *
 * Most cases start from a valid event of each shape and edit one or more
 * fields (by path, e.g. "members[1].country"), so a case states only what
 * it changes. Lines that JSON itself rejects are written out raw.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above first. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "event_lines.h"
#include "kx/arena.h"
#include "kx/err.h"
#include "kx/event.h"
#include "kx/event_json.h"
#include "kx/timeutil.h"

enum base { PAIRING, VISIT, PRACTICE, TRANSFER };

static const char *const bases[] = {
	[PAIRING] = "{\"event_id\":\"3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b\","
		    "\"event_type\":\"pairing.matched\","
		    "\"occurred_at\":\"2025-03-14T09:30:00+01:00\","
		    "\"source\":\"iurc-crm\",\"programme\":\"IURC\","
		    "\"geo_area\":\"LAC\",\"sdgs\":[\"11\",\"11.6\",\"7.a.1\"],"
		    "\"themes\":[\"circular-economy\"],"
		    "\"pairing_id\":\"P-2025-001\","
		    "\"cooperation_type\":\"bilateral\","
		    "\"members\":[{\"name\":\"São Paulo\",\"country\":\"BR\","
		    "\"kind\":\"city\",\"eu\":false},{\"name\":\"Lisboa\","
		    "\"country\":\"PT\",\"kind\":\"city\",\"eu\":true}],"
		    "\"pilot_projects\":3}",
	[VISIT] = LINE_VISIT_HELD,
	[PRACTICE] = "{\"event_id\":\"5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c10\","
		     "\"event_type\":\"practice.documented\","
		     "\"occurred_at\":\"2025-07-01T10:00:00Z\","
		     "\"source\":\"iurc-crm\",\"programme\":\"IURC\","
		     "\"sdgs\":[\"11.7\"],\"practice_id\":\"BP-9\","
		     "\"title\":\"Green roofs in القاهرة\","
		     "\"origin\":{\"name\":\"القاهرة\",\"country\":\"EG\","
		     "\"kind\":\"city\",\"eu\":false},"
		     "\"product_type\":\"case_study\"}",
	[TRANSFER] = "{\"event_id\":\"7b6a5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d\","
		     "\"event_type\":\"transfer.piloting\","
		     "\"occurred_at\":\"2025-08-02T10:00:00Z\","
		     "\"source\":\"iurc-crm\",\"programme\":\"IURC\","
		     "\"sdgs\":[\"11.7\"],\"transfer_id\":\"T-1\","
		     "\"practice_id\":\"BP-9\","
		     "\"adopter\":{\"name\":\"Région Île-de-France\","
		     "\"country\":\"FR\",\"kind\":\"region\",\"eu\":true}}",
};

/* Sets path to value (JSON text), or deletes it when value is NULL. */
struct edit {
	const char *path;
	const char *value;
};

#define DELETE NULL
#define OK NULL

struct line_case {
	enum base base;
	struct edit edits[3];
	const char *reason; /* OK, or the exact reason */
};

static const struct line_case cases[] = {
	/* Every base is valid as it stands. */
	{PAIRING, {{NULL}}, OK},
	{VISIT, {{NULL}}, OK},
	{PRACTICE, {{NULL}}, OK},
	{TRANSFER, {{NULL}}, OK},

	/* event_id: an RFC 4122 UUID in any case. */
	{PAIRING,
	 {{"event_id", "\"3F1C2A4E-8B6D-4E2F-9A1B-0C2D3E4F5A6B\""}},
	 OK},
	{PAIRING,
	 {{"event_id", "\"00000000-0000-0000-0000-000000000000\""}},
	 OK},
	{PAIRING, {{"event_id", DELETE}}, "'event_id': required"},
	{PAIRING, {{"event_id", "null"}}, "'event_id': required"},
	{PAIRING, {{"event_id", "42"}}, "'event_id': expected a string"},
	{PAIRING,
	 {{"event_id", "\"not-a-uuid\""}},
	 "'event_id': 'not-a-uuid' is not a UUID (8-4-4-4-12 hex digits)"},
	{PAIRING,
	 {{"event_id", "\"3f1c2a4e8b6d4e2f9a1b0c2d3e4f5a6b\""}},
	 "'event_id': '3f1c2a4e8b6d4e2f9a1b0c2d3e4f5a6b' is not a UUID "
	 "(8-4-4-4-12 hex digits)"},
	{PAIRING,
	 {{"event_id", "\"{3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b}\""}},
	 "'event_id': '{3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b}' is not a UUID "
	 "(8-4-4-4-12 hex digits)"},
	{PAIRING,
	 {{"event_id", "\"3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6g\""}},
	 "'event_id': '3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6g' is not a UUID "
	 "(8-4-4-4-12 hex digits)"},
	{PAIRING,
	 {{"event_id", "\"3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b0\""}},
	 "'event_id': '3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b0' is not a UUID "
	 "(8-4-4-4-12 hex digits)"},

	/* event_type: required, known, and deciding the allowed fields. */
	{PAIRING, {{"event_type", DELETE}}, "'event_type': required"},
	{PAIRING, {{"event_type", "null"}}, "'event_type': required"},
	{PAIRING, {{"event_type", "7"}}, "'event_type': expected a string"},
	{PAIRING,
	 {{"event_type", "\"pairing.started\""}},
	 "'event_type': 'pairing.started' is not a known event type"},
	{PAIRING,
	 {{"event_type", "\"Pairing.Matched\""}},
	 "'event_type': 'Pairing.Matched' is not a known event type"},
	{PAIRING,
	 {{"event_type", "\"pairing_matched\""}},
	 "'event_type': 'pairing_matched' is not a known event type"},

	/* occurred_at: RFC 3339 with its offset. */
	{PAIRING, {{"occurred_at", "\"2025-03-14T09:30:00Z\""}}, OK},
	{PAIRING, {{"occurred_at", "\"2025-03-14t09:30:00z\""}}, OK},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14T09:30:00.123456789-05:30\""}},
	 OK},
	{PAIRING, {{"occurred_at", "\"2025-03-14T09:30:00.1+23:59\""}}, OK},
	{PAIRING, {{"occurred_at", "\"2024-02-29T00:00:00Z\""}}, OK},
	{PAIRING, {{"occurred_at", "\"2000-02-29T00:00:00Z\""}}, OK},
	{PAIRING, {{"occurred_at", "\"2016-12-31T23:59:60Z\""}}, OK},
	{PAIRING, {{"occurred_at", "\"0001-01-01T00:00:00Z\""}}, OK},
	{PAIRING, {{"occurred_at", "\"9999-12-31T23:59:59.999999Z\""}}, OK},
	{PAIRING, {{"occurred_at", DELETE}}, "'occurred_at': required"},
	{PAIRING,
	 {{"occurred_at", "1741941000"}},
	 "'occurred_at': expected a string"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14T09:30:00\""}},
	 "'occurred_at': '2025-03-14T09:30:00' is not a valid RFC 3339 "
	 "timestamp: missing offset (Z, +HH:MM or -HH:MM)"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14\""}},
	 "'occurred_at': '2025-03-14' is not a valid RFC 3339 timestamp: "
	 "expected YYYY-MM-DDTHH:MM:SS and an offset"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14 09:30:00Z\""}},
	 "'occurred_at': '2025-03-14 09:30:00Z' is not a valid RFC 3339 "
	 "timestamp: expected YYYY-MM-DDTHH:MM:SS and an offset"},
	{PAIRING,
	 {{"occurred_at", "\"2023-02-29T10:00:00Z\""}},
	 "'occurred_at': '2023-02-29T10:00:00Z' is not a valid RFC 3339 "
	 "timestamp: day 29 is out of range for 2023-02"},
	{PAIRING,
	 {{"occurred_at", "\"1900-02-29T10:00:00Z\""}},
	 "'occurred_at': '1900-02-29T10:00:00Z' is not a valid RFC 3339 "
	 "timestamp: day 29 is out of range for 1900-02"},
	{PAIRING,
	 {{"occurred_at", "\"2025-04-31T10:00:00Z\""}},
	 "'occurred_at': '2025-04-31T10:00:00Z' is not a valid RFC 3339 "
	 "timestamp: day 31 is out of range for 2025-04"},
	{PAIRING,
	 {{"occurred_at", "\"2025-13-01T10:00:00Z\""}},
	 "'occurred_at': '2025-13-01T10:00:00Z' is not a valid RFC 3339 "
	 "timestamp: month 13 is out of range (01-12)"},
	{PAIRING,
	 {{"occurred_at", "\"0000-01-01T00:00:00Z\""}},
	 "'occurred_at': '0000-01-01T00:00:00Z' is not a valid RFC 3339 "
	 "timestamp: year 0000 is out of range (0001-9999)"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14T24:00:00Z\""}},
	 "'occurred_at': '2025-03-14T24:00:00Z' is not a valid RFC 3339 "
	 "timestamp: hour 24 is out of range (00-23)"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14T09:60:00Z\""}},
	 "'occurred_at': '2025-03-14T09:60:00Z' is not a valid RFC 3339 "
	 "timestamp: minute 60 is out of range (00-59)"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14T09:30:61Z\""}},
	 "'occurred_at': '2025-03-14T09:30:61Z' is not a valid RFC 3339 "
	 "timestamp: second 61 is out of range (00-60)"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14T09:30:00+24:00\""}},
	 "'occurred_at': '2025-03-14T09:30:00+24:00' is not a valid RFC 3339 "
	 "timestamp: offset hour 24 is out of range (00-23)"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14T09:30:00+01:60\""}},
	 "'occurred_at': '2025-03-14T09:30:00+01:60' is not a valid RFC 3339 "
	 "timestamp: offset minute 60 is out of range (00-59)"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14T09:30:00+0100\""}},
	 "'occurred_at': '2025-03-14T09:30:00+0100' is not a valid RFC 3339 "
	 "timestamp: the offset must be Z, +HH:MM or -HH:MM"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14T09:30:00 Z\""}},
	 "'occurred_at': '2025-03-14T09:30:00 Z' is not a valid RFC 3339 "
	 "timestamp: the offset must be Z, +HH:MM or -HH:MM"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14T09:30:00.Z\""}},
	 "'occurred_at': '2025-03-14T09:30:00.Z' is not a valid RFC 3339 "
	 "timestamp: no digits after the decimal point"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14T09:30:00.1234567890Z\""}},
	 "'occurred_at': '2025-03-14T09:30:00.1234567890Z' is not a valid "
	 "RFC 3339 timestamp: more than 9 fractional digits"},
	{PAIRING,
	 {{"occurred_at", "\"2025-03-14T09:30:00Z \""}},
	 "'occurred_at': '2025-03-14T09:30:00Z ' is not a valid RFC 3339 "
	 "timestamp: unexpected text after the offset"},

	/* source: 1-64 of [a-z0-9._-]. */
	{PAIRING, {{"source", "\"a\""}}, OK},
	{PAIRING, {{"source", "\"crm.v2_export-1\""}}, OK},
	{PAIRING, {{"source", DELETE}}, "'source': required"},
	{PAIRING, {{"source", "[]"}}, "'source': expected a string"},
	{PAIRING,
	 {{"source", "\"\""}},
	 "'source': '' is not 1-64 characters of [a-z0-9._-]"},
	{PAIRING,
	 {{"source", "\"IURC CRM\""}},
	 "'source': 'IURC CRM' is not 1-64 characters of [a-z0-9._-]"},
	{PAIRING,
	 {{"source", "\"crm/1\""}},
	 "'source': 'crm/1' is not 1-64 characters of [a-z0-9._-]"},

	/* programme: the five programmes, spelled exactly. */
	{PAIRING, {{"programme", "\"IUC\""}}, OK},
	{PAIRING, {{"programme", "\"ICP-AGIR\""}}, OK},
	{PAIRING, {{"programme", "\"URBELAC\""}}, OK},
	{PAIRING, {{"programme", "\"RPD\""}}, OK},
	{PAIRING, {{"programme", DELETE}}, "'programme': required"},
	{PAIRING,
	 {{"programme", "\"iurc\""}},
	 "'programme': 'iurc' is not one of IUC, IURC, ICP-AGIR, URBELAC or "
	 "RPD"},
	{PAIRING,
	 {{"programme", "\"ICP AGIR\""}},
	 "'programme': 'ICP AGIR' is not one of IUC, IURC, ICP-AGIR, URBELAC "
	 "or RPD"},
	{PAIRING, {{"programme", "1"}}, "'programme': expected a string"},

	/* geo_area: optional, 1-16 of [A-Z0-9-]. */
	{PAIRING, {{"geo_area", DELETE}}, OK},
	{PAIRING, {{"geo_area", "null"}}, OK},
	{PAIRING, {{"geo_area", "\"NA\""}}, OK},
	{PAIRING, {{"geo_area", "\"AA-2\""}}, OK},
	{PAIRING,
	 {{"geo_area", "\"lac\""}},
	 "'geo_area': 'lac' is not 1-16 characters of [A-Z0-9-]"},
	{PAIRING,
	 {{"geo_area", "\"\""}},
	 "'geo_area': '' is not 1-16 characters of [A-Z0-9-]"},
	{PAIRING,
	 {{"geo_area", "\"ABCDEFGHIJKLMNOPQ\""}},
	 "'geo_area': 'ABCDEFGHIJKLMNOPQ' is not 1-16 characters of "
	 "[A-Z0-9-]"},
	{PAIRING, {{"geo_area", "3"}}, "'geo_area': expected a string"},

	/* sdgs: required, may be empty, codes are text. */
	{PAIRING, {{"sdgs", "[]"}}, OK},
	{PAIRING,
	 {{"sdgs", "[\"11\",\"11.6\",\"7.a\",\"11.6.2\",\"7.a.1\",\"17.19\","
		   "\"1\",\"17\",\"3.d.99\",\"1.j\"]"}},
	 OK},
	{PAIRING, {{"sdgs", DELETE}}, "'sdgs': required"},
	{PAIRING, {{"sdgs", "null"}}, "'sdgs': required"},
	{PAIRING, {{"sdgs", "\"11\""}}, "'sdgs': expected an array"},
	{PAIRING, {{"sdgs", "[11]"}}, "'sdgs[0]': expected a string"},
	{PAIRING, {{"sdgs", "[\"11\",null]"}}, "'sdgs[1]': expected a string"},
	{PAIRING,
	 {{"sdgs", "[\"11\",\"6\",\"18\"]"}},
	 "'sdgs[2]': '18' is not an SDG goal (1-17)"},
	{PAIRING,
	 {{"sdgs", "[\"0\"]"}},
	 "'sdgs[0]': '0' is not an SDG goal (1-17)"},
	{PAIRING,
	 {{"sdgs", "[\"011\"]"}},
	 "'sdgs[0]': '011' is not an SDG goal (1-17)"},
	{PAIRING,
	 {{"sdgs", "[\"07\"]"}},
	 "'sdgs[0]': '07' is not an SDG goal (1-17)"},
	{PAIRING,
	 {{"sdgs", "[\"\"]"}},
	 "'sdgs[0]': '' is not an SDG goal (1-17)"},
	{PAIRING,
	 {{"sdgs", "[\"SDG11\"]"}},
	 "'sdgs[0]': 'SDG11' is not an SDG goal (1-17)"},
	{PAIRING,
	 {{"sdgs", "[\"18.1\"]"}},
	 "'sdgs[0]': '18.1' is not an SDG code: goal '18' is not 1-17"},
	{PAIRING,
	 {{"sdgs", "[\"11.20\"]"}},
	 "'sdgs[0]': '11.20' is not an SDG code: target '20' is not 1-19 or "
	 "a-j"},
	{PAIRING,
	 {{"sdgs", "[\"11.06\"]"}},
	 "'sdgs[0]': '11.06' is not an SDG code: target '06' is not 1-19 or "
	 "a-j"},
	{PAIRING,
	 {{"sdgs", "[\"7.k\"]"}},
	 "'sdgs[0]': '7.k' is not an SDG code: target 'k' is not 1-19 or a-j"},
	{PAIRING,
	 {{"sdgs", "[\"7.A\"]"}},
	 "'sdgs[0]': '7.A' is not an SDG code: target 'A' is not 1-19 or a-j"},
	{PAIRING,
	 {{"sdgs", "[\"11.\"]"}},
	 "'sdgs[0]': '11.' is not an SDG code: target '' is not 1-19 or a-j"},
	{PAIRING,
	 {{"sdgs", "[\"11.6.\"]"}},
	 "'sdgs[0]': '11.6.' is not an SDG code: indicator '' is not 1-99"},
	{PAIRING,
	 {{"sdgs", "[\"11.6.0\"]"}},
	 "'sdgs[0]': '11.6.0' is not an SDG code: indicator '0' is not 1-99"},
	{PAIRING,
	 {{"sdgs", "[\"11.6.100\"]"}},
	 "'sdgs[0]': '11.6.100' is not an SDG code: indicator '100' is not "
	 "1-99"},
	{PAIRING,
	 {{"sdgs", "[\"11.6.2.1\"]"}},
	 "'sdgs[0]': '11.6.2.1' is not an SDG code: more than three parts"},
	{PAIRING,
	 {{"sdgs", "[\" 11\"]"}},
	 "'sdgs[0]': ' 11' is not an SDG goal (1-17)"},

	/* themes: optional, lowercase kebab-case of 1-48. */
	{PAIRING, {{"themes", DELETE}}, OK},
	{PAIRING, {{"themes", "null"}}, OK},
	{PAIRING, {{"themes", "[]"}}, OK},
	{PAIRING, {{"themes", "[\"a\",\"x-1-y\",\"5g\"]"}}, OK},
	{PAIRING,
	 {{"themes", "\"circular-economy\""}},
	 "'themes': expected an array"},
	{PAIRING,
	 {{"themes", "[\"a\",true]"}},
	 "'themes[1]': expected a string"},
	{PAIRING,
	 {{"themes", "[\"Circular-Economy\"]"}},
	 "'themes[0]': 'Circular-Economy' is not lowercase kebab-case of 1-48 "
	 "characters"},
	{PAIRING,
	 {{"themes", "[\"ok\",\"circular_economy\"]"}},
	 "'themes[1]': 'circular_economy' is not lowercase kebab-case of 1-48 "
	 "characters"},
	{PAIRING,
	 {{"themes", "[\"-a\"]"}},
	 "'themes[0]': '-a' is not lowercase kebab-case of 1-48 characters"},
	{PAIRING,
	 {{"themes", "[\"a-\"]"}},
	 "'themes[0]': 'a-' is not lowercase kebab-case of 1-48 characters"},
	{PAIRING,
	 {{"themes", "[\"a--b\"]"}},
	 "'themes[0]': 'a--b' is not lowercase kebab-case of 1-48 characters"},
	{PAIRING,
	 {{"themes", "[\"\"]"}},
	 "'themes[0]': '' is not lowercase kebab-case of 1-48 characters"},
	{PAIRING,
	 {{"themes", "[\"économie\"]"}},
	 "'themes[0]': 'économie' is not lowercase kebab-case of 1-48 "
	 "characters"},

	/* pairing_id and the other entity keys. */
	{PAIRING, {{"pairing_id", DELETE}}, "'pairing_id': required"},
	{PAIRING, {{"pairing_id", "7"}}, "'pairing_id': expected a string"},
	{PAIRING,
	 {{"pairing_id", "\"\""}},
	 "'pairing_id': empty, expected 1-64 characters"},
	{PAIRING,
	 {{"pairing_id", "\"P\\u0001\""}},
	 "'pairing_id': contains a control character"},
	{PAIRING,
	 {{"pairing_id", "\"P\\u0085\""}},
	 "'pairing_id': contains a control character"},
	{PAIRING, {{"pairing_id", "\"Київ/2025 #1\""}}, OK},

	/* cooperation_type. */
	{PAIRING, {{"cooperation_type", "\"trio\""}}, OK},
	{PAIRING, {{"cooperation_type", "\"cluster\""}}, OK},
	{PAIRING, {{"cooperation_type", "\"cohort\""}}, OK},
	{PAIRING,
	 {{"cooperation_type", DELETE}},
	 "'cooperation_type': required"},
	{PAIRING,
	 {{"cooperation_type", "\"pair\""}},
	 "'cooperation_type': 'pair' is not one of bilateral, trio, cluster or "
	 "cohort"},

	/* members: parties, at least 1 when proposed and 2 otherwise. */
	{PAIRING, {{"members", DELETE}}, "'members': required"},
	{PAIRING, {{"members", "{}"}}, "'members': expected an array"},
	{PAIRING,
	 {{"members", "[]"}},
	 "'members': at least 2 parties required for pairing.matched"},
	{PAIRING,
	 {{"members[1]", DELETE}},
	 "'members': at least 2 parties required for pairing.matched"},
	{PAIRING,
	 {{"event_type", "\"pairing.proposed\""}, {"members[1]", DELETE}},
	 OK},
	{PAIRING,
	 {{"event_type", "\"pairing.proposed\""}, {"members", "[]"}},
	 "'members': at least 1 party required for pairing.proposed"},
	{PAIRING,
	 {{"event_type", "\"pairing.agreement_signed\""},
	  {"members[1]", DELETE}},
	 "'members': at least 2 parties required for pairing.agreement_signed"},
	{PAIRING,
	 {{"event_type", "\"pairing.action_plan_adopted\""},
	  {"members[1]", DELETE}},
	 "'members': at least 2 parties required for "
	 "pairing.action_plan_adopted"},
	{PAIRING,
	 {{"event_type", "\"pairing.completed\""}, {"members[1]", DELETE}},
	 "'members': at least 2 parties required for pairing.completed"},
	{PAIRING,
	 {{"event_type", "\"pairing.suspended\""}, {"members[1]", DELETE}},
	 "'members': at least 2 parties required for pairing.suspended"},
	{PAIRING,
	 {{"event_type", "\"pairing.withdrawn\""}, {"members[1]", DELETE}},
	 "'members': at least 2 parties required for pairing.withdrawn"},
	{PAIRING,
	 {{"members[1]", "\"Lisboa\""}},
	 "'members[1]': expected an object"},
	{PAIRING, {{"members[1]", "null"}}, "'members[1]': expected an object"},

	/* Parties: exactly name, country, kind and eu. */
	{PAIRING, {{"members[1].name", DELETE}}, "'members[1].name': required"},
	{PAIRING, {{"members[1].name", "null"}}, "'members[1].name': required"},
	{PAIRING,
	 {{"members[1].name", "5"}},
	 "'members[1].name': expected a string"},
	{PAIRING,
	 {{"members[1].name", "\"\""}},
	 "'members[1].name': empty, expected 1-200 characters"},
	{PAIRING,
	 {{"members[1].name", "\"Lis\\nboa\""}},
	 "'members[1].name': contains a control character"},
	{PAIRING, {{"members[1].name", "\"Київ\""}}, OK},
	{PAIRING, {{"members[1].name", "\"北京\""}}, OK},
	{PAIRING, {{"members[1].name", "\"القاهرة\""}}, OK},
	{PAIRING, {{"members[1].name", "\"\\ud83c\\udfd9 City\""}}, OK},
	{PAIRING,
	 {{"members[1].country", DELETE}},
	 "'members[1].country': required"},
	{PAIRING, {{"members[1].country", "\"XK\""}}, OK},
	{PAIRING,
	 {{"members[1].country", "\"ZZ\""}},
	 "'members[1].country': 'ZZ' is not an assigned ISO 3166-1 alpha-2 "
	 "code"},
	{PAIRING,
	 {{"members[1].country", "\"UK\""}},
	 "'members[1].country': 'UK' is not an assigned ISO 3166-1 alpha-2 "
	 "code"},
	{PAIRING,
	 {{"members[1].country", "\"EU\""}},
	 "'members[1].country': 'EU' is not an assigned ISO 3166-1 alpha-2 "
	 "code"},
	{PAIRING,
	 {{"members[1].country", "\"gb\""}},
	 "'members[1].country': 'gb' is not an ISO 3166-1 alpha-2 code (two "
	 "upper-case letters)"},
	{PAIRING,
	 {{"members[1].country", "\"Pt\""}},
	 "'members[1].country': 'Pt' is not an ISO 3166-1 alpha-2 code (two "
	 "upper-case letters)"},
	{PAIRING,
	 {{"members[1].country", "\"PRT\""}},
	 "'members[1].country': 'PRT' is not an ISO 3166-1 alpha-2 code (two "
	 "upper-case letters)"},
	{PAIRING,
	 {{"members[1].country", "\"\""}},
	 "'members[1].country': '' is not an ISO 3166-1 alpha-2 code (two "
	 "upper-case letters)"},
	{PAIRING,
	 {{"members[1].country", "\"É\""}},
	 "'members[1].country': 'É' is not an ISO 3166-1 alpha-2 code (two "
	 "upper-case letters)"},
	{PAIRING,
	 {{"members[1].country", "620"}},
	 "'members[1].country': expected a string"},
	{PAIRING, {{"members[0].kind", "\"region\""}}, OK},
	{PAIRING, {{"members[0].kind", "\"metropolitan_area\""}}, OK},
	{PAIRING, {{"members[0].kind", "\"organisation\""}}, OK},
	{PAIRING,
	 {{"members[0].kind", "\"town\""}},
	 "'members[0].kind': 'town' is not one of city, region, "
	 "metropolitan_area or organisation"},
	{PAIRING,
	 {{"members[0].kind", "\"organization\""}},
	 "'members[0].kind': 'organization' is not one of city, region, "
	 "metropolitan_area or organisation"},
	{PAIRING,
	 {{"members[0].eu", "\"yes\""}},
	 "'members[0].eu': expected a boolean"},
	{PAIRING,
	 {{"members[0].eu", "0"}},
	 "'members[0].eu': expected a boolean"},
	{PAIRING, {{"members[0].eu", DELETE}}, "'members[0].eu': required"},
	{PAIRING,
	 {{"members[0].population", "12000000"}},
	 "'members[0].population': unknown field for a party"},
	{PAIRING, {{"members[0].population", "null"}}, OK},

	/* pilot_projects: optional integer 0-1000. */
	{PAIRING, {{"pilot_projects", DELETE}}, OK},
	{PAIRING, {{"pilot_projects", "null"}}, OK},
	{PAIRING, {{"pilot_projects", "0"}}, OK},
	{PAIRING, {{"pilot_projects", "1000"}}, OK},
	{PAIRING,
	 {{"pilot_projects", "1001"}},
	 "'pilot_projects': 1001 is out of range (0-1000)"},
	{PAIRING,
	 {{"pilot_projects", "-1"}},
	 "'pilot_projects': -1 is out of range (0-1000)"},
	{PAIRING,
	 {{"pilot_projects", "3000000000"}},
	 "'pilot_projects': 3000000000 is out of range (0-1000)"},
	{PAIRING,
	 {{"pilot_projects", "5.0"}},
	 "'pilot_projects': expected an integer"},
	{PAIRING,
	 {{"pilot_projects", "1e2"}},
	 "'pilot_projects': expected an integer"},
	{PAIRING,
	 {{"pilot_projects", "\"5\""}},
	 "'pilot_projects': expected an integer"},
	{PAIRING,
	 {{"pilot_projects", "true"}},
	 "'pilot_projects': expected an integer"},

	/* Unknown fields, and fields of another family. */
	{PAIRING,
	 {{"colour", "\"red\""}},
	 "'colour': unknown field for pairing.matched"},
	{PAIRING,
	 {{"Source", "\"x\""}},
	 "'Source': unknown field for pairing.matched"},
	{PAIRING,
	 {{"visit_id", "\"V-1\""}},
	 "'visit_id': unknown field for pairing.matched"},
	{PAIRING,
	 {{"participants", "3"}},
	 "'participants': unknown field for pairing.matched"},
	{VISIT, {{"members", "[]"}}, "'members': unknown field for visit.held"},
	{VISIT,
	 {{"pilot_projects", "1"}},
	 "'pilot_projects': unknown field for visit.held"},
	{PRACTICE,
	 {{"transfer_id", "\"T-1\""}},
	 "'transfer_id': unknown field for practice.documented"},
	{PRACTICE,
	 {{"adopter", "{}"}},
	 "'adopter': unknown field for practice.documented"},
	{TRANSFER,
	 {{"title", "\"x\""}},
	 "'title': unknown field for transfer.piloting"},
	{TRANSFER,
	 {{"origin", "{}"}},
	 "'origin': unknown field for transfer.piloting"},
	{PAIRING,
	 {{"line\\nbreak", "1"}},
	 "'line\\nbreak': unknown field for pairing.matched"},
	/* A null field is absent, so it cannot be an unknown one. */
	{PAIRING, {{"colour", "null"}, {"participants", "null"}}, OK},

	/* Visits. */
	{VISIT,
	 {{"event_type", "\"visit.planned\""}, {"participants", DELETE}},
	 OK},
	{VISIT,
	 {{"event_type", "\"visit.cancelled\""}, {"participants", DELETE}},
	 OK},
	{VISIT, {{"pairing_id", DELETE}}, OK},
	{VISIT, {{"pairing_id", "null"}}, OK},
	{VISIT,
	 {{"pairing_id", "\"\""}},
	 "'pairing_id': empty, expected 1-64 characters"},
	{VISIT, {{"visit_id", DELETE}}, "'visit_id': required"},
	{VISIT, {{"visit_type", "\"networking_event\""}}, OK},
	{VISIT, {{"visit_type", "\"webinar\""}, {"format", "\"virtual\""}}, OK},
	{VISIT,
	 {{"visit_type", "\"staff_exchange\""}, {"format", "\"hybrid\""}},
	 OK},
	{VISIT,
	 {{"visit_type", "\"tour\""}},
	 "'visit_type': 'tour' is not one of study_visit, networking_event, "
	 "webinar or staff_exchange"},
	{VISIT,
	 {{"format", "\"online\""}},
	 "'format': 'online' is not one of in_person, virtual or hybrid"},
	{VISIT, {{"format", DELETE}}, "'format': required"},
	{VISIT, {{"host", DELETE}}, "'host': required"},
	{VISIT, {{"host", "\"Київ\""}}, "'host': expected an object"},
	{VISIT, {{"host", "[]"}}, "'host': expected an object"},
	{VISIT,
	 {{"host.country", "\"ZZ\""}},
	 "'host.country': 'ZZ' is not an assigned ISO 3166-1 alpha-2 code"},
	{VISIT,
	 {{"host.city", "\"x\""}},
	 "'host.city': unknown field for a party"},
	{VISIT, {{"host.eu", "null"}}, "'host.eu': required"},
	{VISIT, {{"visitors", DELETE}}, "'visitors': required"},
	{VISIT, {{"visitors", "[]"}}, "'visitors': at least 1 party required"},
	{VISIT, {{"visitors", "{}"}}, "'visitors': expected an array"},
	{VISIT,
	 {{"visitors[0].kind", "\"village\""}},
	 "'visitors[0].kind': 'village' is not one of city, region, "
	 "metropolitan_area or organisation"},
	{VISIT,
	 {{"visitors[0].country", "\"cn\""}},
	 "'visitors[0].country': 'cn' is not an ISO 3166-1 alpha-2 code (two "
	 "upper-case letters)"},
	{VISIT, {{"start_date", DELETE}}, "'start_date': required"},
	{VISIT, {{"end_date", DELETE}}, "'end_date': required"},
	{VISIT, {{"end_date", "\"2025-04-28\""}}, OK},
	{VISIT, {{"start_date", "\"2024-02-29\""}}, OK},
	{VISIT,
	 {{"end_date", "\"2025-04-27\""}},
	 "'end_date': 2025-04-27 is before start_date 2025-04-28"},
	{VISIT,
	 {{"start_date", "\"2026-01-01\""}},
	 "'end_date': 2025-04-30 is before start_date 2026-01-01"},
	{VISIT,
	 {{"start_date", "\"2025-4-28\""}},
	 "'start_date': '2025-4-28' is not a valid date: expected YYYY-MM-DD"},
	{VISIT,
	 {{"start_date", "\"2025-04-28T00:00:00Z\""}},
	 "'start_date': '2025-04-28T00:00:00Z' is not a valid date: expected "
	 "YYYY-MM-DD"},
	{VISIT,
	 {{"start_date", "\"2025-02-30\""}},
	 "'start_date': '2025-02-30' is not a valid date: day 30 is out of "
	 "range for 2025-02"},
	{VISIT,
	 {{"end_date", "\"2023-02-29\""}},
	 "'end_date': '2023-02-29' is not a valid date: day 29 is out of range "
	 "for 2023-02"},
	{VISIT, {{"end_date", "20250430"}}, "'end_date': expected a string"},
	{VISIT, {{"participants", "0"}}, OK},
	{VISIT, {{"participants", "100000"}}, OK},
	{VISIT,
	 {{"participants", "100001"}},
	 "'participants': 100001 is out of range (0-100000)"},
	{VISIT,
	 {{"participants", "-1"}},
	 "'participants': -1 is out of range (0-100000)"},
	{VISIT,
	 {{"participants", "12.5"}},
	 "'participants': expected an integer"},
	{VISIT,
	 {{"participants", "25.0"}},
	 "'participants': expected an integer"},
	{VISIT,
	 {{"participants", DELETE}},
	 "'participants': required for visit.held"},
	{VISIT,
	 {{"participants", "null"}},
	 "'participants': required for visit.held"},

	/* v2 fields: budget_eur on pairings. */
	{PAIRING, {{"budget_eur", "0"}}, OK},
	{PAIRING, {{"budget_eur", "1250000"}}, OK},
	{PAIRING, {{"budget_eur", "1000000000000"}}, OK},
	{PAIRING, {{"budget_eur", "null"}}, OK},
	{PAIRING,
	 {{"budget_eur", "1000000000001"}},
	 "'budget_eur': 1000000000001 is out of range (0-1000000000000)"},
	{PAIRING,
	 {{"budget_eur", "-5"}},
	 "'budget_eur': -5 is out of range (0-1000000000000)"},
	{PAIRING,
	 {{"budget_eur", "1250.50"}},
	 "'budget_eur': expected a whole number of euros"},
	{PAIRING,
	 {{"budget_eur", "\"1250\""}},
	 "'budget_eur': expected an integer"},
	{VISIT,
	 {{"budget_eur", "5"}},
	 "'budget_eur': unknown field for visit.held"},

	/* v2 fields: report_url, participants_by_sector, follow_up. */
	{VISIT, {{"report_url", "\"https://iurc.eu/r/1.pdf\""}}, OK},
	{VISIT, {{"report_url", "\"http://x.org\""}}, OK},
	{VISIT,
	 {{"report_url", "\"ftp://x.org/r\""}},
	 "'report_url': 'ftp://x.org/r' is not an http(s) URL"},
	{VISIT,
	 {{"report_url", "\"https://\""}},
	 "'report_url': 'https://' is not an http(s) URL"},
	{VISIT,
	 {{"report_url", "\"https://x.org/a report\""}},
	 "'report_url': 'https://x.org/a report' is not an http(s) URL"},
	{VISIT, {{"report_url", "7"}}, "'report_url': expected a string"},
	{VISIT,
	 {{"participants_by_sector",
	   "{\"public_sector\":10,\"private_sector\":5,\"academia\":5,"
	   "\"civil_society\":5}"}},
	 OK},
	{VISIT, {{"participants_by_sector", "{\"academia\":25}"}}, OK},
	{VISIT, {{"participants_by_sector", "{}"}}, OK},
	{VISIT,
	 {{"participants_by_sector", "{\"academia\":20,\"public_sector\":6}"}},
	 "'participants_by_sector': the sectors add up to 26, more than "
	 "participants (25)"},
	{VISIT,
	 {{"participants_by_sector", "{\"academia\":-1}"}},
	 "'participants_by_sector.academia': -1 is out of range (0-100000)"},
	{VISIT,
	 {{"participants_by_sector", "{\"academia\":\"3\"}"}},
	 "'participants_by_sector.academia': expected an integer"},
	{VISIT,
	 {{"participants_by_sector", "{\"media\":3}"}},
	 "'participants_by_sector.media': unknown field for "
	 "participants_by_sector"},
	{VISIT,
	 {{"participants_by_sector", "[3]"}},
	 "'participants_by_sector': expected an object"},
	{VISIT, {{"follow_up", "\"action_plan\""}}, OK},
	{VISIT, {{"follow_up", "\"none\""}}, OK},
	{VISIT, {{"follow_up", "\"replication\""}}, OK},
	{VISIT,
	 {{"follow_up", "\"peer_review\""}},
	 "'follow_up': 'peer_review' is not one of none, action_plan, pilot or "
	 "replication"},

	/* v2 fields: url on practice.documented only. */
	{PRACTICE, {{"url", "\"https://practices.eu/p/42\""}}, OK},
	{PRACTICE,
	 {{"url", "\"www.practices.eu\""}},
	 "'url': 'www.practices.eu' is not an http(s) URL"},
	{TRANSFER,
	 {{"url", "\"https://practices.eu/p/42\""}},
	 "'url': unknown field for transfer.piloting"},

	/* Practices and transfers. */
	{PRACTICE, {{"product_type", "\"factsheet\""}}, OK},
	{PRACTICE, {{"product_type", "\"guideline\""}}, OK},
	{PRACTICE, {{"product_type", "\"handbook\""}}, OK},
	{PRACTICE,
	 {{"product_type", "\"book\""}},
	 "'product_type': 'book' is not one of case_study, factsheet, "
	 "guideline or handbook"},
	{PRACTICE, {{"title", DELETE}}, "'title': required"},
	{PRACTICE,
	 {{"title", "\"\""}},
	 "'title': empty, expected 1-300 characters"},
	{PRACTICE, {{"title", "[\"a\"]"}}, "'title': expected a string"},
	{PRACTICE, {{"practice_id", DELETE}}, "'practice_id': required"},
	{PRACTICE, {{"origin", DELETE}}, "'origin': required"},
	{PRACTICE,
	 {{"origin.eu", "\"false\""}},
	 "'origin.eu': expected a boolean"},
	{TRANSFER, {{"event_type", "\"transfer.planned\""}}, OK},
	{TRANSFER, {{"event_type", "\"transfer.replicated\""}}, OK},
	{TRANSFER, {{"event_type", "\"transfer.abandoned\""}}, OK},
	{TRANSFER, {{"transfer_id", DELETE}}, "'transfer_id': required"},
	{TRANSFER, {{"practice_id", DELETE}}, "'practice_id': required"},
	{TRANSFER, {{"adopter", DELETE}}, "'adopter': required"},
	{TRANSFER,
	 {{"adopter.kind", "\"regio\""}},
	 "'adopter.kind': 'regio' is not one of city, region, "
	 "metropolitan_area or organisation"},
	{TRANSFER,
	 {{"practice_id", "\"\""}},
	 "'practice_id': empty, expected 1-64 characters"},
};

/* Applies one edit to root; path segments are "name" or "name[i]". */
static void
apply_edit(json_t *root, const char *path, const char *value)
{
	char buf[128], *seg, *save = NULL, *next;
	json_t *cur = root, *v = NULL;
	json_error_t jerr;

	if (value) {
		v = json_loads(value, JSON_DECODE_ANY, &jerr);
		assert_non_null(v);
	}
	snprintf(buf, sizeof(buf), "%s", path);
	/* A key with a JSON escape is one literal top-level key. */
	if (strchr(buf, '\\')) {
		char quoted[160];
		json_t *key;

		snprintf(quoted, sizeof(quoted), "\"%s\"", path);
		key = json_loads(quoted, JSON_DECODE_ANY, &jerr);
		assert_non_null(key);
		assert_int_equal(
			json_object_set_new(root, json_string_value(key), v),
			0);
		json_decref(key);
		return;
	}
	for (seg = strtok_r(buf, ".", &save); seg; seg = next) {
		char *br = strchr(seg, '[');
		long idx = -1;

		next = strtok_r(NULL, ".", &save);
		if (br) {
			*br = '\0';
			idx = strtol(br + 1, NULL, 10);
		}
		if (!next && idx < 0) {
			if (v)
				assert_int_equal(
					json_object_set_new(cur, seg, v), 0);
			else
				json_object_del(cur, seg);
			return;
		}
		cur = json_object_get(cur, seg);
		assert_non_null(cur);
		if (idx >= 0) {
			if (!next) {
				if (v)
					assert_int_equal(
						json_array_set_new(
							cur, (size_t)idx, v),
						0);
				else
					assert_int_equal(
						json_array_remove(cur,
								  (size_t)idx),
						0);
				return;
			}
			cur = json_array_get(cur, (size_t)idx);
			assert_non_null(cur);
		}
	}
}

/* The base line with the case's edits, as compact JSON text. */
static char *
edited_line(const struct line_case *tc)
{
	json_error_t jerr;
	json_t *root = json_loads(bases[tc->base], 0, &jerr);
	char *line;

	assert_non_null(root);
	for (int i = 0; i < 3 && tc->edits[i].path; i++)
		apply_edit(root, tc->edits[i].path, tc->edits[i].value);
	line = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(line);
	return line;
}

/*
 * Parses line and compares the result with want (NULL for success).
 * Returns 0 when they agree; prints the difference otherwise, so that one
 * run shows every failing case.
 */
static int
check_line(const char *line, size_t len, const char *want, const char *label)
{
	struct kx_arena arena;
	struct kx_event ev;
	char err[512] = "";
	int rc, bad = 0;

	kx_arena_init(&arena);
	rc = kx_event_parse_line(line, len, &arena, &ev, err, sizeof(err));
	if (!want && rc != 0) {
		fprintf(stderr, "%s: expected success, got %s: %s\n  %s\n",
			label, kx_err_name(rc), err, line);
		bad = 1;
	} else if (want && (rc == 0 || strcmp(err, want) != 0)) {
		fprintf(stderr, "%s: expected \"%s\"\n  got %s \"%s\"\n  %s\n",
			label, want, kx_err_name(rc), rc ? err : "", line);
		bad = 1;
	}
	kx_arena_release(&arena);
	return bad;
}

static void
test_event_json__rules_table(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *line = edited_line(&cases[i]);
		char label[32];

		snprintf(label, sizeof(label), "case %zu", i);
		failed +=
			check_line(line, strlen(line), cases[i].reason, label);
		free(line);
	}
	assert_int_equal(failed, 0);
}

struct raw_case {
	const char *line;
	size_t len; /* 0: strlen(line) */
	int rc;
	const char *reason;
};

static const struct raw_case raw_cases[] = {
	{"", 0, KX_EPARSE, "empty line"},
	{"  \t\r", 0, KX_EPARSE, "empty line"},
	{"[1,2]", 0, KX_EPARSE, "expected a JSON object, not an array"},
	{"42", 0, KX_EPARSE, "expected a JSON object, not a number"},
	{"\"x\"", 0, KX_EPARSE, "expected a JSON object, not a string"},
	{"null", 0, KX_EPARSE, "expected a JSON object, not null"},
	{"true", 0, KX_EPARSE, "expected a JSON object, not a boolean"},
	{"{\"a\":1", 0, KX_EPARSE,
	 "invalid JSON at column 6: '}' expected near end of file"},
	{"{\"a\":1} x", 0, KX_EPARSE,
	 "invalid JSON at column 9: end of file expected near 'x'"},
	{"{\"a\":1}\n{\"b\":2}", 0, KX_EPARSE,
	 "invalid JSON at column 1: end of file expected near '{'"},
	{"{'a':1}", 0, KX_EPARSE,
	 "invalid JSON at column 2: string or '}' expected near '''"},
	{"{\"a\":1,}", 0, KX_EPARSE,
	 "invalid JSON at column 8: string or '}' expected near '}'"},
	{"{\"event_type\":\"pairing.matched\",\"event_type\":\"visit.held\"}",
	 0, KX_EPARSE,
	 "invalid JSON at column 44: duplicate object key near "
	 "'\"event_type\"'"},
	{"{\"a\":\"\\u0000\"}", 0, KX_EPARSE,
	 "invalid JSON at column 13: \\u0000 is not allowed without "
	 "JSON_ALLOW_NUL near '\"\\u0000\"'"},
	{"{\"a\":\"x\ty\"}", 0, KX_EPARSE,
	 "invalid JSON at column 7: control character 0x9 near '\"x'"},
	{"{\"a\":99999999999999999999}", 0, KX_EPARSE,
	 "invalid JSON at column 25: too big integer near "
	 "'99999999999999999999'"},
	{"{\"a\":\"x\"}\0{}", 12, KX_EPARSE, "NUL byte at byte 10"},
	{"{\"a\":\"x\0\"}", 10, KX_EPARSE, "NUL byte at byte 8"},
	/* Invalid UTF-8: stray bytes, overlongs, surrogates, > U+10FFFF. */
	{"{\"source\":\"\xff\"}", 0, KX_EUTF8, "invalid UTF-8 at byte 12"},
	{"{\"source\":\"ok\x80\"}", 0, KX_EUTF8, "invalid UTF-8 at byte 14"},
	{"{\"source\":\"\xc0\xaf\"}", 0, KX_EUTF8, "invalid UTF-8 at byte 12"},
	{"{\"source\":\"\xe0\x80\xaf\"}", 0, KX_EUTF8,
	 "invalid UTF-8 at byte 12"},
	{"{\"source\":\"\xf0\x80\x80\xaf\"}", 0, KX_EUTF8,
	 "invalid UTF-8 at byte 12"},
	{"{\"source\":\"\xed\xa0\x80\"}", 0, KX_EUTF8,
	 "invalid UTF-8 at byte 12"},
	{"{\"source\":\"\xf4\x90\x80\x80\"}", 0, KX_EUTF8,
	 "invalid UTF-8 at byte 12"},
	{"{\"source\":\"S\xc3\xa3o \xe2\x82\"}", 0, KX_EUTF8,
	 "invalid UTF-8 at byte 17"},
	{"{\"source\":\"x\"}\xe2\x82", 0, KX_EUTF8, "invalid UTF-8 at byte 15"},
	/* A JSON escape for a lone surrogate is not UTF-8 either. */
	{"{\"source\":\"\\ud800\"}", 0, KX_EPARSE,
	 "invalid JSON at column 18: invalid Unicode '\\uD800' near "
	 "'\"\\ud800\"'"},
	/* A byte order mark and a CRLF line end are not errors. */
	{"\xef\xbb\xbf{}", 0, KX_EINVALID_EVENT, "'event_type': required"},
	{"{}\r", 0, KX_EINVALID_EVENT, "'event_type': required"},
	{"\xef\xbb\xbf", 0, KX_EPARSE, "empty line"},
	{"\xef\xbb\xbf{\"a\":1", 0, KX_EPARSE,
	 "invalid JSON at column 6: '}' expected near end of file"},
	{"{}\xef\xbb\xbf", 0, KX_EPARSE,
	 "invalid JSON at column 3: end of file expected near '\xef\xbb\xbf'"},
	/* Shape errors come back from kx_event_from_json(). */
	{"{}", 0, KX_EINVALID_EVENT, "'event_type': required"},
	{"{\"event_type\":\"visit.held\",\"x\":1}", 0, KX_EINVALID_EVENT,
	 "'x': unknown field for visit.held"},
};

static void
test_event_json__raw_lines(void **state)
{
	struct kx_arena arena;
	struct kx_event ev;
	int failed = 0;

	(void)state;
	kx_arena_init(&arena);
	for (size_t i = 0; i < sizeof(raw_cases) / sizeof(raw_cases[0]); i++) {
		const struct raw_case *tc = &raw_cases[i];
		size_t len = tc->len ? tc->len : strlen(tc->line);
		char err[512] = "";
		int rc = kx_event_parse_line(tc->line, len, &arena, &ev, err,
					     sizeof(err));

		if (rc != tc->rc || strcmp(err, tc->reason) != 0) {
			fprintf(stderr,
				"raw case %zu: expected %s \"%s\"\n  got %s "
				"\"%s\"\n",
				i, kx_err_name(tc->rc), tc->reason,
				kx_err_name(rc), err);
			failed++;
		}
	}
	kx_arena_release(&arena);
	assert_int_equal(failed, 0);
}

/* The base with one field set to a generated string value. */
static int
check_generated(enum base base, const char *path, const char *value,
		const char *want)
{
	struct line_case tc = {base, {{NULL}}, NULL};
	json_t *s = json_string(value);
	char *text, *line, label[64];
	int bad;

	assert_non_null(s);
	text = json_dumps(s, JSON_ENCODE_ANY);
	json_decref(s);
	tc.edits[0].path = path;
	tc.edits[0].value = text;
	line = edited_line(&tc);
	snprintf(label, sizeof(label), "%s of %zu bytes", path, strlen(value));
	bad = check_line(line, strlen(line), want, label);
	free(line);
	free(text);
	return bad;
}

static char *
repeat(const char *unit, size_t n, const char *tail)
{
	size_t ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(ul * n + tl + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	memcpy(s + ul * n, tail, tl + 1);
	return s;
}

/*
 * Length limits count code points, in any script: 200 Cyrillic, Chinese,
 * Arabic or Latin-with-accent letters make a valid name, 201 do not.
 */
static void
test_event_json__lengths_in_code_points(void **state)
{
	static const struct {
		enum base base;
		const char *path;
		const char *unit; /* one code point, or a word of them */
		size_t unit_points;
		int max;
		const char *too_long;
	} limits[] = {
		{PAIRING, "members[0].name", "Київ", 4, 200,
		 "'members[0].name': 201 characters, expected 1-200"},
		{PAIRING, "members[0].name", "北京", 2, 200,
		 "'members[0].name': 201 characters, expected 1-200"},
		{PAIRING, "members[0].name", "ã", 1, 200,
		 "'members[0].name': 201 characters, expected 1-200"},
		{VISIT, "host.name", "القاهرة", 7, 200,
		 "'host.name': 201 characters, expected 1-200"},
		{PRACTICE, "title", "北", 1, 300,
		 "'title': 301 characters, expected 1-300"},
		{PAIRING, "pairing_id", "é", 1, 64,
		 "'pairing_id': 65 characters, expected 1-64"},
		{VISIT, "visit_id", "V", 1, 64,
		 "'visit_id': 65 characters, expected 1-64"},
		{PRACTICE, "practice_id", "П", 1, 64,
		 "'practice_id': 65 characters, expected 1-64"},
		{TRANSFER, "transfer_id", "t", 1, 64,
		 "'transfer_id': 65 characters, expected 1-64"},
	};
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		size_t units = (size_t)limits[i].max / limits[i].unit_points;
		size_t rest = (size_t)limits[i].max % limits[i].unit_points;
		char *tail = repeat("x", rest, "");
		char *exact = repeat(limits[i].unit, units, tail);
		char *over = malloc(strlen(exact) + 2);

		assert_non_null(over);
		sprintf(over, "%sy", exact);
		failed += check_generated(limits[i].base, limits[i].path, exact,
					  NULL);
		failed += check_generated(limits[i].base, limits[i].path, over,
					  limits[i].too_long);
		free(tail);
		free(exact);
		free(over);
	}

	{
		char *s64 = repeat("a", 64, ""), *s65 = repeat("a", 65, "");
		char *g16 = repeat("A", 16, ""),
		     *t48 = repeat("ab-", 15, "abc");
		char *t49 = repeat("ab-", 15, "abcd");

		failed += check_generated(PAIRING, "source", s64, NULL);
		failed += check_generated(
			PAIRING, "source", s65,
			"'source': "
			"'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			"aaaaaaaaaaaaaaaaaaa...' is not 1-64 characters of "
			"[a-z0-9._-]");
		failed += check_generated(PAIRING, "geo_area", g16, NULL);
		failed += check_generated(PAIRING, "themes[0]", t48, NULL);
		failed += check_generated(
			PAIRING, "themes[0]", t49,
			"'themes[0]': "
			"'ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-"
			"ab-abcd' is not lowercase kebab-case of 1-48 "
			"characters");
		free(s64);
		free(s65);
		free(g16);
		free(t48);
		free(t49);
	}
	assert_int_equal(failed, 0);
}

static void
test_event_json__fields_are_stored(void **state)
{
	struct kx_arena arena;
	struct kx_event ev;
	char err[256] = "";
	const char *line =
		"{\"event_id\":\"3F1C2A4E-8B6D-4E2F-9A1B-0C2D3E4F5A6B\","
		"\"event_type\":\"visit.planned\","
		"\"occurred_at\":\"2025-03-14T09:30:00.1234567+01:00\","
		"\"source\":\"iurc-crm\",\"programme\":\"ICP-AGIR\","
		"\"geo_area\":null,\"sdgs\":[\"11\",\"7.a.1\"],"
		"\"visit_id\":\"V-17\",\"visit_type\":\"webinar\","
		"\"format\":\"virtual\",\"host\":{\"eu\":true,\"kind\":"
		"\"region\",\"country\":\"PT\",\"name\":\"Região Norte\"},"
		"\"visitors\":[{\"name\":\"北京\",\"country\":\"CN\","
		"\"kind\":\"city\",\"eu\":false}],"
		"\"start_date\":\"1969-12-31\",\"end_date\":\"1970-01-02\"}";

	(void)state;
	kx_arena_init(&arena);
	assert_int_equal(kx_event_parse_line(line, strlen(line), &arena, &ev,
					     err, sizeof(err)),
			 0);
	assert_int_equal(ev.type, KX_EVENT_VISIT_PLANNED);
	/* Stored in lower case: the idempotency key compares that way. */
	assert_string_equal(ev.event_id,
			    "3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b");
	/* 2025-03-14T08:30:00.123456Z; the 7th digit is dropped. */
	assert_true(ev.occurred_at == INT64_C(1741941000123456));
	assert_int_equal(ev.occurred_offset, 60);
	assert_string_equal(ev.source, "iurc-crm");
	assert_int_equal(ev.programme, KX_PROGRAMME_ICP_AGIR);
	assert_null(ev.geo_area);
	assert_int_equal(ev.n_sdgs, 2);
	assert_string_equal(ev.sdgs[1], "7.a.1");
	assert_int_equal(ev.n_themes, 0);
	assert_string_equal(ev.u.visit.visit_id, "V-17");
	assert_null(ev.u.visit.pairing_id);
	assert_int_equal(ev.u.visit.visit_type, KX_VISIT_WEBINAR);
	assert_int_equal(ev.u.visit.format, KX_FORMAT_VIRTUAL);
	assert_string_equal(ev.u.visit.host.name, "Região Norte");
	assert_string_equal(ev.u.visit.host.country, "PT");
	assert_int_equal(ev.u.visit.host.kind, KX_PARTY_REGION);
	assert_true(ev.u.visit.host.eu);
	assert_int_equal(ev.u.visit.n_visitors, 1);
	assert_string_equal(ev.u.visit.visitors[0].name, "北京");
	assert_false(ev.u.visit.visitors[0].eu);
	assert_int_equal(ev.u.visit.start_date, -1);
	assert_int_equal(ev.u.visit.end_date, 1);
	/* Absent participants are -1, not 0. */
	assert_int_equal(ev.u.visit.participants, -1);
	kx_arena_release(&arena);
}

static void
test_event_json__pilot_projects_default_zero(void **state)
{
	struct line_case tc = {PAIRING, {{"pilot_projects", DELETE}}, NULL};
	struct kx_arena arena;
	struct kx_event ev;
	char err[256] = "", *line = edited_line(&tc);

	(void)state;
	kx_arena_init(&arena);
	assert_int_equal(kx_event_parse_line(line, strlen(line), &arena, &ev,
					     err, sizeof(err)),
			 0);
	assert_int_equal(ev.u.pairing.pilot_projects, 0);
	assert_int_equal(ev.u.pairing.n_members, 2);
	assert_int_equal(ev.u.pairing.cooperation_type, KX_COOP_BILATERAL);
	free(line);
	kx_arena_release(&arena);
}

static void
test_event_json__line_length_limit(void **state)
{
	struct kx_arena arena;
	struct kx_event ev;
	const char *base = bases[PAIRING];
	size_t blen = strlen(base);
	char err[256] = "", *line = malloc(KX_LINE_MAX + 1);

	(void)state;
	assert_non_null(line);
	kx_arena_init(&arena);
	/* A valid event padded with spaces to exactly 1 MiB is fine. */
	memcpy(line, base, blen);
	memset(line + blen, ' ', KX_LINE_MAX + 1 - blen);
	assert_int_equal(kx_event_parse_line(line, KX_LINE_MAX, &arena, &ev,
					     err, sizeof(err)),
			 0);
	/* One byte more is rejected before any parsing. */
	assert_int_equal(kx_event_parse_line(line, KX_LINE_MAX + 1, &arena, &ev,
					     err, sizeof(err)),
			 KX_ETOOLONG);
	assert_string_equal(err, "line is longer than 1048576 bytes");
	free(line);
	kx_arena_release(&arena);
}

/* A CRLF file's lines keep their CR; it is JSON whitespace. */
static void
test_event_json__crlf_line_end(void **state)
{
	char line[2048];

	(void)state;
	snprintf(line, sizeof(line), "%s\r", bases[VISIT]);
	assert_int_equal(check_line(line, strlen(line), NULL, "crlf"), 0);
}

/*
 * JSON -> struct -> JSON -> struct gives the same event, for every line of
 * the fixture (every event type, several scripts, offsets, fractions and a
 * leap second); the second JSON text equals the first.
 */
static void
test_event_json__round_trip(void **state)
{
	struct kx_arena arena;
	struct kx_event a, b;
	char err[256], line[8192];
	FILE *fp = fopen(KX_TEST_DATA "/json/events.jsonl", "r");
	int n = 0, types = 0;

	(void)state;
	assert_non_null(fp);
	kx_arena_init(&arena);
	while (fgets(line, sizeof(line), fp)) {
		size_t len = strcspn(line, "\n");
		json_t *j1, *j2;
		char *t1, *t2;

		err[0] = '\0';
		assert_int_equal(kx_event_parse_line(line, len, &arena, &a, err,
						     sizeof(err)),
				 0);
		types |= 1 << a.type;
		j1 = kx_event_to_json(&a);
		assert_non_null(j1);
		t1 = json_dumps(j1, JSON_COMPACT);
		assert_int_equal(kx_event_parse_line(t1, strlen(t1), &arena, &b,
						     err, sizeof(err)),
				 0);
		assert_true(kx_event_equal(&a, &b));
		j2 = kx_event_to_json(&b);
		t2 = json_dumps(j2, JSON_COMPACT);
		assert_string_equal(t1, t2);
		free(t1);
		free(t2);
		json_decref(j1);
		json_decref(j2);
		kx_arena_reset(&arena);
		n++;
	}
	fclose(fp);
	kx_arena_release(&arena);
	assert_int_equal(n, 16);
	assert_int_equal(types, (1 << KX_EVENT__COUNT) - 1);
}

/* The partner-feed form: contract order, absent optionals omitted. */
static void
test_event_json__to_json_form(void **state)
{
	struct kx_arena arena;
	struct kx_event ev;
	char err[256];
	struct line_case tc = {
		VISIT,
		{{"participants", DELETE},
		 {"event_type", "\"visit.planned\""},
		 {"occurred_at", "\"2025-05-02T18:00:00.25-00:30\""}},
		NULL};
	char *line = edited_line(&tc), *out;
	json_t *j;

	(void)state;
	kx_arena_init(&arena);
	assert_int_equal(kx_event_parse_line(line, strlen(line), &arena, &ev,
					     err, sizeof(err)),
			 0);
	j = kx_event_to_json(&ev);
	assert_non_null(j);
	out = json_dumps(j, JSON_COMPACT);
	assert_string_equal(
		out,
		"{\"event_id\":\"9d2e4c1a-0b3f-4a5e-8c7d-6e5f4a3b2c1d\","
		"\"event_type\":\"visit.planned\","
		"\"occurred_at\":\"2025-05-02T18:00:00.250000-00:30\","
		"\"source\":\"iurc-crm\",\"programme\":\"IURC\","
		"\"sdgs\":[\"11.2\"],\"visit_id\":\"V-17\","
		"\"pairing_id\":\"P-2025-001\",\"visit_type\":\"study_visit\","
		"\"format\":\"in_person\",\"host\":{\"name\":\"Київ\","
		"\"country\":\"UA\",\"kind\":\"city\","
		"\"eu\":false},\"visitors\":[{\"name\":\"北京\","
		"\"country\":\"CN\",\"kind\":\"city\",\"eu\":false}],"
		"\"start_date\":\"2025-04-28\",\"end_date\":\"2025-04-30\"}");
	free(out);
	free(line);
	json_decref(j);
	kx_arena_release(&arena);
}

static void
test_event_json__from_json_needs_object(void **state)
{
	struct kx_arena arena;
	struct kx_event ev;
	char err[256];
	json_t *a = json_array();

	(void)state;
	kx_arena_init(&arena);
	assert_int_equal(kx_event_from_json(a, &arena, &ev, err, sizeof(err)),
			 KX_EINVALID_EVENT);
	assert_string_equal(err, "expected a JSON object");
	json_decref(a);
	kx_arena_release(&arena);
}

/* A reason quotes a partner's value safely: one line, cut, escaped. */
static void
test_event_json__reasons_are_one_line(void **state)
{
	const char *line =
		"{\"event_id\":\"3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b\","
		"\"event_type\":\"pairing.matched\","
		"\"occurred_at\":\"2025-03-14T09:30:00Z\","
		"\"source\":\"a\\nb\\u0085c\\u0007\\\"'\",\"programme\":"
		"\"IUC\"}";
	struct kx_arena arena;
	struct kx_event ev;
	char err[256];

	(void)state;
	kx_arena_init(&arena);
	assert_int_equal(kx_event_parse_line(line, strlen(line), &arena, &ev,
					     err, sizeof(err)),
			 KX_EINVALID_EVENT);
	assert_string_equal(err, "'sdgs': required");
	line = "{\"event_id\":\"3f1c2a4e-8b6d-4e2f-9a1b-0c2d3e4f5a6b\","
	       "\"event_type\":\"pairing.matched\","
	       "\"occurred_at\":\"2025-03-14T09:30:00Z\","
	       "\"source\":\"a\\nb\\u0085c\\u0007\\\"'\",\"programme\":\"IUC\","
	       "\"sdgs\":[],\"pairing_id\":\"p\",\"cooperation_type\":\"trio\","
	       "\"members\":[]}";
	assert_int_equal(kx_event_parse_line(line, strlen(line), &arena, &ev,
					     err, sizeof(err)),
			 KX_EINVALID_EVENT);
	assert_string_equal(err, "'source': 'a\\nb\\u0085c\\x07\"'' is not "
				 "1-64 characters of [a-z0-9._-]");
	kx_arena_release(&arena);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_json__rules_table),
		cmocka_unit_test(test_event_json__raw_lines),
		cmocka_unit_test(test_event_json__lengths_in_code_points),
		cmocka_unit_test(test_event_json__fields_are_stored),
		cmocka_unit_test(test_event_json__pilot_projects_default_zero),
		cmocka_unit_test(test_event_json__line_length_limit),
		cmocka_unit_test(test_event_json__crlf_line_end),
		cmocka_unit_test(test_event_json__round_trip),
		cmocka_unit_test(test_event_json__to_json_form),
		cmocka_unit_test(test_event_json__from_json_needs_object),
		cmocka_unit_test(test_event_json__reasons_are_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
