#!/usr/bin/env python3
"""Two kx-aggregate instances in one consumer group, on the 6 partitions of
each topic, give the same views as one instance reading the same topics
into another database under another group. Both instances run with
--until-caught-up: each must exit 0 only once every partition, its own and
the other's, has reached the end found at start-up.
"""

import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aggtest import Suite  # noqa: E402

N_EVENTS = int(os.environ.get("AGG_TWO_N", "10000"))


def total_messages(sc):
    """Sum of the high watermarks of the scenario's topics, by kcat."""
    total = 0
    for fam in ("pairings", "visits", "practices"):
        p = subprocess.run(["kcat", "-Q", "-b", os.environ["KX_BROKERS"]]
                           + sum([["-t", "%s%s:%d:-1" % (sc.prefix, fam, i)]
                                  for i in range(6)], []),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        for line in p.stdout.decode().splitlines():
            total += int(line.rsplit(" ", 1)[1])
    return total


def two_instances(suite):
    two = suite.scenario("two")
    events = two.kxgen(seed=11, n=N_EVENTS)
    two.produce_file(events)
    # Two instances, the second joining while the first is busy, in
    # batches small enough to interleave and to be cut by rebalances.
    cmd = two.aggregate_cmd("--batch-max", "50", level="info")
    logs = [open(os.path.join(two.tmp, "inst%d.log" % i), "w+") for i in (1, 2)]
    procs = [subprocess.Popen(cmd, env=two.env, stdout=subprocess.DEVNULL, stderr=logs[0])]
    # The second joins as soon as the first has its partitions: a
    # rebalance in the middle of the run, with most of the work left.
    for _ in range(300):
        logs[0].seek(0)
        if "assigned" in logs[0].read():
            break
        time.sleep(0.05)
    logs[0].seek(0, 2)
    procs.append(subprocess.Popen(cmd, env=two.env, stdout=subprocess.DEVNULL, stderr=logs[1]))
    rcs = []
    deadline = time.time() + 400
    for p in procs:
        try:
            rcs.append(p.wait(timeout=max(1, deadline - time.time())))
        except subprocess.TimeoutExpired:
            p.kill()
            rcs.append(p.wait())
    texts = []
    for f in logs:
        f.seek(0)
        texts.append(f.read())
        f.close()
    if os.environ.get("AGG_SHOW_LOGS"):
        for i, t in enumerate(texts, 1):
            print("# instance %d log:\n# " % i + t.replace("\n", "\n# "))
    two.res.eq("both instances exit 0 with --until-caught-up", [0, 0], rcs)
    for i, t in enumerate(texts, 1):
        assigned = [int(l.split("assigned ")[1].split()[0]) for l in t.splitlines()
                    if "assigned " in l]
        two.res.true("instance %d was given partitions" % i,
                     any(a > 0 for a in assigned), t[-2000:])
    # Every message accounted for in the stored offsets: nobody exited
    # before the other's partitions were done.
    two.res.eq("stored offsets reach the end of every partition",
               str(total_messages(two)),
               two.q1("SELECT sum(next_offset) FROM kx.consumer_offsets"))
    one = suite.scenario("one", prefix=two.prefix)
    one.aggregate(timeout=400)
    v2, v1 = two.views(), one.views()
    for name in v1:
        two.res.eq("view %s: two instances give what one gives (%d rows)"
                   % (name, len(v1[name])), v1[name], v2[name])
    for q in ("SELECT count(*) FROM kx.events",
              "SELECT count(*) FROM kx.rejected_events",
              "SELECT count(*), count(DISTINCT (country, name_key)) FROM kx.parties",
              "SELECT md5(string_agg(pairing_id || state || programme || last_event_id, ',' "
              "ORDER BY pairing_id)) FROM kx.pairings",
              "SELECT md5(string_agg(visit_id || state || programme || coalesce(held_participants, -1), ',' "
              "ORDER BY visit_id)) FROM kx.visits"):
        two.res.eq("same %s" % q[:60], one.q(q), two.q(q))
    two.res.true("the scenario is not trivial",
                 int(one.q1("SELECT count(*) FROM kx.events")) > N_EVENTS // 2)
    two.check_verify("two instances")
    one.check_verify("one instance")


if __name__ == "__main__":
    sys.exit(Suite("agg_two").run([two_instances]))
