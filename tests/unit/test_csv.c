/*
 * Unit tests for the CSV reader: header checks, cell conversion, the CSV
 * dialect (quoting, CRLF, BOM, blank lines), line numbers and raw text,
 * resynchronisation after bad records, and the record length cap.
 *
 * Input goes through tmpfile(), so the reader sees a real FILE whatever the
 * size of the text, NUL bytes included.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "text_file.h"
#include "kx/csv.h"
#include "kx/err.h"
#include "kx/event.h"

#define H_PAIRING                                                            \
	"event_id,event_type,occurred_at,source,programme,geo_area,sdgs,"    \
	"themes,pairing_id,cooperation_type,members,pilot_projects\n"
#define H_VISIT                                                              \
	"event_id,event_type,occurred_at,source,programme,sdgs,visit_id,"    \
	"host,visitors,participants\n"
#define H_PRACTICE                                                           \
	"event_id,event_type,occurred_at,source,programme,sdgs,"             \
	"practice_id,title\n"

/* The common cells of a row, before the family's own. */
#define COMMON "e1,t,o,s,IUC,"

/* The start of the JSON object of a row that begins with COMMON. */
#define J_COMMON(id)                                                         \
	"{\"event_id\": \"" id "\", \"event_type\": \"t\","                   \
	" \"occurred_at\": \"o\", \"source\": \"s\", \"programme\": \"IUC\","

struct src {
	FILE *fp;
	struct kx_csv_reader *r;
};

static void
src_open_len(struct src *s, const void *text, size_t len,
	     enum kx_family family)
{
	s->fp = text_file(text, len);
	s->r = kx_csv_reader_new(s->fp, family);
	assert_non_null(s->r);
}

static void
src_open(struct src *s, const char *text, enum kx_family family)
{
	src_open_len(s, text, strlen(text), family);
}

static void
src_close(struct src *s)
{
	kx_csv_reader_free(s->r);
	fclose(s->fp);
}

static void
assert_json(const json_t *got, const char *want)
{
	json_error_t jerr;
	json_t *w = json_loads(want, JSON_REJECT_DUPLICATES, &jerr);

	if (!w)
		fail_msg("bad expected JSON: %s: %s", jerr.text, want);
	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_SORT_KEYS);

		print_error("got  %s\nwant %s\n", g ? g : "(null)", want);
		free(g);
		json_decref(w);
		fail();
	}
	json_decref(w);
}

static void
expect_ok(struct src *s, const char *want, long want_line)
{
	char err[256] = "unset";
	json_t *obj = (json_t *)1;
	long line = -1;
	int rc = kx_csv_reader_next(s->r, &obj, &line, err, sizeof(err));

	if (rc != 0)
		fail_msg("rc %s: %s", kx_err_name(rc), err);
	assert_non_null(obj);
	assert_json(obj, want);
	assert_int_equal(line, want_line);
	json_decref(obj);
}

static void
expect_err(struct src *s, int want_rc, const char *want_msg, long want_line)
{
	char err[256] = "unset";
	json_t *obj = (json_t *)1;
	long line = -1;
	int rc = kx_csv_reader_next(s->r, &obj, &line, err, sizeof(err));

	assert_string_equal(kx_err_name(rc), kx_err_name(want_rc));
	assert_null(obj);
	assert_string_equal(err, want_msg);
	assert_int_equal(line, want_line);
}

static void
expect_eof(struct src *s)
{
	char err[256];
	json_t *obj = (json_t *)1;
	long line;

	assert_int_equal(kx_csv_reader_next(s->r, &obj, &line, err,
					    sizeof(err)),
			 KX_EEOF);
	assert_null(obj);
	/* The end stays the end. */
	assert_int_equal(kx_csv_reader_next(s->r, &obj, &line, err,
					    sizeof(err)),
			 KX_EEOF);
}

/* Reads a record that must convert; the caller owns the object. */
static json_t *
next_obj(struct src *s, long *line)
{
	char err[256];
	json_t *obj = NULL;
	int rc = kx_csv_reader_next(s->r, &obj, line, err, sizeof(err));

	if (rc)
		fail_msg("rc %s: %s", kx_err_name(rc), err);
	assert_non_null(obj);
	return obj;
}

static const char *
title_of(const json_t *obj)
{
	return json_string_value(json_object_get(obj, "title"));
}

static void
expect_raw(struct src *s, const char *want, size_t want_len)
{
	size_t len = 99;
	const char *raw = kx_csv_reader_raw(s->r, &len);

	assert_int_equal(len, want_len);
	assert_memory_equal(raw, want, want_len);
}

/* Checks the raw text of the last record against a string literal. */
#define EXPECT_RAW(s, lit) expect_raw((s), (lit), sizeof(lit) - 1)

