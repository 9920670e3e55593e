/*
 * Avro encoding and decoding of events in the Confluent wire format:
 * byte 0x00, a big-endian int32 schema id, then the Avro binary payload.
 *
 * Decoding always uses the writer's schema (the one the id names) and fills
 * struct kx_event by field name, with positions computed once per writer
 * schema; enums are mapped by symbol, and fields the writer lacks take the
 * reader's defaults. Avro-C 1.11.1 cannot do this resolution itself (see
 * docs/avro.md). A codec is not thread-safe: keep one per thread.
 */
#ifndef KX_CODEC_H
#define KX_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "kx/arena.h"
#include "kx/buf.h"
#include "kx/event.h"

/* The largest Avro payload KX accepts; the allocator's cap is twice it. */
#define KX_CODEC_MAX_MESSAGE ((size_t)4 * 1024 * 1024)

/*
 * The most items one Avro array (members, visitors, sdgs, themes) may hold:
 * the contract's limit, which validation enforces first. Avro-C stores
 * about 130 bytes per decoded party, so this keeps every allocation of a
 * decode under the allocator's cap.
 */
#define KX_CODEC_MAX_ITEMS KX_ITEMS_MAX

struct kx_codec;

/*
 * Resolves an id the codec does not know (registry mode): on success, sets
 * *avsc to the schema text (malloc'd; the codec takes ownership) and returns
 * 0; otherwise returns a negative KX_E* code and writes a reason to errbuf.
 * The family of a resolved schema is taken from its record name
 * (PairingEvent, VisitEvent, PracticeEvent). The codec keeps every schema
 * it resolved, so the callback runs once per id.
 */
typedef int(kx_codec_resolve_cb)(void *opaque, int32_t id, char **avsc,
				 char *errbuf, size_t errlen);

/*
 * Installs the size-capped Avro allocator. Call once at start-up, before
 * any other Avro call, in every program that decodes untrusted bytes.
 * Idempotent and thread-safe; kx_codec_new() calls it too.
 */
void kx_codec_global_init(void);

/*
 * Creates a codec that knows every schema of the built-in catalogue by its
 * catalogue id. Returns NULL and writes a reason to errbuf on failure.
 */
struct kx_codec *kx_codec_new(char *errbuf, size_t errlen);
void kx_codec_free(struct kx_codec *c);

/* Sets the callback used for ids the codec does not know yet. */
void kx_codec_set_resolver(struct kx_codec *c, kx_codec_resolve_cb *cb,
			   void *opaque);

/*
 * Teaches the codec that id names the schema avsc (a registry id) for
 * family. Adding the same text again does nothing; other text replaces the
 * schema of that id, a catalogue entry included. Fails when avsc cannot be
 * read into struct kx_event (a field of the wrong type, or one missing with
 * no default in the newest catalogue schema). Returns 0, or KX_ESCHEMA with
 * a reason in errbuf.
 */
int kx_codec_add_schema(struct kx_codec *c, int32_t id, enum kx_family family,
			const char *avsc, char *errbuf, size_t errlen);

/*
 * Encodes ev with the schema named by id (which must describe ev's family),
 * appending the framed message to out. Returns 0 or a negative KX_E* code
 * with a reason in errbuf.
 */
int kx_codec_encode(struct kx_codec *c, const struct kx_event *ev, int32_t id,
		    struct kx_buf *out, char *errbuf, size_t errlen);

/*
 * Decodes one framed message into ev, whose strings are allocated in arena.
 * Untrusted input: any byte string gives either 0 or a negative KX_E* code
 * with a one-line reason in errbuf, never a crash or a leak. The decoded
 * event is also validated against the contract rules (an Avro-valid message
 * can still carry an SDG goal of 18). *schema_id receives the id when the
 * framing was readable (may be NULL).
 */
int kx_codec_decode(struct kx_codec *c, const void *data, size_t len,
		    struct kx_arena *arena, struct kx_event *ev,
		    int32_t *schema_id, char *errbuf, size_t errlen);

#endif
