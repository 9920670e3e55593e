/*
 * kx-admin: schema migrations, the aggregate check and repair, targets,
 * and topic creation. Each subcommand is one short function; all of them
 * report errors once, here, with an exit status: 0 success, 1 a check
 * found differences (verify) or bad rows (targets load), 2 usage, config,
 * connection or I/O errors.
 */
#include <csv.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kx/conf.h"
#include "kx/event.h"
#include "kx/kafka.h"
#include "kxdb.h"
#include "schemas.h"

struct config {
	char *db;
	char *brokers;
	struct kx_strv props;
	char *topic_prefix;
	long partitions;
	long replication;
	bool replace;
	bool yes;
};

#define OFF(f) offsetof(struct config, f)

/* The memory settings of verify's and rebuild's transactions, whose
 * recomputation groups every current entity's cells and parties. Hash
 * tables get 64 MB: at 10M events of history the party references need
 * ~33 MB, and with 16 MB they spilled to disk (2.3 times as long).
 * work_mem itself stays at 8 MB: with 64 MB the planner sorted the cells
 * instead, and verify took 1.5 times as long at 1M events. Both are set,
 * so the plans do not depend on the server's settings. See
 * docs/performance.md. */
#define KX_ADMIN_MEMORY                                                       \
	"SET LOCAL work_mem = '8MB'; SET LOCAL hash_mem_multiplier = 8"

static const struct kx_conf_entry options[] = {
	{"db", 'd', KX_CONF_STR, "", "KX_DB", OFF(db), "CONNINFO",
	 "libpq connection string; empty uses the PG* variables", 0, 0},
	{"brokers", 'b', KX_CONF_STR, NULL, "KX_BROKERS", OFF(brokers),
	 "HOST:PORT,...", "Kafka bootstrap servers (topics)", 0, 0},
	{"property", 'X', KX_CONF_LIST, NULL, NULL, OFF(props), "KEY=VALUE",
	 "any librdkafka property (topics; repeatable)", 0, 0},
	{"topic-prefix", 0, KX_CONF_STR, "kx.", "KX_TOPIC_PREFIX",
	 OFF(topic_prefix), "PREFIX", "prefix of the topic names", 0, 0},
	{"partitions", 0, KX_CONF_INT, "6", NULL, OFF(partitions), "N",
	 "partitions per topic (topics create)", 1, 10000},
	{"replication-factor", 0, KX_CONF_INT, "1", NULL, OFF(replication),
	 "N", "replicas per partition (topics create)", 1, 100},
	{"replace", 0, KX_CONF_BOOL, "false", NULL, OFF(replace), NULL,
	 "targets load: delete targets the file does not list", 0, 0},
	{"yes", 0, KX_CONF_BOOL, "false", NULL, OFF(yes), NULL,
	 "topics delete: do delete (without it, only say what would go)", 0,
	 0},
	KX_CONF_END};

static void
usage(FILE *fp)
{
	fputs("usage: kx-admin [OPTION...] COMMAND\n\n"
	      "Commands:\n"
	      "  migrate            create or upgrade the schema kx "
	      "(idempotent)\n"
	      "  verify             recompute every aggregate from the entity "
	      "states; exit 1\n"
	      "                     and name each difference if any\n"
	      "  rebuild            replace the aggregates with their "
	      "recomputation\n"
	      "                     (both take minutes on a long history; "
	      "on a terminal they\n"
	      "                     show the seconds so far)\n"
	      "  targets load FILE  load programme targets from CSV "
	      "(programme,measure,target)\n"
	      "  topics create      create the KX topics (existing ones are "
	      "kept);\n"
	      "                     returns once the broker serves them\n"
	      "  topics delete --yes\n"
	      "                     delete the KX topics of --topic-prefix "
	      "and every event\n"
	      "                     in them (missing ones are skipped)\n"
	      "  schemas check [DIR]\n"
	      "                     prove every schema version against every "
	      "other, both\n"
	      "                     ways (Avro resolution rules); DIR holds a "
	      "catalogue.txt,\n"
	      "                     else the catalogue built into KX is "
	      "checked; exit 1 on a\n"
	      "                     breaking change\n\nOptions:\n",
	      fp);
	kx_conf_usage(fp, options);
}