static void
test_csv__pairing_row_converts(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 H_PAIRING
		 "4f2a7c1e-8b3d-4e5f-9a6b-1c2d3e4f5a6b,pairing.matched,"
		 "2025-03-14T09:30:00+01:00,crm.eu,IUC,LAC,11;11.6;7.a.1,"
		 "circular-economy;urban-mobility,P-001,bilateral,"
		 "Lima|PE|city|false;Lyon|FR|metropolitan_area|true,3\n",
		 KX_FAMILY_PAIRING);
	expect_ok(&s,
		  "{\"event_id\": \"4f2a7c1e-8b3d-4e5f-9a6b-1c2d3e4f5a6b\","
		  " \"event_type\": \"pairing.matched\","
		  " \"occurred_at\": \"2025-03-14T09:30:00+01:00\","
		  " \"source\": \"crm.eu\", \"programme\": \"IUC\","
		  " \"geo_area\": \"LAC\", \"sdgs\": [\"11\", \"11.6\","
		  " \"7.a.1\"],"
		  " \"themes\": [\"circular-economy\", \"urban-mobility\"],"
		  " \"pairing_id\": \"P-001\", \"cooperation_type\":"
		  " \"bilateral\","
		  " \"members\": ["
		  "  {\"name\": \"Lima\", \"country\": \"PE\", \"kind\":"
		  " \"city\","
		  "   \"eu\": false},"
		  "  {\"name\": \"Lyon\", \"country\": \"FR\","
		  "   \"kind\": \"metropolitan_area\", \"eu\": true}],"
		  " \"pilot_projects\": 3}",
		  2);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__visit_row_converts(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 "visit_id,host,visitors,participants,event_id,event_type,"
		 "occurred_at,source,programme,sdgs,format,start_date,"
		 "end_date,pairing_id,visit_type\n"
		 "V-1,Lyon|FR|metropolitan_area|true,Quito|EC|city|false,"
		 "24,e1,visit.held,o,s,URBELAC,11,hybrid,2025-06-10,"
		 "2025-06-13,P-1,webinar\n",
		 KX_FAMILY_VISIT);
	expect_ok(&s,
		  "{\"visit_id\": \"V-1\","
		  " \"host\": {\"name\": \"Lyon\", \"country\": \"FR\","
		  "  \"kind\": \"metropolitan_area\", \"eu\": true},"
		  " \"visitors\": [{\"name\": \"Quito\", \"country\": \"EC\","
		  "  \"kind\": \"city\", \"eu\": false}],"
		  " \"participants\": 24, \"event_id\": \"e1\","
		  " \"event_type\": \"visit.held\", \"occurred_at\": \"o\","
		  " \"source\": \"s\", \"programme\": \"URBELAC\","
		  " \"sdgs\": [\"11\"], \"format\": \"hybrid\","
		  " \"start_date\": \"2025-06-10\", \"end_date\":"
		  " \"2025-06-13\","
		  " \"pairing_id\": \"P-1\", \"visit_type\": \"webinar\"}",
		  2);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__practice_and_transfer_share_a_header(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 "event_id,event_type,occurred_at,source,programme,sdgs,"
		 "practice_id,title,origin,product_type,transfer_id,adopter\n"
		 "e1,practice.documented,o,s,RPD,6,PR-1,Green roofs,"
		 "Wien|AT|city|true,handbook,,\n"
		 "e2,transfer.piloting,o,s,RPD,6,PR-1,,,,TR-1,"
		 "Tunis|TN|city|false\n",
		 KX_FAMILY_PRACTICE);
	expect_ok(&s,
		  "{\"event_id\": \"e1\", \"event_type\":"
		  " \"practice.documented\","
		  " \"occurred_at\": \"o\", \"source\": \"s\", \"programme\":"
		  " \"RPD\","
		  " \"sdgs\": [\"6\"], \"practice_id\": \"PR-1\","
		  " \"title\": \"Green roofs\","
		  " \"origin\": {\"name\": \"Wien\", \"country\": \"AT\","
		  "  \"kind\": \"city\", \"eu\": true},"
		  " \"product_type\": \"handbook\"}",
		  2);
	expect_ok(&s,
		  "{\"event_id\": \"e2\", \"event_type\":"
		  " \"transfer.piloting\","
		  " \"occurred_at\": \"o\", \"source\": \"s\", \"programme\":"
		  " \"RPD\","
		  " \"sdgs\": [\"6\"], \"practice_id\": \"PR-1\","
		  " \"transfer_id\": \"TR-1\","
		  " \"adopter\": {\"name\": \"Tunis\", \"country\": \"TN\","
		  "  \"kind\": \"city\", \"eu\": false}}",
		  3);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__empty_cells_are_absent(void **state)
{
	struct src s;

	(void)state;
	/* sdgs is required but may be empty, so it alone becomes []. */
	src_open(&s,
		 H_PAIRING "e1,t,o,s,IUC,,,,P-1,,,\n"
			   "e2,t,o,s,IUC,\"\",\"\",\"\",P-1,\"\",\"\",\"\"\n",
		 KX_FAMILY_PAIRING);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [], \"pairing_id\": \"P-1\"}",
		  2);
	expect_ok(&s,
		  J_COMMON("e2")
		  "\"sdgs\": [], \"pairing_id\": \"P-1\"}",
		  3);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__list_items_split_on_semicolon(void **state)
{
	struct src s;

	(void)state;
	/* Empty items stay, for validation to reject with its own words. */
	src_open(&s,
		 H_PRACTICE "e1,t,o,s,IUC,11;;7.a;,PR-1,x\n"
			    "e2,t,o,s,IUC,17.1.1,PR-1,a;b stays a string\n",
		 KX_FAMILY_PRACTICE);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\", \"\", \"7.a\", \"\"],"
		  " \"practice_id\": \"PR-1\", \"title\": \"x\"}",
		  2);
	expect_ok(&s,
		  J_COMMON("e2")
		  "\"sdgs\": [\"17.1.1\"], \"practice_id\": \"PR-1\","
		  " \"title\": \"a;b stays a string\"}",
		  3);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__header_unknown_column(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 "event_id,event_type,occurred_at,source,programme,sdgs,"
		 "pairing_id,xyz\n" COMMON ",P-1,1\n",
		 KX_FAMILY_PAIRING);
	expect_err(&s, KX_EPARSE,
		   "header: 'xyz': unknown column for family pairing", 1);
	EXPECT_RAW(&s, "event_id,event_type,occurred_at,source,programme,sdgs,"
		   "pairing_id,xyz");
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__header_column_of_another_family(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 "event_id,event_type,occurred_at,source,programme,sdgs,"
		 "pairing_id,visit_id\n",
		 KX_FAMILY_PAIRING);
	expect_err(&s, KX_EPARSE,
		   "header: 'visit_id': unknown column for family pairing", 1);
	expect_eof(&s);
	src_close(&s);

	/* Names are case-sensitive, and spaces are not trimmed. */
	src_open(&s, "Event_ID\n", KX_FAMILY_VISIT);
	expect_err(&s, KX_EPARSE,
		   "header: 'Event_ID': unknown column for family visit", 1);
	src_close(&s);
	src_open(&s, "event_id, event_type\n", KX_FAMILY_VISIT);
	expect_err(&s, KX_EPARSE,
		   "header: ' event_type': unknown column for family visit", 1);
	src_close(&s);
}

