#!/usr/bin/env python3
"""One regression scenario per bug found in kx-aggregate and kx-admin,
each named after its bug (see README.md in this folder).

Usage (through with-stack.sh): test_regressions.py [SCENARIO...]
"""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aggtest import (BIN, MEASURES, Suite, measures, pairing, run,  # noqa: E402
                     transfer, practice, party)
from test_poison import kcat_send  # noqa: E402


def ends_read_before_leaders_settle(suite):
    """--until-caught-up and --check read the end offsets at start-up; on
    topics created a moment before, the broker answers 'Not leader for
    partition' for a while, and kx-aggregate gave up with exit 2."""
    sc = suite.scenario("ends_leaders")
    for i in range(3):
        prefix = "%s.fresh%d." % (sc.prefix.rstrip("."), i)
        env = dict(sc.env, KX_TOPIC_PREFIX=prefix)
        sc.create_topics(prefix)
        rc, out, err = run([os.path.join(BIN, "kx-aggregate"), "--until-caught-up",
                            "--log-level", "warn"], env=env, timeout=120)
        sc.res.true("fresh topics %d: --until-caught-up exits 0" % i, rc == 0, err)


def entity_ids_buffer_used_after_realloc(suite):
    """load_entities() took the address of the entity-id array literal
    before appending its closing brace; when that append grew the buffer,
    libpq read freed memory: the batch failed forever with 'invalid byte
    sequence for encoding UTF8', or loaded the wrong entities. Five
    48-character ids make the literal exactly 255 bytes before the brace,
    so the brace crosses the buffer's first 256-byte capacity."""
    sc = suite.scenario("ids_realloc")
    ids = ["P%047d" % i for i in range(5)]
    assert all(len(i) == 48 for i in ids)
    sc.produce(*[pairing(i, "proposed", "2025-01-0%dT00:00:00Z" % (n + 1))
                 for n, i in enumerate(ids)])
    sc.aggregate("--batch-max", "1", timeout=120)  # created one per batch
    sc.produce(*[pairing(i, "matched", "2025-02-0%dT00:00:00Z" % (n + 1))
                 for n, i in enumerate(ids)])
    sc.aggregate(timeout=60)  # one batch loads all five
    sc.res.eq("five stored pairings updated in one batch",
              measures(pairings_active=5, countries=2, partners=2),
              sc.progress("IURC", MEASURES))
    sc.check_verify("ids_realloc")


def rejected_null_value_stored_as_empty(suite):
    """A message with a NULL value (a tombstone) was recorded in
    kx.rejected_events with an empty value, so it could not be told from a
    message with an empty value."""
    sc = suite.scenario("null_value")
    topic = sc.prefix + "visits"
    kcat_send(sc, topic, 0, "k-null", b"", null=True)
    kcat_send(sc, topic, 0, "k-empty", b"", null=False)
    sc.aggregate()
    sc.res.eq("NULL stays NULL, empty stays empty",
              [("k-empty", "f", "0"), ("k-null", "t", "")],
              sc.q("SELECT convert_from(key, 'UTF8'), value IS NULL, length(value) "
                   "FROM kx.rejected_events ORDER BY 1"))


def check_accepts_bad_http_address(suite):
    """--check said 'config ok' for an --http address kx-aggregate could
    never listen on; the address is now checked with the rest of the
    config, before any connection."""
    sc = suite.scenario("http_addr")
    agg = os.path.join(BIN, "kx-aggregate")
    for addr in ("localhost", "127.0.0.1:", "127.0.0.1:99x", "127.0.0.1:70000",
                 "example.org:80"):
        rc, out, err = run([agg, "--check", "--http", addr], env=sc.env, timeout=60)
        sc.res.true("--check --http %s: exit 2 naming 'http'" % addr,
                    rc == 2 and "'http'" in err, "rc=%s %s" % (rc, err))
    rc, out, err = run([agg, "--check", "--http", "127.0.0.1:9464"], env=sc.env,
                       timeout=120)
    sc.res.eq("--check --http 127.0.0.1:9464: exit 0", 0, rc)


