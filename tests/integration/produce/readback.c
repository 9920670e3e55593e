/*
 * readback: reads back what kx-produce wrote, for the integration tests of
 * tests/integration/produce. It is a plain librdkafka consumer, written
 * apart from kx-produce, so that the tests check the producer against an
 * independent reading of CONTRACT §2.
 *
 *   readback [--prefix P] [--timeout-ms N] count
 *       prints the number of messages in the three topics of prefix P
 *       (the sum of high minus low watermarks).
 *   readback [--prefix P] [--timeout-ms N] check [--expect FILE]...
 *            [--subset] [--missing FILE] [--ids FILE]
 *       reads every message of the three topics up to the end offsets it
 *       finds at start, and checks each: the value is 0x00, the big-endian
 *       schema id of the family's newest schema (102, 202, 302), a payload that
 *       kx_codec_decode() accepts; the event's type belongs to the topic's
 *       family; the key is the entity key (transfers: practice_id); the
 *       partition is toPositive(murmur2(key)) % partitions, as the Java
 *       client computes it. With --expect, the valid lines of the FILEs
 *       (JSON Lines, parsed with kx_event_parse_line()) are the expected
 *       multiset: every message must equal (kx_event_equal()) an expected
 *       event, and every expected event must be found exactly once. With
 *       --subset, missing events are allowed and their lines are written to
 *       --missing FILE; a duplicate or an extra message is still an error.
 *       --ids FILE writes the event_id of every message, one per line.
 *
 * Output: "ok - ..." and "not ok - ..." lines, one summary line
 * "readback: messages N, expected N, missing N, duplicates N, extra N,
 * mismatched N", and exit status 0 only when every check passed (2 on a
 * usage or Kafka error). KX_BROKERS names the broker; the prefix defaults
 * to KX_TOPIC_PREFIX. Every wait is bounded by --timeout-ms.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "kx/arena.h"
#include "kx/codec.h"
#include "kx/err.h"
#include "kx/event.h"
#include "kx/event_json.h"
#include "kx/hash.h"
#include "kx/kafka.h"
#include "kx/lines.h"
#include "kx/schema.h"

#define MAX_PARTITIONS 256
#define DETAILS 5 /* problems shown per check before going quiet */

struct expected {
	struct kx_event ev;
	const char *line; /* the input line, for --missing */
	size_t linelen;
	long want, seen;
};

struct topic_state {
	char name[256];
	enum kx_family family;
	int32_t partitions;
	int64_t lo[MAX_PARTITIONS], hi[MAX_PARTITIONS];
};

/* One check: how many messages broke it, and the first few reasons. */
struct check {
	const char *what;
	long bad;
};

enum {
	C_FRAMING,
	C_DECODE,
	C_FAMILY,
	C_KEY,
	C_PARTITION,
	C_RDKAFKA_PARTITION,
	C__COUNT
};

static struct check checks[C__COUNT] = {
	{"every value is 0x00, the big-endian schema id of its topic's family "
	 "(102/202/302), then the payload", 0},
	{"every message decodes with kx_codec_decode", 0},
	{"every event's type belongs to its topic's family", 0},
	{"every message key is the entity key (transfers: practice_id)", 0},
	{"every message is on partition toPositive(murmur2(key)) % partitions "
	 "(Java client)", 0},
	{"librdkafka's murmur2_random partitioner agrees", 0},
};

static int passed, failed;
static long collisions; /* input event_ids naming two different events */

static void
result(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		passed++;
	else
		failed++;
}

