/*
 * Shared PostgreSQL helpers for kx-admin and kx-report. Migrations are
 * strictly ordered by version and recorded in kx.schema_migrations, so
 * "migrate" is idempotent and an upgrade applies only what is new.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxdb.h"

void
kxdb_error(PGconn *conn, const char *what, char *errbuf, size_t errlen)
{
	snprintf(errbuf, errlen, "%s: %s", what,
		 conn ? PQerrorMessage(conn) : "no connection");
	for (char *p = errbuf; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ' ' : '\0';
}

PGconn *
kxdb_connect(const char *conninfo, char *errbuf, size_t errlen)
{
	PGconn *conn = PQconnectdb(conninfo ? conninfo : "");

	if (PQstatus(conn) != CONNECTION_OK) {
		kxdb_error(conn, "cannot connect to PostgreSQL", errbuf,
			   errlen);
		PQfinish(conn);
		return NULL;
	}
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	return conn;
}

static int
exec(PGconn *conn, const char *sql, const char *what, char *errbuf,
     size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType s = PQresultStatus(res);

	PQclear(res);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		kxdb_error(conn, what, errbuf, errlen);
		return -1;
	}
	return 0;
}

int
kxdb_schema_version(PGconn *conn, char *errbuf, size_t errlen)
{
	PGresult *res = PQexec(
		conn, "SELECT CASE WHEN to_regclass('kx.schema_migrations') "
		      "IS NULL THEN 0 ELSE (SELECT coalesce(max(version), 0) "
		      "FROM kx.schema_migrations) END");
	int v = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		v = atoi(PQgetvalue(res, 0, 0));
	else
		kxdb_error(conn, "cannot read the schema version", errbuf,
			   errlen);
	PQclear(res);
	return v;
}

int
kxdb_migrate(PGconn *conn, int *applied, char *errbuf, size_t errlen)
{
	int current, rc = -1;

	*applied = 0;
	if (exec(conn, "SELECT pg_advisory_lock(7250001)", "cannot lock",
		 errbuf, errlen))
		return -1;
	if (exec(conn,
		 "CREATE SCHEMA IF NOT EXISTS kx; CREATE TABLE IF NOT EXISTS "
		 "kx.schema_migrations (version int PRIMARY KEY, name text NOT "
		 "NULL, applied_at timestamptz NOT NULL DEFAULT now())",
		 "cannot create kx.schema_migrations", errbuf, errlen))
		goto out;
	if ((current = kxdb_schema_version(conn, errbuf, errlen)) < 0)
		goto out;
	for (size_t i = 0; i < kxdb_migrations_len; i++) {
		const struct kxdb_migration *m = &kxdb_migrations[i];
		char version[16], what[160];
		const char *params[2] = {version, m->name};
		PGresult *res;

		if (m->version <= current)
			continue;
		snprintf(what, sizeof(what), "migration '%s' failed", m->name);
		if (exec(conn, "BEGIN", what, errbuf, errlen))
			goto out;
		if (exec(conn, m->sql, what, errbuf, errlen)) {
			PQclear(PQexec(conn, "ROLLBACK"));
			goto out;
		}
		snprintf(version, sizeof(version), "%d", m->version);
		res = PQexecParams(conn,
				   "INSERT INTO kx.schema_migrations (version, "
				   "name) VALUES ($1, $2)",
				   2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			kxdb_error(conn, what, errbuf, errlen);
			PQclear(res);
			PQclear(PQexec(conn, "ROLLBACK"));
			goto out;
		}
		PQclear(res);
		if (exec(conn, "COMMIT", what, errbuf, errlen))
			goto out;
		(*applied)++;
	}
	rc = 0;
out:
	PQclear(PQexec(conn, "SELECT pg_advisory_unlock(7250001)"));
	return rc;
}
