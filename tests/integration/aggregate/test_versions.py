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
from aggtest import BIN, Suite  # noqa: E402

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


if __name__ == "__main__":
    sys.exit(Suite("agg_versions").run([mixed]))
