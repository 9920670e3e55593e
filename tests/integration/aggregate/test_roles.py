#!/usr/bin/env python3
"""Roles made by kx-admin migrate: kx_reader reads the dashboard views and
nothing else, and writes nothing; kx_writer runs the consumer and the
admin commands.
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aggtest import VIEWS, Suite, pairing, psql_raw, visit  # noqa: E402


def as_role(sc, role):
    return re.sub(r"user=\S+", "", sc.db) + " user=" + role


def roles(suite):
    sc = suite.scenario("roles")
    writer_env = dict(sc.env, KX_DB=as_role(sc, "kx_writer"))
    sc.produce(pairing("R1", "matched", "2025-02-01T00:00:00Z"),
               visit("RV1", "held", "2025-03-01T00:00:00Z", participants=4))
    # The consumer and kx-admin need no more than kx_writer.
    sc.aggregate(env=writer_env)
    sc.res.eq("kx_writer: kx-aggregate folds the events", ("1", "1"),
              sc.progress("IURC", ["pairings_active", "visits_held"]))
    rc, out, err = sc.admin("verify", env=writer_env)
    sc.res.eq("kx_writer: kx-admin verify", 0, rc)
    rc, out, err = sc.admin("rebuild", env=writer_env)
    sc.res.eq("kx_writer: kx-admin rebuild", 0, rc)
    reader = as_role(sc, "kx_reader")
    for v in VIEWS + ["programme_targets"]:
        rc, out, err = psql_raw(reader, "SELECT count(*) FROM kx.%s" % v)
        sc.res.true("kx_reader can SELECT kx.%s" % v, rc == 0, err)
    denied = [
        "SELECT * FROM kx.events", "SELECT * FROM kx.pairings",
        "SELECT * FROM kx.visits", "SELECT * FROM kx.agg_cell",
        "SELECT * FROM kx.agg_party", "SELECT * FROM kx.parties",
        "SELECT * FROM kx.consumer_offsets", "SELECT * FROM kx.cell_totals",
        "SELECT * FROM kx.expected_cell", "SELECT * FROM kx.verify_differences",
        "INSERT INTO kx.programme_targets VALUES ('IURC', 'visits_held', 1)",
        "UPDATE kx.programme_targets SET target = 1",
        "DELETE FROM kx.programme_targets",
        "UPDATE kx.agg_cell SET visits_held = 0",
        "DELETE FROM kx.events",
        "INSERT INTO kx.rejected_events (group_id, topic, partition, kafka_offset, reason) "
        "VALUES ('g', 't', 0, 0, 'r')",
        "DELETE FROM kx.rejected_events",
        "UPDATE kx.consumer_offsets SET next_offset = 0",
        "SELECT kx.rebuild()",
        "CREATE TABLE kx.mine (x int)",
    ]
    for sql in denied:
        rc, out, err = psql_raw(reader, sql)
        sc.res.true("kx_reader may not: %s" % sql[:60],
                    rc != 0 and "permission denied" in err, "rc=%d %s" % (rc, err))
    writer = as_role(sc, "kx_writer")
    for sql in ["INSERT INTO kx.programme_targets VALUES ('IURC', 'visits_held', 1)",
                "UPDATE kx.programme_targets SET target = 2",
                "DELETE FROM kx.programme_targets",
                "SELECT count(*) FROM kx.events"]:
        rc, out, err = psql_raw(writer, sql)
        sc.res.true("kx_writer may: %s" % sql[:60], rc == 0, err)
    sc.check_verify("roles")


if __name__ == "__main__":
    sys.exit(Suite("agg_roles").run([roles]))
