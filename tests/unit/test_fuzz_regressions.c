/*
 * Replays every input the fuzzers of tests/fuzz/ ever crashed on, kept in
 * tests/data/fuzz-regressions/<target>/, through the very same target code
 * (each fuzz_<target>.c is included here with its entry point renamed), so
 * that a fixed crash, leak or round-trip break cannot come back unnoticed.
 * A target signals a broken invariant with abort(); leaks show under the
 * valgrind and sanitizer runs of this binary.
 */
#include <dirent.h>
#include <errno.h>
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

#include "kx/buf.h"
/* clang-format on */

#define LLVMFuzzerTestOneInput fuzz_json_line_one
#include "../fuzz/fuzz_json_line.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_csv_one
#include "../fuzz/fuzz_csv.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_avro_one
#include "../fuzz/fuzz_avro.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_lines_one
#include "../fuzz/fuzz_lines.c"
#undef LLVMFuzzerTestOneInput

typedef int(fuzz_fn)(const uint8_t *data, size_t size);

/* Runs fn on every file of dir; returns how many there were. */
static int
replay_dir(const char *dir, fuzz_fn *fn)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[8192];
		struct kx_buf data = KX_BUF_INIT;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "README.md"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (kx_buf_read_file(&data, path))
			fail_msg("cannot read '%s': %s", path, strerror(errno));
		/* The target aborts when an invariant breaks. */
		assert_int_equal(fn((const uint8_t *)data.data, data.len), 0);
		kx_buf_release(&data);
		n++;
	}
	closedir(d);
	return n;
}

/*
 * Runs fn on every crash input of tests/data/fuzz-regressions/<target>/
 * and on the committed seed corpus tests/fuzz/corpus/<target>/, so the
 * invariants the fuzzers check also hold in every ordinary test run.
 */
static void
replay(const char *target, fuzz_fn *fn)
{
	char dir[4096];
	int n;

	snprintf(dir, sizeof(dir), "%s/fuzz-regressions/%s", KX_TEST_DATA,
		 target);
	n = replay_dir(dir, fn);
	print_message("%s: %d regression inputs replayed\n", target, n);
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", KX_SOURCE_DIR,
		 target);
	n = replay_dir(dir, fn);
	print_message("%s: %d corpus inputs replayed\n", target, n);
	assert_true(n > 0);
}

static void
test_fuzz_regressions__json_line(void **state)
{
	(void)state;
	replay("fuzz_json_line", fuzz_json_line_one);
}

static void
test_fuzz_regressions__csv(void **state)
{
	(void)state;
	replay("fuzz_csv", fuzz_csv_one);
}

static void
test_fuzz_regressions__avro(void **state)
{
	(void)state;
	replay("fuzz_avro", fuzz_avro_one);
}

static void
test_fuzz_regressions__lines(void **state)
{
	(void)state;
	replay("fuzz_lines", fuzz_lines_one);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz_regressions__json_line),
		cmocka_unit_test(test_fuzz_regressions__csv),
		cmocka_unit_test(test_fuzz_regressions__avro),
		cmocka_unit_test(test_fuzz_regressions__lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
