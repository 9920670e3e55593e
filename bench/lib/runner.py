#!/usr/bin/env python3
"""The benchmarks of bench/run. Run through bench/run, which builds KX,
starts the stack and the venv, and sets the environment this reads:

  KX_BROKERS, KX_DB (the stack's kx database), BENCH_BIN (build-bench/bin),
  BENCH_TOP (the repo), BENCH_PG_PID, BENCH_KAFKA_PID (for CPU accounting).

Every figure is written with its baseline from the same invocation.
"""
import argparse
import datetime as dt
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import psycopg

TOP = os.environ["BENCH_TOP"]
BIN = os.environ["BENCH_BIN"]
BROKERS = os.environ["KX_BROKERS"]
ADMIN_DB = os.environ["KX_DB"]
VIEWS = ["programme_progress", "sdg_progress", "programme_sdg_progress",
         "sdg_target_progress", "pairing_funnel", "monthly_activity",
         "target_progress"]
BENCHES = ["producer", "consumer", "peer", "views", "latency"]
CLK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def conninfo(db):
    """ADMIN_DB with its dbname replaced."""
    s = re.sub(r"dbname=\S+", "", ADMIN_DB).strip()
    return f"{s} dbname={db}"


def cpu_seconds(pid):
    """utime+stime+cutime+cstime of a process (children it reaped included:
    a PostgreSQL backend's CPU lands in the postmaster's cutime when it
    exits), plus its live children's own time."""
    if not pid:
        return 0.0
    total = 0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += sum(int(x) for x in fields[11:15])
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = f.read().split()
        for k in kids:
            try:
                with open(f"/proc/{k}/stat") as f:
                    kf = f.read().rsplit(")", 1)[1].split()
                total += sum(int(x) for x in kf[11:15])
            except OSError:
                pass
    except OSError:
        return 0.0
    return total / CLK


class Cpu:
    """CPU seconds used by PostgreSQL and Kafka over a block."""

    def __enter__(self):
        self.pg0 = cpu_seconds(os.environ.get("BENCH_PG_PID"))
        self.kf0 = cpu_seconds(os.environ.get("BENCH_KAFKA_PID"))
        self.la0 = os.getloadavg()[0]
        return self

    def __exit__(self, *a):
        time.sleep(0.3)  # let exited backends be reaped into cutime
        self.pg = round(cpu_seconds(os.environ.get("BENCH_PG_PID")) - self.pg0, 2)
        self.kafka = round(cpu_seconds(os.environ.get("BENCH_KAFKA_PID")) - self.kf0, 2)
        self.load = round((self.la0 + os.getloadavg()[0]) / 2, 2)


