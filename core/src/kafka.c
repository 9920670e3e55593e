/*
 * librdkafka configuration helpers. KX's defaults go in before the user's
 * -X properties so that any of them can be overridden.
 */
#include <stdio.h>
#include <string.h>

#include "kx/err.h"
#include "kx/kafka.h"

static const char *const topic_suffix[] = {"pairings", "visits", "practices"};

static int
set_kv(rd_kafka_conf_t *conf, const char *kv, char *errbuf, size_t errlen)
{
	char key[256], rkerr[256];
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
		snprintf(errbuf, errlen, "'%s': expected key=value", kv);
		return KX_ECONFIG;
	}
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	if (rd_kafka_conf_set(conf, key, eq + 1, rkerr, sizeof(rkerr)) !=
	    RD_KAFKA_CONF_OK) {
		snprintf(errbuf, errlen, "kafka property '%s': %s", key, rkerr);
		return KX_ECONFIG;
	}
	return 0;
}

rd_kafka_conf_t *
kx_kafka_conf_new(const char *brokers, const char *const *defaults,
		  const struct kx_strv *props, char *errbuf, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char rkerr[256];

	if (!brokers || !*brokers) {
		snprintf(errbuf, errlen,
			 "no brokers: set --brokers or KX_BROKERS");
		goto fail;
	}
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, rkerr,
			      sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
		snprintf(errbuf, errlen, "'%s': %s", brokers, rkerr);
		goto fail;
	}
	for (size_t i = 0; defaults && defaults[i]; i++)
		if (set_kv(conf, defaults[i], errbuf, errlen))
			goto fail;
	for (size_t i = 0; props && i < props->n; i++)
		if (set_kv(conf, props->v[i], errbuf, errlen))
			goto fail;
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

int
kx_kafka_topic(const char *prefix, enum kx_family family, char *out,
	       size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s", prefix ? prefix : "",
			 topic_suffix[family]);

	return n < 0 || (size_t)n >= outlen ? KX_ETOOLONG : 0;
}

int
kx_kafka_topic_family(const char *prefix, const char *topic,
		      enum kx_family *family)
{
	size_t plen = prefix ? strlen(prefix) : 0;

	if (strncmp(topic, prefix ? prefix : "", plen) != 0)
		return KX_EINVAL;
	for (int f = 0; f < KX_FAMILY__COUNT; f++) {
		if (strcmp(topic + plen, topic_suffix[f]) == 0) {
			*family = (enum kx_family)f;
			return 0;
		}
	}
	return KX_EINVAL;
}