def targets_load_lenient_csv(suite):
    """kx-admin targets load took a target beyond bigint as a database error
    (exit 2) instead of a bad record (exit 1), read a header written with a
    UTF-8 byte order mark as a bad programme, and let a stray quote pass."""
    sc = suite.scenario("targets_csv")
    path = os.path.join(sc.tmp, "t.csv")

    def load(text):
        with open(path, "wb") as fp:
            fp.write(text)
        return sc.admin("targets", "load", path)

    rc, out, err = load(b"\xef\xbb\xbfprogramme,measure,target\nIURC,visits_held,4\n")
    sc.res.eq("a header with a byte order mark: exit 0", 0, rc)
    rc, out, err = load(b"IURC,visits_held,99999999999999999999\n")
    sc.res.true("a target beyond bigint: exit 1, a bad record",
                rc == 1 and "record 1" in err, "rc=%d %s" % (rc, err))
    rc, out, err = load(b'IURC,visits_held,7\nIURC,"partners"x,3\n')
    sc.res.true("a stray quote: exit 1", rc == 1, "rc=%d %s" % (rc, err))
    rc, out, err = load(b'IURC,visits_held,7\nIURC,"partners,3\n')
    sc.res.true("an unterminated quote: exit 1", rc == 1, "rc=%d %s" % (rc, err))
    sc.res.eq("nothing loaded by the bad files",
              [("IURC", "visits_held", "4")],
              sc.q("SELECT programme, measure, target FROM kx.programme_targets"))


def odd_entity_keys(suite):
    """Entity keys with quotes, backslashes, commas, braces and the word
    NULL travel through the array parameters and COPY intact, and so does
    text with backslashes (control characters are refused before COPY).
    (Not a bug found: a guard on the code the buffer bug was in, and on
    the COPY writer.)"""
    sc = suite.scenario("odd_keys")
    keys = ['a"b', "c\\d", "{e,f}", "NULL", " sp ", "Київ-1"]
    title = 'back\\slash, \\\\two, "q" {x,y} \\N\\'
    odd = practice("odd-title", "2025-01-01T00:00:00Z")
    odd["title"] = title
    sc.produce(odd, *[pairing(k, "proposed", "2025-01-01T00:00:00Z")
                      for k in keys])
    sc.aggregate()
    sc.res.eq("text with backslashes is stored intact",
              [(title,)],
              sc.q("SELECT title FROM kx.practices "
                   "WHERE practice_id = 'odd-title'"))
    sc.produce(*[pairing(k, "matched", "2025-02-01T00:00:00Z") for k in keys])
    sc.aggregate()
    sc.res.eq("every odd key is one pairing, updated in place",
              sorted((k, "matched") for k in keys),
              sorted(sc.q("SELECT pairing_id, state FROM kx.pairings")))
    sc.check_verify("odd_keys")


def transfer_under_two_practices(suite):
    """A transfer_id reported under a second practice_id arrives on another
    partition (transfers are keyed by practice): its counts move shard
    with it. (Not a bug found with one instance; see README.)"""
    sc = suite.scenario("transfer_shard")
    sc.produce(practice("PA", "2025-01-01T00:00:00Z"),
               practice("PB", "2025-01-02T00:00:00Z"),
               transfer("T1", "PA", "planned", "2025-02-01T00:00:00Z"))
    sc.aggregate()
    sc.produce(transfer("T1", "PB", "replicated", "2025-03-01T00:00:00Z"))
    sc.aggregate()
    sc.res.eq("one transfer, replicated", ("0", "1", "2"),
              sc.progress("IURC", ["transfers_in_progress", "transfers_replicated",
                                   "practices_documented"]))
    sc.check_verify("transfer_shard")


