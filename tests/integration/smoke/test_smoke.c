/*
 * Smoke test of the local stack (deploy/local/kx-stack): proves that
 * librdkafka 2.0.2 works against the real Kafka 4 broker and libpq against
 * the real PostgreSQL.  It creates a topic of its own with CreateTopics,
 * produces 100 messages with the idempotent producer and waits for every
 * delivery report, reads them all back in a fresh consumer group with the
 * eager range assignor, commits the offsets synchronously and reads them
 * back with rd_kafka_committed(), then runs one transaction in PostgreSQL.
 *
 * It reads KX_BROKERS and KX_DB (eval "$(deploy/local/kx-stack env)").
 * Every wait is bounded; nothing here can hang.  It exits 0 when all
 * checks pass and 1 otherwise, and the last line it prints is the count
 * line that CI reads: "1 passed, 0 failed" or "0 passed, 1 failed".
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#define MSG_COUNT 100
#define PARTITIONS 3
#define WAIT_MS 60000

static char topic[128];
static char group[128];

/* Delivery reports, counted by the producer's callback. */
static int delivered;
static int delivery_failed;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left > 0 ? (int)left : 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("test_smoke: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static void ok(const char *what)
{
	printf("ok - %s\n", what);
	fflush(stdout);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	char fatal[256];

	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		fprintf(stderr, "test_smoke: %s: fatal error: %s\n",
			rd_kafka_name(rk), fatal);
		return;
	}
	fprintf(stderr, "test_smoke: %s: %s: %s\n", rd_kafka_name(rk),
		rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg,
		      void *opaque)
{
	(void)rk;
	(void)opaque;
	if (msg->err) {
		delivery_failed++;
		fprintf(stderr, "test_smoke: delivery failed: %s\n",
			rd_kafka_err2str(msg->err));
	} else {
		delivered++;
	}
}

static rd_kafka_conf_t *new_conf(const char *brokers, char *errstr,
				 size_t errlen, ...)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *key;
	va_list ap;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr,
			      errlen) != RD_KAFKA_CONF_OK)
		goto err;
	va_start(ap, errlen);
	while ((key = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);

		if (rd_kafka_conf_set(conf, key, value, errstr, errlen) !=
		    RD_KAFKA_CONF_OK) {
			va_end(ap);
			goto err;
		}
	}
	va_end(ap);
	rd_kafka_conf_set_error_cb(conf, error_cb);
	return conf;
err:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* Creates the test topic and waits until every partition has a leader. */
static int create_topic(rd_kafka_t *rk)
{
	char errstr[512];
	rd_kafka_NewTopic_t *nt = NULL;
	rd_kafka_AdminOptions_t *opts = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **results;
	const struct rd_kafka_metadata *md = NULL;
	size_t n;
	int64_t deadline = now_ms() + WAIT_MS;
	int rc = -1;

	nt = rd_kafka_NewTopic_new(topic, PARTITIONS, 1, errstr, sizeof(errstr));
	if (!nt) {
		fail("cannot describe topic '%s': %s", topic, errstr);
		goto out;
	}
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	if (rd_kafka_AdminOptions_set_request_timeout(opts, 30000, errstr,
						      sizeof(errstr)) ||
	    rd_kafka_AdminOptions_set_operation_timeout(opts, 30000, errstr,
							sizeof(errstr))) {
		fail("cannot set admin timeouts: %s", errstr);
		goto out;
	}
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
	ev = rd_kafka_queue_poll(q, remaining_ms(deadline));
	if (!ev) {
		fail("create topic '%s': no answer within %d s", topic,
		     WAIT_MS / 1000);
		goto out;
	}
	if (rd_kafka_event_error(ev)) {
		fail("create topic '%s': %s", topic,
		     rd_kafka_event_error_string(ev));
		goto out;
	}
	res = rd_kafka_event_CreateTopics_result(ev);
	results = rd_kafka_CreateTopics_result_topics(res, &n);
	if (n != 1 || rd_kafka_topic_result_error(results[0])) {
		fail("create topic '%s': %s", topic,
		     n == 1 ? rd_kafka_topic_result_error_string(results[0])
			    : "no result");
		goto out;
	}

	/* CreateTopics returns once the controller has the topic; wait until
	 * the broker's metadata shows every partition with a leader. */
	for (;;) {
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
		rd_kafka_resp_err_t err;
		int ready = 0;

		err = rd_kafka_metadata(rk, 0, rkt, &md,
					remaining_ms(deadline) > 5000
						? 5000
						: remaining_ms(deadline) + 1);
		rd_kafka_topic_destroy(rkt);
		if (!err && md->topic_cnt == 1 && !md->topics[0].err &&
		    md->topics[0].partition_cnt == PARTITIONS) {
			ready = 1;
			for (int i = 0; i < PARTITIONS; i++)
				if (md->topics[0].partitions[i].leader < 0)
					ready = 0;
		}
		if (md) {
			rd_kafka_metadata_destroy(md);
			md = NULL;
		}
		if (ready)
			break;
		if (remaining_ms(deadline) == 0) {
			fail("topic '%s' has no leaders after %d s", topic,
			     WAIT_MS / 1000);
			goto out;
		}
		sleep_ms(200);
	}
	rc = 0;
out:
	if (ev)
		rd_kafka_event_destroy(ev);
	if (q)
		rd_kafka_queue_destroy(q);
	if (opts)
		rd_kafka_AdminOptions_destroy(opts);
	if (nt)
		rd_kafka_NewTopic_destroy(nt);
	return rc;
}

