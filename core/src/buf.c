/*
 * Growable byte buffer. Capacity doubles, so appending n bytes one at a time
 * costs O(n) in total.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/buf.h"
#include "kx/err.h"

void
kx_buf_init(struct kx_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
kx_buf_release(struct kx_buf *b)
{
	free(b->data);
	kx_buf_init(b);
}

void
kx_buf_reset(struct kx_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

int
kx_buf_grow(struct kx_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (n > SIZE_MAX - b->len - 1)
		return KX_ENOMEM;
	if (b->len + n + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return KX_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
kx_buf_add(struct kx_buf *b, const void *data, size_t n)
{
	int rc = kx_buf_grow(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
kx_buf_adds(struct kx_buf *b, const char *s)
{
	return kx_buf_add(b, s, strlen(s));
}

int
kx_buf_addf(struct kx_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return KX_EINVAL;
	rc = kx_buf_grow(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int
kx_buf_read_file(struct kx_buf *b, const char *path)
{
	FILE *fp = fopen(path, "rb");
	int rc = 0, saved;
	size_t got;

	if (!fp)
		return KX_EIO;
	do {
		if ((rc = kx_buf_grow(b, 64 * 1024)))
			break;
		got = fread(b->data + b->len, 1, b->cap - b->len - 1, fp);
		b->len += got;
		b->data[b->len] = '\0';
	} while (got > 0);
	if (!rc && ferror(fp))
		rc = KX_EIO;
	saved = errno;
	fclose(fp);
	errno = saved;
	return rc;
}