static void
test_csv__header_unknown_column_is_shown_safely(void **state)
{
	struct src s;

	(void)state;
	src_open(&s, "event_id,\"a\tb\xff\"\n", KX_FAMILY_PRACTICE);
	expect_err(&s, KX_EPARSE,
		   "header: 'a?b?': unknown column for family practice", 1);
	src_close(&s);
}

static void
test_csv__header_duplicate_column(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 "event_id,event_type,occurred_at,source,programme,sdgs,"
		 "pairing_id,sdgs\n",
		 KX_FAMILY_PAIRING);
	expect_err(&s, KX_EPARSE, "header: 'sdgs': duplicate column", 1);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__header_missing_required_column(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 "event_id,event_type,occurred_at,source,programme,"
		 "pairing_id\n",
		 KX_FAMILY_PAIRING);
	expect_err(&s, KX_EPARSE,
		   "header: 'sdgs': required column for family pairing is "
		   "missing",
		   1);
	expect_eof(&s);
	src_close(&s);

	src_open(&s, "event_id,event_type,occurred_at,source,programme,sdgs\n",
		 KX_FAMILY_VISIT);
	expect_err(&s, KX_EPARSE,
		   "header: 'visit_id': required column for family visit is "
		   "missing",
		   1);
	src_close(&s);

	/* transfer_id is optional: practice.documented rows lack it. */
	src_open(&s,
		 "event_id,event_type,occurred_at,source,programme,sdgs,"
		 "transfer_id\n",
		 KX_FAMILY_PRACTICE);
	expect_err(&s, KX_EPARSE,
		   "header: 'practice_id': required column for family "
		   "practice is missing",
		   1);
	src_close(&s);
}

static void
test_csv__header_blank_name(void **state)
{
	struct src s;

	(void)state;
	src_open(&s, "event_id,,event_type\n", KX_FAMILY_PAIRING);
	expect_err(&s, KX_EPARSE, "header: column 2 has no name", 1);
	src_close(&s);
}

static void
test_csv__header_with_too_many_columns(void **state)
{
	char text[1024] = "";
	struct src s;

	(void)state;
	for (int i = 0; i < 100; i++)
		strcat(text, "event_id,");
	strcat(text, "event_id\n");
	src_open(&s, text, KX_FAMILY_PAIRING);
	expect_err(&s, KX_EPARSE, "header: 'event_id': duplicate column", 1);
	src_close(&s);
}

static void
test_csv__empty_input_has_no_header(void **state)
{
	struct src s;

	(void)state;
	src_open(&s, "", KX_FAMILY_PAIRING);
	expect_err(&s, KX_EPARSE, "header: missing, the input is empty", 1);
	expect_eof(&s);
	src_close(&s);

	/* Blank lines are not a header either. */
	src_open(&s, "\n\r\n\n", KX_FAMILY_PAIRING);
	expect_err(&s, KX_EPARSE, "header: missing, the input is empty", 4);
	src_close(&s);
}

