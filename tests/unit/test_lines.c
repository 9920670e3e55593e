/*
 * Tests of the bounded line reader (core/src/lines.c).
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "text_file.h"
#include "kx/err.h"
#include "kx/lines.h"

static void
test_lines__splits_and_strips_line_endings(void **state)
{
	static const char text[] = "one\r\ntwo\n\nthree";
	FILE *fp = text_file(text, sizeof(text) - 1);
	struct kx_lines lr;
	const char *line;
	size_t len;

	(void)state;
	kx_lines_init(&lr, fp, 100);
	assert_int_equal(kx_lines_next(&lr, &line, &len), 0);
	assert_string_equal(line, "one");
	assert_int_equal(kx_lines_next(&lr, &line, &len), 0);
	assert_string_equal(line, "two");
	assert_int_equal(kx_lines_next(&lr, &line, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(kx_lines_next(&lr, &line, &len), 0);
	assert_string_equal(line, "three");
	assert_int_equal(lr.lineno, 4);
	assert_int_equal(kx_lines_next(&lr, &line, &len), KX_EEOF);
	kx_lines_release(&lr);
	fclose(fp);
}

static void
test_lines__keeps_nul_bytes(void **state)
{
	static const char text[] = "a\0b\nc\n";
	FILE *fp = text_file(text, sizeof(text) - 1);
	struct kx_lines lr;
	const char *line;
	size_t len;

	(void)state;
	kx_lines_init(&lr, fp, 100);
	assert_int_equal(kx_lines_next(&lr, &line, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(line, "a\0b", 3);
	kx_lines_release(&lr);
	fclose(fp);
}

static void
test_lines__skips_a_line_over_the_cap(void **state)
{
	char text[5000];
	FILE *fp;
	struct kx_lines lr;
	const char *line;
	size_t len;

	(void)state;
	memset(text, 'x', sizeof(text));
	memcpy(text + 4000, "\nok\n", 4);
	fp = text_file(text, 4004);
	kx_lines_init(&lr, fp, 100);
	assert_int_equal(kx_lines_next(&lr, &line, &len), KX_ETOOLONG);
	assert_int_equal(lr.lineno, 1);
	assert_int_equal(kx_lines_next(&lr, &line, &len), 0);
	assert_string_equal(line, "ok");
	assert_int_equal(lr.lineno, 2);
	kx_lines_release(&lr);
	fclose(fp);
}

/* Regression: lines from a pipe were held back until 64 KiB arrived. */
static void
test_lines__pipe_line_arrives_without_a_full_block(void **state)
{
	int fds[2];
	FILE *fp;
	struct kx_lines lr;
	const char *line;
	size_t len;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "first\n", 6), 6);
	fp = fdopen(fds[0], "r");
	assert_non_null(fp);
	kx_lines_init(&lr, fp, 100);
	/* The writer is still open: a block-filling read would hang here. */
	assert_int_equal(kx_lines_next(&lr, &line, &len), 0);
	assert_string_equal(line, "first");
	close(fds[1]);
	assert_int_equal(kx_lines_next(&lr, &line, &len), KX_EEOF);
	kx_lines_release(&lr);
	fclose(fp);
}

static void
test_lines__reads_a_memory_stream(void **state)
{
	static char text[] = "x\ny";
	FILE *fp = fmemopen(text, sizeof(text) - 1, "r");
	struct kx_lines lr;
	const char *line;
	size_t len;

	(void)state;
	assert_non_null(fp);
	kx_lines_init(&lr, fp, 100);
	assert_int_equal(kx_lines_next(&lr, &line, &len), 0);
	assert_string_equal(line, "x");
	assert_int_equal(kx_lines_next(&lr, &line, &len), 0);
	assert_string_equal(line, "y");
	assert_int_equal(kx_lines_next(&lr, &line, &len), KX_EEOF);
	kx_lines_release(&lr);
	fclose(fp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines__splits_and_strips_line_endings),
		cmocka_unit_test(test_lines__keeps_nul_bytes),
		cmocka_unit_test(test_lines__skips_a_line_over_the_cap),
		cmocka_unit_test(test_lines__pipe_line_arrives_without_a_full_block),
		cmocka_unit_test(test_lines__reads_a_memory_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