static PGconn *
connect_db(const struct config *c)
{
	char errbuf[512];
	PGconn *conn = kxdb_connect(c->db, errbuf, sizeof(errbuf));

	if (!conn)
		fprintf(stderr, "kx-admin: %s\n", errbuf);
	return conn;
}

static int
cmd_migrate(const struct config *c)
{
	char errbuf[1024];
	PGconn *conn = connect_db(c);
	int applied, version;

	if (!conn)
		return 2;
	if (kxdb_migrate(conn, &applied, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "kx-admin: %s\n", errbuf);
		PQfinish(conn);
		return 2;
	}
	version = kxdb_schema_version(conn, errbuf, sizeof(errbuf));
	printf("kx-admin: schema kx at version %d (%d migration%s applied)\n",
	       version, applied, applied == 1 ? "" : "s");
	PQfinish(conn);
	return 0;
}

static int
require_schema(PGconn *conn)
{
	char errbuf[512];
	int v = kxdb_schema_version(conn, errbuf, sizeof(errbuf));

	if (v < 0) {
		fprintf(stderr, "kx-admin: %s\n", errbuf);
		return -1;
	}
	if (v < (int)kxdb_migrations[kxdb_migrations_len - 1].version) {
		fprintf(stderr,
			"kx-admin: schema kx is at version %d, this kx-admin "
			"needs %d: run 'kx-admin migrate'\n",
			v, kxdb_migrations[kxdb_migrations_len - 1].version);
		return -1;
	}
	return 0;
}

/*
 * PQexec() for the recomputations, which take minutes on a long history:
 * on a terminal, stderr shows how long the statement has been running,
 * once a second, from the first second on. Like PQexec(), it returns the
 * last result of a multi-statement string (NULL if the query could not
 * be sent).
 */
static PGresult *
exec_shown(PGconn *conn, const char *sql, const char *what)
{
	PGresult *res, *last = NULL;
	time_t start = time(NULL), shown = start;

	if (!isatty(STDERR_FILENO))
		return PQexec(conn, sql);
	if (!PQsendQuery(conn, sql))
		return NULL;
	for (;;) {
		while (PQisBusy(conn)) {
			struct pollfd pfd = {.fd = PQsocket(conn),
					     .events = POLLIN};
			time_t now;

			if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
				break;
			if (!PQconsumeInput(conn))
				break; /* PQgetResult() reports the error */
			now = time(NULL);
			if (now != shown) {
				fprintf(stderr, "\rkx-admin: %s: %lld s", what,
					(long long)(now - start));
				shown = now;
			}
		}
		if (!(res = PQgetResult(conn)))
			break;
		PQclear(last);
		last = res;
	}
	if (shown != start)
		fputc('\n', stderr);
	return last;
}

static int
cmd_verify(const struct config *c)
{
	PGconn *conn = connect_db(c);
	PGresult *res;
	int n, status;

	if (!conn)
		return 2;
	if (require_schema(conn)) {
		PQfinish(conn);
		return 2;
	}
	/* One snapshot for the whole comparison. A BEGIN or SET the server
	 * refuses is the last result: nothing after it runs. */
	res = exec_shown(conn,
			 "BEGIN ISOLATION LEVEL REPEATABLE READ; " KX_ADMIN_MEMORY
			 "; SELECT tbl, row_key, measure, stored::text, "
			 "expected::text FROM kx.verify_differences ORDER BY "
			 "1, 2, 3",
			 "verify: recomputing every aggregate");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char errbuf[512];
		kxdb_error(conn, "cannot verify", errbuf, sizeof(errbuf));
		fprintf(stderr, "kx-admin: %s\n", errbuf);
		PQclear(res);
		PQfinish(conn);
		return 2;
	}
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
		printf("%s %s: '%s' is %s, recomputed %s\n",
		       PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		       PQgetvalue(res, i, 2),
		       PQgetisnull(res, i, 3) ? "absent" : PQgetvalue(res, i, 3),
		       PQgetisnull(res, i, 4) ? "absent"
					      : PQgetvalue(res, i, 4));
	if (n) {
		fprintf(stderr, "kx-admin: verify found %d difference%s\n", n,
			n == 1 ? "" : "s");
		status = 1;
	} else {
		printf("kx-admin: verify ok: every aggregate equals its "
		       "recomputation\n");
		status = 0;
	}
	PQclear(res);
	PQclear(PQexec(conn, "COMMIT"));
	PQfinish(conn);
	return status;
}