/* Deletes the test topic; a failure is only reported. */
static void delete_topic(rd_kafka_t *rk)
{
	rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_event_t *ev;

	rd_kafka_DeleteTopics(rk, &dt, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, 30000);
	if (!ev)
		fprintf(stderr, "test_smoke: delete topic '%s': no answer\n",
			topic);
	else if (rd_kafka_event_error(ev))
		fprintf(stderr, "test_smoke: delete topic '%s': %s\n", topic,
			rd_kafka_event_error_string(ev));
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_DeleteTopic_destroy(dt);
}

static int produce(rd_kafka_t *rk)
{
	char key[32], value[32], errstr[512];
	rd_kafka_resp_err_t err;

	for (int i = 0; i < MSG_COUNT; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		snprintf(value, sizeof(value), "value-%d", i);
		err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
					RD_KAFKA_V_KEY(key, strlen(key)),
					RD_KAFKA_V_VALUE(value, strlen(value)),
					RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					RD_KAFKA_V_END);
		if (err)
			return fail("produce message %d: %s", i,
				    rd_kafka_err2str(err));
		rd_kafka_poll(rk, 0);
	}
	err = rd_kafka_flush(rk, WAIT_MS);
	if (err)
		return fail("flush: %s (%d of %d delivered)",
			    rd_kafka_err2str(err), delivered, MSG_COUNT);
	if (rd_kafka_fatal_error(rk, errstr, sizeof(errstr)))
		return fail("producer fatal error: %s", errstr);
	if (delivered != MSG_COUNT || delivery_failed)
		return fail("%d of %d messages delivered, %d failed", delivered,
			    MSG_COUNT, delivery_failed);
	return 0;
}

/* Reads all messages back, commits synchronously and checks the committed
 * offsets.  seen[] marks each message index that arrived. */
