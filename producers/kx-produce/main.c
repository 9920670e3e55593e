/*
 * kx-produce: partner exports (JSON Lines or CSV) to Avro events on Kafka.
 *
 * Every input line ends in exactly one place: rejected (with its line
 * number and reason), acknowledged by Kafka, or written to the failed file
 * as a JSON line ready to send again. The closing line on stderr and the
 * exit code say which happened to how many (CONTRACT §4).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kx/arena.h"
#include "kx/buf.h"
#include "kx/codec.h"
#include "kx/conf.h"
#include "kx/csv.h"
#include "kx/err.h"
#include "kx/event_json.h"
#include "kx/kafka.h"
#include "kx/lines.h"
#include "kx/log.h"
#include "kx/registry.h"
#include "kx/schema.h"
#include "reader.h"
#include "sender.h"

#define EXIT_REJECTED 1
#define EXIT_USAGE 2
#define EXIT_FAILED 3
#define EXIT_INTERRUPTED 130

struct config {
	char *brokers;
	struct kx_strv props;
	char *format;
	char *family;
	char *rejects;
	char *failed;
	bool dry_run;
	bool progress;
	char *topic_prefix;
	char *schema_registry;
	long schema_version;
	char *log_level;
};

#define OFF(f) offsetof(struct config, f)
static const struct kx_conf_entry options[] = {
	{"brokers", 'b', KX_CONF_STR, NULL, "KX_BROKERS", OFF(brokers),
	 "HOST:PORT,...", "Kafka bootstrap servers", 0, 0},
	{"property", 'X', KX_CONF_LIST, NULL, NULL, OFF(props), "KEY=VALUE",
	 "any librdkafka producer property (repeatable)", 0, 0},
	{"format", 'f', KX_CONF_STR, "jsonl", "KX_FORMAT", OFF(format),
	 "jsonl|csv", "input format", 0, 0},
	{"family", 0, KX_CONF_STR, NULL, NULL, OFF(family),
	 "pairing|visit|practice", "event family of CSV input (required "
	 "with --format csv)", 0, 0},
	{"rejects", 'r', KX_CONF_STR, NULL, NULL, OFF(rejects), "FILE",
	 "write each invalid line's number and reason to FILE ('-': "
	 "standard output; default: stderr)", 0, 0},
	{"failed", 0, KX_CONF_STR, NULL, NULL, OFF(failed), "FILE",
	 "write events whose delivery failed to FILE as JSON lines ('-': "
	 "standard output)", 0, 0},
	{"dry-run", 'n', KX_CONF_BOOL, "false", NULL, OFF(dry_run), NULL,
	 "validate and encode every line, send nothing", 0, 0},
	{"progress", 0, KX_CONF_BOOL, "false", NULL, OFF(progress), NULL,
	 "print a progress line every second even when stderr is not a "
	 "terminal", 0, 0},
	{"topic-prefix", 0, KX_CONF_STR, "kx.", "KX_TOPIC_PREFIX",
	 OFF(topic_prefix), "PREFIX", "prefix of the topic names", 0, 0},
	{"schema-registry", 0, KX_CONF_STR, NULL, "KX_SCHEMA_REGISTRY",
	 OFF(schema_registry), "URL",
	 "register schemas with this Confluent-compatible registry and use "
	 "its ids", 0, 0},
	{"schema-version", 0, KX_CONF_INT, "0", "KX_SCHEMA_VERSION",
	 OFF(schema_version), "N",
	 "write with version N of each family's schema (0: the newest); "
	 "1 for consumers older than the v2 schemas", 0, 1000},
	{"log-level", 0, KX_CONF_STR, "warn", "KX_LOG_LEVEL", OFF(log_level),
	 "LEVEL", "error, warn, info or debug", 0, 0},
	KX_CONF_END};

/*
 * KX's producer defaults; -X overrides any of them. murmur2_random is the
 * Java client's partitioner, so a Java producer keyed the same way lands
 * an entity on the same partition. 20,000 queued messages are 200 ms at
 * 100,000 events/s, and keep the peak RSS near 35 MB even when the broker
 * is away and every queued line is kept for --failed (50,000 took 65 MB).
 */
static const char *const producer_defaults[] = {
	"enable.idempotence=true",
	"acks=all",
	"compression.codec=lz4",
	"linger.ms=10",
	"batch.num.messages=10000",
	"partitioner=murmur2_random",
	"queue.buffering.max.messages=20000",
	"queue.buffering.max.kbytes=32768",
	NULL};

