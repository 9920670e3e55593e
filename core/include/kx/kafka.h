/*
 * Kafka settings shared by producers and consumers: brokers, the topic
 * names, and -X key=value pass-through to librdkafka.
 */
#ifndef KX_KAFKA_H
#define KX_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "kx/conf.h"
#include "kx/event.h"

/*
 * Creates a librdkafka config with bootstrap.servers = brokers, then KX's
 * defaults (defaults, "key=value" strings, may be NULL), then every
 * "key=value" of props (-X), so the user always wins. Returns NULL with a
 * reason in errbuf when a property is unknown or invalid. Ownership: the
 * caller owns the returned config (rd_kafka_new() takes it on success).
 */
rd_kafka_conf_t *kx_kafka_conf_new(const char *brokers,
				   const char *const *defaults,
				   const struct kx_strv *props, char *errbuf,
				   size_t errlen);

/*
 * Writes the topic of family with the given prefix ("kx." gives
 * "kx.pairings") into out. Returns 0, or KX_ETOOLONG.
 */
int kx_kafka_topic(const char *prefix, enum kx_family family, char *out,
		   size_t outlen);

/*
 * Parses a topic name back into its family given the prefix; 0 or
 * KX_EINVAL.
 */
int kx_kafka_topic_family(const char *prefix, const char *topic,
			  enum kx_family *family);

#endif
