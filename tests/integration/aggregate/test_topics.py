#!/usr/bin/env python3
"""kx-admin topics create and delete: an unknown subcommand is named
whole; delete refuses without --yes and deletes nothing then; with it, it
deletes the prefix's three topics (and only those), and a second run finds
nothing to delete.
"""

import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aggtest import Suite, run  # noqa: E402

FAMILIES = ("pairings", "visits", "practices")


def listed(prefix):
    """The broker's topics that start with prefix."""
    rc, out, err = run(["kcat", "-L", "-J", "-b", os.environ["KX_BROKERS"]])
    if rc:
        return None
    return sorted(t["topic"] for t in json.loads(out)["topics"]
                  if t["topic"].startswith(prefix))


def gone(prefix, seconds=30):
    """Waits for the broker to drop the prefix's topics (deletion is
    asynchronous); returns what it still lists."""
    left = listed(prefix)
    for _ in range(seconds * 5):
        if left == []:
            break
        time.sleep(0.2)
        left = listed(prefix)
    return left


def topics(suite):
    sc = suite.scenario("topics")
    other = suite.scenario("other")
    mine = sorted(sc.prefix + f for f in FAMILIES)
    sc.res.eq("topics create made the three topics", mine, listed(sc.prefix))

    rc, out, err = sc.admin("topics", "list")
    sc.res.eq("topics list (no such command): exit 2", 2, rc)
    sc.res.true("topics list: named whole as unknown, then the usage",
                "unknown command 'topics list'" in err and "usage:" in err,
                err)

    rc, out, err = sc.admin("topics", "delete")
    sc.res.eq("without --yes: exit 2", 2, rc)
    sc.res.true("without --yes: it says what would go and how to do it",
                all(t in err for t in mine) and "--yes" in err, err)
    time.sleep(1)
    sc.res.eq("without --yes: nothing deleted", mine, listed(sc.prefix))

    rc, out, err = sc.admin("topics", "delete", "--yes")
    sc.res.true("--yes: exit 0", rc == 0, err)
    sc.res.true("--yes: each topic said deleted",
                all("topic '%s' deleted" % t in out for t in mine), out)
    sc.res.eq("--yes: the topics are gone", [], gone(sc.prefix))
    sc.res.eq("another prefix's topics stay",
              sorted(other.prefix + f for f in FAMILIES), listed(other.prefix))

    rc, out, err = sc.admin("topics", "delete", "--yes")
    sc.res.true("again: exit 0", rc == 0, err)
    sc.res.true("again: each topic said missing",
                all("topic '%s' does not exist" % t in out for t in mine), out)


if __name__ == "__main__":
    sys.exit(Suite("agg_topics").run([topics]))