/*
 * The first SIGINT or SIGTERM stops reading and lets what was read be
 * delivered; a second one (aborted) gives up on what is still undelivered,
 * which then goes to --failed.
 */
/*
 * The flags are lock-free atomics rather than volatile sig_atomic_t: the
 * handler runs on the reader thread while the main thread reads them.
 */
static atomic_int interrupted, aborted;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "signal flags must be lock-free");

static void
on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	if (atomic_load(&interrupted))
		atomic_store(&aborted, 1);
	atomic_store(&interrupted, 1);
	errno = saved;
}

/* Opens FILE for writing. "-" is the stdout we were given: opening
 * /dev/stdout instead would truncate a log file that stdout appends to. */
static FILE *
open_out(const char *path)
{
	return strcmp(path, "-") ? fopen(path, "w") : stdout;
}

/* Closes what open_out() opened: 0, or EOF with errno set. */
static int
close_out(FILE *fp)
{
	return fp == stdout ? fflush(fp) : fclose(fp);
}

struct run {
	struct config *conf;
	struct kx_codec *codec;
	struct sender *sender;
	int32_t schema_id[KX_FAMILY__COUNT];
	FILE *rejects;
	FILE *failed; /* borrowed by the sender */
	struct kx_arena arena;
	struct kx_buf value, json;
	long read, valid, rejected;
	bool several; /* several inputs: prefix rejects with the file name */
	bool show_progress, tty;
	bool sending; /* not a dry run: the counts are "sent", not "valid" */
	struct timespec started, last_progress;
	long last_read;
	struct sender_stats final; /* once the sender is gone */
};

static void
usage(FILE *fp)
{
	fputs("usage: kx-produce [OPTION...] [FILE...]\n\n"
	      "Reads partner events (JSON Lines, or CSV with --format csv "
	      "--family F) from\nthe FILEs or standard input, validates "
	      "every line and sends the valid ones to\nKafka as Avro in the "
	      "Confluent wire format.\n\nOptions:\n",
	      fp);
	kx_conf_usage(fp, options);
	fputs("\nOn stderr it closes with 'read N, sent N, rejected N, "
	      "failed N' (with --dry-run:\n'read N, valid N, rejected N').\n"
	      "Exit status: 0 all sent; 1 lines were rejected, all valid ones "
	      "sent;\n3 a delivery failed; 2 usage, config or I/O error; 130 "
	      "interrupted.\n",
	      fp);
}

