/*
 * Kafka consumer with offsets from PostgreSQL. Uses the eager "range"
 * assignor (librdkafka 2.0.2's cooperative-sticky has known bugs) and sets
 * start offsets in the list given to rd_kafka_assign() instead of seeking
 * (2.0.2's seek timeouts are wrong).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kx/err.h"
#include "kx/kafka.h"
#include "kx/log.h"
#include "source.h"

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

struct part *
source_part(struct source *src, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < src->n_parts; i++)
		if (src->parts[i].partition == partition &&
		    !strcmp(src->parts[i].topic, topic))
			return &src->parts[i];
	return NULL;
}

/*
 * Sets each partition's start offset from the database. PostgreSQL may be
 * briefly down: retry with backoff for up to a minute, well inside
 * max.poll.interval.ms, then give up so a supervisor restarts us.
 */
static int
load_offsets(struct source *src, rd_kafka_topic_partition_list_t *parts,
	     char *errbuf, size_t errlen)
{
	long backoff = 100;

	for (int attempt = 0;; attempt++) {
		int rc = 0;
		for (int i = 0; i < parts->cnt && !rc; i++) {
			int64_t next;
			rc = store_load_offset(src->st, parts->elems[i].topic,
					       parts->elems[i].partition,
					       &next, errbuf, errlen);
			if (!rc)
				parts->elems[i].offset =
					next >= 0 ? next
						  : RD_KAFKA_OFFSET_BEGINNING;
		}
		if (!rc)
			return 0;
		if (attempt >= 20)
			return rc;
		kx_log_warn("aggregate", "%s; retrying in %ld ms", errbuf,
			    backoff);
		sleep_ms(backoff);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
}

static int
track(struct source *src, const rd_kafka_topic_partition_list_t *parts)
{
	struct part *v = realloc(src->parts, (size_t)(parts->cnt + 1) *
						     sizeof(*v));

	if (!v)
		return KX_ENOMEM;
	src->parts = v;
	src->n_parts = (size_t)parts->cnt;
	for (int i = 0; i < parts->cnt; i++) {
		struct part *p = &v[i];
		snprintf(p->topic, sizeof(p->topic), "%s",
			 parts->elems[i].topic);
		p->partition = parts->elems[i].partition;
		p->expected = parts->elems[i].offset >= 0
				      ? parts->elems[i].offset
				      : -1;
		p->eof = -1;
	}
	return 0;
}

static void
on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
	     rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct source *src = opaque;
	char errbuf[512];

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (load_offsets(src, parts, errbuf, sizeof(errbuf))) {
			kx_log_error("aggregate",
				     "cannot read stored offsets: %s", errbuf);
			src->assign_errors++;
			rd_kafka_assign(rk, NULL);
			src->n_parts = 0;
			return;
		}
		if (track(src, parts)) {
			rd_kafka_assign(rk, NULL);
			src->n_parts = 0;
			return;
		}
		kx_log_info("aggregate", "assigned %d partitions", parts->cnt);
		rd_kafka_assign(rk, parts);
		src->revoked = true; /* any half-collected batch is stale */
		return;
	}
	/* Revoke: the batch being collected is dropped by the main loop;
	 * the next owner reads from the stored offsets, so the batch still
	 * committing is waited for before the partitions go. */
	store_wait(src->st);
	kx_log_info("aggregate", "revoked %d partitions", parts->cnt);
	src->revoked = true;
	src->n_parts = 0;
	rd_kafka_assign(rk, NULL);
}

static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct source *src = opaque;

	(void)rk;
	/* Served by rd_kafka_consumer_poll(), on the main thread. "All
	 * brokers down" is not raised while a broker the client knows has
	 * never connected, and a hung broker or a TLS/SASL failure reports
	 * something else first, so any other error asks for a probe. */
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		src->kafka_ok = 0;
	else
		src->kafka_suspect = 1;
	kx_log_warn("aggregate", "kafka: %s", reason);
}

/* The consumer's queued.min.messages, or librdkafka's default. */
static size_t
queued_min(rd_kafka_t *rk)
{
	char v[32];
	size_t len = sizeof(v);
	long n;

	if (rd_kafka_conf_get(rd_kafka_conf(rk), "queued.min.messages", v,
			      &len) != RD_KAFKA_CONF_OK ||
	    (n = strtol(v, NULL, 10)) <= 0)
		return 100000;
	return (size_t)n;
}

