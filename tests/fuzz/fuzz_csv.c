/*
 * libFuzzer target: arbitrary bytes as a CSV partner export. The first byte
 * chooses the family; the rest is the file, read through fmemopen(). Every
 * record is drained and every object produced goes through
 * kx_event_from_json().
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kx/arena.h"
#include "kx/csv.h"
#include "kx/err.h"
#include "kx/event.h"
#include "kx/event_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kx_csv_reader *r = NULL;
	struct kx_arena arena;
	enum kx_family family;
	FILE *fp = NULL;
	char err[512];
	long line;
	int rc;

	if (size < 1)
		return 0;
	family = (enum kx_family)(data[0] % KX_FAMILY__COUNT);
	data++;
	size--;
	kx_arena_init(&arena);
	/* fmemopen() refuses a zero-length buffer on some libcs. */
	if (!(fp = size ? fmemopen((void *)data, size, "rb")
			: fopen("/dev/null", "rb")))
		goto out;
	if (!(r = kx_csv_reader_new(fp, family)))
		goto out;
	for (;;) {
		json_t *obj = NULL;
		struct kx_event ev;
		size_t rawlen = 0;

		rc = kx_csv_reader_next(r, &obj, &line, err, sizeof(err));
		if (rc == KX_EEOF || rc == KX_EIO)
			break;
		if (rc == 0 && !obj)
			abort();
		if (rc != 0 && obj)
			abort();
		(void)kx_csv_reader_raw(r, &rawlen);
		if (obj) {
			(void)kx_event_from_json(obj, &arena, &ev, err,
						 sizeof(err));
			json_decref(obj);
		}
		kx_arena_reset(&arena);
	}
out:
	kx_csv_reader_free(r);
	if (fp)
		fclose(fp);
	kx_arena_release(&arena);
	return 0;
}