static int
cmd_rebuild(const struct config *c)
{
	PGconn *conn = connect_db(c);
	PGresult *res;
	int status = 0;

	if (!conn)
		return 2;
	if (require_schema(conn)) {
		PQfinish(conn);
		return 2;
	}
	res = exec_shown(conn,
			 "BEGIN; " KX_ADMIN_MEMORY
			 "; SELECT kx.rebuild(); COMMIT",
			 "rebuild: recomputing every aggregate");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		char errbuf[512];
		kxdb_error(conn, "cannot rebuild", errbuf, sizeof(errbuf));
		fprintf(stderr, "kx-admin: %s\n", errbuf);
		status = 2;
	} else {
		printf("kx-admin: aggregates rebuilt from the entity states\n");
	}
	PQclear(res);
	PQfinish(conn);
	return status;
}

/* ---- targets load ---- */

struct targets {
	PGconn *conn;
	const char *file;
	char *field[4];
	int nfield;
	long record;
	long loaded, bad;
	bool header_done;
	int failed; /* database error */
};

static void
on_field(void *data, size_t len, void *opaque)
{
	struct targets *t = opaque;

	if (t->nfield < 4)
		t->field[t->nfield] = strndup(data ? data : "", len);
	t->nfield++;
}

static bool
measure_known(const char *m)
{
	static const char *const measures[] = {
		"pairings_proposed", "pairings_active", "pairings_completed",
		"pairings_suspended", "pairings_withdrawn",
		"action_plans_adopted", "pilot_projects", "visits_planned",
		"visits_held", "visits_cancelled", "participants",
		"practices_documented", "transfers_in_progress",
		"transfers_replicated", "transfers_abandoned", "countries",
		"partners"};

	for (size_t i = 0; i < sizeof(measures) / sizeof(*measures); i++)
		if (!strcmp(m, measures[i]))
			return true;
	return false;
}

