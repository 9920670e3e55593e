#!/usr/bin/env python3
"""kx-aggregate as a service: --check, config errors, the HTTP endpoints,
and SIGTERM in the middle of a run.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aggtest import BIN, Suite, run  # noqa: E402

AGG = os.path.join(BIN, "kx-aggregate")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def check_and_config(suite):
    sc = suite.scenario("config")
    rc, out, err = run([AGG, "--check"], env=sc.env, timeout=120)
    sc.res.true("--check on a good setup: exit 0", rc == 0 and "config ok" in out, out + err)
    bad_db = re.sub(r"port=\d+", "port=1", sc.db)
    t0 = time.time()
    rc, out, err = run([AGG, "--check", "--db", bad_db], env=sc.env, timeout=120)
    sc.res.true("--check with the database unreachable: non-zero exit",
                rc != 0 and rc is not None, "rc=%s" % rc)
    sc.res.true("--check with the database unreachable: a clear message",
                "cannot connect to PostgreSQL" in err and "port 1" in err, err)
    sc.res.true("--check with the database unreachable: fails fast", time.time() - t0 < 30)
    t0 = time.time()
    rc, out, err = run([AGG, "--brokers", "127.0.0.1:1"], env=sc.env, timeout=120)
    sc.res.eq("started with Kafka unreachable: exit 2", 2, rc)
    sc.res.true("started with Kafka unreachable: a clear message",
                "cannot reach Kafka at '127.0.0.1:1'" in err, err[-600:])
    sc.res.true("started with Kafka unreachable: gives up within 30 s", time.time() - t0 < 30)
    rc, out, err = run([AGG, "--check", "--topic-prefix", "no-such-topics."], env=sc.env,
                       timeout=120)
    sc.res.true("--check without the topics: non-zero exit and a hint",
                rc != 0 and "kx-admin topics create" in err, err)
    rc, out, err = run([AGG, "--no-such-option"], env=sc.env)
    sc.res.eq("unknown option: exit 2", 2, rc)
    sc.res.true("unknown option: named", "no-such-option" in err, err)
    rc, out, err = run([AGG, "--batch-max", "0", "--check"], env=sc.env)
    sc.res.eq("out-of-range value: exit 2", 2, rc)
    conf = os.path.join(sc.tmp, "agg.conf")
    with open(conf, "w") as fp:
        fp.write("# a comment\nbatch-max = 50\nno-such-key = 1\n")
    rc, out, err = run([AGG, "--config", conf, "--check"], env=sc.env)
    sc.res.eq("unknown config-file key: exit 2", 2, rc)
    sc.res.true("unknown config-file key: file, line and key named",
                "agg.conf" in err and "line 3" in err and "no-such-key" in err, err)
    with open(conf, "w") as fp:
        fp.write("batch-max = 50\ngroup = %s\nlog-level = warn\n" % sc.group)
    rc, out, err = run([AGG, "--config", conf, "--check"], env=sc.env, timeout=120)
    sc.res.true("a good config file: --check exit 0", rc == 0, out + err)
    rc, example, err = run([AGG, "--dump-config"])
    with open(conf, "w") as fp:
        fp.write(example)
    rc, out, err = run([AGG, "--config", conf, "--check"], env=sc.env, timeout=120)
    sc.res.true("the --dump-config example is a valid config file", rc == 0, out + err)
    rc, out, err = run([AGG, "--config", os.path.join(sc.tmp, "missing.conf"), "--check"],
                       env=sc.env)
    sc.res.eq("a missing config file: exit 2", 2, rc)
    rc, out, err = run([AGG, "--http", "localhost", "--check"], env=sc.env)
    sc.res.true("--check rejects a bad --http address", rc == 2, "rc=%s %s" % (rc, err))


def sigterm_and_http(suite):
    sc = suite.scenario("sigterm")
    path = sc.kxgen(seed=31, n=int(os.environ.get("AGG_SIGTERM_N", "30000")))
    with open(path) as fp:
        ids = {json.loads(l)["event_id"].lower() for l in fp if l.strip()}
    sc.produce_file(path)
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    log = open(os.path.join(sc.tmp, "agg.log"), "w+")
    proc = subprocess.Popen([AGG, "--http", "127.0.0.1:%d" % port, "--batch-max", "200",
                             "--log-level", "info"], env=sc.env,
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        status = None
        for _ in range(100):
            status, body = get(base + "/healthz")
            if status == 200:
                break
            time.sleep(0.1)
        sc.res.eq("/healthz: 200", 200, status)
        # Wait until the run is under way, but not finished.
        done = 0
        for _ in range(200):
            done = int(sc.q1("SELECT coalesce(sum(next_offset), 0) FROM kx.consumer_offsets"))
            if done > 0:
                break
            time.sleep(0.05)
        status, body = get(base + "/readyz")
        sc.res.true("/readyz: 200 with Kafka and PostgreSQL up", status == 200, body)
        status, body = get(base + "/metrics")
        sc.res.eq("/metrics: 200", 200, status)
        for name in ("kx_events_total", "kx_rejects_total", "kx_batches_total",
                     "kx_consumer_lag", "kx_batch_seconds_bucket", "kx_batch_seconds_sum",
                     "kx_batch_seconds_count", "kx_consumer_seconds_total"):
            sc.res.true("/metrics has %s" % name,
                        re.search(r"^%s(\{[^}]*\})? \S+$" % name, body, re.M) is not None,
                        body[:300])
        # A batch is counted when the consumer learns that it committed,
        # which is after the commit itself (its last query runs while the
        # next batch is applied): wait for the counter, a little.
        m = re.search(r"^kx_batches_total (\d+)$", body, re.M)
        for _ in range(100):
            if m and int(m.group(1)) > 0:
                break
            time.sleep(0.05)
            status, body = get(base + "/metrics")
            m = re.search(r"^kx_batches_total (\d+)$", body, re.M)
        sc.res.true("/metrics counts batches", m and int(m.group(1)) > 0, body[:600])
        # Every step of the loop is listed; a batch that committed took
        # time to insert its history and to copy its rows.
        steps = dict(re.findall(r'^kx_consumer_seconds_total\{step="(\w+)"\} (\S+)$',
                                body, re.M))
        sc.res.eq("/metrics: a time for each step of the loop",
                  ["commit_wait", "decode", "fold", "history", "load", "parties", "poll",
                   "write"], sorted(steps))
        sc.res.true("/metrics: the batch's history and writes took time",
                    float(steps.get("history", 0)) > 0 and float(steps.get("write", 0)) > 0,
                    steps)
        status, body = get(base + "/nope")
        sc.res.eq("unknown path: 404", 404, status)
        proc.send_signal(signal.SIGTERM)
        t0 = time.time()
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        sc.res.eq("SIGTERM: exit 0", 0, rc)
        sc.res.true("SIGTERM: exits promptly", time.time() - t0 < 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log.seek(0)
    text = log.read()
    stored = int(sc.q1("SELECT coalesce(sum(next_offset), 0) FROM kx.consumer_offsets"))
    print("# stopped after %d of %d messages" % (stored, sc.n_messages if hasattr(sc, "n_messages") else -1))
    sc.res.true("SIGTERM: the log says it stopped", "stopped" in text, text[-1000:])
    sc.check_verify("after SIGTERM")
    sc.aggregate()
    sc.res.eq("after SIGTERM and a second run: every event once", str(len(ids)),
              sc.q1("SELECT count(*) FROM kx.events"))
    sc.check_verify("after the second run")


COUNTS = r"(\d+) events committed \((\d+) new, (\d+) duplicates, (\d+) rejected\)"


def progress_and_summary(suite):
    sc = suite.scenario("progress")
    n = 3000
    sc.produce_file(sc.kxgen(seed=37, n=n))
    # 15 batches held 150 ms each: over 2 s, so lines at a 1 s interval.
    env = dict(sc.env, KX_TEST_COMMIT_DELAY_MS="150")
    rc, out, err = run(sc.aggregate_cmd("--batch-max", "200", "--progress-interval", "1",
                                        level="info"), env=env, timeout=240)
    sc.res.eq("--progress-interval 1: exit 0", 0, rc)
    lines = [tuple(int(x) for x in m.groups())
             for m in re.finditer(r"progress: " + COUNTS + r", (-?\d+) events/s, lag (-?\d+)",
                                  err)]
    sc.res.true("progress lines while it runs", len(lines) >= 1, err[-1500:])
    sc.res.true("each progress line adds up, and each counts more than the last",
                all(t == a + b + c for t, a, b, c, _, _ in lines)
                and all(x[0] < y[0] for x, y in zip(lines, lines[1:])), str(lines))
    sc.res.true("each progress line has a rate above 0 and a lag of 0 or more",
                all(rate > 0 and lag >= 0 for _, _, _, _, rate, lag in lines), str(lines))
    m = re.search(r"aggregate: " + COUNTS + r" in (\d+) transactions, (\d+\.\d) s$", err, re.M)
    sc.res.true("a summary line at the end", m is not None, err[-1500:])
    if m:
        total, new, dups, rej, batches = (int(x) for x in m.groups()[:5])
        sc.res.eq("summary: every message counted", n, total)
        sc.res.eq("summary: new events are the rows of kx.events",
                  int(sc.q1("SELECT count(*) FROM kx.events")), new)
        sc.res.eq("summary: rejected are the rows of kx.rejected_events",
                  int(sc.q1("SELECT count(*) FROM kx.rejected_events")), rej)
        sc.res.true("summary: adds up", total == new + dups + rej)
        sc.res.true("summary: no progress line counted more",
                    all(line[0] <= total for line in lines), str(lines))
        # The test hook holds every batch once before committing it.
        sc.res.eq("summary: its batches are those the test hook held",
                  err.count("test hook: holding a batch"), batches)
    t = re.search(r"aggregate: time by step: (.*)$", err, re.M)
    sc.res.true("a line of time by step after the summary",
                t is not None and m is not None and t.start() > m.end(), err[-1500:])
    if m and t:
        steps = {k: float(v) for k, v in re.findall(r"(\w+) (\d+\.\d) s", t.group(1))}
        wall = float(m.group(6))
        sc.res.eq("time by step: each step of the loop",
                  ["commit_wait", "decode", "fold", "history", "load", "parties", "poll",
                   "write"], sorted(steps))
        # The test hook's holds (150 ms a batch) are in no step, so the steps
        # take no more than the rest of the run (each figure is rounded to
        # 0.1 s): time counted in two steps, or a hold counted in one, shows
        # once it passes that margin.
        held = 0.15 * err.count("test hook: holding a batch")
        sc.res.true("time by step: no more than the run took, less the holds",
                    held > 2 and sum(steps.values()) <= wall - held + 0.5,
                    (steps, wall, held))
    sc.check_verify("after the run")


if __name__ == "__main__":
    sys.exit(Suite("agg_service").run([check_and_config, sigterm_and_http,
                                       progress_and_summary]))