static double
elapsed(const struct timespec *from, const struct timespec *to)
{
	return (double)(to->tv_sec - from->tv_sec) +
	       (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

static void
progress(struct run *r, bool final)
{
	struct timespec now;
	struct sender_stats st = {0};
	double dt;

	if (!r->show_progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = elapsed(&r->last_progress, &now);
	if (!final && dt < 1.0)
		return;
	if (r->sender)
		sender_stats(r->sender, &st);
	else
		st = r->final;
	fprintf(stderr, "%sread %ld (%.0f lines/s), %s %ld, rejected %ld%s",
		r->tty ? "\r" : "", r->read,
		dt > 0 ? (double)(r->read - r->last_read) / dt : 0.0,
		r->sending ? "sent" : "valid", r->sending ? st.acked : r->valid,
		r->rejected, r->tty ? "\033[K" : "\n");
	if (final && r->tty)
		fputc('\n', stderr);
	r->last_progress = now;
	r->last_read = r->read;
}

static void
reject(struct run *r, const char *file, long line, const char *reason)
{
	r->rejected++;
	if (r->several)
		fprintf(r->rejects, "%s: line %ld: %s\n", file, line, reason);
	else
		fprintf(r->rejects, "line %ld: %s\n", line, reason);
}

/*
 * Encodes and (unless dry-running) sends one valid event. line is the
 * partner's JSON line, or NULL to write the event as JSON (CSV input).
 */
static int
emit(struct run *r, const struct kx_event *ev, const char *line, size_t len)
{
	enum kx_family family = kx_event_type_family(ev->type);
	const char *key = kx_event_key(ev);
	char errbuf[512];
	int rc;

	kx_buf_reset(&r->value);
	rc = kx_codec_encode(r->codec, ev, r->schema_id[family], &r->value,
			     errbuf, sizeof(errbuf));
	if (rc) {
		kx_log_error("produce", "cannot encode event '%s': %s",
			     ev->event_id, errbuf);
		return rc;
	}
	r->valid++;
	if (!r->sender)
		return 0;
	if (!line) {
		json_t *obj = kx_event_to_json(ev);
		char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
		json_decref(obj);
		if (!text)
			return KX_ENOMEM;
		kx_buf_reset(&r->json);
		rc = kx_buf_adds(&r->json, text);
		free(text);
		if (rc)
			return rc;
		line = r->json.data;
		len = r->json.len;
	}
	rc = sender_send(r->sender, family, key, strlen(key), r->value.data,
			 r->value.len, line, len, errbuf, sizeof(errbuf));
	if (rc)
		kx_log_error("produce", "%s", errbuf);
	return rc;
}

static void
tick(struct run *r)
{
	if (r->sender && (r->read & 255) == 0)
		sender_poll(r->sender, 0);
	if ((r->read & 1023) == 0)
		progress(r, false);
}

/* One item of the reader thread, in input order; see reader.h. */
static int
take(struct run *r, const struct reader_batch *b, const struct reader_item *it,
     const char *name)
{
	const char *data = b->data.data;
	char errbuf[512];
	int rc;

	r->read++;
	switch (it->kind) {
	case READER_REJECT:
		reject(r, name, it->lineno, data + it->text);
		break;
	case READER_FAIL:
		kx_log_error("produce", "%s", data + it->text);
		return b->rc;
	case READER_EVENT:
		r->valid++;
		if (!r->sender)
			break;
		rc = sender_send(r->sender, it->family, data + it->key,
				 it->keylen, data + it->value, it->valuelen,
				 data + it->text, it->textlen, errbuf,
				 sizeof(errbuf));
		if (rc) {
			kx_log_error("produce", "%s", errbuf);
			return rc;
		}
		break;
	}
	tick(r);
	return 0;
}

/*
 * Parsing and encoding run on a reader thread (reader.h); this thread
 * counts, rejects and sends, in input order. SIGINT and SIGTERM are
 * blocked here meanwhile, so the reader takes them and a read it waits
 * in on a pipe is cut short.
 */
static int
feed_jsonl(struct run *r, FILE *fp, const char *name)
{
	struct reader *rd;
	struct reader_batch *b;
	sigset_t set, old;
	bool stop = false;
	int rc = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	/* A line is kept until its delivery only when --failed wants it. */
	rd = reader_start(fp, r->codec, r->schema_id,
			  r->sender != NULL && r->failed != NULL, &interrupted);
	if (!rd) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		kx_log_error("produce", "cannot read '%s': %s", name,
			     kx_strerror(KX_ENOMEM));
		return KX_ENOMEM;
	}
	while (!stop && (b = reader_next(rd))) {
		for (size_t i = 0; i < b->n && !stop; i++) {
			if (interrupted)
				stop = true;
			else if ((rc = take(r, b, &b->item[i], name)))
				stop = true;
		}
		if (!stop && b->last && b->rc) {
			kx_log_error("produce", "cannot read '%s': %s", name,
				     b->reason);
			rc = b->rc;
		}
		stop = stop || b->last;
		reader_release(rd, b);
	}
	reader_finish(rd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static int
feed_csv(struct run *r, FILE *fp, const char *name, enum kx_family family)
{
	struct kx_csv_reader *cr = kx_csv_reader_new(fp, family);
	int rc = 0;

	if (!cr)
		return KX_ENOMEM;
	while (!interrupted) {
		struct kx_event ev;
		char errbuf[512];
		json_t *obj = NULL;
		long line = 0;

		rc = kx_csv_reader_next(cr, &obj, &line, errbuf,
					sizeof(errbuf));
		if (rc == KX_EEOF) {
			rc = 0;
			break;
		}
		if (rc == KX_EPARSE) {
			kx_log_error("produce", "'%s': %s", name, errbuf);
			break;
		}
		if (rc == KX_EIO && interrupted) {
			rc = 0;
			break;
		}
		if (rc == KX_EIO || rc == KX_ENOMEM) {
			kx_log_error("produce", "cannot read '%s': %s", name,
				     kx_strerror(rc));
			break;
		}
		r->read++;
		kx_arena_reset(&r->arena);
		if (rc) {
			reject(r, name, line, errbuf);
			rc = 0;
		} else if (kx_event_from_json(obj, &r->arena, &ev, errbuf,
					      sizeof(errbuf))) {
			reject(r, name, line, errbuf);
		} else if (family != kx_event_type_family(ev.type)) {
			snprintf(errbuf, sizeof(errbuf),
				 "'event_type': '%s' is not of family %s",
				 kx_event_type_name(ev.type),
				 kx_family_name(family));
			reject(r, name, line, errbuf);
		} else {
			rc = emit(r, &ev, NULL, 0);
		}
		json_decref(obj);
		if (rc)
			break;
		tick(r);
	}
	kx_csv_reader_free(cr);
	return rc;
}

/* The catalogue schema each family is written with (--schema-version). */
static const struct kx_schema_entry *
writer_schema(const struct run *r, enum kx_family f)
{
	return kx_schema_version(f, (int)r->conf->schema_version);
}

/* Registers each family's writer schema and keeps the ids it gets. */
static int
register_schemas(struct run *r, char *errbuf, size_t errlen)
{
	struct kx_registry *reg =
		kx_registry_new(r->conf->schema_registry, errbuf, errlen);
	int rc = 0;

	if (!reg)
		return KX_ECONFIG;
	for (int f = 0; f < KX_FAMILY__COUNT && !rc; f++) {
		const struct kx_schema_entry *e = writer_schema(r, f);
		char subject[300];
		kx_kafka_topic(r->conf->topic_prefix, f, subject,
			       sizeof(subject) - 6);
		strcat(subject, "-value");
		rc = kx_registry_register(reg, subject, e->avsc,
					  &r->schema_id[f], errbuf, errlen);
		if (!rc)
			rc = kx_codec_add_schema(r->codec, r->schema_id[f], f,
						 e->avsc, errbuf, errlen);
	}
	kx_registry_free(reg);
	return rc;
}

static int
setup(struct run *r, char *errbuf, size_t errlen)
{
	struct config *c = r->conf;
	char topics[KX_FAMILY__COUNT][256];
	char *tv[KX_FAMILY__COUNT];
	rd_kafka_conf_t *kconf;

	if (!(r->codec = kx_codec_new(errbuf, errlen)))
		return KX_ESCHEMA;
	for (int f = 0; f < KX_FAMILY__COUNT; f++) {
		if (!writer_schema(r, f)) {
			snprintf(errbuf, errlen,
				 "'schema-version': the %s family has no "
				 "version %ld",
				 kx_family_name(f), c->schema_version);
			return KX_ECONFIG;
		}
		r->schema_id[f] = writer_schema(r, f)->id;
		if (kx_kafka_topic(c->topic_prefix, f, topics[f],
				   sizeof(topics[f]))) {
			snprintf(errbuf, errlen, "'topic-prefix' is too long");
			return KX_ECONFIG;
		}
		tv[f] = topics[f];
	}
	if (c->schema_registry && *c->schema_registry &&
	    register_schemas(r, errbuf, errlen))
		return KX_ECONFIG;
	if (c->dry_run)
		return 0;
	if (!(kconf = kx_kafka_conf_new(c->brokers, producer_defaults,
					&c->props, errbuf, errlen)))
		return KX_ECONFIG;
	if (c->failed && !(r->failed = open_out(c->failed))) {
		snprintf(errbuf, errlen, "cannot open '%s': %s", c->failed,
			 strerror(errno));
		rd_kafka_conf_destroy(kconf);
		return KX_EIO;
	}
	r->sender = sender_new(kconf, tv, r->failed, errbuf, errlen);
	if (!r->sender)
		return KX_EKAFKA;
	/*
	 * Only the second SIGINT gives up on the line sender_send() holds:
	 * it has been read, and the first one lets what was read be delivered.
	 */
	sender_set_stop(r->sender, &aborted);
	return 0;
}

static int
check_config(struct config *c, enum kx_family *family, char *errbuf,
	     size_t errlen)
{
	enum kx_log_level level;
	rd_kafka_conf_t *kconf;

	if (kx_log_level_parse(c->log_level, &level)) {
		snprintf(errbuf, errlen, "'log-level': '%s' is not one of "
			 "error, warn, info, debug", c->log_level);
		return KX_ECONFIG;
	}
	kx_log_set_level(level);
	if (strcmp(c->format, "jsonl") && strcmp(c->format, "csv")) {
		snprintf(errbuf, errlen,
			 "'format': '%s' is not jsonl or csv", c->format);
		return KX_ECONFIG;
	}
	if (!strcmp(c->format, "csv") &&
	    (!c->family || kx_family_parse(c->family, family))) {
		snprintf(errbuf, errlen,
			 "--format csv needs --family pairing, visit or "
			 "practice");
		return KX_ECONFIG;
	}
	if (!c->dry_run && (!c->brokers || !*c->brokers)) {
		snprintf(errbuf, errlen,
			 "no brokers: set --brokers or KX_BROKERS (or use "
			 "--dry-run)");
		return KX_ECONFIG;
	}
	/* Every -X property is checked now, dry run included, so that a
	 * typo is reported before an input file is looked at. */
	kconf = kx_kafka_conf_new(c->brokers && *c->brokers ? c->brokers
							     : "localhost",
				  producer_defaults, &c->props, errbuf, errlen);
	if (!kconf)
		return KX_ECONFIG;
	rd_kafka_conf_destroy(kconf);
	return 0;
}

int
main(int argc, char **argv)
{
	struct config conf = {0};
	struct kx_strv files = {0};
	struct run r = {0};
	struct sender_stats st = {0};
	struct sigaction sa;
	enum kx_family family = KX_FAMILY_PAIRING;
	char errbuf[1024];
	int rc, status = EXIT_USAGE;
	bool io_error = false;

	if (!kx_conf_start(options, &conf, argc, argv, &files, "kx-produce",
			   KX_VERSION, usage, &status))
		goto out;
	if (check_config(&conf, &family, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "kx-produce: %s\n", errbuf);
		goto out;
	}

	kx_codec_global_init();
	kx_arena_init(&r.arena);
	r.conf = &conf;
	r.rejects = stderr;
	r.several = files.n > 1;
	r.tty = isatty(STDERR_FILENO);
	r.show_progress = conf.progress || r.tty;
	if (conf.rejects && !(r.rejects = open_out(conf.rejects))) {
		fprintf(stderr, "kx-produce: cannot open '%s': %s\n",
			conf.rejects, strerror(errno));
		r.rejects = NULL;
		goto out;
	}
	/* A missing input is a usage error found before anything is sent,
	 * not after the files before it have gone out. */
	for (size_t i = 0; i < files.n; i++) {
		FILE *fp;
		if (!strcmp(files.v[i], "-"))
			continue;
		if (!(fp = fopen(files.v[i], "r"))) {
			fprintf(stderr, "kx-produce: cannot open '%s': %s\n",
				files.v[i], strerror(errno));
			goto out;
		}
		fclose(fp);
	}
	if (setup(&r, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "kx-produce: %s\n", errbuf);
		goto out;
	}
	r.sending = r.sender != NULL;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &r.started);
	r.last_progress = r.started;

	for (size_t i = 0; i < (files.n ? files.n : 1) && !interrupted; i++) {
		const char *name = files.n ? files.v[i] : "-";
		FILE *fp = strcmp(name, "-") ? fopen(name, "r") : stdin;

		if (!fp) {
			fprintf(stderr, "kx-produce: cannot open '%s': %s\n",
				name, strerror(errno));
			io_error = true;
			continue;
		}
		rc = strcmp(conf.format, "csv") ? feed_jsonl(&r, fp, name)
						: feed_csv(&r, fp, name,
							   family);
		if (rc)
			io_error = true;
		if (fp != stdin)
			fclose(fp);
		if (rc && rc != KX_EPARSE && rc != KX_EIO)
			break;
	}

	if (r.sender) {
		sender_drain(r.sender, &aborted);
		sender_stats(r.sender, &st);
		/* Destroyed before the closing line, so that no librdkafka
		 * log line can come after it. */
		sender_free(r.sender);
		r.sender = NULL;
		r.final = st;
	}
	progress(&r, true);
	if (conf.dry_run)
		fprintf(stderr, "read %ld, valid %ld, rejected %ld\n", r.read,
			r.valid, r.rejected);
	else
		fprintf(stderr, "read %ld, sent %ld, rejected %ld, failed %ld\n",
			r.read, st.acked, r.rejected, st.failed);
	if (st.rebuilds)
		fprintf(stderr,
			"kx-produce: the producer was rebuilt %ld time(s) after "
			"a fatal error; some events may have been sent twice "
			"(the consumer counts them once)\n",
			st.rebuilds);

	if (interrupted)
		status = EXIT_INTERRUPTED;
	else if (st.failed)
		status = EXIT_FAILED;
	else if (io_error)
		status = EXIT_USAGE;
	else if (r.rejected)
		status = EXIT_REJECTED;
	else
		status = 0;
out:
	sender_free(r.sender);
	if (r.failed && close_out(r.failed)) {
		fprintf(stderr, "kx-produce: cannot write '%s': %s\n",
			conf.failed, strerror(errno));
		status = EXIT_USAGE;
	}
	if (r.rejects && r.rejects != stderr && close_out(r.rejects)) {
		fprintf(stderr, "kx-produce: cannot write '%s': %s\n",
			conf.rejects, strerror(errno));
		status = EXIT_USAGE;
	}
	kx_codec_free(r.codec);
	kx_buf_release(&r.value);
	kx_buf_release(&r.json);
	kx_arena_release(&r.arena);
	kx_strv_release(&files);
	kx_conf_release(options, &conf);
	return status;
}