static void
test_csv__header_only_is_empty(void **state)
{
	struct src s;

	(void)state;
	src_open(&s, H_PRACTICE, KX_FAMILY_PRACTICE);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__quoting(void **state)
{
	struct src s;
	static const char rec[] = "e1,t,o,s,IUC,11,\"PR,1\",\"say \"\"hi\"\", "
				  "then\nleave, twice\n\n\"";

	(void)state;
	src_open(&s,
		 H_PRACTICE "e1,t,o,s,IUC,11,\"PR,1\",\"say \"\"hi\"\", then\n"
			    "leave, twice\n\n\"\n"
			    "\"e2\",t,o,s,IUC,\"11;12\",PR-2,\"\"\"\"\n",
		 KX_FAMILY_PRACTICE);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR,1\","
		  " \"title\": \"say \\\"hi\\\", then\\nleave, twice\\n\\n\"}",
		  2);
	expect_raw(&s, rec, sizeof(rec) - 1);
	expect_ok(&s,
		  J_COMMON("e2")
		  "\"sdgs\": [\"11\", \"12\"], \"practice_id\": \"PR-2\","
		  " \"title\": \"\\\"\"}",
		  6);
	EXPECT_RAW(&s, "\"e2\",t,o,s,IUC,\"11;12\",PR-2,\"\"\"\"");
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__crlf_line_endings(void **state)
{
	struct src s;

	(void)state;
	/* CRLF inside quotes is data; outside it ends the record. */
	src_open(&s,
		 "event_id,event_type,occurred_at,source,programme,sdgs,"
		 "practice_id,title\r\n"
		 "e1,t,o,s,IUC,11,PR-1,\"a\r\nb\"\r\n"
		 "e2,t,o,s,IUC,11,PR-2,c\r\n",
		 KX_FAMILY_PRACTICE);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-1\","
		  " \"title\": \"a\\r\\nb\"}",
		  2);
	EXPECT_RAW(&s, "e1,t,o,s,IUC,11,PR-1,\"a\r\nb\"");
	expect_ok(&s,
		  J_COMMON("e2")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-2\", \"title\":"
		  " \"c\"}",
		  4);
	EXPECT_RAW(&s, "e2,t,o,s,IUC,11,PR-2,c");
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__bom_is_skipped_at_start_only(void **state)
{
	struct src s;

	(void)state;
	src_open(&s, "\xef\xbb\xbf" H_PRACTICE COMMON "11,PR-1,\xef\xbb\xbfx\n",
		 KX_FAMILY_PRACTICE);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-1\","
		  " \"title\": \"\\ufeffx\"}",
		  2);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__spaces_are_data(void **state)
{
	struct src s;

	(void)state;
	src_open(&s, H_PRACTICE COMMON "11 ; 12, PR-1 ,\t x \n",
		 KX_FAMILY_PRACTICE);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11 \", \" 12\"], \"practice_id\": \" PR-1 \","
		  " \"title\": \"\\t x \"}",
		  2);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__blank_lines_are_skipped(void **state)
{
	struct src s;

	(void)state;
	src_open(&s, "\n\r\n" H_PRACTICE "\n\n" COMMON "11,PR-1,x\n\n",
		 KX_FAMILY_PRACTICE);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-1\", \"title\":"
		  " \"x\"}",
		  6);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__last_record_without_newline(void **state)
{
	struct src s;

	(void)state;
	src_open(&s, H_PRACTICE COMMON "11,PR-1,\"x\ny\"", KX_FAMILY_PRACTICE);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-1\","
		  " \"title\": \"x\\ny\"}",
		  2);
	EXPECT_RAW(&s, COMMON "11,PR-1,\"x\ny\"");
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__eu_must_be_true_or_false(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 H_VISIT COMMON "11,V-1,Lyon|FR|city|TRUE,,\n" COMMON
				"11,V-1,,A|FR|city|true;B|DE|city|1,\n" COMMON
				"11,V-1,,A|FR|city|false;B|DE|city|,\n" COMMON
				"11,V-1,Lyon|FR|city|false,,\n",
		 KX_FAMILY_VISIT);
	expect_err(&s, KX_EINVAL, "'host.eu': expected true or false", 2);
	expect_err(&s, KX_EINVAL, "'visitors[1].eu': expected true or false",
		   3);
	expect_err(&s, KX_EINVAL, "'visitors[1].eu': expected true or false",
		   4);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"visit_id\": \"V-1\","
		  " \"host\": {\"name\": \"Lyon\", \"country\": \"FR\","
		  "  \"kind\": \"city\", \"eu\": false}}",
		  5);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__party_needs_four_parts(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 H_VISIT COMMON "11,V-1,Lyon|FR|true,,\n"
		 COMMON "11,V-1,,A|FR|city|true;B|DE|city|true|x,\n"
		 COMMON "11,V-1,,A|FR|city|true;,\n"
		 COMMON "11,V-1,||city|true,,\n",
		 KX_FAMILY_VISIT);
	expect_err(&s, KX_EINVAL, "'host': expected name|country|kind|eu", 2);
	expect_err(&s, KX_EINVAL,
		   "'visitors[1]': expected name|country|kind|eu", 3);
	expect_err(&s, KX_EINVAL,
		   "'visitors[1]': expected name|country|kind|eu", 4);
	/* Empty parts are kept for validation to name. */
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"visit_id\": \"V-1\","
		  " \"host\": {\"name\": \"\", \"country\": \"\","
		  "  \"kind\": \"city\", \"eu\": true}}",
		  5);
	expect_eof(&s);
	src_close(&s);
}

