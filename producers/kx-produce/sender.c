/*
 * Producer with delivery accounting. Every queued message carries a
 * struct pending (its JSON line and family) as its opaque; the delivery
 * report frees it, after writing the line to the failed file if delivery
 * failed. So the invariant is: given = acked + failed + outstanding, and
 * outstanding reaches 0 before the program exits.
 *
 * On a fatal error every message still in the producer comes back with an
 * error; those are kept, with their key and value, for a new producer
 * instead of being written off. A message the broker did store but whose
 * acknowledgement was lost is then sent twice: the consumer's event_id
 * dedup absorbs that. Should the new producer not start, the sender is
 * broken: what was parked, and every message given after, goes to the
 * failed file, and sender_send() says why.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kx/err.h"
#include "kx/log.h"
#include "sender.h"

struct pending {
	enum kx_family family;
	size_t keylen, vallen, linelen;
	char *key, *val; /* set only while parked for a rebuild */
	char line[];
};

struct sender {
	rd_kafka_t *rk;
	rd_kafka_conf_t *conf; /* template for rebuilds */
	rd_kafka_topic_t *rkt[KX_FAMILY__COUNT];
	char *topics[KX_FAMILY__COUNT];
	FILE *failed;
	long given, acked, nfailed, rebuilds;
	int fatal;               /* a fatal error was raised */
	int broken;              /* no producer could be rebuilt ... */
	char why[512];           /* ... and why */
	const atomic_int *stop; /* set: stop waiting for room */
	atomic_int pid_retries;  /* PID requests retried so far (on_log()) */
	struct pending **parked; /* to re-send after a rebuild */
	size_t nparked, capparked;
};

static void
write_failed(struct sender *s, struct pending *p)
{
	s->nfailed++;
	if (s->failed) {
		fwrite(p->line, 1, p->linelen, s->failed);
		fputc('\n', s->failed);
	}
	free(p->key);
	free(p->val);
	free(p);
}

static int
park(struct sender *s, struct pending *p, const rd_kafka_message_t *m)
{
	if (s->nparked == s->capparked) {
		size_t cap = s->capparked ? s->capparked * 2 : 1024;
		struct pending **v = realloc(s->parked, cap * sizeof(*v));
		if (!v)
			return KX_ENOMEM;
		s->parked = v;
		s->capparked = cap;
	}
	p->keylen = m->key_len;
	p->vallen = m->len;
	p->key = malloc(m->key_len ? m->key_len : 1);
	p->val = malloc(m->len ? m->len : 1);
	if (!p->key || !p->val)
		return KX_ENOMEM;
	memcpy(p->key, m->key, m->key_len);
	memcpy(p->val, m->payload, m->len);
	s->parked[s->nparked++] = p;
	return 0;
}

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct sender *s = opaque;
	struct pending *p = m->_private;

	(void)rk;
	if (!m->err) {
		s->acked++;
		free(p);
		return;
	}
	if (s->fatal && park(s, p, m) == 0)
		return;
	kx_log_debug("produce", "delivery failed: %s",
		     rd_kafka_err2str(m->err));
	write_failed(s, p);
}

static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct sender *s = opaque;
	char fatal[512];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		kx_log_warn("produce",
			    "fatal producer error, rebuilding the producer: %s",
			    fatal);
		s->fatal = 1;
		return;
	}
	/* Transport errors are retried by librdkafka; say so once at info. */
	kx_log_info("produce", "kafka: %s", reason);
}

/* How many retried PID requests are logged at info, not as warnings. */
#define QUIET_PID_RETRIES 10

int
sender_log_level(atomic_int *pid_retries, int level, const char *fac,
		 const char *buf)
{
	if (level <= 4 && !strcmp(fac, "GETPID") && strstr(buf, "retrying") &&
	    atomic_fetch_add(pid_retries, 1) < QUIET_PID_RETRIES)
		return 6;
	return level;
}