int
source_init(struct source *src, rd_kafka_conf_t *conf, struct store *st,
	    const char *prefix, char *errbuf, size_t errlen)
{
	rd_kafka_topic_partition_list_t *topics = NULL;
	rd_kafka_resp_err_t err;
	char topic[256];

	memset(src, 0, sizeof(*src));
	src->st = st;
	src->kafka_ok = 0; /* until source_probe() says */
	if (!(src->prefix = strdup(prefix))) {
		rd_kafka_conf_destroy(conf);
		return KX_ENOMEM;
	}
	rd_kafka_conf_set_opaque(conf, src);
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_error_cb(conf, on_error);
	src->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errbuf, errlen);
	if (!src->rk) {
		rd_kafka_conf_destroy(conf);
		return KX_EKAFKA;
	}
	rd_kafka_poll_set_consumer(src->rk);
	src->consumer_q = rd_kafka_queue_get_consumer(src->rk);
	src->wakeq = rd_kafka_queue_new(src->rk);
	src->low_mark = queued_min(src->rk);
	kx_kafka_topic(prefix, KX_FAMILY_PAIRING, topic, sizeof(topic));
	if (!(src->probe_rkt = rd_kafka_topic_new(src->rk, topic, NULL))) {
		snprintf(errbuf, errlen, "cannot make a handle for '%s'", topic);
		return KX_EKAFKA;
	}
	topics = rd_kafka_topic_partition_list_new(KX_FAMILY__COUNT);
	for (int f = 0; f < KX_FAMILY__COUNT; f++) {
		kx_kafka_topic(prefix, f, topic, sizeof(topic));
		rd_kafka_topic_partition_list_add(topics, topic,
						  RD_KAFKA_PARTITION_UA);
	}
	err = rd_kafka_subscribe(src->rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (err) {
		snprintf(errbuf, errlen, "cannot subscribe: %s",
			 rd_kafka_err2str(err));
		return KX_EKAFKA;
	}
	return 0;
}

/* With a topic named: asked for none, librdkafka 2.0.2 asks for every
 * topic it knows and lets the broker auto-create them. */
rd_kafka_resp_err_t
source_probe(struct source *src, int timeout_ms)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err;

	err = rd_kafka_metadata(src->rk, 0, src->probe_rkt, &md, timeout_ms);
	if (md)
		rd_kafka_metadata_destroy(md);
	src->kafka_ok = !err;
	src->kafka_suspect = 0;
	return err;
}

void
source_release(struct source *src)
{
	if (src->probe_rkt)
		rd_kafka_topic_destroy(src->probe_rkt);
	if (src->wakeq)
		rd_kafka_queue_destroy(src->wakeq);
	if (src->consumer_q)
		rd_kafka_queue_destroy(src->consumer_q);
	if (src->rk) {
		rd_kafka_consumer_close(src->rk);
		rd_kafka_destroy(src->rk);
	}
	free(src->parts);
	free(src->prefix);
	memset(src, 0, sizeof(*src));
}

/*
 * Moves the assigned partitions to the stored offsets without changing
 * the assignment. Calling rd_kafka_assign() here, outside the rebalance
 * callback, trips an assertion in librdkafka 2.0.2 when a session timeout
 * is revoking the partitions at the same moment (the zombie case), so this
 * seeks instead, asynchronously (timeout 0: 2.0.2's seek timeouts are
 * wrong). Messages fetched from the old positions are dropped by
 * librdkafka's version barrier. The expected offsets are updated in place.
 */