def readyz_stale_while_idle(suite):
    """/readyz followed PostgreSQL only through batches, and Kafka only
    through messages: an idle consumer said 'ready' with the database
    down, and 'unreachable' long after Kafka was back. Idle, it now probes
    both every 2 s."""
    import signal
    import subprocess
    from test_service import free_port, get
    from aggtest import TOP
    sc = suite.scenario("readyz")
    stack = os.path.join(TOP, "deploy", "local", "kx-stack")
    port = free_port()
    url = "http://127.0.0.1:%d/readyz" % port
    proc = subprocess.Popen([os.path.join(BIN, "kx-aggregate"), "--http",
                             "127.0.0.1:%d" % port, "--log-level", "error"],
                            env=sc.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def wait_for(status, secs):
        got = None
        for _ in range(secs * 5):
            got = get(url)
            if got[0] == status:
                break
            time.sleep(0.2)
        return got

    stopped = False
    try:
        sc.res.eq("idle and up: /readyz 200", 200, wait_for(200, 20)[0])
        rc, out, err = run([stack, "stop", "postgresql"], timeout=120)
        stopped = rc == 0
        sc.res.true("kx-stack stop postgresql", stopped, err)
        got = wait_for(503, 15)
        sc.res.true("idle, PostgreSQL down: /readyz 503 within 15 s",
                    got[0] == 503 and "postgresql unreachable" in got[1], repr(got))
        rc, out, err = run([stack, "start", "postgresql"], timeout=120)
        stopped = rc != 0
        sc.res.true("kx-stack start postgresql", rc == 0, err)
        sc.res.eq("idle, PostgreSQL back: /readyz 200", 200, wait_for(200, 30)[0])
        proc.send_signal(signal.SIGTERM)
        sc.res.eq("SIGTERM: exit 0", 0, proc.wait(timeout=60))
    finally:
        if stopped:
            run([stack, "start", "postgresql"], timeout=120)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def entity_created_meanwhile(suite, name, *args):
    """The scenario of new_entity_created_meanwhile, kx-aggregate run with
    args."""
    import subprocess
    sc = suite.scenario(name)
    sc.produce(pairing("PX", "matched", "2025-03-01T00:00:00Z"),
               pairing("PY", "proposed", "2025-03-02T00:00:00Z"))
    hold = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", sc.db],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    hold.stdin.write(
        "BEGIN;\n"
        "INSERT INTO kx.pairings (pairing_id, shard, programme, state, source, "
        "cooperation_type, pilot_projects, sdgs, goals, targets, themes, "
        "party_ids, last_event_at, last_event_id) VALUES ('PX', 0, 'IURC', "
        "'proposed', 'other', 'bilateral', 0, '{}', '{}', '{}', '{}', '{}', "
        "'2025-01-01T00:00:00Z', '00000000-0000-4000-8000-000000000000');\n"
        "INSERT INTO kx.agg_cell (dim, programme, goal, target, shard, "
        "entities, pairings_proposed, last_event_at) VALUES (0, 'IURC', 0, "
        "'', 0, 1, 1, '2025-01-01T00:00:00Z');\n")
    hold.stdin.flush()
    # The row must be in place (uncommitted) before kx-aggregate loads.
    for _ in range(300):
        if sc.q1("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                 "current_database() AND state = 'idle in transaction'") == "1":
            break
        time.sleep(0.1)

    proc = subprocess.Popen(sc.aggregate_cmd(*args), env=sc.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    rc, err = None, ""
    try:
        blocked = False
        for _ in range(600):
            if sc.q1("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                     "current_database() AND wait_event_type = 'Lock' AND "
                     "query LIKE 'COPY s_party%'") == "1":
                blocked = True
                break
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        # The last query, which inserts the pairing, opens with the party
        # deltas' COPY (pg_stat_activity keeps only its first 1 KB).
        sc.res.true("kx-aggregate's insert of the new pairing waits on "
                    "the uncommitted row", blocked)
        hold.stdin.write("COMMIT;\n")
        hold.stdin.close()
        sc.res.eq("the other transaction commits", 0, hold.wait(timeout=60))
        rc = proc.wait(timeout=120)
        err = proc.stderr.read()
    finally:
        for p in (proc, hold):
            if p.poll() is None:
                p.kill()
                p.wait()
    sc.res.true("kx-aggregate exits 0, having read the batch again",
                rc == 0 and "the batch is read again" in err, err)
    sc.res.eq("the newer state is stored",
              [("PX", "matched", "agg-test"), ("PY", "proposed", "agg-test")],
              sc.q("SELECT pairing_id, state, source FROM kx.pairings "
                   "ORDER BY 1"))
    sc.res.eq("each pairing counted once",
              measures(pairings_active=1, pairings_proposed=1, countries=2,
                       partners=2),
              sc.progress("IURC", MEASURES))
    sc.check_verify(name)


def new_entity_created_meanwhile(suite):
    """Two transactions that both create one entity (two instances; a
    transfer whose events span partitions) counted it twice: each found no
    row, so each added the entity's contribution as new, and the later
    upsert overwrote the earlier state without taking its contribution
    out. A new entity's row is now inserted with a plain INSERT, so the
    later one fails on the key; its batch is read again and starts from
    the stored row. The test holds an uncommitted row for the pairing,
    with its contribution to kx.agg_cell as a consumer would have written
    it, until kx-aggregate's insert waits on it, then commits it."""
    entity_created_meanwhile(suite, "entity_meanwhile")


def new_entity_of_an_earlier_batch_upserted(suite):
    """The same, in a transaction of several batches: an entity first seen
    in a batch before the last was marked as stored once its batch was
    folded (fold_keep()), so the transaction upserted its row instead of
    inserting it, and counted it twice. With --batch-max 1 each event is a
    batch of its own, both batches are full, and the transaction ends
    with the empty batch after them."""
    entity_created_meanwhile(suite, "entity_meanwhile_txn", "--batch-max",
                             "1")


def session_kept_after_failed_setup(suite):
    """A new session whose setup string failed while its connection stayed
    up (the setup's tables missing for a moment, or a statement cancelled)
    was kept: the next batch found it connected, so it was never set up
    again, and every batch failed on the missing temporary tables until the
    process gave up. The session is now dropped, and set up again on the
    next try. The test holds a batch (KX_TEST_COMMIT_DELAY_MS), moves
    kx.events away and ends kx-aggregate's connections meanwhile, then
    moves it back."""
    import subprocess
    sc = suite.scenario("setup_failed")
    sc.produce(pairing("PS", "proposed", "2025-03-01T00:00:00Z"))
    log = os.path.join(sc.tmp, "setup_failed.log")
    env = dict(sc.env, KX_TEST_COMMIT_DELAY_MS="4000")
    with open(log, "w") as errf:
        proc = subprocess.Popen(sc.aggregate_cmd(level="info"), env=env,
                                stdout=subprocess.DEVNULL, stderr=errf)
    moved = False
    try:
        held = False
        for _ in range(600):
            with open(log) as f:
                if "test hook: holding a batch" in f.read():
                    held = True
                    break
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        sc.res.true("kx-aggregate holds the batch", held)
        sc.q("ALTER TABLE kx.events RENAME TO events_away")
        moved = True
        sc.q("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE datname = current_database() AND "
             "pid <> pg_backend_pid()")
        time.sleep(7)
        sc.q("ALTER TABLE kx.events_away RENAME TO events")
        moved = False
        rc = proc.wait(timeout=120)
    finally:
        if moved:
            sc.q("ALTER TABLE kx.events_away RENAME TO events")
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with open(log) as f:
        err = f.read()
    sc.res.true("kx-aggregate set the session up again and exited 0",
                rc == 0 and "cannot prepare the session" in err, err)
    sc.res.eq("the pairing is stored", [("PS", "proposed")],
              sc.q("SELECT pairing_id, state FROM kx.pairings"))
    sc.check_verify("setup_failed")

SCENARIOS = [ends_read_before_leaders_settle, entity_ids_buffer_used_after_realloc,
             rejected_null_value_stored_as_empty, check_accepts_bad_http_address,
             targets_load_lenient_csv, readyz_stale_while_idle, odd_entity_keys,
             transfer_under_two_practices, new_entity_created_meanwhile,
             new_entity_of_an_earlier_batch_upserted,
             session_kept_after_failed_setup]

if __name__ == "__main__":
    sys.exit(Suite("agg_reg").run(SCENARIOS, only=sys.argv[1:]))
