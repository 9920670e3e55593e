/*
 * kx-report: prints one of the dashboard views of CONTRACT §3 as a table,
 * CSV or JSON, or all of them as one self-contained HTML dashboard page
 * (--format html, html.c), which --serve also serves live (serve.c). The
 * view name selects a fixed query from the table below; no SQL is built
 * from what the user typed.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/conf.h"

#include "kxdb.h"
#include "report_int.h"

struct config {
	char *db;
	char *format;
	char *out;
	char *serve;
};

#define OFF(f) offsetof(struct config, f)
static const struct kx_conf_entry options[] = {
	{"db", 'd', KX_CONF_STR, "", "KX_DB", OFF(db), "CONNINFO",
	 "libpq connection string; empty uses the PG* variables", 0, 0},
	{"format", 'f', KX_CONF_STR, "table", "KX_REPORT_FORMAT", OFF(format),
	 "table|csv|json|html",
	 "output format; html writes the whole dashboard page", 0, 0},
	{"out", 'o', KX_CONF_STR, NULL, NULL, OFF(out), "FILE",
	 "write to FILE instead of standard output", 0, 0},
	{"serve", 0, KX_CONF_STR, NULL, "KX_REPORT_SERVE", OFF(serve),
	 "ADDR:PORT", "serve the HTML dashboard live at http://ADDR:PORT/", 0,
	 0},
	KX_CONF_END};

static const struct view {
	const char *name;
	const char *sql;
} views[] = {
	{"programme_progress",
	 "SELECT * FROM kx.programme_progress ORDER BY programme"},
	{"sdg_progress", "SELECT * FROM kx.sdg_progress ORDER BY sdg_goal"},
	{"programme_sdg_progress",
	 "SELECT * FROM kx.programme_sdg_progress ORDER BY programme, "
	 "sdg_goal"},
	{"sdg_target_progress",
	 "SELECT * FROM kx.sdg_target_progress ORDER BY sdg_goal, "
	 "split_part(sdg_target, '.', 2) !~ '^[0-9]+$', "
	 "lpad(split_part(sdg_target, '.', 2), 2, '0')"},
	{"pairing_funnel",
	 "SELECT * FROM kx.pairing_funnel ORDER BY programme, "
	 "array_position(ARRAY['proposed', 'matched', 'agreement_signed', "
	 "'action_plan_adopted', 'completed', 'suspended', 'withdrawn'], "
	 "state)"},
	{"monthly_activity",
	 "SELECT * FROM kx.monthly_activity ORDER BY month, programme"},
	{"target_progress",
	 "SELECT * FROM kx.target_progress ORDER BY programme, measure"},
	{"programme_targets",
	 "SELECT * FROM kx.programme_targets ORDER BY programme, measure"},
	/* Beyond CONTRACT §3: the v2 attributes (migration 003). */
	{"pairing_budgets",
	 "SELECT * FROM kx.pairing_budgets ORDER BY programme"},
	{"visit_outcomes", "SELECT * FROM kx.visit_outcomes ORDER BY programme"},
	{"rejected_events",
	 "SELECT id, topic, partition, kafka_offset, reason, rejected_at, "
	 "length(value) AS value_bytes FROM kx.rejected_events ORDER BY id"},
};

#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_NUMERIC 1700

static void
usage(FILE *fp)
{
	fputs("usage: kx-report [OPTION...] [VIEW]\n"
	      "       kx-report --format html [--out FILE]\n"
	      "       kx-report --serve ADDR:PORT\n\n"
	      "Prints a KX dashboard view (default: programme_progress), or "
	      "with\n--format html the whole dashboard as one self-contained "
	      "page. Views:\n",
	      fp);
	for (size_t i = 0; i < sizeof(views) / sizeof(*views); i++)
		fprintf(fp, "  %s\n", views[i].name);
	fputs("\nOptions:\n", fp);
	kx_conf_usage(fp, options);
	fputs("\nExit status: 0 printed (--serve: stopped by SIGINT or SIGTERM); "
	      "2 usage,\nconnection, query or write error.\n",
	      fp);
}

static bool
numeric(Oid t)
{
	return t == OID_INT8 || t == OID_INT2 || t == OID_INT4 ||
	       t == OID_NUMERIC;
}

static void
print_table(FILE *fp, PGresult *res)
{
	int nf = PQnfields(res), nr = PQntuples(res);
	int *w = calloc((size_t)nf + 1, sizeof(int));

	if (!w)
		return;
	for (int c = 0; c < nf; c++) {
		w[c] = (int)strlen(PQfname(res, c));
		for (int r = 0; r < nr; r++)
			if (PQgetlength(res, r, c) > w[c])
				w[c] = PQgetlength(res, r, c);
	}
	for (int c = 0; c < nf; c++)
		fprintf(fp, "%s%-*s", c ? "  " : "", w[c], PQfname(res, c));
	fputc('\n', fp);
	for (int c = 0; c < nf; c++) {
		fprintf(fp, "%s", c ? "  " : "");
		for (int i = 0; i < w[c]; i++)
			fputc('-', fp);
	}
	fputc('\n', fp);
	for (int r = 0; r < nr; r++) {
		for (int c = 0; c < nf; c++) {
			const char *v = PQgetvalue(res, r, c);
			if (numeric(PQftype(res, c)))
				fprintf(fp, "%s%*s", c ? "  " : "", w[c], v);
			else
				fprintf(fp, "%s%-*s", c ? "  " : "", w[c], v);
		}
		fputc('\n', fp);
	}
	fprintf(fp, "(%d row%s)\n", nr, nr == 1 ? "" : "s");
	free(w);
}

