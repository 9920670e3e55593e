/*
 * Tests of the growable byte buffer (core/src/buf.c): appending keeps the
 * NUL terminator, and reading whole files, empty, large or missing.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kx/buf.h"
#include "kx/err.h"

/* Writes n bytes of a repeating pattern to a new temporary file. */
static void
temp_file(char *path, size_t n)
{
	int fd;
	FILE *fp;

	strcpy(path, "/tmp/kx-test-buf.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "wb");
	assert_non_null(fp);
	for (size_t i = 0; i < n; i++)
		fputc('a' + (int)(i % 26), fp);
	assert_int_equal(fclose(fp), 0);
}

static void
test_buf__appends_and_terminates(void **state)
{
	struct kx_buf b = KX_BUF_INIT;

	(void)state;
	assert_int_equal(kx_buf_adds(&b, "pairing"), 0);
	assert_int_equal(kx_buf_addf(&b, ".%d", 42), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "pairing.42");
	kx_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	kx_buf_release(&b);
	assert_null(b.data);
}

static void
test_buf__reads_a_whole_file(void **state)
{
	struct kx_buf b = KX_BUF_INIT;
	char path[64];
	size_t n = 200 * 1024 + 7; /* more than one read block */

	(void)state;
	temp_file(path, n);
	assert_int_equal(kx_buf_adds(&b, ">"), 0);
	assert_int_equal(kx_buf_read_file(&b, path), 0);
	assert_int_equal(b.len, n + 1);
	assert_int_equal(b.data[0], '>');
	assert_int_equal(b.data[1], 'a');
	assert_int_equal(b.data[n], 'a' + (int)((n - 1) % 26));
	assert_int_equal(b.data[n + 1], '\0');
	kx_buf_release(&b);
	unlink(path);
}

static void
test_buf__reads_an_empty_file(void **state)
{
	struct kx_buf b = KX_BUF_INIT;
	char path[64];

	(void)state;
	temp_file(path, 0);
	assert_int_equal(kx_buf_read_file(&b, path), 0);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	kx_buf_release(&b);
	unlink(path);
}

static void
test_buf__missing_file_is_an_io_error(void **state)
{
	struct kx_buf b = KX_BUF_INIT;

	(void)state;
	errno = 0;
	assert_int_equal(kx_buf_read_file(&b, "/nonexistent/kx/file"),
			 KX_EIO);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(b.len, 0);
	kx_buf_release(&b);
}

static void
test_buf__a_folder_is_an_io_error(void **state)
{
	struct kx_buf b = KX_BUF_INIT;

	(void)state;
	assert_int_equal(kx_buf_read_file(&b, "/tmp"), KX_EIO);
	assert_int_equal(errno, EISDIR);
	kx_buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf__appends_and_terminates),
		cmocka_unit_test(test_buf__reads_a_whole_file),
		cmocka_unit_test(test_buf__reads_an_empty_file),
		cmocka_unit_test(test_buf__missing_file_is_an_io_error),
		cmocka_unit_test(test_buf__a_folder_is_an_io_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