/* Reads one visit row whose participants cell is cell. */
static void
check_participants(const char *cell, const char *want_json,
		   const char *want_err)
{
	char text[512];
	char want[512];
	struct src s;

	snprintf(text, sizeof(text), H_VISIT COMMON "11,V-1,,,%s\n", cell);
	src_open(&s, text, KX_FAMILY_VISIT);
	if (want_err) {
		expect_err(&s, KX_EINVAL, want_err, 2);
	} else {
		snprintf(want, sizeof(want),
			 "{\"event_id\": \"e1\", \"event_type\": \"t\","
			 " \"occurred_at\": \"o\", \"source\": \"s\","
			 " \"programme\": \"IUC\", \"sdgs\": [\"11\"],"
			 " \"visit_id\": \"V-1\", \"participants\": %s}",
			 want_json);
		expect_ok(&s, want, 2);
	}
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__integers(void **state)
{
	static const char *const bad[] = {"1.5", "12a", "-", "+5", " 5",
					  "5 ", "1e3", "0x10", "--1", "١٢"};

	(void)state;
	check_participants("24", "24", NULL);
	check_participants("0", "0", NULL);
	check_participants("007", "7", NULL);
	/* Range is validation's business: the value passes through. */
	check_participants("-3", "-3", NULL);
	check_participants("9223372036854775807", "9223372036854775807",
			   NULL);
	check_participants("-9223372036854775808", "-9223372036854775808",
			   NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_participants(bad[i], NULL,
				   "'participants': expected an integer");
	check_participants("9223372036854775808", NULL,
			   "'participants': integer out of range");
	check_participants("-9223372036854775809", NULL,
			   "'participants': integer out of range");
	check_participants("99999999999999999999999999", NULL,
			   "'participants': integer out of range");
}

static void
test_csv__pilot_projects_is_an_integer(void **state)
{
	struct src s;

	(void)state;
	src_open(&s, H_PAIRING COMMON ",11,,P-1,,,x\n" COMMON ",11,,P-1,,,12\n",
		 KX_FAMILY_PAIRING);
	expect_err(&s, KX_EINVAL, "'pilot_projects': expected an integer", 2);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"pairing_id\": \"P-1\","
		  " \"pilot_projects\": 12}",
		  3);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__wrong_field_count_then_continues(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 H_PRACTICE "e1,t,o,s,IUC,11,PR-1\n"
			    "e2,t,o,s,IUC,11,PR-2,x,y,z\n"
			    "e3,t,o,s,IUC,11,PR-3,x\n",
		 KX_FAMILY_PRACTICE);
	expect_err(&s, KX_EINVAL, "record has 7 fields, header has 8", 2);
	EXPECT_RAW(&s, "e1,t,o,s,IUC,11,PR-1");
	expect_err(&s, KX_EINVAL, "record has 10 fields, header has 8", 3);
	EXPECT_RAW(&s, "e2,t,o,s,IUC,11,PR-2,x,y,z");
	expect_ok(&s,
		  J_COMMON("e3")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-3\", \"title\":"
		  " \"x\"}",
		  4);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__unicode_names(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 H_PAIRING COMMON ",11,,P-1,trio,"
				  "São Paulo|BR|city|false;Київ|UA|city|false;"
				  "北京|CN|city|false,\n",
		 KX_FAMILY_PAIRING);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"pairing_id\": \"P-1\","
		  " \"cooperation_type\": \"trio\", \"members\": ["
		  "  {\"name\": \"S\\u00e3o Paulo\", \"country\": \"BR\","
		  "   \"kind\": \"city\", \"eu\": false},"
		  "  {\"name\": \"\\u041a\\u0438\\u0457\\u0432\","
		  "   \"country\": \"UA\", \"kind\": \"city\", \"eu\": false},"
		  "  {\"name\": \"\\u5317\\u4eac\", \"country\": \"CN\","
		  "   \"kind\": \"city\", \"eu\": false}]}",
		  2);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__invalid_utf8(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 H_PRACTICE COMMON "11,PR-1,caf\xe9\n"     /* Latin-1 */
		 COMMON "11,PR-1,\xc0\xaf\n"               /* overlong '/' */
		 COMMON "11,PR-1,\xed\xa0\x80\n"           /* surrogate */
		 COMMON "11,PR-1,\xf4\x90\x80\x80\n"       /* past U+10FFFF */
		 COMMON "11,PR-1,\xe4\xb8\n"               /* truncated */
		 COMMON "11\xff,PR-1,x\n"                  /* in a list */
		 COMMON "11,PR-1,\xf0\x9f\x8c\x8d\n",      /* U+1F30D is fine */
		 KX_FAMILY_PRACTICE);
	expect_err(&s, KX_EINVAL, "'title': invalid UTF-8", 2);
	expect_err(&s, KX_EINVAL, "'title': invalid UTF-8", 3);
	expect_err(&s, KX_EINVAL, "'title': invalid UTF-8", 4);
	expect_err(&s, KX_EINVAL, "'title': invalid UTF-8", 5);
	expect_err(&s, KX_EINVAL, "'title': invalid UTF-8", 6);
	expect_err(&s, KX_EINVAL, "'sdgs': invalid UTF-8", 7);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-1\","
		  " \"title\": \"\\ud83c\\udf0d\"}",
		  8);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__nul_byte_in_a_cell(void **state)
{
	static const char text[] = H_PRACTICE COMMON "11,PR-1,a\0b\n" COMMON
						     "11,PR-2,c\n";
	struct src s;

	(void)state;
	src_open_len(&s, text, sizeof(text) - 1, KX_FAMILY_PRACTICE);
	expect_err(&s, KX_EINVAL, "'title': contains a NUL byte", 2);
	EXPECT_RAW(&s, COMMON "11,PR-1,a\0b");
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-2\", \"title\":"
		  " \"c\"}",
		  3);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__line_numbers_of_multi_line_records(void **state)
{
	struct src s;

	(void)state;
	src_open(&s,
		 H_PRACTICE "\n" COMMON "11,PR-1,\"one\ntwo\n\nthree\"\n" COMMON
			    "11,PR-2,\"x\r\ny\"\r\n" COMMON "11,PR-3,z\n",
		 KX_FAMILY_PRACTICE);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-1\","
		  " \"title\": \"one\\ntwo\\n\\nthree\"}",
		  3);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-2\","
		  " \"title\": \"x\\r\\ny\"}",
		  7);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-3\", \"title\":"
		  " \"z\"}",
		  9);
	EXPECT_RAW(&s, COMMON "11,PR-3,z");
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__quote_errors_resync(void **state)
{
	struct src s;

	(void)state;
	/*
	 * After a quoting error the reader skips to the record's end, where
	 * a well-formed rest of the record, even a multi-line quoted field,
	 * says it is.
	 */
	src_open(&s,
		 H_PRACTICE COMMON "11,PR\"1,x\n" COMMON
		 "11,PR-2,\"x\"y,\"more\nlines\"\n" COMMON "1\"1,PR-3,x\n"
		 /* Doubled quotes, each followed by what could end a field. */
		 COMMON "11,\"P\"-5,\"a\"\",\nb\"\"\n\"\n"
		 COMMON "11,PR-4,ok\n",
		 KX_FAMILY_PRACTICE);
	expect_err(&s, KX_EINVAL,
		   "'practice_id': '\"' inside an unquoted field", 2);
	EXPECT_RAW(&s, COMMON "11,PR\"1,x");
	expect_err(&s, KX_EINVAL, "'title': text after a closing quote", 3);
	EXPECT_RAW(&s, COMMON "11,PR-2,\"x\"y,\"more\nlines\"");
	expect_err(&s, KX_EINVAL, "'sdgs': '\"' inside an unquoted field", 5);
	expect_err(&s, KX_EINVAL, "'practice_id': text after a closing quote",
		   6);
	EXPECT_RAW(&s, COMMON "11,\"P\"-5,\"a\"\",\nb\"\"\n\"");
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-4\","
		  " \"title\": \"ok\"}",
		  9);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__quote_error_in_header(void **state)
{
	struct src s;

	(void)state;
	src_open(&s, "event_id,\"event_type\"x\n", KX_FAMILY_PRACTICE);
	expect_err(&s, KX_EPARSE,
		   "header: column 2: text after a closing quote", 1);
	expect_eof(&s);
	src_close(&s);
}

static void
test_csv__unterminated_quote_at_eof(void **state)
{
	struct src s;

	(void)state;
	src_open(&s, H_PRACTICE COMMON "11,PR-1,\"never\nclosed\n",
		 KX_FAMILY_PRACTICE);
	expect_err(&s, KX_EINVAL, "'title': unterminated quoted field", 2);
	EXPECT_RAW(&s, COMMON "11,PR-1,\"never\nclosed\n");
	expect_eof(&s);
	src_close(&s);
}