static void
on_record(int c, void *opaque)
{
	struct targets *t = opaque;
	enum kx_programme p;
	char *end;
	long long target;

	(void)c;
	t->record++;
	if (t->nfield != 3) {
		fprintf(stderr, "%s: record %ld: expected 3 fields "
				"(programme,measure,target), got %d\n",
			t->file, t->record, t->nfield);
		t->bad++;
		goto out;
	}
	if (!t->header_done) {
		const char *f0 = t->field[0];
		t->header_done = true;
		/* A UTF-8 byte order mark, as spreadsheets write it. */
		if (!strncmp(f0, "\xEF\xBB\xBF", 3))
			f0 += 3;
		if (!strcmp(f0, "programme"))
			goto out;
	}
	errno = 0;
	target = strtoll(t->field[2], &end, 10);
	if (kx_programme_parse(t->field[0], &p)) {
		fprintf(stderr, "%s: record %ld: 'programme': '%s' is not one "
				"of IUC, IURC, ICP-AGIR, URBELAC, RPD\n",
			t->file, t->record, t->field[0]);
		t->bad++;
	} else if (!measure_known(t->field[1])) {
		fprintf(stderr, "%s: record %ld: 'measure': '%s' is not an "
				"integer column of kx.programme_progress\n",
			t->file, t->record, t->field[1]);
		t->bad++;
	} else if (!*t->field[2] || *end || target < 0 || errno == ERANGE) {
		fprintf(stderr, "%s: record %ld: 'target': '%s' is not a "
				"non-negative integer\n",
			t->file, t->record, t->field[2]);
		t->bad++;
	} else if (!t->failed) {
		const char *params[3] = {t->field[0], t->field[1], t->field[2]};
		PGresult *res = PQexecParams(
			t->conn,
			"INSERT INTO kx.programme_targets (programme, measure, "
			"target) VALUES ($1, $2, $3) ON CONFLICT (programme, "
			"measure) DO UPDATE SET target = EXCLUDED.target",
			3, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			t->failed = 1;
		else
			t->loaded++;
		PQclear(res);
	}
out:
	for (int i = 0; i < 4 && i < t->nfield; i++)
		free(t->field[i]);
	t->nfield = 0;
}

static int
cmd_targets_load(const struct config *c, const char *file)
{
	struct targets t = {0};
	struct csv_parser p;
	char buf[8192], errbuf[512];
	size_t n;
	FILE *fp = fopen(file, "r");
	int status = 2;

	if (!fp) {
		fprintf(stderr, "kx-admin: cannot open '%s': %s\n", file,
			strerror(errno));
		return 2;
	}
	t.file = file;
	if (!(t.conn = connect_db(c))) {
		fclose(fp);
		return 2;
	}
	if (require_schema(t.conn))
		goto out;
	csv_init(&p, CSV_APPEND_NULL | CSV_STRICT | CSV_STRICT_FINI);
	PQclear(PQexec(t.conn, "BEGIN"));
	if (c->replace)
		PQclear(PQexec(t.conn, "DELETE FROM kx.programme_targets"));
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		if (csv_parse(&p, buf, n, on_field, on_record, &t) != n)
			break;
	/* A parse error (a stray or unterminated quote) must not pass for
	 * the end of the file. */
	if (csv_error(&p) != CSV_SUCCESS ||
	    csv_fini(&p, on_field, on_record, &t) != 0) {
		fprintf(stderr, "kx-admin: cannot parse '%s': %s; nothing was "
				"loaded\n",
			file, csv_strerror(csv_error(&p)));
		csv_free(&p);
		PQclear(PQexec(t.conn, "ROLLBACK"));
		status = 1;
		goto out;
	}
	csv_free(&p);
	if (ferror(fp)) {
		fprintf(stderr, "kx-admin: cannot read '%s': %s\n", file,
			strerror(errno));
		PQclear(PQexec(t.conn, "ROLLBACK"));
		goto out;
	}
	if (t.failed) {
		kxdb_error(t.conn, "cannot load targets", errbuf,
			   sizeof(errbuf));
		fprintf(stderr, "kx-admin: %s\n", errbuf);
		PQclear(PQexec(t.conn, "ROLLBACK"));
		goto out;
	}
	/* All or nothing: a file with a bad row changes nothing. */
	if (t.bad) {
		PQclear(PQexec(t.conn, "ROLLBACK"));
		fprintf(stderr, "kx-admin: '%s' has %ld bad record%s; nothing "
				"was loaded\n",
			file, t.bad, t.bad == 1 ? "" : "s");
		status = 1;
		goto out;
	}
	PQclear(PQexec(t.conn, "COMMIT"));
	printf("kx-admin: loaded %ld target%s from '%s'\n", t.loaded,
	       t.loaded == 1 ? "" : "s", file);
	status = 0;
out:
	PQfinish(t.conn);
	fclose(fp);
	return status;
}

/* ---- topics create ---- */

/*
 * Whether the broker's metadata has every one of the n topics, each with
 * all its partitions led. A topic created a moment ago is unknown to it
 * for a while (seconds, on a broker that has just started), and whoever
 * comes next, a producer or kx-aggregate --check, would not find it.
 */
static bool
topics_ready(rd_kafka_t *rk, char names[][256], size_t n)
{
	const struct rd_kafka_metadata *md;
	size_t ready = 0;

	if (rd_kafka_metadata(rk, 1, NULL, &md, 5000))
		return false;
	for (int t = 0; t < md->topic_cnt; t++) {
		const struct rd_kafka_metadata_topic *mt = &md->topics[t];
		bool ours = false, led = !mt->err && mt->partition_cnt > 0;
		for (size_t i = 0; i < n; i++)
			ours = ours || !strcmp(mt->topic, names[i]);
		for (int p = 0; ours && led && p < mt->partition_cnt; p++)
			led = mt->partitions[p].leader >= 0;
		ready += ours && led;
	}
	rd_kafka_metadata_destroy(md);
	return ready == n;
}

/* A client for the admin requests, or NULL after saying why. */
static rd_kafka_t *
admin_client(const struct config *c)
{
	rd_kafka_conf_t *kconf;
	rd_kafka_t *rk;
	char errbuf[512];

	if (!(kconf = kx_kafka_conf_new(c->brokers, NULL, &c->props, errbuf,
					sizeof(errbuf)))) {
		fprintf(stderr, "kx-admin: %s\n", errbuf);
		return NULL;
	}
	if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, errbuf,
				sizeof(errbuf)))) {
		rd_kafka_conf_destroy(kconf);
		fprintf(stderr, "kx-admin: %s\n", errbuf);
		return NULL;
	}
	return rk;
}

