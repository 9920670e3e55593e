#!/usr/bin/env python3
"""kx-admin migrate upgrades a populated schema-version-1 database: the
views and `kx-admin verify` come out the same, and kx-aggregate goes on
from the stored offsets into the upgraded schema.

The version-1 database is made from consumers/sql/001_init.sql alone, then
given the entity states, parties, history and offsets of a scenario that
kx-aggregate filled, and its version-1 aggregates by its own kx.rebuild().

Usage (through with-stack.sh): test_migrate.py
"""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aggtest import TOP, Suite, die, psql_raw  # noqa: E402

TABLES = ["parties", "events", "pairings", "visits", "practices", "transfers",
          "consumer_offsets"]


def psql_file(conninfo, path):
    rc, out, err = psql_raw(conninfo, open(path, encoding="utf-8").read())
    if rc:
        die("cannot apply %s: %s" % (path, err))


def copy_table(src, dst, table):
    """Copies the columns dst's table has (a version-1 table lacks those
    that later migrations add)."""
    rc, out, err = psql_raw(dst, "SELECT string_agg(column_name, ', ' ORDER BY "
                                 "ordinal_position) FROM information_schema.columns "
                                 "WHERE table_schema = 'kx' AND table_name = '%s'"
                            % table)
    if rc:
        die(err)
    cols = out.strip()
    out = subprocess.run(["psql", "-X", "-q", src, "-c",
                          "COPY (SELECT %s FROM kx.%s) TO STDOUT" % (cols, table)],
                         stdout=subprocess.PIPE, check=True).stdout
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dst, "-c",
                    "COPY kx.%s (%s) FROM STDIN" % (table, cols)], input=out,
                   check=True, stdout=subprocess.DEVNULL)


# The newest schema version: the number of the last migration file.
LATEST = max(int(f[:3]) for f in os.listdir(os.path.join(TOP, "consumers", "sql"))
             if f[:3].isdigit())


def v1_database_upgrades(suite):
    sc = suite.scenario("v2")
    sc.produce_file(sc.kxgen(11, 3000, extra=("--dup-rate", "0.02",
                                              "--ooo-rate", "0.05")))
    sc.aggregate()
    want = sc.views()

    old = suite.scenario("v1", prefix=sc.prefix)
    # Back to version 1: a fresh schema from the first migration only.
    rc, out, err = psql_raw(old.db, "DROP SCHEMA kx CASCADE")
    if rc:
        die(err)
    psql_file(old.db, os.path.join(TOP, "consumers", "sql", "001_init.sql"))
    psql_raw(old.db, "CREATE TABLE kx.schema_migrations (version int PRIMARY "
                     "KEY, name text NOT NULL, applied_at timestamptz NOT NULL "
                     "DEFAULT now()); INSERT INTO kx.schema_migrations VALUES "
                     "(1, '001_init.sql')")
    for t in TABLES:
        copy_table(sc.db, old.db, t)
    psql_raw(old.db, "SELECT setval('kx.parties_party_id_seq', "
                     "(SELECT max(party_id) FROM kx.parties)); "
                     "SELECT kx.rebuild()")
    old.res.eq("version 1 database: agg_party has its shard column", "1",
               old.q1("SELECT count(*) FROM information_schema.columns WHERE "
                      "table_schema = 'kx' AND table_name = 'agg_party' AND "
                      "column_name = 'shard'"))
    old.res.eq("version 1 database: same views", want, old.views())

    rc, out, err = old.admin("migrate")
    old.res.true("migrate from version 1: exit 0, at version %d" % LATEST,
                 rc == 0 and "version %d" % LATEST in out, out + err)
    old.check_verify("after migrate")
    old.res.eq("after migrate: same views", want, old.views())
    # Version 4: the party statement finds a programme x goal cell's goal
    # cell by kx.cells.goal_cell_id, for old cells and for new ones.
    old.res.eq("after migrate: every programme x goal cell names its goal "
               "cell", "0",
               old.q1("SELECT count(*) FROM kx.cells c LEFT JOIN kx.cells g "
                      "ON g.cell_id = c.goal_cell_id WHERE c.dim = 2 AND "
                      "(g.dim IS DISTINCT FROM 1 OR g.goal <> c.goal)"))
    old.res.eq("a programme x goal cell inserted later gets its goal cell",
               old.q1("SELECT cell_id FROM kx.cells WHERE dim = 1 AND "
                      "goal = 9"),
               old.q1("BEGIN; INSERT INTO kx.cells (dim, programme, goal, "
                      "target) VALUES (2, 'LATER', 9, '') RETURNING "
                      "goal_cell_id; ROLLBACK"))

    # More events, on top of both: the upgraded database keeps up.
    sc.produce_file(sc.kxgen(12, 2000, name="more.jsonl",
                             extra=("--dup-rate", "0.02")))
    sc.aggregate()
    old.env["KX_GROUP"] = sc.group
    old.aggregate()
    old.check_verify("after more events")
    old.res.eq("after more events: views as a database made at version 2",
               sc.views(), old.views())


if __name__ == "__main__":
    sys.exit(Suite("agg_migrate").run([v1_database_upgrades]))
