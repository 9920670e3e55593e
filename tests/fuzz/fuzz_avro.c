/*
 * libFuzzer target: kx_codec_decode() on arbitrary bytes (framing and
 * payload). A decoded event is encoded again with the same schema id and
 * decoded once more: the two events must be equal, or the target aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kx/arena.h"
#include "kx/buf.h"
#include "kx/codec.h"
#include "kx/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One codec for the whole run, as a consumer keeps one per thread. */
static struct kx_codec *codec;

/* Frees the codec at exit, so that LeakSanitizer sees only real leaks. */
static void
free_codec(void)
{
	kx_codec_free(codec);
	codec = NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kx_arena arena;
	struct kx_buf buf = KX_BUF_INIT;
	struct kx_event ev, ev2;
	int32_t id = -1, id2 = -1;
	char err[512];
	int rc;

	if (!codec) {
		if (!(codec = kx_codec_new(err, sizeof(err)))) {
			fprintf(stderr, "kx_codec_new: %s\n", err);
			abort();
		}
		atexit(free_codec);
	}
	kx_arena_init(&arena);
	rc = kx_codec_decode(codec, data, size, &arena, &ev, &id, err,
			     sizeof(err));
	if (rc)
		goto out;
	rc = kx_codec_encode(codec, &ev, id, &buf, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "re-encode with id %d failed: %s\n", (int)id,
			err);
		abort();
	}
	rc = kx_codec_decode(codec, buf.data, buf.len, &arena, &ev2, &id2, err,
			     sizeof(err));
	if (rc || id2 != id) {
		fprintf(stderr, "re-decode failed: %s\n", err);
		abort();
	}
	if (!kx_event_equal(&ev, &ev2)) {
		fprintf(stderr, "round trip changed the event\n");
		abort();
	}
out:
	kx_buf_release(&buf);
	kx_arena_release(&arena);
	return 0;
}