static void
problem(int c, const char *fmt, ...)
{
	va_list ap;

	if (checks[c].bad++ >= DETAILS)
		return;
	fputs("  readback: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Kafka's Utils.murmur2 (the Java client's default partitioner), written
 * from the Java source: seed 0x9747b28c, m 0x5bd1e995, r 24, little-endian
 * 4-byte blocks, the tail mixed in from its highest byte down.
 */
static int32_t
java_murmur2(const unsigned char *data, size_t length)
{
	const uint32_t seed = 0x9747b28c, m = 0x5bd1e995;
	const int r = 24;
	uint32_t h = seed ^ (uint32_t)length;
	size_t length4 = length / 4;

	for (size_t i = 0; i < length4; i++) {
		size_t i4 = i * 4;
		uint32_t k = (uint32_t)data[i4] |
			     ((uint32_t)data[i4 + 1] << 8) |
			     ((uint32_t)data[i4 + 2] << 16) |
			     ((uint32_t)data[i4 + 3] << 24);
		k *= m;
		k ^= k >> r;
		k *= m;
		h *= m;
		h ^= k;
	}
	switch (length % 4) {
	case 3:
		h ^= (uint32_t)data[(length & ~(size_t)3) + 2] << 16;
		/* fall through */
	case 2:
		h ^= (uint32_t)data[(length & ~(size_t)3) + 1] << 8;
		/* fall through */
	case 1:
		h ^= (uint32_t)data[length & ~(size_t)3];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return (int32_t)h;
}

/* The Java client's test vectors (clients' UtilsTest.testMurmur2). */
static int
murmur2_selftest(void)
{
	static const struct {
		const char *s;
		int32_t h;
	} v[] = {
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int32_t h = java_murmur2((const unsigned char *)v[i].s,
					 strlen(v[i].s));
		if (h != v[i].h) {
			printf("  readback: murmur2('%s') = %" PRId32
			       ", Java says %" PRId32 "\n",
			       v[i].s, h, v[i].h);
			return -1;
		}
	}
	return 0;
}

/* Loads the valid lines of path as expected events; counts the others. */
static int
load_expected(const char *path, struct kx_arena *arena, struct kx_hash *byid,
	      long *nvalid, long *ninvalid)
{
	FILE *fp = fopen(path, "r");
	struct kx_lines lr;
	const char *line;
	size_t len;
	int rc;

	if (!fp) {
		fprintf(stderr, "readback: cannot open '%s'\n", path);
		return -1;
	}
	kx_lines_init(&lr, fp, KX_LINE_MAX);
	while ((rc = kx_lines_next(&lr, &line, &len)) != KX_EEOF) {
		struct expected *x;
		struct kx_hash_slot *slot;
		char errbuf[512];
		size_t i;

		if (rc == KX_ETOOLONG) {
			(*ninvalid)++;
			continue;
		}
		if (rc) {
			fprintf(stderr, "readback: cannot read '%s'\n", path);
			break;
		}
		for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
			;
		if (i == len)
			continue;
		x = kx_arena_calloc(arena, 1, sizeof(*x));
		if (!x)
			break;
		if (kx_event_parse_line(line, len, arena, &x->ev, errbuf,
					sizeof(errbuf))) {
			(*ninvalid)++;
			continue;
		}
		(*nvalid)++;
		slot = kx_hash_put(byid, x->ev.event_id, strlen(x->ev.event_id));
		if (!slot)
			break;
		if (slot->value) {
			/* A partner's duplicate line: expected once more. */
			struct expected *first = slot->value;
			if (!kx_event_equal(&first->ev, &x->ev) &&
			    collisions++ < DETAILS)
				printf("  readback: '%s': event_id '%s' names "
				       "two different events\n",
				       path, x->ev.event_id);
			first->want++;
			continue;
		}
		x->line = kx_arena_strndup(arena, line, len);
		x->linelen = len;
		x->want = 1;
		slot->value = x;
	}
	kx_lines_release(&lr);
	fclose(fp);
	return rc == KX_EEOF ? 0 : -1;
}

static rd_kafka_t *
new_consumer(const char *brokers)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	const char *kv[][2] = {
		{"bootstrap.servers", brokers},
		{"group.id", "kx-test-readback"},
		{"enable.auto.commit", "false"},
		{"enable.auto.offset.store", "false"},
		{"enable.partition.eof", "false"},
		{"auto.offset.reset", "earliest"},
		{"log_level", "3"},
	};

	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr,
				      sizeof(errstr)) != RD_KAFKA_CONF_OK) {
			fprintf(stderr, "readback: %s: %s\n", kv[i][0], errstr);
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "readback: cannot create consumer: %s\n",
			errstr);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	return rk;
}

static int topic_offsets_once(rd_kafka_t *rk, const char *prefix,
			      struct topic_state *ts, int timeout_ms,
			      int quiet);

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/*
 * Partition counts and watermarks of the three topics. Right after a
 * broker restart a partition can answer "not leader" for a while, so this
 * retries until timeout_ms has passed.
 */
static int
topic_offsets(rd_kafka_t *rk, const char *prefix, struct topic_state *ts,
	      int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	while (topic_offsets_once(rk, prefix, ts, 5000, 1)) {
		if (now_ms() >= deadline)
			return topic_offsets_once(rk, prefix, ts, 5000, 0);
		sleep_ms(250);
	}
	return 0;
}

