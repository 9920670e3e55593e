/*
 * A shared helper of the unit tests: a temporary FILE holding text, so a
 * reader under test sees a real stream. Include after cmocka.h.
 */
#ifndef KX_TEST_TEXT_FILE_H
#define KX_TEST_TEXT_FILE_H

#include <stdio.h>

static inline FILE *
text_file(const void *text, size_t len)
{
	FILE *fp = tmpfile();

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	rewind(fp);
	return fp;
}

#endif
