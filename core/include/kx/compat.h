/*
 * Schema compatibility by the Avro specification's resolution rules: can
 * data written with one schema be read with another?
 *
 * Avro-C has no such check (and drops the defaults it needs), so this one
 * works on the schemas' JSON text. It follows the specification's
 * "Schema Resolution" section:
 *   - primitives match, or the writer's type promotes to the reader's
 *     (int to long, float or double; long to float or double; float to
 *     double; string to bytes and bytes to string);
 *   - records, enums and fixed types match by unqualified name (or a reader
 *     alias naming the writer's full name); fixed sizes must be equal;
 *   - a reader field the writer lacks needs a default; a writer field the
 *     reader lacks is skipped;
 *   - a writer enum symbol the reader lacks needs the reader's enum default;
 *   - every branch of a writer union must be readable, and a reader union
 *     must have a branch that reads a non-union writer;
 *   - arrays and maps by their items and values.
 * It also checks that every default fits its type (a union's default fits
 * its first branch), since a reader can only use a valid default.
 */
#ifndef KX_COMPAT_H
#define KX_COMPAT_H

#include <stddef.h>

/* Called once per problem: where (e.g. "VisitEvent.follow_up"), and why. */
typedef void kx_compat_cb(void *opaque, const char *path, const char *problem);

/*
 * Checks that data written with writer can be read with reader. Returns 0
 * when it can; KX_ESCHEMA when it cannot, after calling cb (if not NULL)
 * once per problem; or KX_EINVAL when a schema cannot be parsed, with the
 * reason in errbuf.
 */
int kx_compat_check(const char *reader, size_t reader_len, const char *writer,
		    size_t writer_len, kx_compat_cb *cb, void *opaque,
		    char *errbuf, size_t errlen);

#endif