static int consume(rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *sub = NULL, *parts = NULL;
	rd_kafka_resp_err_t err;
	int64_t next[PARTITIONS];
	int64_t deadline = now_ms() + WAIT_MS;
	unsigned char seen[MSG_COUNT] = {0};
	int got = 0, dups = 0, rc = -1;
	int64_t committed_sum = 0;

	for (int i = 0; i < PARTITIONS; i++)
		next[i] = 0;

	sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(rk, sub);
	if (err) {
		fail("subscribe to '%s': %s", topic, rd_kafka_err2str(err));
		goto out;
	}

	while (got < MSG_COUNT) {
		rd_kafka_message_t *msg;
		int idx;

		if (remaining_ms(deadline) == 0) {
			fail("consumed %d of %d messages within %d s", got,
			     MSG_COUNT, WAIT_MS / 1000);
			goto out;
		}
		msg = rd_kafka_consumer_poll(rk, remaining_ms(deadline) > 500
							 ? 500
							 : remaining_ms(deadline));
		if (!msg)
			continue;
		if (msg->err) {
			if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				fprintf(stderr, "test_smoke: consume: %s\n",
					rd_kafka_message_errstr(msg));
			rd_kafka_message_destroy(msg);
			continue;
		}
		if (msg->len > 6 && msg->len < 20 &&
		    memcmp(msg->payload, "value-", 6) == 0 &&
		    sscanf((const char *)msg->payload + 6, "%d", &idx) == 1 &&
		    idx >= 0 && idx < MSG_COUNT) {
			if (seen[idx])
				dups++;
			seen[idx] = 1;
			got++;
			if (msg->partition >= 0 && msg->partition < PARTITIONS)
				next[msg->partition] = msg->offset + 1;
		} else {
			fprintf(stderr, "test_smoke: unexpected message at "
					"partition %" PRId32 " offset %" PRId64
					"\n",
				msg->partition, msg->offset);
		}
		rd_kafka_message_destroy(msg);
	}
	if (dups) {
		fail("%d duplicate messages", dups);
		goto out;
	}
	for (int i = 0; i < MSG_COUNT; i++) {
		if (!seen[i]) {
			fail("message %d never arrived", i);
			goto out;
		}
	}
	ok("consumed all 100 messages once, range assignor");

	err = rd_kafka_commit(rk, NULL, 0);
	if (err) {
		fail("synchronous commit: %s", rd_kafka_err2str(err));
		goto out;
	}

	parts = rd_kafka_topic_partition_list_new(PARTITIONS);
	for (int i = 0; i < PARTITIONS; i++)
		rd_kafka_topic_partition_list_add(parts, topic, i);
	err = rd_kafka_committed(rk, parts, 30000);
	if (err) {
		fail("read committed offsets: %s", rd_kafka_err2str(err));
		goto out;
	}
	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];
		int64_t want = next[p->partition];

		if (p->err) {
			fail("committed offset of partition %" PRId32 ": %s",
			     p->partition, rd_kafka_err2str(p->err));
			goto out;
		}
		/* A partition that got no message has nothing committed. */
		if (want == 0 && p->offset == RD_KAFKA_OFFSET_INVALID)
			continue;
		if (p->offset != want) {
			fail("partition %" PRId32 ": committed offset %" PRId64
			     ", expected %" PRId64,
			     p->partition, p->offset, want);
			goto out;
		}
		committed_sum += p->offset;
	}
	if (committed_sum != MSG_COUNT) {
		fail("committed offsets add up to %" PRId64 ", expected %d",
		     committed_sum, MSG_COUNT);
		goto out;
	}
	ok("committed offsets synchronously and read them back");
	rc = 0;
out:
	if (parts)
		rd_kafka_topic_partition_list_destroy(parts);
	if (sub)
		rd_kafka_topic_partition_list_destroy(sub);
	return rc;
}

static int kafka_checks(const char *brokers)
{
	char errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *producer = NULL, *consumer = NULL;
	int created = 0, rc = -1;

	conf = new_conf(brokers, errstr, sizeof(errstr), "client.id",
			"kx-test-smoke", "enable.idempotence", "true",
			"linger.ms", "5", "compression.codec", "lz4",
			"message.timeout.ms", "30000", (const char *)NULL);
	if (!conf) {
		fail("producer config: %s", errstr);
		goto out;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
	producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!producer) {
		rd_kafka_conf_destroy(conf);
		fail("cannot create producer: %s", errstr);
		goto out;
	}

	if (create_topic(producer))
		goto out;
	created = 1;
	ok("created topic with CreateTopics, 3 partitions");

	if (produce(producer))
		goto out;
	ok("produced 100 messages, idempotent producer, all delivered");

	conf = new_conf(brokers, errstr, sizeof(errstr), "client.id",
			"kx-test-smoke", "group.id", group,
			"partition.assignment.strategy", "range",
			"enable.auto.commit", "false", "auto.offset.reset",
			"earliest", "session.timeout.ms", "6000",
			(const char *)NULL);
	if (!conf) {
		fail("consumer config: %s", errstr);
		goto out;
	}
	consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!consumer) {
		rd_kafka_conf_destroy(conf);
		fail("cannot create consumer: %s", errstr);
		goto out;
	}
	rd_kafka_poll_set_consumer(consumer);
	if (consume(consumer))
		goto out;
	rc = 0;