/*
 * librdkafka's own log lines, in KX's log format and under --log-level,
 * instead of its default "%3|<ts>|FAC|..." lines on stderr. Errors it
 * logs are ones it retries (a fatal error comes through on_error), so they
 * are warnings here, but for a broker's first retried PID requests
 * (sender_log_level()). May run on librdkafka's threads.
 */
static void
on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct sender *s = rd_kafka_opaque(rk);

	if (s)
		level = sender_log_level(&s->pid_retries, level, fac, buf);
	if (level <= 4)
		kx_log_warn("kafka", "%s: %s", fac, buf);
	else if (level <= 6)
		kx_log_info("kafka", "%s: %s", fac, buf);
	else
		kx_log_debug("kafka", "%s: %s", fac, buf);
}

static int
start(struct sender *s, char *errbuf, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_dup(s->conf);

	rd_kafka_conf_set_opaque(conf, s);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, on_log);
	s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, errlen);
	if (!s->rk) {
		rd_kafka_conf_destroy(conf);
		return KX_EKAFKA;
	}
	for (int f = 0; f < KX_FAMILY__COUNT; f++) {
		s->rkt[f] = rd_kafka_topic_new(s->rk, s->topics[f], NULL);
		if (!s->rkt[f]) {
			snprintf(errbuf, errlen, "topic '%s': %s",
				 s->topics[f],
				 rd_kafka_err2str(rd_kafka_last_error()));
			return KX_EKAFKA;
		}
	}
	s->fatal = 0;
	return 0;
}

static void
stop(struct sender *s)
{
	for (int f = 0; f < KX_FAMILY__COUNT; f++) {
		if (s->rkt[f])
			rd_kafka_topic_destroy(s->rkt[f]);
		s->rkt[f] = NULL;
	}
	if (s->rk)
		rd_kafka_destroy(s->rk);
	s->rk = NULL;
}

struct sender *
sender_new(rd_kafka_conf_t *conf, char *const topics[3], FILE *failed,
	   char *errbuf, size_t errlen)
{
	struct sender *s = calloc(1, sizeof(*s));

	if (!s) {
		rd_kafka_conf_destroy(conf);
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	s->conf = conf;
	s->failed = failed;
	atomic_init(&s->pid_retries, 0);
	for (int f = 0; f < KX_FAMILY__COUNT; f++) {
		if (!(s->topics[f] = strdup(topics[f]))) {
			snprintf(errbuf, errlen, "out of memory");
			goto fail;
		}
	}
	if (start(s, errbuf, errlen))
		goto fail;
	return s;
fail:
	sender_free(s);
	return NULL;
}

static int
produce(struct sender *s, struct pending *p, const char *key, size_t keylen,
	const void *value, size_t len)
{
	rd_kafka_resp_err_t err;

	for (;;) {
		err = rd_kafka_producev(
			s->rk, RD_KAFKA_V_RKT(s->rkt[p->family]),
			RD_KAFKA_V_KEY(key, keylen),
			RD_KAFKA_V_VALUE((void *)value, len),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_OPAQUE(p), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL ||
		    (s->stop && *s->stop))
			break;
		/* Backpressure: serve delivery reports until there is room.
		 * With the broker away this can last message.timeout.ms, so
		 * s->stop (the second SIGINT) ends the wait. */
		rd_kafka_poll(s->rk, 50);
	}
	return err;
}

/*
 * Replaces a producer that hit a fatal error: drain its delivery reports
 * (parking every unacknowledged message), destroy it, start a fresh one and
 * re-send the parked messages in their original order.
 */
static void
rebuild(struct sender *s)
{
	char errbuf[512];
	size_t n;

	rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE |
				      RD_KAFKA_PURGE_F_INFLIGHT);
	/* Bounded: a producer that never drains is abandoned after 30 s,
	 * and whatever it still holds is reported as failed by destroy. */
	for (int i = 0; i < 300 && rd_kafka_outq_len(s->rk) > 0; i++)
		rd_kafka_poll(s->rk, 100);
	rd_kafka_poll(s->rk, 0);
	stop(s);
	s->rebuilds++;
	if (start(s, errbuf, sizeof(errbuf))) {
		kx_log_error("produce", "cannot rebuild the producer: %s",
			     errbuf);
		stop(s);
		s->broken = 1;
		snprintf(s->why, sizeof(s->why), "%s", errbuf);
		for (size_t i = 0; i < s->nparked; i++)
			write_failed(s, s->parked[i]);
		s->nparked = 0;
		return;
	}
	n = s->nparked;
	s->nparked = 0;
	kx_log_info("produce", "producer rebuilt; re-sending %zu messages", n);
	for (size_t i = 0; i < n; i++) {
		struct pending *p = s->parked[i];
		char *key = p->key, *val = p->val;
		p->key = p->val = NULL;
		if (produce(s, p, key, p->keylen, val, p->vallen))
			write_failed(s, p);
		free(key);
		free(val);
	}
}