static int
seek(struct source *src, rd_kafka_topic_partition_list_t *parts,
     char *errbuf, size_t errlen)
{
	rd_kafka_error_t *error;

	error = rd_kafka_seek_partitions(src->rk, parts, 0);
	if (error) {
		snprintf(errbuf, errlen, "cannot seek: %s",
			 rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
		return KX_EKAFKA;
	}
	for (int i = 0; i < parts->cnt; i++) {
		struct part *p = source_part(src, parts->elems[i].topic,
					     parts->elems[i].partition);
		if (!p)
			continue;
		p->expected = parts->elems[i].offset >= 0
				      ? parts->elems[i].offset
				      : -1;
		p->eof = -1;
	}
	return 0;
}

int
source_reseek(struct source *src, char *errbuf, size_t errlen)
{
	rd_kafka_topic_partition_list_t *parts;
	int rc;

	if (!src->n_parts)
		return 0;
	parts = rd_kafka_topic_partition_list_new((int)src->n_parts);
	for (size_t i = 0; i < src->n_parts; i++)
		rd_kafka_topic_partition_list_add(parts, src->parts[i].topic,
						  src->parts[i].partition);
	rc = load_offsets(src, parts, errbuf, errlen);
	if (!rc)
		rc = seek(src, parts, errbuf, errlen);
	rd_kafka_topic_partition_list_destroy(parts);
	return rc;
}

void
source_commit_async(struct source *src, const struct offset_move *moves,
		    size_t n)
{
	rd_kafka_topic_partition_list_t *parts =
		rd_kafka_topic_partition_list_new((int)n);

	for (size_t i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(parts, moves[i].topic,
						  moves[i].partition)
			->offset = moves[i].next;
	rd_kafka_commit(src->rk, parts, 1);
	rd_kafka_topic_partition_list_destroy(parts);
}

void
source_wake(struct source *src)
{
	rd_kafka_AdminOptions_t *opts;
	rd_kafka_event_t *ev;
	char errstr[256];

	if (!src->wakeq || !src->consumer_q)
		return;
	while ((ev = rd_kafka_queue_poll(src->wakeq, 0))) {
		rd_kafka_event_destroy(ev);
		src->wake_out = false;
	}
	if (src->wake_out ||
	    rd_kafka_queue_length(src->consumer_q) >= src->low_mark)
		return;
	opts = rd_kafka_AdminOptions_new(src->rk,
					 RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
	if (!opts)
		return;
	/* With a broker down, give up soon: the next call sends another. */
	(void)rd_kafka_AdminOptions_set_request_timeout(opts, 1000, errstr,
							sizeof(errstr));
	rd_kafka_ListConsumerGroups(src->rk, opts, src->wakeq);
	rd_kafka_AdminOptions_destroy(opts);
	src->wake_out = true;
}

long
source_lag(struct source *src)
{
	long lag = 0;

	for (size_t i = 0; i < src->n_parts; i++) {
		int64_t lo, hi;
		if (rd_kafka_get_watermark_offsets(src->rk, src->parts[i].topic,
						   src->parts[i].partition, &lo,
						   &hi) ||
		    hi < 0)
			continue;
		lag += (long)(hi - (src->parts[i].expected > lo
					    ? src->parts[i].expected
					    : lo));
	}
	return lag;
}

/*
 * Errors that a broker gives while it settles, e.g. just after the topics
 * were created or while a partition's leader moves: worth a retry.
 */
static bool
transient(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
	case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
	case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
	case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
	case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TRANSPORT:
	case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
		return true;
	default:
		return false;
	}
}

/* About 30 s of backoff in all, then the error stands. */
#define ENDS_ATTEMPTS 12

static rd_kafka_resp_err_t
query_end(struct source *src, const char *topic, int32_t id, int64_t *lo,
	  int64_t *hi)
{
	rd_kafka_resp_err_t err;
	long backoff = 100;

	for (int attempt = 0;; attempt++) {
		err = rd_kafka_query_watermark_offsets(src->rk, topic, id, lo,
						       hi, 10000);
		if (!err || !transient(err) || attempt >= ENDS_ATTEMPTS)
			return err;
		kx_log_debug("aggregate", "end of '%s' [%d]: %s; retrying",
			     topic, (int)id, rd_kafka_err2str(err));
		sleep_ms(backoff);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
}

static rd_kafka_resp_err_t
topic_metadata(struct source *src, const char *topic,
	       const struct rd_kafka_metadata **md)
{
	rd_kafka_resp_err_t err;
	long backoff = 100;

	for (int attempt = 0;; attempt++) {
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(src->rk, topic, NULL);
		bool leaderless = false;

		*md = NULL;
		err = rd_kafka_metadata(src->rk, 0, rkt, md, 10000);
		rd_kafka_topic_destroy(rkt);
		if (!err && (*md)->topic_cnt == 1) {
			err = (*md)->topics[0].err;
			for (int p = 0; !err && p < (*md)->topics[0].partition_cnt;
			     p++)
				leaderless |=
					(*md)->topics[0].partitions[p].leader < 0;
			if (!err && leaderless)
				err = RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
		}
		/* A topic created a moment ago is unknown until the metadata
		 * reaches the broker we ask: a few seconds' grace, no more,
		 * so a topic that really is missing is reported soon. */
		if (!err || attempt >= ENDS_ATTEMPTS ||
		    (!transient(err) &&
		     !(err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
		       attempt < 6)))
			return err;
		if (*md)
			rd_kafka_metadata_destroy(*md);
		*md = NULL;
		sleep_ms(backoff);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
}

int
source_high_watermarks(struct source *src, struct part **out, size_t *n,
		       char *errbuf, size_t errlen)
{
	const struct rd_kafka_metadata *md = NULL;
	struct part *v = NULL;
	size_t cnt = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	for (int f = 0; f < KX_FAMILY__COUNT && !rc; f++) {
		rd_kafka_resp_err_t err;
		char topic[256];

		kx_kafka_topic(src->prefix, f, topic, sizeof(topic));
		err = topic_metadata(src, topic, &md);
		if (err || md->topic_cnt != 1) {
			snprintf(errbuf, errlen,
				 "topic '%s' is not available: %s (has "
				 "'kx-admin topics create' run?)",
				 topic, rd_kafka_err2str(err));
			if (md)
				rd_kafka_metadata_destroy(md);
			md = NULL;
			rc = KX_EKAFKA;
			break;
		}
		for (int p = 0; p < md->topics[0].partition_cnt; p++) {
			int64_t lo, hi;
			struct part *nv;
			int32_t id = md->topics[0].partitions[p].id;
			err = query_end(src, topic, id, &lo, &hi);
			if (err) {
				snprintf(errbuf, errlen,
					 "cannot read the end of '%s' [%d]: %s",
					 topic, (int)id, rd_kafka_err2str(err));
				rc = KX_EKAFKA;
				break;
			}
			if (!(nv = realloc(v, (cnt + 1) * sizeof(*v)))) {
				rc = KX_ENOMEM;
				break;
			}
			v = nv;
			snprintf(v[cnt].topic, sizeof(v[cnt].topic), "%s",
				 topic);
			v[cnt].partition = id;
			v[cnt].expected = hi; /* here: the end to reach */
			v[cnt].eof = lo;
			cnt++;
		}
		rd_kafka_metadata_destroy(md);
		md = NULL;
	}
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}