static int
topic_offsets_once(rd_kafka_t *rk, const char *prefix, struct topic_state *ts,
		   int timeout_ms, int quiet)
{
	for (int f = 0; f < KX_FAMILY__COUNT; f++) {
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_topic_t *rkt;
		rd_kafka_resp_err_t err;

		ts[f].family = (enum kx_family)f;
		if (kx_kafka_topic(prefix, (enum kx_family)f, ts[f].name,
				   sizeof(ts[f].name)))
			return -1;
		rkt = rd_kafka_topic_new(rk, ts[f].name, NULL);
		err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
		rd_kafka_topic_destroy(rkt);
		if (err || md->topic_cnt != 1 || md->topics[0].err ||
		    md->topics[0].partition_cnt < 1 ||
		    md->topics[0].partition_cnt > MAX_PARTITIONS) {
			if (!quiet)
				fprintf(stderr,
					"readback: no metadata for '%s': %s\n",
					ts[f].name,
					err ? rd_kafka_err2str(err)
					: md->topics[0].err
					    ? rd_kafka_err2str(md->topics[0].err)
					    : "bad partition count");
			if (md)
				rd_kafka_metadata_destroy(md);
			return -1;
		}
		ts[f].partitions = md->topics[0].partition_cnt;
		rd_kafka_metadata_destroy(md);
		for (int32_t p = 0; p < ts[f].partitions; p++) {
			err = rd_kafka_query_watermark_offsets(
				rk, ts[f].name, p, &ts[f].lo[p], &ts[f].hi[p],
				timeout_ms);
			if (err) {
				if (!quiet)
					fprintf(stderr,
						"readback: watermarks of '%s' "
						"[%" PRId32 "]: %s\n",
						ts[f].name, p,
						rd_kafka_err2str(err));
				return -1;
			}
		}
	}
	return 0;
}

/*
 * The message key CONTRACT §2 asks for, written out here rather than taken
 * from kx_event_key(), which kx-produce itself uses.
 */
static const char *
entity_key(const struct kx_event *ev)
{
	switch (ev->type) {
	case KX_EVENT_VISIT_PLANNED:
	case KX_EVENT_VISIT_HELD:
	case KX_EVENT_VISIT_CANCELLED:
		return ev->u.visit.visit_id;
	case KX_EVENT_PRACTICE_DOCUMENTED:
		return ev->u.practice.practice_id;
	case KX_EVENT_TRANSFER_PLANNED:
	case KX_EVENT_TRANSFER_PILOTING:
	case KX_EVENT_TRANSFER_REPLICATED:
	case KX_EVENT_TRANSFER_ABANDONED:
		return ev->u.transfer.practice_id;
	default:
		return ev->u.pairing.pairing_id;
	}
}