int
sender_send(struct sender *s, enum kx_family family, const char *key,
	    size_t keylen, const void *value, size_t len, const char *line,
	    size_t linelen, char *errbuf, size_t errlen)
{
	struct pending *p = malloc(sizeof(*p) + linelen + 1);
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

	if (!p) {
		snprintf(errbuf, errlen, "out of memory");
		return KX_ENOMEM;
	}
	p->family = family;
	p->linelen = linelen;
	p->key = p->val = NULL;
	memcpy(p->line, line, linelen);
	p->line[linelen] = '\0';
	s->given++;
	if (s->fatal && !s->broken)
		rebuild(s);
	if (!s->broken) {
		err = produce(s, p, key, keylen, value, len);
		if (err == RD_KAFKA_RESP_ERR__FATAL) {
			/* The error callback has not been served yet (the
			 * producer went fatal while this call waited for
			 * room): rebuild now rather than write the message
			 * off. */
			s->fatal = 1;
			rebuild(s);
			if (!s->broken)
				err = produce(s, p, key, keylen, value, len);
		}
	}
	if (s->broken) {
		/* Nothing can be sent any more: the caller stops. */
		write_failed(s, p);
		snprintf(errbuf, errlen,
			 "cannot rebuild the producer after a fatal error: %s",
			 s->why);
		return KX_EKAFKA;
	}
	if (err) {
		/* Not queued, so no delivery report will come: account here. */
		kx_log_warn("produce", "cannot queue message for '%s': %s",
			    s->topics[family], rd_kafka_err2str(err));
		write_failed(s, p);
	}
	return 0;
}

void
sender_poll(struct sender *s, int timeout_ms)
{
	if (s->broken)
		return;
	rd_kafka_poll(s->rk, timeout_ms);
	if (s->fatal)
		rebuild(s);
}

long
sender_outstanding(const struct sender *s)
{
	return s->given - s->acked - s->nfailed;
}

void
sender_set_stop(struct sender *s, const atomic_int *stop)
{
	s->stop = stop;
}

void
sender_drain(struct sender *s, const atomic_int *abort)
{
	int purged = 0;

	/* A broken sender has no producer left to wait for. */
	while (sender_outstanding(s) > 0 && !s->broken) {
		if (*abort && !purged) {
			kx_log_warn("produce",
				    "interrupted twice: giving up on %ld "
				    "undelivered messages",
				    sender_outstanding(s));
			rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE |
						      RD_KAFKA_PURGE_F_INFLIGHT);
			purged = 1;
		}
		sender_poll(s, 100);
	}
}

void
sender_stats(const struct sender *s, struct sender_stats *st)
{
	st->acked = s->acked;
	st->failed = s->nfailed;
	st->rebuilds = s->rebuilds;
}

void
sender_free(struct sender *s)
{
	if (!s)
		return;
	stop(s);
	for (size_t i = 0; i < s->nparked; i++)
		write_failed(s, s->parked[i]);
	free(s->parked);
	for (int f = 0; f < KX_FAMILY__COUNT; f++)
		free(s->topics[f]);
	if (s->conf)
		rd_kafka_conf_destroy(s->conf);
	free(s);
}