/* Waits for an admin request's result on q: NULL after saying why. */
static rd_kafka_event_t *
admin_result(rd_kafka_queue_t *q, const char *what)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 60000);

	if (!ev || rd_kafka_event_error(ev)) {
		fprintf(stderr, "kx-admin: cannot %s topics: %s\n", what,
			ev ? rd_kafka_event_error_string(ev)
			   : "no answer from Kafka within 60 s");
		if (ev)
			rd_kafka_event_destroy(ev);
		return NULL;
	}
	return ev;
}

/*
 * Says how each topic of an admin request went: done (e.g. "deleted"), or
 * skipped for the error that means there was nothing to do. Returns 0, or
 * 2 when one failed.
 */
static int
topic_results(const rd_kafka_topic_result_t **res, size_t n,
	      const char *what, const char *done, rd_kafka_resp_err_t skip,
	      const char *skipped)
{
	int status = 0;

	for (size_t i = 0; i < n; i++) {
		rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
		const char *name = rd_kafka_topic_result_name(res[i]);
		if (err == skip) {
			printf("kx-admin: topic '%s' %s\n", name, skipped);
		} else if (err) {
			fprintf(stderr, "kx-admin: cannot %s topic '%s': %s\n",
				what, name,
				rd_kafka_topic_result_error_string(res[i]));
			status = 2;
		} else {
			printf("kx-admin: topic '%s' %s\n", name, done);
		}
	}
	return status;
}

static int
cmd_topics_create(const struct config *c)
{
	rd_kafka_NewTopic_t *topics[KX_FAMILY__COUNT] = {0};
	char names[KX_FAMILY__COUNT][256];
	rd_kafka_t *rk;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_topic_result_t **res;
	char errbuf[512], done[64];
	size_t n;
	int status = 2;

	if (!(rk = admin_client(c)))
		return 2;
	for (int f = 0; f < KX_FAMILY__COUNT; f++) {
		char *name = names[f];
		kx_kafka_topic(c->topic_prefix, f, name, sizeof(names[f]));
		topics[f] = rd_kafka_NewTopic_new(name, (int)c->partitions,
						  (int)c->replication, errbuf,
						  sizeof(errbuf));
		if (!topics[f]) {
			fprintf(stderr, "kx-admin: topic '%s': %s\n", name,
				errbuf);
			goto out;
		}
	}
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, topics, KX_FAMILY__COUNT, NULL, q);
	if (!(ev = admin_result(q, "create")))
		goto out;
	res = rd_kafka_CreateTopics_result_topics(
		rd_kafka_event_CreateTopics_result(ev), &n);
	snprintf(done, sizeof(done), "created (%ld partitions)",
		 c->partitions);
	status = topic_results(res, n, "create", done,
			       RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, "exists");
	/* Done when they can be used, not when the controller has them. */
	for (int waited = 0; status == 0 &&
			     !topics_ready(rk, names, KX_FAMILY__COUNT);
	     waited += 200) {
		if (waited >= 30000) {
			fprintf(stderr, "kx-admin: the topics are not in the "
					"broker's metadata after 30 s\n");
			status = 2;
		} else {
			poll(NULL, 0, 200);
		}
	}
