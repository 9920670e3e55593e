/*
 * libFuzzer target: kx_event_parse_line() on arbitrary bytes. An accepted
 * line must survive kx_event_to_json() and a second parse unchanged
 * (kx_event_equal), and an Avro encoding with the newest schema of its
 * family and a decode unchanged too, or the target aborts. The fast
 * path (event_fast.h) may take only lines jansson takes, with the same
 * event.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/arena.h"
#include "kx/buf.h"
#include "kx/codec.h"
#include "kx/event.h"
#include "kx/event_fast.h"
#include "kx/event_json.h"
#include "kx/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One codec for the whole run; freed at exit for LeakSanitizer. */
static struct kx_codec *json_codec;

static void
free_json_codec(void)
{
	kx_codec_free(json_codec);
	json_codec = NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kx_arena arena, fast_arena;
	struct kx_event ev, ev2, fast;
	struct kx_buf buf = KX_BUF_INIT;
	json_t *obj = NULL;
	char *text = NULL;
	char err[512];
	int rc;

	kx_arena_init(&arena);
	kx_arena_init(&fast_arena);
	rc = kx_event_parse_line((const char *)data, size, &arena, &ev, err,
				 sizeof(err));
	if (kx_event_fast_try((const char *)data, size, &fast_arena, &fast) &&
	    (rc || !kx_event_equal(&ev, &fast))) {
		fprintf(stderr, "the fast path %s\n",
			rc ? "took a line jansson rejects"
			   : "built another event than jansson");
		abort();
	}
	if (rc)
		goto out;
	/* An accepted event must be printable and read back the same. */
	if (!(obj = kx_event_to_json(&ev))) {
		fprintf(stderr,
			"kx_event_to_json failed on an accepted line\n");
		abort();
	}
	if (!(text = json_dumps(obj, JSON_COMPACT)))
		abort();
	rc = kx_event_parse_line(text, strlen(text), &arena, &ev2, err,
				 sizeof(err));
	if (rc) {
		fprintf(stderr, "re-parse failed: %s\n%s\n", err, text);
		abort();
	}
	if (!kx_event_equal(&ev, &ev2)) {
		fprintf(stderr, "round trip changed the event:\n%s\n", text);
		abort();
	}
	/* Whatever JSON accepts, Avro must carry unchanged. */
	if (!json_codec) {
		if (!(json_codec = kx_codec_new(err, sizeof(err)))) {
			fprintf(stderr, "kx_codec_new: %s\n", err);
			abort();
		}
		atexit(free_json_codec);
	}
	rc = kx_codec_encode(
		json_codec, &ev,
		kx_schema_latest(kx_event_type_family(ev.type))->id, &buf, err,
		sizeof(err));
	if (rc) {
		fprintf(stderr, "Avro encode failed: %s\n%s\n", err, text);
		abort();
	}
	rc = kx_codec_decode(json_codec, buf.data, buf.len, &arena, &ev2, NULL,
			     err, sizeof(err));
	if (rc) {
		fprintf(stderr, "Avro decode failed: %s\n%s\n", err, text);
		abort();
	}
	if (!kx_event_equal(&ev, &ev2)) {
		fprintf(stderr, "Avro round trip changed the event:\n%s\n",
			text);
		abort();
	}
out:
	kx_buf_release(&buf);
	free(text);
	json_decref(obj);
	kx_arena_release(&arena);
	kx_arena_release(&fast_arena);
	return 0;
}
