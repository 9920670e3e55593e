/*
 * libFuzzer target: kx_lines_next() over arbitrary bytes with a small cap
 * (chosen by the first byte). The bytes come through a pipe rather than
 * fmemopen(): the reader reads the FILE's descriptor with read(2), and a
 * memory stream has none. Every line returned must be at most the cap,
 * hold no newline and be NUL-terminated, and the reader must report
 * exactly one line per newline (plus a last unterminated one).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kx/err.h"
#include "kx/lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kx_lines lr;
	FILE *fp = NULL;
	int fd[2];
	size_t max, total = 0;
	long lines = 0, want = 0;

	if (size < 1)
		return 0;
	max = data[0] % 64;
	data++;
	size--;
	/* The whole input must fit in the pipe's 64 KiB buffer. */
	if (size > 65536 || pipe(fd))
		return 0;
	if (size && write(fd[1], data, size) != (ssize_t)size)
		abort();
	close(fd[1]);
	if (!(fp = fdopen(fd[0], "rb"))) {
		close(fd[0]);
		return 0;
	}
	kx_lines_init(&lr, fp, max);
	for (;;) {
		const char *line = NULL;
		size_t len = 0;
		int rc = kx_lines_next(&lr, &line, &len);

		if (rc == KX_EEOF)
			break;
		if (rc == KX_ETOOLONG) {
			lines++;
			if (lr.lineno != lines)
				abort();
			continue;
		}
		if (rc)
			abort();
		lines++;
		if (lr.lineno != lines || len > max || line[len] != '\0' ||
		    memchr(line, '\n', len))
			abort();
		total += len;
		if (total > size)
			abort();
	}
	for (size_t i = 0; i < size; i++)
		want += data[i] == '\n';
	if (size && data[size - 1] != '\n')
		want++;
	if (lines != want)
		abort();
	kx_lines_release(&lr);
	fclose(fp);
	return 0;
}
