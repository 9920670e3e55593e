/*
 * Schema compatibility (kx/compat.h): the Avro specification's resolution
 * rules, case by case, and the catalogue itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kx/compat.h"
#include "kx/err.h"
#include "kx/schema.h"

struct seen {
	int n;
	char all[4096];
};

static void
collect(void *opaque, const char *path, const char *problem)
{
	struct seen *s = opaque;
	size_t len = strlen(s->all);

	s->n++;
	snprintf(s->all + len, sizeof(s->all) - len, "%s: %s\n", path,
		 problem);
}

/* Checks reader against writer; returns the problems, one per line. */
static int
run(const char *reader, const char *writer, struct seen *s)
{
	char err[256] = "";

	memset(s, 0, sizeof(*s));
	return kx_compat_check(reader, strlen(reader), writer, strlen(writer),
			       collect, s, err, sizeof(err));
}

#define OKAY(r, w)                                                             \
	do {                                                                   \
		struct seen s_;                                                \
		if (run(r, w, &s_) != 0)                                       \
			fail_msg("expected compatible:\n%s", s_.all);          \
	} while (0)

#define BREAKS(r, w, needle)                                                   \
	do {                                                                   \
		struct seen s_;                                                \
		assert_int_equal(run(r, w, &s_), KX_ESCHEMA);                  \
		if (!strstr(s_.all, needle))                                   \
			fail_msg("problems lack '%s':\n%s", needle, s_.all);   \
	} while (0)

#define REC(fields) "{\"type\":\"record\",\"name\":\"R\",\"fields\":[" fields "]}"

static void
test_compat__primitives_and_promotions(void **state)
{
	(void)state;
	OKAY("\"int\"", "\"int\"");
	OKAY("\"long\"", "\"int\"");
	OKAY("\"double\"", "\"int\"");
	OKAY("\"float\"", "\"long\"");
	OKAY("\"double\"", "\"float\"");
	OKAY("\"bytes\"", "\"string\"");
	OKAY("\"string\"", "\"bytes\"");
	BREAKS("\"int\"", "\"long\"", "the writer's long cannot be read as int");
	BREAKS("\"string\"", "\"int\"", "cannot be read as string");
	BREAKS("\"boolean\"", "\"null\"", "the writer's null");
}

static void
test_compat__record_fields_need_defaults_only_when_new(void **state)
{
	(void)state;
	/* A reader field with a default, which the writer lacks. */
	OKAY(REC("{\"name\":\"a\",\"type\":\"int\"},"
		 "{\"name\":\"b\",\"type\":[\"null\",\"long\"],"
		 "\"default\":null}"),
	     REC("{\"name\":\"a\",\"type\":\"int\"}"));
	/* A writer field the reader lacks is skipped. */
	OKAY(REC("{\"name\":\"a\",\"type\":\"int\"}"),
	     REC("{\"name\":\"a\",\"type\":\"int\"},"
		 "{\"name\":\"z\",\"type\":\"string\"}"));
	BREAKS(REC("{\"name\":\"a\",\"type\":\"int\"},"
		   "{\"name\":\"b\",\"type\":\"long\"}"),
	       REC("{\"name\":\"a\",\"type\":\"int\"}"),
	       "R.b: the reader's field has no default and the writer lacks "
	       "it");
	/* A field renamed through an alias. */
	OKAY(REC("{\"name\":\"b\",\"aliases\":[\"a\"],\"type\":\"int\"}"),
	     REC("{\"name\":\"a\",\"type\":\"int\"}"));
	/* Record names must match (unqualified), or through an alias. */
	BREAKS("{\"type\":\"record\",\"name\":\"S\",\"fields\":[]}",
	       "{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}",
	       "the writer's record R is not the reader's S");
	OKAY("{\"type\":\"record\",\"name\":\"a.R\",\"fields\":[]}",
	     "{\"type\":\"record\",\"name\":\"b.R\",\"fields\":[]}");
	OKAY("{\"type\":\"record\",\"name\":\"S\",\"aliases\":[\"x.R\"],"
	     "\"fields\":[]}",
	     "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"x\","
	     "\"fields\":[]}");
}

#define ENUM(syms, extra)                                                      \
	REC("{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","     \
	    "\"symbols\":[" syms "]" extra "}}")

static void
test_compat__enum_symbols_and_defaults(void **state)
{
	(void)state;
	OKAY(ENUM("\"a\",\"b\",\"c\"", ""), ENUM("\"a\",\"b\"", ""));
	OKAY(ENUM("\"c\",\"b\",\"a\"", ""), ENUM("\"a\",\"b\"", ""));
	BREAKS(ENUM("\"a\",\"b\"", ""), ENUM("\"a\",\"b\",\"c\"", ""),
	       "R.e: the writer's symbol 'c' of E is unknown to the reader, "
	       "whose enum has no default");
	/* An enum default covers symbols added later. */
	OKAY(ENUM("\"a\",\"b\"", ",\"default\":\"a\""),
	     ENUM("\"a\",\"b\",\"c\"", ""));
	BREAKS(ENUM("\"a\",\"b\"", ",\"default\":\"z\""),
	       ENUM("\"a\",\"b\"", ""),
	       "enum default 'z' is not one of its symbols");
}