static void
check_message(const rd_kafka_message_t *m, const struct topic_state *t,
	      rd_kafka_topic_t *rkt, struct kx_codec *codec,
	      struct kx_arena *arena, struct kx_hash *byid, FILE *ids,
	      long *extra, long *mismatched)
{
	const unsigned char *v = m->payload;
	int32_t want_id = kx_schema_latest(t->family)->id, id, part;
	struct kx_event ev;
	struct expected *x;
	const char *key;
	char errbuf[512];

	if (m->len < 5 || v[0] != 0 ||
	    (id = (int32_t)((uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 |
			    (uint32_t)v[3] << 8 | v[4])) != want_id)
		problem(C_FRAMING,
			"'%s' [%" PRId32 "] offset %" PRId64
			": bad framing (%zu bytes, first 0x%02x)",
			t->name, m->partition, m->offset, m->len,
			m->len ? v[0] : 0);
	if (kx_codec_decode(codec, m->payload, m->len, arena, &ev, NULL,
			    errbuf, sizeof(errbuf))) {
		problem(C_DECODE, "'%s' [%" PRId32 "] offset %" PRId64 ": %s",
			t->name, m->partition, m->offset, errbuf);
		return;
	}
	if (ids)
		fprintf(ids, "%s\n", ev.event_id);
	if (kx_event_type_family(ev.type) != t->family)
		problem(C_FAMILY, "event '%s' of type '%s' is in '%s'",
			ev.event_id, kx_event_type_name(ev.type), t->name);
	key = entity_key(&ev);
	if (!m->key || m->key_len != strlen(key) ||
	    memcmp(m->key, key, m->key_len))
		problem(C_KEY, "event '%s': key '%.*s', entity key '%s'",
			ev.event_id, m->key ? (int)m->key_len : 6,
			m->key ? (const char *)m->key : "(null)", key);
	part = (java_murmur2((const unsigned char *)key, strlen(key)) &
		0x7fffffff) %
	       t->partitions;
	if (m->partition != part)
		problem(C_PARTITION,
			"event '%s' key '%s': partition %" PRId32
			", murmur2 gives %" PRId32,
			ev.event_id, key, m->partition, part);
	if (rd_kafka_msg_partitioner_murmur2_random(rkt, key, strlen(key),
						    t->partitions, NULL,
						    NULL) != part)
		problem(C_RDKAFKA_PARTITION,
			"key '%s': librdkafka disagrees with Java murmur2",
			key);
	if (!byid)
		return;
	x = kx_hash_get(byid, ev.event_id, strlen(ev.event_id));
	if (!x) {
		if ((*extra)++ < DETAILS)
			printf("  readback: event '%s' is not in the input\n",
			       ev.event_id);
		return;
	}
	x->seen++;
	if (!kx_event_equal(&x->ev, &ev) && (*mismatched)++ < DETAILS)
		printf("  readback: event '%s' differs from its input line\n",
		       ev.event_id);
}

static int
cmd_check(const char *prefix, int timeout_ms, int argc, char **argv)
{
	struct topic_state ts[KX_FAMILY__COUNT];
	struct kx_arena arena, scratch;
	struct kx_hash byid;
	struct kx_codec *codec = NULL;
	rd_kafka_t *rk = NULL;
	rd_kafka_topic_t *rkts[KX_FAMILY__COUNT] = {NULL};
	rd_kafka_topic_partition_list_t *parts = NULL;
	const char *missing_path = NULL, *ids_path = NULL;
	FILE *missing = NULL, *ids = NULL;
	char errbuf[512];
	long nvalid = 0, ninvalid = 0, total = 0, got = 0;
	long extra = 0, mismatched = 0, nmissing = 0, dups = 0;
	int nexpect = 0, subset = 0, rc = 2;
	int64_t deadline;
	static int64_t next[KX_FAMILY__COUNT][MAX_PARTITIONS];

	kx_arena_init(&arena);
	kx_arena_init(&scratch);
	kx_hash_init(&byid);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--expect") && i + 1 < argc) {
			if (load_expected(argv[++i], &arena, &byid, &nvalid,
					  &ninvalid))
				goto out;
			nexpect++;
		} else if (!strcmp(argv[i], "--subset")) {
			subset = 1;
		} else if (!strcmp(argv[i], "--missing") && i + 1 < argc) {
			missing_path = argv[++i];
		} else if (!strcmp(argv[i], "--ids") && i + 1 < argc) {
			ids_path = argv[++i];
		} else {
			fprintf(stderr, "readback: check: bad argument '%s'\n",
				argv[i]);
			goto out;
		}
	}
	if (nexpect) {
		printf("readback: expecting %ld events (%ld invalid input lines "
		       "skipped)\n",
		       nvalid, ninvalid);
		result(collisions == 0,
		       "no event_id of the input names two different events "
		       "(%ld do)",
		       collisions);
	}
	if ((missing_path && !(missing = fopen(missing_path, "w"))) ||
	    (ids_path && !(ids = fopen(ids_path, "w")))) {
		fprintf(stderr, "readback: cannot write output files\n");
		goto out;
	}
	if (!(codec = kx_codec_new(errbuf, sizeof(errbuf)))) {
		fprintf(stderr, "readback: %s\n", errbuf);
		goto out;
	}
	result(murmur2_selftest() == 0,
	       "murmur2 matches the Java client's test vectors");
	if (!(rk = new_consumer(getenv("KX_BROKERS"))))
		goto out;
	if (topic_offsets(rk, prefix, ts, timeout_ms))
		goto out;
	parts = rd_kafka_topic_partition_list_new(3 * 8);
	for (int f = 0; f < KX_FAMILY__COUNT; f++) {
		rkts[f] = rd_kafka_topic_new(rk, ts[f].name, NULL);
		for (int32_t p = 0; p < ts[f].partitions; p++) {
			total += ts[f].hi[p] - ts[f].lo[p];
			next[f][p] = ts[f].lo[p];
			if (ts[f].hi[p] > ts[f].lo[p])
				rd_kafka_topic_partition_list_add(
					parts, ts[f].name, p)
					->offset = ts[f].lo[p];
		}
	}
	if (rd_kafka_assign(rk, parts)) {
		fprintf(stderr, "readback: cannot assign partitions\n");
		goto out;
	}
	deadline = now_ms() + timeout_ms;
	while (got < total && now_ms() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
		const struct topic_state *t = NULL;
		int f = -1;

		if (!m)
			continue;
		if (m->err) {
			fprintf(stderr, "readback: %s\n",
				rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		for (int k = 0; k < KX_FAMILY__COUNT; k++)
			if (!strcmp(rd_kafka_topic_name(m->rkt), ts[k].name))
				f = k;
		if (f >= 0)
			t = &ts[f];
		/* Only what was there at start counts; skip re-reads. */
		if (t && m->partition < t->partitions &&
		    m->offset >= next[f][m->partition] &&
		    m->offset < t->hi[m->partition]) {
			next[f][m->partition] = m->offset + 1;
			got++;
			kx_arena_reset(&scratch);
			check_message(m, t, rkts[f], codec,
				      nexpect ? &arena : &scratch,
				      nexpect ? &byid : NULL, ids, &extra,
				      &mismatched);
		}
		rd_kafka_message_destroy(m);
	}
	result(got == total,
	       "read back all %ld messages of '%s*' (got %ld within %d ms)",
	       total, prefix, got, timeout_ms);
	for (int c = 0; c < C__COUNT; c++)
		result(checks[c].bad == 0, "%s (%ld bad)", checks[c].what,
		       checks[c].bad);
	if (nexpect) {
		for (size_t i = 0; i < byid.cap; i++) {
			struct expected *x = byid.slots[i].value;
			if (!byid.slots[i].key || !x)
				continue;
			if (x->seen > x->want)
				dups += x->seen - x->want;
			for (long k = x->seen; k < x->want; k++) {
				nmissing++;
				if (missing) {
					fwrite(x->line, 1, x->linelen, missing);
					fputc('\n', missing);
				}
			}
		}
		result(mismatched == 0,
		       "every message equals its input event (kx_event_equal; "
		       "%ld differ)",
		       mismatched);
		result(extra == 0, "no message outside the input (%ld extra)",
		       extra);
		result(dups == 0,
		       "no input event more often than in the input (%ld "
		       "duplicates)",
		       dups);
		if (!subset)
			result(nmissing == 0,
			       "every input event is in Kafka (%ld missing)",
			       nmissing);
	}
	printf("readback: messages %ld, expected %ld, missing %ld, duplicates "
	       "%ld, extra %ld, mismatched %ld\n",
	       got, nvalid, nmissing, dups, extra, mismatched);
	rc = failed ? 1 : 0;
out:
	if (missing && fclose(missing))
		rc = 2;
	if (ids && fclose(ids))
		rc = 2;
	if (parts)
		rd_kafka_topic_partition_list_destroy(parts);
	for (int f = 0; f < KX_FAMILY__COUNT; f++)
		if (rkts[f])
			rd_kafka_topic_destroy(rkts[f]);
	if (rk) {
		rd_kafka_consumer_close(rk);
		rd_kafka_destroy(rk);
	}
	kx_codec_free(codec);
	kx_hash_release(&byid);
	kx_arena_release(&arena);
	kx_arena_release(&scratch);
	return rc;
}

static int
cmd_count(const char *prefix, int timeout_ms)
{
	struct topic_state ts[KX_FAMILY__COUNT];
	rd_kafka_t *rk = new_consumer(getenv("KX_BROKERS"));
	int64_t total = 0;
	int rc = 2;

	if (rk && topic_offsets(rk, prefix, ts, timeout_ms) == 0) {
		for (int f = 0; f < KX_FAMILY__COUNT; f++)
			for (int32_t p = 0; p < ts[f].partitions; p++)
				total += ts[f].hi[p] - ts[f].lo[p];
		printf("%" PRId64 "\n", total);
		rc = 0;
	}
	if (rk)
		rd_kafka_destroy(rk);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *prefix = getenv("KX_TOPIC_PREFIX");
	int timeout_ms = 60000, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--prefix") && i + 1 < argc)
			prefix = argv[++i];
		else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			timeout_ms = atoi(argv[++i]);
		else
			break;
	}
	if (!getenv("KX_BROKERS") || !prefix || i >= argc ||
	    timeout_ms <= 0) {
		fprintf(stderr,
			"usage: readback [--prefix P] [--timeout-ms N] count|"
			"check [--expect FILE]... [--subset] [--missing FILE] "
			"[--ids FILE]\n(KX_BROKERS must be set)\n");
		return 2;
	}
	if (!strcmp(argv[i], "count"))
		return cmd_count(prefix, timeout_ms);
	if (!strcmp(argv[i], "check"))
		return cmd_check(prefix, timeout_ms, argc - i - 1, argv + i + 1);
	fprintf(stderr, "readback: unknown command '%s'\n", argv[i]);
	return 2;
}