static void
csv_field(FILE *fp, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

static void
print_csv(FILE *fp, PGresult *res)
{
	int nf = PQnfields(res);

	for (int c = 0; c < nf; c++) {
		if (c)
			fputc(',', fp);
		csv_field(fp, PQfname(res, c));
	}
	fputc('\n', fp);
	for (int r = 0; r < PQntuples(res); r++) {
		for (int c = 0; c < nf; c++) {
			if (c)
				fputc(',', fp);
			csv_field(fp, PQgetvalue(res, r, c));
		}
		fputc('\n', fp);
	}
}

static json_t *
json_value(PGresult *res, int r, int c)
{
	const char *v = PQgetvalue(res, r, c);

	if (PQgetisnull(res, r, c))
		return json_null();
	switch (PQftype(res, c)) {
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		return json_integer(strtoll(v, NULL, 10));
	case OID_NUMERIC:
		return json_real(strtod(v, NULL));
	case OID_BOOL:
		return json_boolean(v[0] == 't');
	default:
		return json_string(v);
	}
}

static int
print_json(FILE *fp, PGresult *res)
{
	json_t *rows = json_array();
	int rc;

	for (int r = 0; r < PQntuples(res); r++) {
		json_t *row = json_object();
		for (int c = 0; c < PQnfields(res); c++)
			json_object_set_new(row, PQfname(res, c),
					    json_value(res, r, c));
		json_array_append_new(rows, row);
	}
	rc = json_dumpf(rows, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', fp);
	json_decref(rows);
	return rc;
}

int
main(int argc, char **argv)
{
	struct config conf = {0};
	struct kx_strv args = {0};
	const struct view *view = NULL;
	const char *name;
	char errbuf[512];
	PGconn *conn = NULL;
	PGresult *res = NULL;
	FILE *out = stdout, *mem = NULL;
	char *page = NULL;
	size_t page_len = 0;
	bool html;
	int rc, status = 2;

	if (!kx_conf_start(options, &conf, argc, argv, &args, "kx-report",
			   KX_VERSION, usage, &status))
		goto out;
	html = !strcmp(conf.format, "html");
	if (strcmp(conf.format, "table") && strcmp(conf.format, "csv") &&
	    strcmp(conf.format, "json") && !html) {
		fprintf(stderr,
			"kx-report: 'format': '%s' is not table, csv, "
			"json or html\n",
			conf.format);
		goto out;
	}
	if (conf.serve) {
		if (args.n || conf.out) {
			fprintf(stderr, "kx-report: --serve takes no view and "
					"no --out\n");
			goto out;
		}
		if (kx__serve(conf.serve, conf.db, errbuf, sizeof(errbuf))) {
			fprintf(stderr, "kx-report: %s\n", errbuf);
			goto out;
		}
		status = 0;
		goto out;
	}
	if (html && args.n) {
		fprintf(stderr, "kx-report: --format html shows every view; "
				"give no view name\n");
		goto out;
	}
	if (args.n > 1) {
		fprintf(stderr, "kx-report: one view at a time (see --help)\n");
		goto out;
	}
	name = args.n ? args.v[0] : "programme_progress";
	if (!strncmp(name, "kx.", 3))
		name += 3;
	for (size_t i = 0; i < sizeof(views) / sizeof(*views); i++)
		if (!strcmp(views[i].name, name))
			view = &views[i];
	if (!view) {
		fprintf(stderr, "kx-report: unknown view '%s' (see --help)\n",
			name);
		goto out;
	}
	if (!(conn = kxdb_connect(conf.db, errbuf, sizeof(errbuf)))) {
		fprintf(stderr, "kx-report: %s\n", errbuf);
		goto out;
	}
	if (html) {
		/* The page goes to memory first, so a failed query leaves no
		 * half-written file behind. */
		if (!(mem = open_memstream(&page, &page_len))) {
			fprintf(stderr, "kx-report: out of memory\n");
			goto out;
		}
		rc = kx__html_render(conn, mem, errbuf, sizeof(errbuf));
		fclose(mem);
		if (rc) {
			fprintf(stderr, "kx-report: %s\n", errbuf);
			goto out;
		}
	} else {
		res = PQexec(conn, view->sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			kxdb_error(conn, "cannot read the view", errbuf,
				   sizeof(errbuf));
			fprintf(stderr, "kx-report: %s\n", errbuf);
			goto out;
		}
	}
	if (conf.out && !(out = fopen(conf.out, "w"))) {
		fprintf(stderr, "kx-report: cannot open '%s': %s\n", conf.out,
			strerror(errno));
		out = stdout;
		goto out;
	}
	if (html)
		fwrite(page, 1, page_len, out);
	else if (!strcmp(conf.format, "csv"))
		print_csv(out, res);
	else if (!strcmp(conf.format, "json"))
		print_json(out, res);
	else
		print_table(out, res);
	status = 0;
	if (out == stdout && fflush(out)) {
		fprintf(stderr, "kx-report: cannot write: %s\n",
			strerror(errno));
		status = 2;
	}
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "kx-report: cannot write '%s': %s\n", conf.out,
			strerror(errno));
		status = 2;
	}
	out = stdout;
out:
	free(page);
	PQclear(res);
	if (conn)
		PQfinish(conn);
	kx_strv_release(&args);
	kx_conf_release(options, &conf);
	return status;
}