/*
 * Builds a practice row whose record is exactly len bytes, title padded
 * with fill, optionally quoted with a line break every 1000 bytes.
 */
static char *
long_row(size_t len, bool quoted)
{
	static const char head[] = COMMON "11,PR-1,";
	size_t hl = sizeof(head) - 1;
	char *p = malloc(len + 1);

	assert_non_null(p);
	assert_true(len > hl + 2);
	memcpy(p, head, hl);
	for (size_t i = hl; i < len; i++)
		p[i] = quoted && i % 1000 == 999 ? '\n' : 'a' + (char)(i % 26);
	if (quoted) {
		p[hl] = '"';
		p[len - 1] = '"';
	}
	p[len] = '\0';
	return p;
}

static size_t
count_lf(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_csv__record_of_exactly_the_limit_is_accepted(void **state)
{
	char *row = long_row(KX_LINE_MAX, false);
	size_t tlen = strlen(H_PRACTICE) + KX_LINE_MAX + 2;
	char *text = malloc(tlen + 1);
	json_t *obj;
	long line;
	struct src s;

	(void)state;
	assert_non_null(text);
	snprintf(text, tlen + 1, "%s%s\r\n", H_PRACTICE, row);
	src_open(&s, text, KX_FAMILY_PRACTICE);
	obj = next_obj(&s, &line);
	assert_int_equal(line, 2);
	assert_int_equal(strlen(title_of(obj)),
			 KX_LINE_MAX - strlen(COMMON "11,PR-1,"));
	expect_raw(&s, row, KX_LINE_MAX);
	json_decref(obj);
	expect_eof(&s);
	src_close(&s);
	free(text);
	free(row);
}

static void
check_too_long(bool quoted)
{
	char *row = long_row(KX_LINE_MAX + 1, quoted);
	size_t tlen = strlen(H_PRACTICE) + strlen(row) + 200;
	char *text = malloc(tlen);
	long next_line = 3 + (long)count_lf(row);
	struct src s;

	assert_non_null(text);
	snprintf(text, tlen, "%s%s\n%s\n", H_PRACTICE, row,
		 COMMON "11,PR-2,\"after\nit\"");
	src_open(&s, text, KX_FAMILY_PRACTICE);
	expect_err(&s, KX_EINVAL, "record is longer than 1048576 bytes", 2);
	EXPECT_RAW(&s, "");
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-2\","
		  " \"title\": \"after\\nit\"}",
		  next_line);
	expect_eof(&s);
	src_close(&s);
	free(text);
	free(row);
}

static void
test_csv__record_over_the_limit_is_skipped(void **state)
{
	(void)state;
	check_too_long(false);
}

static void
test_csv__multi_line_record_over_the_limit_is_skipped(void **state)
{
	(void)state;
	check_too_long(true);
}

static long
max_rss_kib(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

#define HUGE ((size_t)40 * 1024 * 1024)

static void
test_csv__huge_record_keeps_memory_flat(void **state)
{
	struct src s;
	char chunk[4096];
	size_t total = 0;
	long before;

	(void)state;
	/*
	 * 40 MiB in one quoted field: the reader must skip it with bounded
	 * memory, so the peak RSS grows by far less than the record. The raw
	 * text of such a record is empty rather than a truncated copy.
	 */
	s.fp = tmpfile();
	assert_non_null(s.fp);
	fputs(H_PRACTICE COMMON "11,PR-1,\"", s.fp);
	memset(chunk, 'x', sizeof(chunk));
	while (total < HUGE) {
		assert_int_equal(fwrite(chunk, 1, sizeof(chunk), s.fp),
				 sizeof(chunk));
		total += sizeof(chunk);
	}
	/* Then a quoting error, followed by as much again. */
	fputs("\"\n" COMMON "11,P\"R,\"", s.fp);
	for (total = 0; total < HUGE;
	     total += sizeof(chunk)) {
		assert_int_equal(fwrite(chunk, 1, sizeof(chunk), s.fp),
				 sizeof(chunk));
	}
	fputs("\"\n" COMMON "11,PR-2,y\n", s.fp);
	rewind(s.fp);
	before = max_rss_kib();
	s.r = kx_csv_reader_new(s.fp, KX_FAMILY_PRACTICE);
	assert_non_null(s.r);
	expect_err(&s, KX_EINVAL, "record is longer than 1048576 bytes", 2);
	EXPECT_RAW(&s, "");
	expect_err(&s, KX_EINVAL,
		   "'practice_id': '\"' inside an unquoted field", 3);
	EXPECT_RAW(&s, "");
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-2\", \"title\":"
		  " \"y\"}",
		  4);
	expect_eof(&s);
	src_close(&s);
	assert_in_range(max_rss_kib() - before, 0, 16 * 1024);
}

static void
test_csv__header_over_the_limit(void **state)
{
	char *row = long_row(KX_LINE_MAX + 1, false);
	struct src s;

	(void)state;
	src_open(&s, row, KX_FAMILY_PRACTICE);
	expect_err(&s, KX_EPARSE, "header: record is longer than 1048576 bytes",
		   1);
	expect_eof(&s);
	src_close(&s);
	free(row);
}

/*
 * Many records of varied shape, so that chunk boundaries fall inside
 * quoted fields, between CR and LF, and inside doubled quotes.
 */
#define CRLF_HEADER                                                          \
	"event_id,event_type,occurred_at,source,programme,sdgs,"             \
	"practice_id,title\r\n"

