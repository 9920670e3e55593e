#!/usr/bin/env python3
"""Two kx-aggregate instances in one consumer group, on the 6 partitions of
each topic, give the same views as one instance reading the same topics
into another database under another group.

Both instances run as services. Half the events are in Kafka before they
start; the other half is sent only once both hold partitions, so the two
really share live work (a run where the first instance finishes before the
second joins proves nothing, and timing alone cannot rule that out). When
the stored offsets reach the end of every partition, both get SIGTERM and
must exit 0.
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


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def log_text(f):
    f.seek(0)
    return f.read()


def assigned_counts(text):
    return [int(l.split("assigned ")[1].split()[0]) for l in text.splitlines()
            if "assigned " in l]


def two_instances(suite):
    two = suite.scenario("two")
    events = two.kxgen(seed=11, n=N_EVENTS)
    with open(events, encoding="utf-8") as fp:
        lines = fp.read().splitlines()
    half = len(lines) // 2
    two.produce_lines(lines[:half])
    # Services, not --until-caught-up, in batches small enough to be cut
    # by rebalances.
    cmd = [c for c in two.aggregate_cmd("--batch-max", "50", level="info")
           if c != "--until-caught-up"]
    logs = [open(os.path.join(two.tmp, "inst%d.log" % i), "a+") for i in (1, 2)]
    procs = [subprocess.Popen(cmd, env=two.env, stdout=subprocess.DEVNULL, stderr=logs[0])]
    wait_for(lambda: any(assigned_counts(log_text(logs[0]))), 30)
    procs.append(subprocess.Popen(cmd, env=two.env, stdout=subprocess.DEVNULL, stderr=logs[1]))
    both = wait_for(lambda: any(a > 0 for a in assigned_counts(log_text(logs[1]))), 90)
    two.res.true("the second instance joined and was given partitions", both,
                 log_text(logs[1])[-2000:])
    # The second half arrives while both own partitions.
    two.produce_lines(lines[half:])
    total = total_messages(two)
    done = wait_for(lambda: two.q1("SELECT coalesce(sum(next_offset), 0) "
                                   "FROM kx.consumer_offsets") == str(total), 400)
    two.res.true("stored offsets reach the end of every partition", done,
                 two.q1("SELECT sum(next_offset) FROM kx.consumer_offsets"))
    rcs = []
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            rcs.append(p.wait(timeout=60))
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
    two.res.eq("both instances exit 0 on SIGTERM", [0, 0], rcs)
    for i, t in enumerate(texts, 1):
        two.res.true("instance %d was given partitions" % i,
                     any(a > 0 for a in assigned_counts(t)), t[-2000:])
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