out:
	if (ev)
		rd_kafka_event_destroy(ev);
	if (q)
		rd_kafka_queue_destroy(q);
	for (int f = 0; f < KX_FAMILY__COUNT; f++)
		if (topics[f])
			rd_kafka_NewTopic_destroy(topics[f]);
	rd_kafka_destroy(rk);
	return status;
}

/* ---- topics delete ---- */

static int
cmd_topics_delete(const struct config *c)
{
	rd_kafka_DeleteTopic_t *topics[KX_FAMILY__COUNT] = {0};
	char names[KX_FAMILY__COUNT][256];
	rd_kafka_t *rk;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_topic_result_t **res;
	size_t n;
	int status = 2;

	for (int f = 0; f < KX_FAMILY__COUNT; f++)
		kx_kafka_topic(c->topic_prefix, f, names[f],
			       sizeof(names[f]));
	if (!c->yes) {
		fprintf(stderr, "kx-admin: topics delete would delete");
		for (int f = 0; f < KX_FAMILY__COUNT; f++)
			fprintf(stderr, "%s '%s'", f ? "," : "", names[f]);
		fprintf(stderr, " and every event in them; add --yes to do "
				"it\n");
		return 2;
	}
	if (!(rk = admin_client(c)))
		return 2;
	for (int f = 0; f < KX_FAMILY__COUNT; f++)
		if (!(topics[f] = rd_kafka_DeleteTopic_new(names[f]))) {
			fprintf(stderr, "kx-admin: out of memory\n");
			goto out;
		}
	q = rd_kafka_queue_new(rk);
	rd_kafka_DeleteTopics(rk, topics, KX_FAMILY__COUNT, NULL, q);
	if (!(ev = admin_result(q, "delete")))
		goto out;
	res = rd_kafka_DeleteTopics_result_topics(
		rd_kafka_event_DeleteTopics_result(ev), &n);
	status = topic_results(res, n, "delete", "deleted",
			       RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
			       "does not exist");
out:
	if (ev)
		rd_kafka_event_destroy(ev);
	if (q)
		rd_kafka_queue_destroy(q);
	for (int f = 0; f < KX_FAMILY__COUNT; f++)
		if (topics[f])
			rd_kafka_DeleteTopic_destroy(topics[f]);
	rd_kafka_destroy(rk);
	return status;
}

int
main(int argc, char **argv)
{
	struct config conf = {0};
	struct kx_strv args = {0};
	int status = 2;
	const char *cmd;

	if (!kx_conf_start(options, &conf, argc, argv, &args, "kx-admin",
			   KX_VERSION, usage, &status))
		goto out;
	cmd = args.n ? args.v[0] : "";
	if (!strcmp(cmd, "migrate") && args.n == 1)
		status = cmd_migrate(&conf);
	else if (!strcmp(cmd, "verify") && args.n == 1)
		status = cmd_verify(&conf);
	else if (!strcmp(cmd, "rebuild") && args.n == 1)
		status = cmd_rebuild(&conf);
	else if (!strcmp(cmd, "targets") && args.n == 3 &&
		 !strcmp(args.v[1], "load"))
		status = cmd_targets_load(&conf, args.v[2]);
	else if (!strcmp(cmd, "topics") && args.n == 2 &&
		 !strcmp(args.v[1], "create"))
		status = cmd_topics_create(&conf);
	else if (!strcmp(cmd, "topics") && args.n == 2 &&
		 !strcmp(args.v[1], "delete"))
		status = cmd_topics_delete(&conf);
	else if (!strcmp(cmd, "schemas") && (args.n == 2 || args.n == 3) &&
		 !strcmp(args.v[1], "check"))
		status = kx_admin_schemas_check(args.n == 3 ? args.v[2] : NULL);
	else {
		/* Every word given: for "topics list", naming only
		 * "topics", a known command, would mislead. */
		if (*cmd) {
			fputs("kx-admin: unknown command '", stderr);
			for (size_t i = 0; i < args.n; i++)
				fprintf(stderr, "%s%s", i ? " " : "",
					args.v[i]);
			fputs("'\n", stderr);
		}
		usage(stderr);
		status = 2;
	}
out:
	kx_strv_release(&args);
	kx_conf_release(options, &conf);
	return status;
}