static void
test_csv__records_across_read_chunks(void **state)
{
	enum { N = 4000 };
	struct kx_buf_lite {
		char *p;
		size_t len, cap;
	} text = {NULL, 0, 0};
	static char title[N][128];
	long want_line[N];
	size_t raw_off[N], raw_len[N];
	long line = 2;
	struct src s;

	(void)state;
#define ADD(str, n)                                                          \
	do {                                                                 \
		size_t n_ = (n);                                             \
		if (text.len + n_ + 1 > text.cap) {                          \
			text.cap = (text.len + n_ + 1) * 2;                  \
			text.p = realloc(text.p, text.cap);                  \
			assert_non_null(text.p);                             \
		}                                                            \
		memcpy(text.p + text.len, (str), n_);                        \
		text.len += n_;                                              \
	} while (0)
	ADD(CRLF_HEADER, sizeof(CRLF_HEADER) - 1);
	for (int i = 0; i < N; i++) {
		char row[512];
		size_t tl = 0, rl;
		int kind = i % 4;

		/* Titles of 1 to 97 bytes, some with line breaks and quotes. */
		for (int j = 0; j < 1 + (i * 7) % 97; j++) {
			char c = (char)('a' + (i + j) % 26);

			if (kind == 1 && j % 13 == 5)
				c = '\n';
			else if (kind == 2 && j % 11 == 3)
				c = '"';
			title[i][tl++] = c;
		}
		title[i][tl] = '\0';
		want_line[i] = line;
		rl = (size_t)snprintf(row, sizeof(row), "e%d,t,o,s,IUC,11,P,",
				      i);
		if (kind == 0) {
			memcpy(row + rl, title[i], tl);
			rl += tl;
		} else {
			row[rl++] = '"';
			for (size_t j = 0; j < tl; j++) {
				if (title[i][j] == '"')
					row[rl++] = '"';
				row[rl++] = title[i][j];
			}
			row[rl++] = '"';
		}
		line += (long)count_lf(title[i]) + 1;
		raw_off[i] = text.len;
		raw_len[i] = rl;
		ADD(row, rl);
		ADD(i % 3 ? "\r\n" : "\n", i % 3 ? 2 : 1);
	}
#undef ADD
	src_open_len(&s, text.p, text.len, KX_FAMILY_PRACTICE);
	for (int i = 0; i < N; i++) {
		long got_line;
		json_t *obj = next_obj(&s, &got_line);

		assert_string_equal(title_of(obj), title[i]);
		assert_int_equal(got_line, want_line[i]);
		expect_raw(&s, text.p + raw_off[i], raw_len[i]);
		json_decref(obj);
	}
	expect_eof(&s);
	src_close(&s);
	free(text.p);
}

/*
 * The reader reads 64 KiB at a time. These put a record's line ending, and
 * a long record's closing quote, on either side of that boundary; with any
 * other read size they still test ordinary records.
 */
#define READ_SIZE 65536
#define NEXT_ROW COMMON "11,PR-2,u\n"

static void
test_csv__line_ending_at_a_read_boundary(void **state)
{
	static const char *const endings[] = {"\n", "\r\n", "\r"};
	char *text = malloc(READ_SIZE + 256);

	(void)state;
	assert_non_null(text);
	for (size_t e = 0; e < 3; e++) {
		for (long d = -2; d <= 1; d++) {
			/* The record's ending starts at READ_SIZE + d. */
			size_t hl = strlen(H_PRACTICE);
			size_t head = strlen(COMMON "11,PR-1,");
			size_t end = (size_t)(READ_SIZE + d);
			size_t tl = end - hl - head;
			struct src s;
			json_t *obj;
			long line;
			size_t o;

			memcpy(text, H_PRACTICE COMMON "11,PR-1,", hl + head);
			memset(text + hl + head, 't', tl);
			o = end;
			memcpy(text + o, endings[e], strlen(endings[e]));
			o += strlen(endings[e]);
			memcpy(text + o, NEXT_ROW, sizeof(NEXT_ROW) - 1);
			o += sizeof(NEXT_ROW) - 1;
			src_open_len(&s, text, o, KX_FAMILY_PRACTICE);
			obj = next_obj(&s, &line);
			assert_int_equal(strlen(title_of(obj)), tl);
			assert_int_equal(line, 2);
			json_decref(obj);
			expect_raw(&s, text + hl, end - hl);
			/* A lone CR ends a record but is not a line. */
			expect_ok(&s,
				  "{\"event_id\": \"e1\", \"event_type\":"
				  " \"t\","
				  " \"occurred_at\": \"o\", \"source\": \"s\","
				  " \"programme\": \"IUC\", \"sdgs\": [\"11\"],"
				  " \"practice_id\": \"PR-2\", \"title\":"
				  " \"u\"}",
				  e == 2 ? 2 : 3);
			EXPECT_RAW(&s, COMMON "11,PR-2,u");
			expect_eof(&s);
			src_close(&s);
		}
	}
	free(text);
}

#define AFTER COMMON "11,PR-2,\"after\nit\"\n"

static void
test_csv__long_record_quote_closing_at_read_boundary(void **state)
{
	/*
	 * The record passes KX_LINE_MAX inside a quoted field that closes
	 * just before a read boundary; the record then goes on unquoted past
	 * the boundary. Skipping must know the quote closed.
	 */
	size_t q = 17 * (size_t)READ_SIZE - 10;
	size_t hl = strlen(H_PRACTICE);
	size_t head = strlen(COMMON "11,");
	char *text = malloc(q + 200);
	size_t o;
	struct src s;

	(void)state;
	assert_non_null(text);
	assert_true(q - hl > KX_LINE_MAX);
	memcpy(text, H_PRACTICE COMMON "11,\"", hl + head + 1);
	memset(text + hl + head + 1, 'a', q - (hl + head + 1));
	o = q;
	text[o++] = '"';
	text[o++] = ',';
	memset(text + o, 'b', 40);
	o += 40;
	text[o++] = '\n';
	memcpy(text + o, AFTER, sizeof(AFTER) - 1);
	o += sizeof(AFTER) - 1;
	src_open_len(&s, text, o, KX_FAMILY_PRACTICE);
	expect_err(&s, KX_EINVAL, "record is longer than 1048576 bytes", 2);
	expect_ok(&s,
		  J_COMMON("e1")
		  "\"sdgs\": [\"11\"], \"practice_id\": \"PR-2\","
		  " \"title\": \"after\\nit\"}",
		  3);
	expect_eof(&s);
	src_close(&s);
	free(text);
}

