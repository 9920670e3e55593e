/*
 * libFuzzer target: kx_codec_decode() on arbitrary bytes (framing and
 * payload). A decoded event is encoded again with the same schema id and
 * decoded once more: the two events must be equal, and the direct encoder's
 * bytes must be those of the reference encoder (Avro-C's generic values),
 * or the target aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/arena.h"
#include "kx/buf.h"
#include "kx/codec.h"
#include "kx/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Test hook in codec_encode.c: the reference encoder. */
int kx__codec_encode_generic(struct kx_codec *c, const struct kx_event *ev,
			     int32_t id, struct kx_buf *out, char *errbuf,
			     size_t errlen);

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
	struct kx_buf buf = KX_BUF_INIT, ref = KX_BUF_INIT;
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
	if (kx__codec_encode_generic(codec, &ev, id, &ref, err, sizeof(err)) ||
	    ref.len != buf.len || memcmp(ref.data, buf.data, buf.len) != 0) {
		fprintf(stderr, "the direct encoder differs from the "
				"reference with id %d\n",
			(int)id);
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
	kx_buf_release(&ref);
	kx_arena_release(&arena);
	return 0;
}