static void
test_compat__unions(void **state)
{
	(void)state;
	OKAY("[\"null\",\"string\"]", "\"string\"");
	OKAY("[\"null\",\"long\"]", "\"int\"");
	OKAY("[\"null\",\"string\",\"int\"]", "[\"null\",\"int\"]");
	OKAY("\"int\"", "[\"int\"]");
	BREAKS("[\"null\",\"int\"]", "\"string\"",
	       "no branch of the reader's union reads the writer's string");
	/* Every branch the writer may write must be readable. */
	BREAKS("\"string\"", "[\"null\",\"string\"]",
	       "string<null>: the writer's null cannot be read as string");
}

static void
test_compat__arrays_maps_fixed_and_references(void **state)
{
	(void)state;
	OKAY("{\"type\":\"array\",\"items\":\"long\"}",
	     "{\"type\":\"array\",\"items\":\"int\"}");
	BREAKS("{\"type\":\"map\",\"values\":\"int\"}",
	       "{\"type\":\"map\",\"values\":\"string\"}",
	       "map[]: the writer's string cannot be read as int");
	BREAKS("{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}",
	       "{\"type\":\"fixed\",\"name\":\"F\",\"size\":8}",
	       "fixed sizes differ");
	/* A named type used twice, by reference; a recursive one. */
	OKAY(REC("{\"name\":\"p\",\"type\":{\"type\":\"record\",\"name\":\"P\","
		 "\"fields\":[{\"name\":\"n\",\"type\":\"string\"}]}},"
		 "{\"name\":\"q\",\"type\":\"P\"}"),
	     REC("{\"name\":\"p\",\"type\":{\"type\":\"record\",\"name\":\"P\","
		 "\"fields\":[{\"name\":\"n\",\"type\":\"string\"}]}},"
		 "{\"name\":\"q\",\"type\":\"P\"}"));
	BREAKS(REC("{\"name\":\"p\",\"type\":{\"type\":\"record\",\"name\":\"P\","
		   "\"fields\":[{\"name\":\"n\",\"type\":\"int\"}]}},"
		   "{\"name\":\"q\",\"type\":\"P\"}"),
	       REC("{\"name\":\"p\",\"type\":{\"type\":\"record\",\"name\":\"P\","
		   "\"fields\":[{\"name\":\"n\",\"type\":\"string\"}]}},"
		   "{\"name\":\"q\",\"type\":\"P\"}"),
	       "R.p.n: the writer's string cannot be read as int");
	OKAY("{\"type\":\"record\",\"name\":\"L\",\"fields\":["
	     "{\"name\":\"next\",\"type\":[\"null\",\"L\"],\"default\":null}]}",
	     "{\"type\":\"record\",\"name\":\"L\",\"fields\":["
	     "{\"name\":\"next\",\"type\":[\"null\",\"L\"],\"default\":null}]}");
	BREAKS("\"Nowhere\"", "\"int\"",
	       "the reader schema's type cannot be resolved");
}

static void
test_compat__defaults_must_fit(void **state)
{
	(void)state;
	BREAKS(REC("{\"name\":\"a\",\"type\":[\"null\",\"int\"],"
		   "\"default\":5}"),
	       REC("{\"name\":\"a\",\"type\":[\"null\",\"int\"],"
		   "\"default\":null}"),
	       "R.a: the reader schema's default does not fit");
	BREAKS(REC("{\"name\":\"a\",\"type\":\"int\",\"default\":3000000000}"),
	       REC("{\"name\":\"a\",\"type\":\"int\"}"),
	       "R.a: the reader schema's default does not fit");
	OKAY(REC("{\"name\":\"a\",\"type\":{\"type\":\"array\","
		 "\"items\":\"string\"},\"default\":[\"x\"]}"),
	     REC(""));
}

static void
test_compat__unparsable_schemas_are_errors(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(kx_compat_check("{", 1, "\"int\"", 5, NULL, NULL, err,
					 sizeof(err)),
			 KX_EINVAL);
	assert_non_null(strstr(err, "the reader schema is not JSON"));
}

/* The catalogue: every version reads every other version of its family. */
static void
test_compat__catalogue_is_compatible_both_ways(void **state)
{
	size_t n;
	const struct kx_schema_entry *cat = kx_schema_catalogue(&n);
	int pairs = 0;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			struct seen s;

			if (i == j || cat[i].family != cat[j].family)
				continue;
			memset(&s, 0, sizeof(s));
			if (kx_compat_check(cat[i].avsc, cat[i].avsc_len,
					    cat[j].avsc, cat[j].avsc_len,
					    collect, &s, NULL, 0))
				fail_msg("%s cannot read %s:\n%s", cat[i].file,
					 cat[j].file, s.all);
			pairs++;
		}
	}
	assert_true(pairs >= 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compat__primitives_and_promotions),
		cmocka_unit_test(
			test_compat__record_fields_need_defaults_only_when_new),
		cmocka_unit_test(test_compat__enum_symbols_and_defaults),
		cmocka_unit_test(test_compat__unions),
		cmocka_unit_test(test_compat__arrays_maps_fixed_and_references),
		cmocka_unit_test(test_compat__defaults_must_fit),
		cmocka_unit_test(test_compat__unparsable_schemas_are_errors),
		cmocka_unit_test(test_compat__catalogue_is_compatible_both_ways),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