static void
test_csv__read_error(void **state)
{
	struct src s;
	char err[256];
	json_t *obj = NULL;
	long line;

	(void)state;
	/* A FILE open only for writing fails every read. */
	s.fp = fopen("/dev/null", "w");
	assert_non_null(s.fp);
	s.r = kx_csv_reader_new(s.fp, KX_FAMILY_PAIRING);
	assert_non_null(s.r);
	assert_int_equal(kx_csv_reader_next(s.r, &obj, &line, err, sizeof(err)),
			 KX_EIO);
	assert_null(obj);
	src_close(&s);
}

static void
test_csv__free_null_is_a_no_op(void **state)
{
	(void)state;
	kx_csv_reader_free(NULL);
	assert_null(kx_csv_reader_new(stdin, KX_FAMILY__COUNT));
}

/* Each record of F.csv must convert to exactly line N of F.jsonl. */
static void
check_fixture(const char *name, enum kx_family family, int want_records)
{
	char path[1024];
	char *jline = NULL;
	size_t jcap = 0;
	FILE *jf;
	struct src s;
	int n = 0;

	snprintf(path, sizeof(path), "%s/csv/%s.csv", KX_TEST_DATA, name);
	s.fp = fopen(path, "rb");
	assert_non_null(s.fp);
	s.r = kx_csv_reader_new(s.fp, family);
	assert_non_null(s.r);
	snprintf(path, sizeof(path), "%s/csv/%s.jsonl", KX_TEST_DATA, name);
	jf = fopen(path, "r");
	assert_non_null(jf);
	for (;;) {
		char err[256];
		json_t *obj = NULL;
		long line;
		int rc = kx_csv_reader_next(s.r, &obj, &line, err, sizeof(err));

		if (rc == KX_EEOF)
			break;
		if (rc)
			fail_msg("%s.csv line %ld: %s", name, line, err);
		assert_true(getline(&jline, &jcap, jf) > 0);
		assert_json(obj, jline);
		json_decref(obj);
		n++;
	}
	assert_int_equal(getline(&jline, &jcap, jf), -1);
	assert_int_equal(n, want_records);
	free(jline);
	fclose(jf);
	src_close(&s);
}

static void
test_csv__fixtures_match_their_jsonl_twins(void **state)
{
	(void)state;
	check_fixture("pairing", KX_FAMILY_PAIRING, 3);
	check_fixture("visit", KX_FAMILY_VISIT, 2);
	check_fixture("practice", KX_FAMILY_PRACTICE, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv__pairing_row_converts),
		cmocka_unit_test(test_csv__visit_row_converts),
		cmocka_unit_test(
			test_csv__practice_and_transfer_share_a_header),
		cmocka_unit_test(test_csv__empty_cells_are_absent),
		cmocka_unit_test(test_csv__list_items_split_on_semicolon),
		cmocka_unit_test(test_csv__header_unknown_column),
		cmocka_unit_test(test_csv__header_column_of_another_family),
		cmocka_unit_test(
			test_csv__header_unknown_column_is_shown_safely),
		cmocka_unit_test(test_csv__header_duplicate_column),
		cmocka_unit_test(test_csv__header_missing_required_column),
		cmocka_unit_test(test_csv__header_blank_name),
		cmocka_unit_test(test_csv__header_with_too_many_columns),
		cmocka_unit_test(test_csv__empty_input_has_no_header),
		cmocka_unit_test(test_csv__header_only_is_empty),
		cmocka_unit_test(test_csv__quoting),
		cmocka_unit_test(test_csv__crlf_line_endings),
		cmocka_unit_test(test_csv__bom_is_skipped_at_start_only),
		cmocka_unit_test(test_csv__spaces_are_data),
		cmocka_unit_test(test_csv__blank_lines_are_skipped),
		cmocka_unit_test(test_csv__last_record_without_newline),
		cmocka_unit_test(test_csv__eu_must_be_true_or_false),
		cmocka_unit_test(test_csv__party_needs_four_parts),
		cmocka_unit_test(test_csv__integers),
		cmocka_unit_test(test_csv__pilot_projects_is_an_integer),
		cmocka_unit_test(test_csv__wrong_field_count_then_continues),
		cmocka_unit_test(test_csv__unicode_names),
		cmocka_unit_test(test_csv__invalid_utf8),
		cmocka_unit_test(test_csv__nul_byte_in_a_cell),
		cmocka_unit_test(test_csv__line_numbers_of_multi_line_records),
		cmocka_unit_test(test_csv__quote_errors_resync),
		cmocka_unit_test(test_csv__quote_error_in_header),
		cmocka_unit_test(test_csv__unterminated_quote_at_eof),
		cmocka_unit_test(
			test_csv__record_of_exactly_the_limit_is_accepted),
		cmocka_unit_test(test_csv__record_over_the_limit_is_skipped),
		cmocka_unit_test(
			test_csv__multi_line_record_over_the_limit_is_skipped),
		cmocka_unit_test(test_csv__huge_record_keeps_memory_flat),
		cmocka_unit_test(test_csv__header_over_the_limit),
		cmocka_unit_test(test_csv__records_across_read_chunks),
		cmocka_unit_test(test_csv__line_ending_at_a_read_boundary),
		cmocka_unit_test(
			test_csv__long_record_quote_closing_at_read_boundary),
		cmocka_unit_test(test_csv__read_error),
		cmocka_unit_test(test_csv__free_null_is_a_no_op),
		cmocka_unit_test(test_csv__fixtures_match_their_jsonl_twins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
