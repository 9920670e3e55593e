/*
 * Bounded line reader. Input is read with read(2), up to 64 KiB at a time
 * but returning whatever is available, so a line arriving on a pipe
 * (tail -f | kx-produce) is handed out at once instead of waiting for a
 * full block. Lines are split with memchr, so NUL bytes inside a line are
 * kept (and later rejected by the JSON parser) instead of silently cutting
 * the line short. A line that grows past max is dropped as it streams by.
 * A FILE with a descriptor is used only for it, so nothing may have been
 * read through stdio before; one without (fmemopen) is read with fread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kx/err.h"
#include "kx/lines.h"

#define READ_BLOCK ((size_t)64 * 1024)

void
kx_lines_init(struct kx_lines *lr, FILE *fp, size_t max)
{
	memset(lr, 0, sizeof(*lr));
	lr->fp = fp;
	lr->max = max;
}

void
kx_lines_release(struct kx_lines *lr)
{
	free(lr->line);
	free(lr->rbuf);
	lr->line = lr->rbuf = NULL;
	lr->cap = lr->len = lr->rpos = lr->rlen = 0;
}

/* Appends n bytes to the line unless it is already over the cap. */
static int
append(struct kx_lines *lr, const char *p, size_t n, int *toolong)
{
	if (*toolong || lr->len + n > lr->max + 1) {
		*toolong = 1;
		return 0;
	}
	if (lr->len + n + 1 > lr->cap) {
		size_t cap = lr->cap ? lr->cap : 4096;
		char *q;
		while (cap < lr->len + n + 1)
			cap *= 2;
		if (!(q = realloc(lr->line, cap)))
			return KX_ENOMEM;
		lr->line = q;
		lr->cap = cap;
	}
	memcpy(lr->line + lr->len, p, n);
	lr->len += n;
	return 0;
}

int
kx_lines_next(struct kx_lines *lr, const char **line, size_t *len)
{
	int toolong = 0, rc, seen = 0;

	if (!lr->rbuf && !(lr->rbuf = malloc(READ_BLOCK)))
		return KX_ENOMEM;
	lr->len = 0;
	for (;;) {
		char *start, *nl;
		size_t avail;

		if (lr->rpos == lr->rlen) {
			int fd = fileno(lr->fp);
			ssize_t got;
			/* A stream with no descriptor (fmemopen) is read
			 * through stdio; it cannot block anyway. */
			if (fd < 0) {
				got = (ssize_t)fread(lr->rbuf, 1, READ_BLOCK,
						     lr->fp);
				if (got == 0 && ferror(lr->fp))
					got = -1;
			} else {
				got = read(fd, lr->rbuf, READ_BLOCK);
			}
			/* EINTR is returned, not retried: a signal is how the
			 * caller is asked to stop reading. */
			if (got < 0)
				return KX_EIO;
			lr->rlen = (size_t)got;
			lr->rpos = 0;
			if (lr->rlen == 0) {
				if (!seen)
					return KX_EEOF;
				break; /* last line without a newline */
			}
		}
		seen = 1;
		start = lr->rbuf + lr->rpos;
		avail = lr->rlen - lr->rpos;
		nl = memchr(start, '\n', avail);
		if (!nl) {
			if ((rc = append(lr, start, avail, &toolong)))
				return rc;
			lr->rpos = lr->rlen;
			continue;
		}
		if ((rc = append(lr, start, (size_t)(nl - start), &toolong)))
			return rc;
		lr->rpos += (size_t)(nl - start) + 1;
		break;
	}
	lr->lineno++;
	if (!toolong && lr->len && lr->line[lr->len - 1] == '\r')
		lr->len--;
	if (toolong || lr->len > lr->max)
		return KX_ETOOLONG;
	if (!lr->line && (rc = append(lr, "", 0, &toolong)))
		return rc;
	lr->line[lr->len] = '\0';
	*line = lr->line;
	*len = lr->len;
	return 0;
}
