/*
 * A line reader for JSON Lines input with a hard cap on line length: a line
 * longer than the cap is reported and skipped without ever being held in
 * memory whole, so a hostile file cannot make the reader allocate without
 * bound.
 */
#ifndef KX_LINES_H
#define KX_LINES_H

#include <stddef.h>
#include <stdio.h>

struct kx_lines {
	FILE *fp;      /* borrowed */
	size_t max;    /* longest accepted line, without its newline */
	char *line;    /* the line being assembled */
	size_t len, cap;
	char *rbuf;    /* read-ahead from fp */
	size_t rpos, rlen; /* consumed and filled bytes of rbuf */
	long lineno;   /* number of the line last returned */
};

void kx_lines_init(struct kx_lines *lr, FILE *fp, size_t max);
void kx_lines_release(struct kx_lines *lr);

/*
 * Reads the next line. Returns 0 and sets line and len to it, without the
 * newline or a trailing CR (a borrowed view, valid until the next call; it
 * may hold NUL bytes, so use len). Returns KX_EEOF at the end, KX_ETOOLONG
 * for a line over the cap (already skipped; lineno names it), or KX_EIO on
 * a read error.
 */
int kx_lines_next(struct kx_lines *lr, const char **line, size_t *len);

#endif
