/*
 * A client for a Confluent-compatible Schema Registry (Confluent Schema
 * Registry, Karapace, Apicurio's ccompat API), over libcurl.
 *
 * Only the two calls KX needs: register a schema under a subject, and fetch
 * a schema by id. Ids are cached by the codec, not here.
 */
#ifndef KX_REGISTRY_H
#define KX_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

struct kx_registry;

/* Creates a client for base url (e.g. "http://127.0.0.1:8081"), or NULL. */
struct kx_registry *kx_registry_new(const char *url, char *errbuf,
				    size_t errlen);
void kx_registry_free(struct kx_registry *reg);

/*
 * Registers avsc (sent exactly as written) under subject, e.g.
 * "kx.pairings-value", and sets *id. Registering the same text again
 * returns the same id. Returns 0, or KX_EHTTP with a reason in errbuf.
 */
int kx_registry_register(struct kx_registry *reg, const char *subject,
			 const char *avsc, int32_t *id, char *errbuf,
			 size_t errlen);

/*
 * Fetches the schema text of id into *avsc (malloc'd; the caller owns it).
 * Returns 0, KX_ESCHEMA_ID when the registry does not know the id, or
 * KX_EHTTP. The signature matches kx_codec_resolve_cb, with reg as opaque.
 */
int kx_registry_fetch(void *reg, int32_t id, char **avsc, char *errbuf,
		      size_t errlen);

#endif