def parse_time_v(path):
    """Fields of /usr/bin/time -v output."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("Maximum resident set size"):
                out["rss_mb"] = round(int(line.rsplit(":", 1)[1]) / 1024, 1)
            elif line.startswith("User time"):
                out["user_s"] = float(line.rsplit(":", 1)[1])
            elif line.startswith("System time"):
                out["sys_s"] = float(line.rsplit(":", 1)[1])
            elif line.startswith("Exit status"):
                out["exit"] = int(line.rsplit(":", 1)[1])
    return out


def timed(cmd, tmp, name, stdin=None, env=None, stdout=None):
    """Runs cmd under /usr/bin/time -v; returns a dict with wall_s, rss_mb,
    user_s, sys_s, exit and the tail of stderr."""
    tv = os.path.join(tmp, f"{name}.time")
    err = os.path.join(tmp, f"{name}.err")
    t0 = time.monotonic()
    with open(err, "w") as ef:
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tv] + cmd, stdin=stdin,
                           stdout=stdout or subprocess.DEVNULL, stderr=ef,
                           env=env)
    wall = time.monotonic() - t0
    r = parse_time_v(tv)
    r["wall_s"] = round(wall, 3)
    with open(err, encoding="utf-8", errors="replace") as f:
        r["stderr_tail"] = f.read()[-1200:]
    if p.returncode != 0:
        log(f"{name}: exit {p.returncode}: {r['stderr_tail']}")
    r["exit"] = p.returncode
    return r


def sql(db, q, params=None, fetch=True):
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        cur = c.execute(q, params)
        return cur.fetchall() if fetch and cur.description else None


def fresh_db(name):
    sql("kx", f"DROP DATABASE IF EXISTS {name}", fetch=False)
    sql("kx", f"CREATE DATABASE {name}", fetch=False)
    env = dict(os.environ, KX_DB=conninfo(name))
    subprocess.run([f"{BIN}/kx-admin", "migrate"], env=env, check=True,
                   stdout=subprocess.DEVNULL)


CREATED_PREFIXES = []


def create_topics(prefix):
    subprocess.run([f"{BIN}/kx-admin", "topics", "create", "--topic-prefix", prefix],
                   check=True, stdout=subprocess.DEVNULL)
    CREATED_PREFIXES.append(prefix)


def delete_topics():
    """Deletes the topics the run created: they would otherwise stay in the
    broker, about 0.3 GB and 60 partitions a run, until its heap no
    longer holds their metadata. Returns how many prefixes failed."""
    failed = 0
    for prefix in CREATED_PREFIXES:
        p = subprocess.run([f"{BIN}/kx-admin", "topics", "delete", "--yes",
                            "--topic-prefix", prefix], capture_output=True, text=True)
        if p.returncode:
            log(f"cannot delete the topics {prefix}*: {p.stderr.strip()}")
            failed += 1
    return failed


def topic_names(prefix):
    return [prefix + s for s in ("pairings", "visits", "practices")]


def verify(db):
    env = dict(os.environ, KX_DB=conninfo(db))
    p = subprocess.run([f"{BIN}/kx-admin", "verify"], env=env,
                       capture_output=True, text=True)
    return {"ok": p.returncode == 0,
            "output": (p.stdout + p.stderr).strip().splitlines()[-1:]}


def view_digests(db):
    out = {}
    for v in VIEWS[:-1]:
        out[v] = sql(db, f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) "
                         f"FROM kx.{v} x")[0][0]
    return out


def rate(n, s):
    return round(n / s) if s else None


def ratio(a, b):
    return round(a / b, 3) if a and b else None


# ---------------------------------------------------------------- data

def generate(n, tmp):
    path = os.path.join(tmp, f"events-{n}.jsonl")
    t0 = time.monotonic()
    subprocess.run([sys.executable, f"{TOP}/tools/kxgen/kxgen.py", "--seed", "42",
                    "-n", str(n), "--dup-rate", "0.01", "--ooo-rate", "0.02",
                    "--out", path], check=True)
    log(f"generated {n} events in {time.monotonic() - t0:.1f} s: {path}")
    return path


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
    return n


# ---------------------------------------------------------------- benches

def bench_producer(ctx):
    tmp, data, n = ctx["tmp"], ctx["data"], ctx["n"]
    res = {}
    # Baseline 1: kcat sends the same lines as raw messages with the same
    # producer settings (idempotent, acks=all, lz4, linger 10 ms): the
    # broker's and librdkafka's cost alone, no parsing or encoding.
    raw = ctx["prefix"] + "raw."
    create_topics(raw)
    with Cpu() as c:
        r = timed(["kcat", "-P", "-b", BROKERS, "-t", raw + "pairings", "-z", "lz4",
                   "-X", "enable.idempotence=true", "-X", "acks=all",
                   "-X", "linger.ms=10", "-X", "batch.num.messages=10000",
                   "-X", "queue.buffering.max.messages=20000", "-l", data],
                  tmp, "kcat-produce")
    r.update(events=n, events_per_s=rate(n, r["wall_s"]), pg_cpu_s=c.pg,
             kafka_cpu_s=c.kafka, load=c.load)
    res["kcat"] = r
    log(f"producer baseline kcat: {r['events_per_s']}/s")
    # Breakdown: validate + encode only.
    with Cpu() as c:
        r = timed([f"{BIN}/kx-produce", "--dry-run", data], tmp, "kx-produce-dry")
    r.update(events=n, events_per_s=rate(n, r["wall_s"]), load=c.load)
    res["kx_dry_run"] = r
    log(f"producer kx-produce --dry-run: {r['events_per_s']}/s")
    # The real thing.
    with Cpu() as c:
        r = timed([f"{BIN}/kx-produce", "--topic-prefix", ctx["prefix"], data], tmp,
                  "kx-produce")
    m = re.search(r"read (\d+), sent (\d+), rejected (\d+), failed (\d+)", r["stderr_tail"])
    sent = int(m.group(2)) if m else 0
    r.update(events=sent, events_per_s=rate(sent, r["wall_s"]), pg_cpu_s=c.pg,
             kafka_cpu_s=c.kafka, load=c.load,
             closing_line=m.group(0) if m else None)
    res["kx"] = r
    res["kx_over_kcat"] = ratio(r["events_per_s"], res["kcat"]["events_per_s"])
    ctx["sent"] = sent
    log(f"producer kx-produce: {r['events_per_s']}/s "
        f"({res['kx_over_kcat']} x kcat), RSS {r.get('rss_mb')} MB")
    return res


def closing_lines(text):
    """What kx-aggregate's last lines at info say: {"batches": N (its
    transactions), "steps_s": {step: seconds}}, each key only when found."""
    out = {}
    m = re.search(r" in (\d+) (?:batches|transactions), ", text)
    if m:
        out["batches"] = int(m.group(1))
    m = re.search(r"time by step: (.*)$", text, re.M)
    if m:
        out["steps_s"] = {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+) s", m.group(1))}
    return out


def run_aggregate(ctx, db, group, instances=1, name="kx-aggregate"):
    env = dict(os.environ, KX_DB=conninfo(db), KX_LOG_LEVEL="warn")
    cmd = [f"{BIN}/kx-aggregate", "--group", group, "--topic-prefix", ctx["prefix"],
           "--until-caught-up"]
    if instances == 1:
        # At info, the run ends with where its time went, step by step.
        env["KX_LOG_LEVEL"] = "info"
        with Cpu() as c:
            r = timed(cmd, ctx["tmp"], name, env=env)
        r.update(pg_cpu_s=c.pg, kafka_cpu_s=c.kafka, load=c.load)
        steps = closing_lines(r.get("stderr_tail", "")).get("steps_s")
        if steps:
            r["steps_s"] = steps
        return r
    # Several instances in one group, each under /usr/bin/time.
    procs, t0 = [], time.monotonic()
    with Cpu() as c:
        for i in range(instances):
            tv = os.path.join(ctx["tmp"], f"{name}-{i}.time")
            ef = open(os.path.join(ctx["tmp"], f"{name}-{i}.err"), "w")
            procs.append((subprocess.Popen(["/usr/bin/time", "-v", "-o", tv] + cmd,
                                           env=env, stdout=subprocess.DEVNULL,
                                           stderr=ef), tv, ef))
        for p, _, ef in procs:
            p.wait()
            ef.close()
        wall = time.monotonic() - t0
    each = [parse_time_v(tv) for _, tv, _ in procs]
    return {"wall_s": round(wall, 3), "instances": each,
            "rss_mb": max(e.get("rss_mb", 0) for e in each),
            "user_s": round(sum(e.get("user_s", 0) for e in each), 2),
            "sys_s": round(sum(e.get("sys_s", 0) for e in each), 2),
            "exit": max(p.returncode for p, _, _ in procs),
            "pg_cpu_s": c.pg, "kafka_cpu_s": c.kafka, "load": c.load}


def bench_consumer(ctx):
    tmp, pre = ctx["tmp"], ctx["prefix"]
    n = ctx["sent"]
    res = {"events": n}
    # Baseline 1: kcat reads the three topics to /dev/null.
    t0 = time.monotonic()
    with Cpu() as c:
        for t in topic_names(pre):
            subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", t, "-o", "beginning",
                            "-e", "-q", "-f", "%k %s\n"], stdout=subprocess.DEVNULL,
                           check=True)
    w = time.monotonic() - t0
    res["kcat"] = {"wall_s": round(w, 3), "events_per_s": rate(n, w),
                   "kafka_cpu_s": c.kafka, "load": c.load}
    log(f"consumer baseline kcat: {res['kcat']['events_per_s']}/s")

    # KX, one instance, --consumer-runs times, each into a fresh database
    # and group: one run on these 2 shared cores spreads by a fifth either
    # way (docs/performance.md), so the figure is the median run (the lower
    # of the two middle ones for an even count); the RSS is the largest of
    # all. The last run's database stays, for the views and the peer's
    # comparison.
    db = ctx["db_kx"]
    runs = []
    for i in range(ctx["consumer_runs"]):
        fresh_db(db)
        r = run_aggregate(ctx, db, f"{pre}kx1r{i}")
        r["events_per_s"] = rate(n, r["wall_s"])
        r["verify"] = verify(db)
        runs.append(r)
        if ctx["consumer_runs"] > 1:
            log(f"consumer kx-aggregate x1, run {i + 1} of {ctx['consumer_runs']}: "
                f"{r['events_per_s']}/s, RSS {r.get('rss_mb')} MB, verify {r['verify']['ok']}")
    r = dict(sorted(runs, key=lambda x: x["events_per_s"] or 0)[(len(runs) - 1) // 2])
    r["rss_mb"] = max((x.get("rss_mb") or 0) for x in runs) or None
    r["verify"] = dict(r["verify"], ok=all(x["verify"]["ok"] for x in runs))
    r["runs"] = [dict({k: x.get(k) for k in ("wall_s", "events_per_s", "rss_mb", "user_s",
                                              "pg_cpu_s", "load")}, verify=x["verify"]["ok"])
                 for x in runs]
    r["rows"] = dict(zip(["events", "parties", "agg_cell", "agg_party", "agg_monthly",
                          "pairings", "visits", "practices", "transfers"],
                         sql(db, "SELECT (SELECT count(*) FROM kx.events), (SELECT count(*) "
                                 "FROM kx.parties), (SELECT count(*) FROM kx.agg_cell), "
                                 "(SELECT count(*) FROM kx.agg_party), (SELECT count(*) FROM "
                                 "kx.agg_monthly), (SELECT count(*) FROM kx.pairings), "
                                 "(SELECT count(*) FROM kx.visits), (SELECT count(*) FROM "
                                 "kx.practices), (SELECT count(*) FROM kx.transfers)")[0]))
    r["db_size_mb"] = round(sql(db, "SELECT pg_database_size(current_database())")[0][0] / 2**20)
    res["kx"] = r
    log(f"consumer kx-aggregate x1: {r['events_per_s']}/s"
        + (f" (the median of {len(runs)} runs)" if len(runs) > 1 else "")
        + f", RSS {r.get('rss_mb')} MB, verify {r['verify']['ok']}")

    # Baseline 2: a raw COPY of the same history rows into a table with the
    # same keys (the floor of writing the events alone, nothing derived).
    dump = os.path.join(tmp, "events.copy")
    with psycopg.connect(conninfo(db)) as c, open(dump, "wb") as f:
        with c.cursor().copy("COPY kx.events TO STDOUT") as cp:
            for block in cp:
                f.write(block)
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS public.raw_events")
        c.execute("CREATE TABLE public.raw_events (LIKE kx.events INCLUDING ALL)")
        with Cpu() as cpu:
            t0 = time.monotonic()
            with c.cursor().copy("COPY public.raw_events FROM STDIN") as cp, \
                    open(dump, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    cp.write(block)
            w = time.monotonic() - t0
        rows = c.execute("SELECT count(*) FROM public.raw_events").fetchone()[0]
        c.execute("DROP TABLE public.raw_events")
    os.unlink(dump)
    res["copy"] = {"wall_s": round(w, 3), "rows": rows, "events_per_s": rate(rows, w),
                   "pg_cpu_s": cpu.pg, "load": cpu.load}
    log(f"consumer baseline raw COPY: {res['copy']['events_per_s']} rows/s")

    if "two" in ctx["consumer_modes"]:
        db2 = ctx["db_kx2"]
        fresh_db(db2)
        r2 = run_aggregate(ctx, db2, f"{pre}kx2", instances=2, name="kx-aggregate-x2")
        r2["events_per_s"] = rate(n, r2["wall_s"])
        r2["verify"] = verify(db2)
        r2["same_views_as_x1"] = view_digests(db2) == view_digests(db)
        res["kx_x2"] = r2
        sql("kx", f"DROP DATABASE IF EXISTS {db2}", fetch=False)
        log(f"consumer kx-aggregate x2: {r2['events_per_s']}/s, RSS max {r2['rss_mb']} MB, "
            f"verify {r2['verify']['ok']}, same views {r2['same_views_as_x1']}")
    res["kx_over_kcat"] = ratio(res["kx"]["events_per_s"], res["kcat"]["events_per_s"])
    res["kx_over_copy"] = ratio(res["kx"]["events_per_s"], res["copy"]["events_per_s"])
    return res


# The peer's batch is its transaction. It runs at its default (5,000, as
# kx-aggregate's batch) and at kx-aggregate's default --txn-max (20,000):
# while behind, kx-aggregate adds full batches up to that many in one
# transaction, so the peer gets the same. The faster run is the one compared.
PEER_BATCHES = (5000, 20000)


def bench_peer(ctx):
    pre, db = ctx["prefix"], ctx["db_peer"]
    n = ctx["sent"]
    runs = []
    for i, batch in enumerate(PEER_BATCHES):
        fresh_db(db)
        env = dict(os.environ, KX_DB=conninfo(db))
        with Cpu() as c:
            r = timed([ctx["python"], f"{TOP}/bench/peer/kx_peer.py", "--group",
                       f"{pre}peer{i}", "--topic-prefix", pre, "--until-caught-up",
                       "--batch-max", str(batch)], ctx["tmp"], "kx-peer", env=env)
        r.update(events=n, events_per_s=rate(n, r["wall_s"]), pg_cpu_s=c.pg,
                 kafka_cpu_s=c.kafka, load=c.load, batch_max=batch)
        r["verify"] = verify(db)
        r["same_views_as_kx"] = view_digests(db) == view_digests(ctx["db_kx"])
        log(f"peer (batches of {batch}): {r['events_per_s']}/s, RSS {r.get('rss_mb')} MB, "
            f"verify {r['verify']['ok']}, same views as KX {r['same_views_as_kx']}")
        runs.append(r)
    best = dict(max(runs, key=lambda r: r["events_per_s"] or 0))
    best["runs"] = [{k: r.get(k) for k in ("batch_max", "wall_s", "events_per_s", "rss_mb",
                                            "user_s", "pg_cpu_s")} for r in runs]
    return best


def bench_views(ctx):
    db = ctx["db_kx"]
    # Targets, so kx.target_progress has rows: every measure of every programme.
    measures = ["pairings_proposed", "pairings_active", "pairings_completed",
                "pairings_suspended", "pairings_withdrawn", "action_plans_adopted",
                "pilot_projects", "visits_planned", "visits_held", "visits_cancelled",
                "participants", "practices_documented", "transfers_in_progress",
                "transfers_replicated", "transfers_abandoned", "countries", "partners"]
    tf = os.path.join(ctx["tmp"], "targets.csv")
    with open(tf, "w") as f:
        f.write("programme,measure,target\n")
        for p in ("IUC", "IURC", "ICP-AGIR", "URBELAC", "RPD"):
            for i, m in enumerate(measures):
                f.write(f"{p},{m},{(i + 1) * 100}\n")
    subprocess.run([f"{BIN}/kx-admin", "targets", "load", tf], check=True,
                   env=dict(os.environ, KX_DB=conninfo(db)), stdout=subprocess.DEVNULL)
    res = {"history_events": sql(db, "SELECT count(*) FROM kx.events")[0][0],
           "agg_party_rows": sql(db, "SELECT count(*) FROM kx.agg_party")[0][0],
           "agg_cell_rows": sql(db, "SELECT count(*) FROM kx.agg_cell")[0][0],
           "views": {}}
    reps = ctx["view_reps"]
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        c.execute("ANALYZE")

        def measure(q):
            c.execute(q).fetchall()  # warm
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                rows = c.execute(q).fetchall()
                ts.append((time.perf_counter() - t0) * 1000)
            ts.sort()
            return {"p50_ms": round(pct(ts, 50), 2), "p95_ms": round(pct(ts, 95), 2),
                    "max_ms": round(ts[-1], 2), "rows": len(rows), "reps": reps}

        base = measure("SELECT 1")
        res["baseline_select_1"] = base
        for v in VIEWS:
            r = measure(f"SELECT * FROM kx.{v}")
            r["p95_over_select_1"] = ratio(r["p95_ms"], base["p95_ms"])
            res["views"][v] = r
            log(f"view {v}: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms ({r['rows']} rows)")
    return res


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    k = (len(sorted_vals) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def latency_lines(ctx, count, tag):
    """count pairing.proposed lines for brand-new pairings, with realistic
    attributes (programme, sdgs, themes, members) from the generated data,
    as templates: event_id, pairing_id and occurred_at are set at send time."""
    tmpl = []
    with open(ctx["data"], encoding="utf-8") as f:
        for line in f:
            if '"pairing.proposed"' in line:
                d = json.loads(line)
                d.pop("event_id", None)
                d.pop("pairing_id", None)
                d.pop("occurred_at", None)
                tmpl.append(d)
                if len(tmpl) >= 20000:
                    break
    return tmpl


def settle_db(db):
    """Does now what autovacuum would do in the minute after a catch-up
    (vacuum and analyze of every table that the catch-up filled), then a
    checkpoint, so that a steady flow is measured without the benchmark's
    own bulk load behind it. Returns the seconds it took."""
    t = time.monotonic()
    sql(db, "VACUUM (ANALYZE)", fetch=False)
    sql(db, "CHECKPOINT", fetch=False)
    return round(time.monotonic() - t, 1)


def run_latency(ctx, who, rate_per_s, seconds, tag):
    """Paced producer -> kx-produce stdin -> consumer (KX or peer) ->
    visibility in kx.programme_progress. Returns latency percentiles."""
    pre = f"{ctx['prefix']}lat{tag}."
    create_topics(pre)
    db = ctx["db_kx"] if who == "kx" else ctx["db_peer"]
    settled_s = settle_db(db)
    # At info, kx-aggregate ends with its batches and time by step.
    env = dict(os.environ, KX_DB=conninfo(db),
               KX_LOG_LEVEL="info" if who == "kx" else "warn")
    if who == "kx":
        ccmd = [f"{BIN}/kx-aggregate", "--group", f"{pre}g", "--topic-prefix", pre]
    else:
        ccmd = [ctx["python"], f"{TOP}/bench/peer/kx_peer.py", "--group", f"{pre}g",
                "--topic-prefix", pre]
    q = "SELECT coalesce(sum(pairings_proposed), 0) FROM kx.programme_progress"
    base = sql(db, q)[0][0]
    cons = subprocess.Popen(ccmd, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(ctx["tmp"], f"lat-{who}.err"), "w"))
    time.sleep(3)  # join the group, get the (empty) partitions
    prod = subprocess.Popen([f"{BIN}/kx-produce", "--topic-prefix", pre],
                            stdin=subprocess.PIPE,
                            stderr=open(os.path.join(ctx["tmp"], f"lat-{who}-produce.err"), "w"))
    tmpl = ctx["lat_templates"]
    total = rate_per_s * seconds
    chunk = max(1, rate_per_s // ctx["lat_chunks_per_s"])
    period = chunk / rate_per_s
    sends = []            # (monotonic send time, cumulative count)
    samples = []          # (monotonic query start, visible count)
    stop = threading.Event()

    def monitor():
        with psycopg.connect(conninfo(db), autocommit=True) as c:
            while not stop.is_set():
                t = time.monotonic()
                v = c.execute(q).fetchone()[0] - base
                samples.append((t, v, time.monotonic() - t))
                time.sleep(ctx["lat_poll_s"])

    th = threading.Thread(target=monitor, daemon=True)
    th.start()
    run_id = uuid.uuid4().hex[:8]
    start = time.monotonic()
    sent = 0
    seq = 0
    while sent < total:
        due = start + (sent // chunk) * period
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        wall = dt.datetime.now(dt.timezone.utc)
        buf = []
        for _ in range(min(chunk, total - sent)):
            d = dict(tmpl[seq % len(tmpl)])
            d["event_id"] = str(uuid.UUID(int=(int(run_id, 16) << 96) | seq, version=4))
            d["pairing_id"] = f"LAT-{tag}-{run_id}-{seq}"
            d["occurred_at"] = (wall + dt.timedelta(microseconds=seq % 1000)).isoformat()
            buf.append(json.dumps(d, ensure_ascii=False))
            seq += 1
        data = ("\n".join(buf) + "\n").encode()
        t_send = time.monotonic()
        prod.stdin.write(data)
        prod.stdin.flush()
        sent += len(buf)
        sends.append((t_send, sent))
    send_end = time.monotonic()
    prod.stdin.close()
    prod.wait()
    # Wait for everything to be visible (or give up after 120 s).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not samples or samples[-1][1] < total):
        time.sleep(0.1)
    stop.set()
    th.join()
    cons.send_signal(signal.SIGTERM)
    try:
        cons.wait(timeout=30)
    except subprocess.TimeoutExpired:
        cons.kill()
        cons.wait()
    # FIFO matching: event i (0-based, in send order) is visible at the
    # first sample whose count exceeds i.
    lat = []
    send_time = []
    prev = 0
    for t, cum in sends:
        send_time.extend([t] * (cum - prev))
        prev = cum
    j = 0
    for i, ts in enumerate(send_time):
        while j < len(samples) and samples[j][1] <= i:
            j += 1
        if j == len(samples):
            # Never seen before the monitor stopped: its latency is at
            # least (last poll - send); counted so percentiles are lower
            # bounds rather than silently optimistic.
            lat.append((samples[-1][0] - ts) * 1000 if samples else 0)
            continue
        lat.append((samples[j][0] - ts) * 1000)
    visible = min(samples[-1][1], total) if samples else 0
    # Each second of the send schedule on its own: a tail that comes from
    # one moment (start-up, a checkpoint) shows apart from a slow flow.
    by_sec = {}
    for ts, l in zip(send_time, lat):
        by_sec.setdefault(int(ts - start), []).append(l)
    seconds_out = []
    for sec in sorted(by_sec):
        v = sorted(by_sec[sec])
        seconds_out.append([sec, len(v), round(pct(v, 50), 1),
                            round(pct(v, 99), 1), round(v[-1], 1)])
    lat.sort()
    gaps = sorted(b[0] - a[0] for a, b in zip(samples, samples[1:]))
    qd = sorted(s[2] for s in samples)
    out = {"target_rate": rate_per_s, "seconds": seconds, "events": total,
           "achieved_send_rate": round(total / (send_end - start)),
           "visible": visible, "chunk_lines": chunk,
           "percentiles_are_lower_bounds": visible < total,
           "p50_ms": round(pct(lat, 50), 1) if lat else None,
           "p95_ms": round(pct(lat, 95), 1) if lat else None,
           "p99_ms": round(pct(lat, 99), 1) if lat else None,
           "max_ms": round(lat[-1], 1) if lat else None,
           "poll_interval_p50_ms": round(pct(gaps, 50) * 1000, 1) if gaps else None,
           "poll_query_p50_ms": round(pct(qd, 50) * 1000, 1) if qd else None,
           "by_second": seconds_out, "settle_s": settled_s}
    if who == "kx":
        with open(os.path.join(ctx["tmp"], f"lat-{who}.err")) as f:
            out.update(closing_lines(f.read()))
    log(f"latency {who}: p50 {out['p50_ms']} p95 {out['p95_ms']} p99 {out['p99_ms']} ms "
        f"({visible}/{total} visible, poll every {out['poll_interval_p50_ms']} ms)")
    return out


def bench_latency(ctx):
    ctx["lat_templates"] = latency_lines(ctx, 0, "")
    res = {"method": "count-based, FIFO-matched; see docs/performance.md"}
    res["kx"] = run_latency(ctx, "kx", ctx["lat_rate"], ctx["lat_seconds"], "k")
    if ctx.get("peer_done"):
        res["peer"] = run_latency(ctx, "peer", ctx["lat_rate"], ctx["lat_seconds"], "p")
        if res["kx"]["p99_ms"] and res["peer"]["p99_ms"]:
            res["kx_over_peer_p99"] = ratio(res["kx"]["p99_ms"], res["peer"]["p99_ms"])
    return res


# ---------------------------------------------------------------- machine

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except Exception:
        return ""


def build_flags():
    """The compiler and the flags kx-aggregate was built with, from
    build-bench/'s compile commands: the -O that takes effect (the last),
    -g and -flto."""
    try:
        with open(f"{TOP}/build-bench/compile_commands.json") as f:
            cmds = json.load(f)
        cmd = next(c["command"] for c in cmds
                   if "/consumers/kx-aggregate/" in c["file"]).split()
    except (OSError, ValueError, StopIteration, KeyError):
        return ""
    opt = [a for a in cmd if re.fullmatch(r"-O[0-3s]?", a)]
    rest = sorted({a for a in cmd if a == "-g" or a.startswith("-flto")})
    version = sh(f"{cmd[0]} --version | head -1")
    return " ".join([version] + opt[-1:] + rest)


def machine(ctx):
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo")
    pkgs = sh(f"{ctx['python']} -m pip freeze 2>/dev/null")
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "memory_mb": int(mem or 0),
        "kernel": platform.release(), "os": sh(". /etc/os-release; echo $PRETTY_NAME"),
        "loadavg_start": ctx["load_start"],
        "librdkafka": sh("dpkg-query -W -f='${Version}' librdkafka1"),
        "postgresql": sql("kx", "SELECT version()")[0][0],
        "kafka": os.environ.get("BENCH_KAFKA_VERSION", ""),
        "java": sh("java -version 2>&1 | head -1"),
        "kcat": sh("kcat -V 2>&1 | head -1"),
        "python": sys.version.split()[0],
        "python_packages": pkgs.splitlines(),
        "kx_commit": sh(f"git -C {TOP} rev-parse --short HEAD") +
        (" (dirty tree)" if sh(f"git -C {TOP} status --porcelain") else ""),
        "cc": build_flags(),
    }


# ---------------------------------------------------------------- report

TARGETS = {"consumer_eps": 50000, "consumer_over_peer": 10, "producer_eps": 100000,
           "latency_p99_ms": 500, "consumer_rss_mb": 64, "view_p95_ms": 10}


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.3g}{unit}" if v < 100 else f"{v:,.0f}{unit}"
    if isinstance(v, int):
        return f"{v:,}{unit}"
    return f"{v}{unit}"


def verdict(ok):
    return "met" if ok else "**missed**"


def write_report(res, path_md, path_json):
    with open(path_json, "w") as f:
        json.dump(res, f, indent=2, default=str)
    m = res["machine"]
    L = []
    L.append(f"# KX benchmark, {res['date']}")
    L.append("")
    L.append(f"`bench/run {' '.join(res['argv'])}` — {res['events']:,} generated lines "
             f"(`kxgen.py --seed 42 -n {res['events']} --dup-rate 0.01 --ooo-rate 0.02`), "
             f"total {res['total_s']:.0f} s.")
    L.append("")
    L.append("Machine: " + f"{m['nproc']} CPUs ({m['cpu']}), {m['memory_mb']:,} MB, "
             f"Linux {m['kernel']}, {m['os']}; load average at start {m['loadavg_start']} "
             "(a shared machine: read the ratios, the absolute figures are noisy).")
    L.append(f"Versions: KX {m['kx_commit']} ({m['cc']}), librdkafka {m['librdkafka']}, "
             f"{m['postgresql'].split(',')[0]}, Kafka {m['kafka']}, {m['java']}, "
             f"{m['kcat']}, Python {m['python']} ({', '.join(m['python_packages'])}).")
    L.append("")
    L.append("| benchmark | KX | baseline (same run) | KX / baseline | target | |")
    L.append("|---|---|---|---|---|---|")
    p = res.get("producer")
    if p:
        k = p["kx"]
        L.append(f"| producer: JSONL → acked in Kafka | {fmt(k['events_per_s'])} ev/s, "
                 f"RSS {fmt(k.get('rss_mb'))} MB | kcat raw lines: {fmt(p['kcat']['events_per_s'])}"
                 f" ev/s | {fmt(p['kx_over_kcat'])} | ≥ 100,000 ev/s | "
                 f"{verdict(k['events_per_s'] >= TARGETS['producer_eps'])} |")
        L.append(f"| producer `--dry-run` (validate + encode only) | "
                 f"{fmt(p['kx_dry_run']['events_per_s'])} ev/s | | | | |")
    c = res.get("consumer")
    peer = res.get("peer")
    if c:
        k = c["kx"]
        L.append(f"| consumer catch-up, 1 instance | {fmt(k['events_per_s'])} ev/s, RSS "
                 f"{fmt(k.get('rss_mb'))} MB | kcat read: {fmt(c['kcat']['events_per_s'])} ev/s"
                 f" | {fmt(c['kx_over_kcat'])} | ≥ 50,000 ev/s | "
                 f"{verdict(k['events_per_s'] >= TARGETS['consumer_eps'])} |")
        if len(k.get("runs", [])) > 1:
            L.append(f"| (the median of {len(k['runs'])} runs: "
                     + ", ".join(fmt(x["events_per_s"]) for x in k["runs"])
                     + " ev/s, in order; RSS the largest) | | | | | |")
        L.append(f"| | | raw COPY of the same history rows: {fmt(c['copy']['events_per_s'])} "
                 f"rows/s | {fmt(c['kx_over_copy'])} | | |")
        L.append(f"| consumer RSS | {fmt(k.get('rss_mb'))} MB | | | ≤ 64 MB | "
                 f"{verdict((k.get('rss_mb') or 1e9) <= TARGETS['consumer_rss_mb'])} |")
        if "kx_x2" in c:
            k2 = c["kx_x2"]
            L.append(f"| consumer catch-up, 2 instances, one group | {fmt(k2['events_per_s'])}"
                     f" ev/s, RSS max {fmt(k2['rss_mb'])} MB | 1 instance | "
                     f"{fmt(ratio(k2['events_per_s'], k['events_per_s']))} | | |")
    if peer and c:
        r = ratio(c["kx"]["events_per_s"], peer["events_per_s"])
        L.append(f"| consumer vs Python peer | {fmt(c['kx']['events_per_s'])} ev/s | peer: "
                 f"{fmt(peer['events_per_s'])} ev/s, RSS {fmt(peer.get('rss_mb'))} MB | "
                 f"{fmt(r)} | ≥ 10× | {verdict((r or 0) >= TARGETS['consumer_over_peer'])} |")
    lt = res.get("latency")
    if lt:
        k = lt["kx"]
        pr = lt.get("peer")
        def lb(x):
            return "≥ " if x.get("percentiles_are_lower_bounds") else ""
        L.append(f"| latency at {k['target_rate']:,} ev/s × {k['seconds']} s: p50 / p95 / p99 |"
                 f" {lb(k)}{fmt(k['p50_ms'])} / {fmt(k['p95_ms'])} / {fmt(k['p99_ms'])} ms | "
                 + (f"peer: {lb(pr)}{fmt(pr['p50_ms'])} / {fmt(pr['p95_ms'])} / "
                    f"{fmt(pr['p99_ms'])} ms" if pr else "") +
                 f" | {fmt(lt.get('kx_over_peer_p99'))} (p99) | p99 ≤ 500 ms | "
                 f"{verdict((k['p99_ms'] or 1e9) <= TARGETS['latency_p99_ms'])} |")
    v = res.get("views")
    if v:
        base = v["baseline_select_1"]
        for name, r in v["views"].items():
            L.append(f"| view `kx.{name}` p50 / p95 ({r['rows']} rows) | {fmt(r['p50_ms'])} / "
                     f"{fmt(r['p95_ms'])} ms | `SELECT 1`: {fmt(base['p95_ms'])} ms p95 | "
                     f"{fmt(r['p95_over_select_1'])} | ≤ 10 ms p95 at 10M | "
                     f"{verdict(r['p95_ms'] <= TARGETS['view_p95_ms'])} at "
                     f"{v['history_events'] / 1e6:.1f}M |")
    L.append("")
    L.append("## Details")
    L.append("")
    if p:
        L.append(f"- Producer: `kx-produce` closing line `{p['kx'].get('closing_line')}`; "
                 f"CPU user {p['kx'].get('user_s')} s + sys {p['kx'].get('sys_s')} s over "
                 f"{p['kx']['wall_s']} s wall; broker CPU {p['kx'].get('kafka_cpu_s')} s "
                 f"(kcat run: {p['kcat'].get('kafka_cpu_s')} s). kcat: user "
                 f"{p['kcat'].get('user_s')} s, RSS {p['kcat'].get('rss_mb')} MB.")
    if c:
        k = c["kx"]
        L.append("- Consumer x1" + (" (the median run)" if len(k.get("runs", [])) > 1 else "")
                 + f": {k['wall_s']} s wall, kx-aggregate CPU {k.get('user_s')} s "
                 f"user + {k.get('sys_s')} s sys, PostgreSQL CPU {k.get('pg_cpu_s')} s, broker"
                 f" CPU {k.get('kafka_cpu_s')} s; `kx-admin verify`: {k['verify']['output']}; "
                 f"rows: {k['rows']}; database {k['db_size_mb']} MB.")
        if k.get("steps_s"):
            L.append("- Consumer x1, kx-aggregate's time by step (its closing line): " +
                     ", ".join(f"{s} {v} s" for s, v in k["steps_s"].items()) + ".")
        if "kx_x2" in c:
            k2 = c["kx_x2"]
            L.append(f"- Consumer x2: {k2['wall_s']} s wall, CPU {k2['user_s']} s user (both), "
                     f"PostgreSQL CPU {k2['pg_cpu_s']} s; verify: {k2['verify']['output']}; "
                     f"views identical to x1: {k2['same_views_as_x1']}.")
        L.append(f"- Raw COPY baseline: {c['copy']['rows']:,} rows of `kx.events` into a "
                 f"table with the same primary key and index in {c['copy']['wall_s']} s.")
    if peer and peer.get("runs"):
        L.append("- Python peer, each batch size it ran at (the faster is compared): " +
                 "; ".join(f"batches of {x['batch_max']:,}: {fmt(x['events_per_s'])} ev/s, "
                           f"{x['wall_s']} s wall, CPU {x.get('user_s')} s user, "
                           f"PostgreSQL CPU {x.get('pg_cpu_s')} s, RSS {fmt(x.get('rss_mb'))} MB"
                           for x in peer["runs"]) + ".")
    if peer:
        L.append(f"- Python peer: {peer['wall_s']} s wall, CPU {peer.get('user_s')} s user + "
                 f"{peer.get('sys_s')} s sys, PostgreSQL CPU {peer.get('pg_cpu_s')} s; "
                 f"verify: {peer['verify']['output']}; every view identical to KX's: "
                 f"{peer['same_views_as_kx']}.")
    if lt:
        for who in ("kx", "peer"):
            if who in lt:
                k = lt[who]
                L.append(f"- Latency ({who}): {k['visible']:,}/{k['events']:,} events visible;"
                         f" send rate achieved {k['achieved_send_rate']:,}/s in chunks of "
                         f"{k['chunk_lines']} lines; poll every {k['poll_interval_p50_ms']} ms "
                         f"(query {k['poll_query_p50_ms']} ms) = the resolution; max "
                         f"{fmt(k['max_ms'])} ms.")
                if k.get("settle_s") is not None:
                    L.append(f"- Latency ({who}): before the run, `VACUUM (ANALYZE)` and "
                             f"`CHECKPOINT` of its database took {k['settle_s']} s (the "
                             "catch-up's after-effects, which autovacuum would otherwise "
                             "work off during the run's first 20 s).")
                if k.get("by_second"):
                    worst = sorted(k["by_second"], key=lambda r: -r[4])[:5]
                    L.append(f"- Latency ({who}), the seconds of the run with the slowest "
                             "events (second: events, p50 / p99 / max ms): "
                             + "; ".join(f"{r[0]}: {r[1]:,}, {fmt(r[2])} / {fmt(r[3])} / "
                                         f"{fmt(r[4])}" for r in worst) + ".")
                if k.get("steps_s"):
                    b = k.get("batches")
                    L.append(f"- Latency ({who}), kx-aggregate's time by step over the run"
                             + (f" ({b:,} transactions; ms per transaction)" if b else "") + ": "
                             + ", ".join(f"{n} {t} s" + (f" ({t * 1000 / b:.1f})" if b else "")
                                         for n, t in k["steps_s"].items()) + ".")
    if v:
        L.append(f"- Views measured over {v['history_events']:,} events of history, "
                 f"{v['agg_cell_rows']:,} `agg_cell` rows, {v['agg_party_rows']:,} `agg_party` "
                 f"rows ({res['events']:,} generated lines less their duplicates); "
                 f"{v['baseline_select_1']['reps']} runs each after one warm-up.")
    L.append("")
    with open(path_md, "w") as f:
        f.write("\n".join(L))


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--data", help="use this JSONL file instead of generating")
    ap.add_argument("--latency-seconds", type=int, default=60)
    ap.add_argument("--consumer-runs", type=int, default=3)
    ap.add_argument("--latency-rate", type=int, default=5000)
    ap.add_argument("--view-reps", type=int, default=100)
    ap.add_argument("--results", default=os.path.join(TOP, "bench", "results"))
    ap.add_argument("--tag", help="name the results <date>-TAG.{md,json}")
    ap.add_argument("--keep-topics", action="store_true")
    ap.add_argument("--argv", default="")
    a = ap.parse_args()
    if a.consumer_runs < 1:
        sys.exit("bench: --consumer-runs: at least 1")
    n = 100000 if a.quick and a.events == 1000000 else a.events
    only = set(a.only) or set(BENCHES)
    for o in only:
        if o not in BENCHES:
            sys.exit(f"bench: --only: '{o}' is not one of {', '.join(BENCHES)}")
    # What each benchmark needs first.
    need = set(only)
    if need & {"consumer", "peer", "views", "latency"}:
        need |= {"producer", "consumer"}
    t_start = time.monotonic()
    stamp = time.strftime("%H%M%S")
    tmp = tempfile.mkdtemp(prefix="kx-bench-")
    ctx = {"tmp": tmp, "n": n, "prefix": f"bench{stamp}.",
           "db_kx": f"bench_{stamp}_kx", "db_kx2": f"bench_{stamp}_kx2",
           "db_peer": f"bench_{stamp}_peer", "python": sys.executable,
           # Two instances only when the consumer benchmark itself was asked
           # for: the others need the data aggregated once.
           "consumer_modes": {"one", "two"} if "consumer" in only else {"one"},
           # Likewise the repeated runs of one instance.
           "consumer_runs": a.consumer_runs if "consumer" in only else 1,
           "view_reps": a.view_reps,
           "lat_rate": a.latency_rate, "lat_seconds": a.latency_seconds if not a.quick else 15,
           "lat_chunks_per_s": 50, "lat_poll_s": 0.005,
           "load_start": os.getloadavg()}
    res = {"date": dt.date.today().isoformat(), "argv": a.argv.split(), "events": n,
           "started": dt.datetime.now().isoformat(timespec="seconds")}
    res["machine"] = machine(ctx)
    try:
        ctx["data"] = a.data or generate(n, tmp)
        if a.data:
            n = ctx["n"] = res["events"] = count_lines(a.data)
        if "producer" in need:
            create_topics(ctx["prefix"])
            res["producer"] = bench_producer(ctx)
        if "consumer" in need:
            res["consumer"] = bench_consumer(ctx)
        if "peer" in only:
            res["peer"] = bench_peer(ctx)
            ctx["peer_done"] = True
        if "views" in only:
            res["views"] = bench_views(ctx)
        if "latency" in only:
            res["latency"] = bench_latency(ctx)
    finally:
        res["total_s"] = round(time.monotonic() - t_start, 1)
        res["loadavg_end"] = os.getloadavg()
        os.makedirs(a.results, exist_ok=True)
        base = os.path.join(a.results, res["date"] + (f"-{a.tag}" if a.tag else ""))
        try:
            write_report(res, base + ".md", base + ".json")
        except Exception as e:  # a partial run still keeps its JSON
            log(f"cannot write the report: {e!r}")
            with open(base + ".json", "w") as f:
                json.dump(res, f, indent=2, default=str)
        log(f"wrote {base}.md and {base}.json")
        for db in (ctx["db_kx"], ctx["db_kx2"], ctx["db_peer"]):
            try:
                sql("kx", f"DROP DATABASE IF EXISTS {db}", fetch=False)
            except Exception as e:
                log(f"cannot drop {db}: {e}")
        if a.keep_topics:
            log(f"kept the topics {ctx['prefix']}*")
        elif not delete_topics():
            log(f"deleted the topics {ctx['prefix']}*")
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
