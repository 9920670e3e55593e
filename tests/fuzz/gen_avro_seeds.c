/*
 * Writes the seed corpus of fuzz_avro: every event of a JSON Lines file
 * (tests/data/json/events.jsonl) encoded in the Confluent wire format with
 * the newest catalogue schema of its family, one file per event.
 *
 *   gen_avro_seeds EVENTS.jsonl OUTDIR
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kx/arena.h"
#include "kx/buf.h"
#include "kx/codec.h"
#include "kx/err.h"
#include "kx/event.h"
#include "kx/event_json.h"
#include "kx/lines.h"
#include "kx/schema.h"

int
main(int argc, char **argv)
{
	struct kx_codec *c = NULL;
	struct kx_arena arena;
	struct kx_buf buf = KX_BUF_INIT;
	struct kx_lines lr;
	FILE *fp = NULL;
	char err[512];
	int rc, status = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: gen_avro_seeds EVENTS.jsonl OUTDIR\n");
		return 2;
	}
	kx_arena_init(&arena);
	if (!(fp = fopen(argv[1], "rb"))) {
		perror(argv[1]);
		goto out;
	}
	if (!(c = kx_codec_new(err, sizeof(err)))) {
		fprintf(stderr, "kx_codec_new: %s\n", err);
		goto out;
	}
	kx_lines_init(&lr, fp, KX_LINE_MAX);
	for (;;) {
		const char *line;
		size_t len;
		struct kx_event ev;
		const struct kx_schema_entry *se;
		char path[4096];
		FILE *o;

		rc = kx_lines_next(&lr, &line, &len);
		if (rc == KX_EEOF)
			break;
		if (rc || kx_event_parse_line(line, len, &arena, &ev, err,
					      sizeof(err))) {
			fprintf(stderr, "%s:%ld: %s\n", argv[1], lr.lineno,
				rc ? kx_strerror(rc) : err);
			goto out_lines;
		}
		se = kx_schema_latest(kx_event_type_family(ev.type));
		kx_buf_reset(&buf);
		if (kx_codec_encode(c, &ev, se->id, &buf, err, sizeof(err))) {
			fprintf(stderr, "%s:%ld: %s\n", argv[1], lr.lineno,
				err);
			goto out_lines;
		}
		snprintf(path, sizeof(path), "%s/%02ld-%s.bin", argv[2],
			 lr.lineno, kx_event_type_name(ev.type));
		if (!(o = fopen(path, "wb")) ||
		    fwrite(buf.data, 1, buf.len, o) != buf.len) {
			perror(path);
			if (o)
				fclose(o);
			goto out_lines;
		}
		fclose(o);
		kx_arena_reset(&arena);
	}
	status = 0;
out_lines:
	kx_lines_release(&lr);
out:
	kx_codec_free(c);
	kx_buf_release(&buf);
	kx_arena_release(&arena);
	if (fp)
		fclose(fp);
	return status;
}