out:
	if (consumer) {
		rd_kafka_consumer_close(consumer);
		rd_kafka_destroy(consumer);
	}
	if (producer) {
		if (created)
			delete_topic(producer);
		rd_kafka_destroy(producer);
	}
	return rc;
}

/* Runs one statement; want is the expected result status. */
static PGresult *run(PGconn *conn, const char *sql, ExecStatusType want)
{
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) != want) {
		fail("'%s': %s", sql, PQerrorMessage(conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

static int pg_checks(const char *conninfo)
{
	const char *const keys[] = {"dbname", "connect_timeout", NULL};
	const char *const values[] = {conninfo, "10", NULL};
	PGconn *conn;
	PGresult *res = NULL;
	int rc = -1;

	conn = PQconnectdbParams(keys, values, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		fail("cannot connect to postgresql: %s", PQerrorMessage(conn));
		goto out;
	}
	if (PQserverVersion(conn) < 150000) {
		fail("postgresql %d is older than 15", PQserverVersion(conn));
		goto out;
	}

#define RUN(sql, want)                              \
	do {                                        \
		PQclear(res);                       \
		if (!(res = run(conn, sql, want)))  \
			goto out;                   \
	} while (0)

	RUN("SET statement_timeout = '30s'", PGRES_COMMAND_OK);
	RUN("BEGIN", PGRES_COMMAND_OK);
	RUN("CREATE TEMP TABLE kx_smoke (id integer PRIMARY KEY, v text NOT NULL) "
	    "ON COMMIT DROP",
	    PGRES_COMMAND_OK);
	RUN("INSERT INTO kx_smoke SELECT g, 'value-' || g "
	    "FROM generate_series(1, 100) AS g",
	    PGRES_COMMAND_OK);
	if (strcmp(PQcmdTuples(res), "100") != 0) {
		fail("insert: %s rows, expected 100", PQcmdTuples(res));
		goto out;
	}
	RUN("SELECT count(*), sum(id), max(v) FROM kx_smoke", PGRES_TUPLES_OK);
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "100") != 0 ||
	    strcmp(PQgetvalue(res, 0, 1), "5050") != 0 ||
	    strcmp(PQgetvalue(res, 0, 2), "value-99") != 0) {
		fail("select: got count %s, sum %s, max %s; expected 100, "
		     "5050, value-99",
		     PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
		     PQgetvalue(res, 0, 2));
		goto out;
	}
	RUN("COMMIT", PGRES_COMMAND_OK);
#undef RUN
	ok("postgresql transaction: temp table, insert, select, commit");
	rc = 0;
out:
	PQclear(res);
	PQfinish(conn);
	return rc;
}

int main(void)
{
	const char *brokers = getenv("KX_BROKERS");
	const char *db = getenv("KX_DB");
	int failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!brokers || !*brokers || !db || !*db) {
		fail("KX_BROKERS and KX_DB must be set; run "
		     "eval \"$(deploy/local/kx-stack env)\" or use "
		     "tests/integration/with-stack.sh");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	snprintf(topic, sizeof(topic), "kx-smoke-%ld-%ld", (long)time(NULL),
		 (long)getpid());
	snprintf(group, sizeof(group), "kx-smoke-group-%ld-%ld",
		 (long)time(NULL), (long)getpid());
	printf("test_smoke: librdkafka %s, libpq %d, brokers %s, topic '%s'\n",
	       rd_kafka_version_str(), PQlibVersion(), brokers, topic);

	if (kafka_checks(brokers))
		failed = 1;
	if (pg_checks(db))
		failed = 1;

	printf("%d passed, %d failed\n", failed ? 0 : 1, failed);
	return failed ? 1 : 0;
}
