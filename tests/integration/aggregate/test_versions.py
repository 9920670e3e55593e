#!/usr/bin/env python3
"""Mixed schema versions in one topic: kx-produce writes half the events
with the v1 schemas (--schema-version 1) and half with v2, into the same
topics; kx-aggregate reads both, and every view equals the independent
model of the contract (oracle.py) and kx-admin verify passes.
"""

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402
from aggtest import BIN, Suite, pairing, practice, visit  # noqa: E402

N = int(os.environ.get("AGG_VERSIONS_N", "3000"))
GEN = ["--ooo-rate", "0.1", "--retag-rate", "0.2", "--dup-rate", "0.03"]


def mixed(suite):
    sc = suite.scenario("mixed")
    with open(sc.kxgen(41, N, extra=GEN), encoding="utf-8") as fp:
        lines = fp.readlines()
    ids = {}
    for version in (1, 2):
        path = os.path.join(sc.tmp, "v%d.jsonl" % version)
        with open(path, "w", encoding="utf-8") as fp:
            fp.writelines(lines[version - 1::2])
        p = subprocess.run([os.path.join(BIN, "kx-produce"),
                            "--schema-version", str(version), path],
                           env=sc.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
        sc.res.eq("kx-produce --schema-version %d exits 0" % version, 0,
                  p.returncode)
    # The topics really hold both versions: the schema id of every value
    # (bytes 1-4), read with kcat; values are cut at a marker that the
    # generated Avro payloads never contain.
    import struct
    for fam in ("pairings", "visits", "practices"):
        out = subprocess.run(["kcat", "-C", "-b", os.environ["KX_BROKERS"],
                              "-t", sc.prefix + fam, "-e", "-q",
                              "-f", "%s<<KX-END>>"],
                             stdout=subprocess.PIPE, timeout=120).stdout
        seen = {}
        for v in out.split(b"<<KX-END>>")[:-1]:
            sid = struct.unpack(">i", v[1:5])[0]
            seen[sid] = seen.get(sid, 0) + 1
        ids[fam] = seen
    sc.res.true("every topic holds v1 and v2 messages: %r" % ids,
                all(a > 0 and b > 0 for a, b in ids.values()))
    oracle.aggregate_and_check(sc, lines, "v1 and v2 mixed", 300)


def produce_v(sc, version, *events):
    """Sends events with kx-produce --schema-version version."""
    path = os.path.join(sc.tmp, "v%d-%d.jsonl" % (version, len(os.listdir(sc.tmp))))
    with open(path, "w", encoding="utf-8") as fp:
        for ev in events:
            fp.write(json.dumps(ev, ensure_ascii=False) + "\n")
    p = subprocess.run([os.path.join(BIN, "kx-produce"), "--schema-version",
                        str(version), path], env=sc.env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if p.returncode:
        sc.res.true("kx-produce v%d" % version, False, p.stderr.decode())


def v2_attributes(suite):
    """The v2 attributes land on the entity states under the snapshot rule,
    and kx.pairing_budgets and kx.visit_outcomes sum them."""
    sc = suite.scenario("v2_attributes")
    sectors = {"public_sector": 10, "private_sector": 5, "academia": 3,
               "civil_society": 2}
    produce_v(sc, 2,
              pairing("P-1", "proposed", "2025-01-10T09:00:00Z", budget_eur=250000),
              pairing("P-2", "matched", "2025-01-11T09:00:00Z", budget_eur=40000),
              visit("V-1", "held", "2025-03-02T10:00:00Z", participants=25,
                    participants_by_sector=sectors, follow_up="pilot",
                    report_url="https://reports.example.org/V-1"),
              visit("V-2", "held", "2025-03-03T10:00:00Z", participants=8),
              dict(practice("BP-1", "2025-02-01T10:00:00Z"),
                   url="https://practices.example.org/BP-1"))
    sc.aggregate()
    sc.res.eq("pairing_budgets after v2 events",
              [("IURC", "2", "2", "290000")],
              sc.q("SELECT * FROM kx.pairing_budgets"))
    sc.res.eq("visit_outcomes after v2 events",
              [("IURC", "2", "1", "10", "5", "3", "2", "1", "0", "1", "0")],
              sc.q("SELECT * FROM kx.visit_outcomes"))
    sc.res.eq("the practice's url", "https://practices.example.org/BP-1",
              sc.q1("SELECT url FROM kx.practices WHERE practice_id = 'BP-1'"))

    # A newer v1 event is a snapshot without a budget; an older v2 one is
    # stale; a late older visit.held only moves the first-held marker, and
    # the row it rewrites keeps its v2 attributes.
    produce_v(sc, 1, pairing("P-1", "matched", "2025-01-20T09:00:00Z"))
    produce_v(sc, 2,
              pairing("P-2", "proposed", "2025-01-01T09:00:00Z", budget_eur=1),
              visit("V-1", "held", "2025-03-01T10:00:00Z", participants=25))
    sc.aggregate()
    sc.res.eq("pairing_budgets after a newer v1 and a stale v2 event",
              [("IURC", "2", "1", "40000")],
              sc.q("SELECT * FROM kx.pairing_budgets"))
    sc.res.eq("V-1 keeps its v2 attributes when a late event moves a marker",
              [("2025-03-01 10:00:00+00", "10", "pilot",
                "https://reports.example.org/V-1")],
              sc.q("SELECT first_held_at, public_sector, follow_up, report_url "
                   "FROM kx.visits WHERE visit_id = 'V-1'"))
    sc.check_verify("v2 attributes")


if __name__ == "__main__":
    sys.exit(Suite("agg_versions").run([mixed, v2_attributes]))
