#!/usr/bin/env python3
"""Generated events (tools/kxgen, with many duplicates, late events and
re-tags) against an independent model of the contract (oracle.py): every
view must equal what the model computes from the input, after a first
file and again after a second file that continues the same entities.
"""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402
from aggtest import Suite  # noqa: E402

N = int(os.environ.get("AGG_ORACLE_N", "5000"))
GEN = ["--ooo-rate", "0.15", "--retag-rate", "0.3", "--dup-rate", "0.05"]


def generated(suite):
    sc = suite.scenario("generated")
    lines = []
    for seed, n in ((21, N), (22, N // 2)):
        path = sc.kxgen(seed, n, name="gen-%d.jsonl" % seed, extra=GEN)
        with open(path, encoding="utf-8") as fp:
            lines += fp.readlines()
        sc.produce_file(path)
        sc.aggregate("--batch-max", "97")
        oracle.compare(sc, lines, "after seed %d" % seed)
        sc.check_verify("after seed %d" % seed)


if __name__ == "__main__":
    sys.exit(Suite("agg_oracle").run([generated]))
