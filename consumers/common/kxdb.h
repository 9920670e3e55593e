/*
 * What the consumer-side programs share about PostgreSQL: connecting from
 * --db / KX_DB / PG* settings, and the schema migrations, embedded from
 * consumers/sql at build time.
 */
#ifndef KXDB_H
#define KXDB_H

#include <libpq-fe.h>
#include <stddef.h>

struct kxdb_migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct kxdb_migration kxdb_migrations[];
extern const size_t kxdb_migrations_len;

/*
 * Connects with a libpq conninfo (empty: the PG* variables only). Returns
 * the connection, or NULL with a one-line reason in errbuf.
 */
PGconn *kxdb_connect(const char *conninfo, char *errbuf, size_t errlen);

/*
 * Applies every migration newer than the schema's version, each in its own
 * transaction, under an advisory lock so concurrent runs wait for each
 * other. *applied receives how many ran. Returns 0, or -1 with a reason.
 */
int kxdb_migrate(PGconn *conn, int *applied, char *errbuf, size_t errlen);

/* The schema's version, 0 when kx is not migrated; -1 on error. */
int kxdb_schema_version(PGconn *conn, char *errbuf, size_t errlen);

/* Copies the connection's error, on one line, into errbuf. */
void kxdb_error(PGconn *conn, const char *what, char *errbuf, size_t errlen);

#endif
