/*
 * A growable byte buffer. data is always NUL-terminated after len bytes, so
 * text can be handed to C string functions directly.
 */
#ifndef KX_BUF_H
#define KX_BUF_H

#include <stddef.h>

struct kx_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define KX_BUF_INIT {NULL, 0, 0}

void kx_buf_init(struct kx_buf *b);
void kx_buf_release(struct kx_buf *b);

/* Empties the buffer, keeping its memory. */
void kx_buf_reset(struct kx_buf *b);

/* Makes room for n more bytes; returns 0 or KX_ENOMEM. */
int kx_buf_grow(struct kx_buf *b, size_t n);

int kx_buf_add(struct kx_buf *b, const void *data, size_t n);
int kx_buf_adds(struct kx_buf *b, const char *s);
int kx_buf_addf(struct kx_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Appends the whole file at path (a regular file or a pipe). Returns 0,
 * KX_EIO with errno set, or KX_ENOMEM. data is non-NULL on success, also
 * for an empty file.
 */
int kx_buf_read_file(struct kx_buf *b, const char *path);

#endif
