/*
 * CSV partner exports (kx-produce --format csv --family F).
 *
 * A reader pulls records from a FILE with libcsv and turns each row into a
 * JSON object of the partner feed's shape, using the header row for field
 * names: arrays are split on ';', parties are "name|country|kind|eu",
 * integer and boolean fields are converted, empty cells are absent. The
 * object then goes through kx_event_from_json(), so CSV obeys exactly the
 * JSON rules.
 */
#ifndef KX_CSV_H
#define KX_CSV_H

#include <jansson.h>
#include <stdio.h>

#include "kx/event.h"

struct kx_csv_reader;

/*
 * Creates a reader on fp (borrowed) for one family. Returns NULL when out of
 * memory.
 */
struct kx_csv_reader *kx_csv_reader_new(FILE *fp, enum kx_family family);
void kx_csv_reader_free(struct kx_csv_reader *r);

/*
 * Reads the next record. On success returns 0, sets *obj to a new JSON
 * object (the caller owns it) and *line to the record's first line number
 * in the file. Returns KX_EEOF at the end, KX_EIO on a read error, or
 * KX_EINVAL for a bad record (*obj NULL, reason in errbuf, *line set): the
 * reader stays usable and the caller goes on with the next record. A bad
 * header is reported on the first call as KX_EPARSE, after which the reader
 * returns KX_EEOF.
 */
int kx_csv_reader_next(struct kx_csv_reader *r, json_t **obj, long *line,
		       char *errbuf, size_t errlen);

/*
 * The raw text of the record last returned (for --rejects and --failed),
 * as a borrowed view valid until the next call.
 */
const char *kx_csv_reader_raw(const struct kx_csv_reader *r, size_t *len);

#endif
