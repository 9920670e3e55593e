"""Shared harness of the kx-aggregate integration tests (Python stdlib only).

Each scenario gets its own database (kx_agg_<test>_<scenario>), topic prefix
and consumer group, so scenarios never see each other's events. Events are
built here as dicts, sent with kx-produce, folded with
`kx-aggregate --until-caught-up`, and the views are read back with psql.

Needs KX_BROKERS and KX_DB (from with-stack.sh) and KX_BIN_DIR (ctest sets
it; default: <repo>/build/bin).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.environ.get("KX_BIN_DIR", os.path.join(TOP, "build", "bin"))
DATA = os.path.join(TOP, "tests", "data", "aggregate")
os.environ["PGTZ"] = "UTC"  # timestamps print in UTC


def base_conninfo():
    db = os.environ.get("KX_DB")
    if not db or not os.environ.get("KX_BROKERS"):
        die("KX_BROKERS and KX_DB must be set (run through with-stack.sh)")
    return re.sub(r"dbname=\S+", "", db).strip()


def die(msg):
    print("test: " + msg, file=sys.stderr)
    print("0 passed, 1 failed")
    sys.exit(1)


class Result:
    """Counts checks and prints TAP-like lines and the closing line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def eq(self, what, expected, actual):
        if expected == actual:
            self.passed += 1
            print("ok - " + what)
            return True
        self.failed += 1
        print("not ok - " + what)
        print("  expected: %r" % (expected,))
        print("  actual:   %r" % (actual,))
        return False

    def true(self, what, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok - " + what)
            return True
        self.failed += 1
        print("not ok - " + what)
        if detail:
            print("  " + str(detail).replace("\n", "\n  "))
        return False

    def done(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 0 if self.failed == 0 else 1


def run(cmd, env=None, timeout=300, input=None, check=False):
    p = subprocess.run(cmd, env=env, timeout=timeout, input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if check and p.returncode != 0:
        die("%s exited %d:\n%s%s" % (" ".join(cmd), p.returncode, out, err))
    return p.returncode, out, err


def psql_raw(conninfo, sql, timeout=120):
    rc, out, err = run(["psql", "-X", "-q", "-A", "-t", "-F", "\t",
                        "-v", "ON_ERROR_STOP=1", conninfo, "-c", sql],
                       timeout=timeout)
    return rc, out, err


class Scenario:
    """One isolated world: database, topic prefix, consumer group."""

    def __init__(self, test, name, res, prefix=None):
        self.res = res
        self.name = "%s_%s" % (test, name)
        self.base = base_conninfo()
        self.admin_db = self.base + " dbname=postgres"
        self.dbname = ("kx_" + re.sub(r"[^a-z0-9_]", "_", self.name.lower()))[:60]
        self.db = "%s dbname=%s" % (self.base, self.dbname)
        self.prefix = prefix or "%s.%d.%d." % (self.name, os.getpid(), int(time.time()))
        self.prefixes = []  # whose topics it created, deleted by cleanup()
        self.group = "%s-%d" % (self.name, os.getpid())
        self.tmp = tempfile.mkdtemp(prefix="kx-%s." % self.name)
        self.n_files = 0
        self.env = dict(os.environ)
        self.env.update(KX_DB=self.db, KX_TOPIC_PREFIX=self.prefix,
                        KX_GROUP=self.group)
        for sql in ("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.dbname,
                    "CREATE DATABASE %s" % self.dbname):
            rc, out, err = psql_raw(self.admin_db, sql)
            if rc:
                die("cannot create database %s: %s" % (self.dbname, err))
        self.admin("migrate", check=True)
        if not prefix:  # a given prefix reads another scenario's topics
            self.create_topics(self.prefix)
        print("# scenario %s (db %s, prefix %s)" % (name, self.dbname, self.prefix))

    # ---- commands ----

    def create_topics(self, prefix):
        """Creates the three topics of prefix; cleanup() deletes them."""
        self.admin("topics", "create", "--topic-prefix", prefix, check=True)
        self.prefixes.append(prefix)

    def admin(self, *args, check=False, env=None):
        return run([os.path.join(BIN, "kx-admin")] + list(args),
                   env=env or self.env, check=check)

    def produce_lines(self, lines, expect_rc=0):
        self.n_files += 1
        path = os.path.join(self.tmp, "events-%d.jsonl" % self.n_files)
        with open(path, "w", encoding="utf-8") as fp:
            for line in lines:
                fp.write(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False))
                fp.write("\n")
        return self.produce_file(path, expect_rc)

    def produce(self, *events):
        return self.produce_lines(list(events))

    def produce_file(self, path, expect_rc=0):
        rc, out, err = run([os.path.join(BIN, "kx-produce"), path], env=self.env)
        if rc != expect_rc:
            die("kx-produce %s exited %d:\n%s" % (path, rc, err))
        return err

    def aggregate_cmd(self, *args, level="warn"):
        cmd = [os.path.join(BIN, "kx-aggregate"), "--until-caught-up",
               "--log-level", level, "--batch-ms", "100"]
        if os.environ.get("AGG_BATCH_MAX"):  # e.g. 1: every event its own batch
            cmd += ["--batch-max", os.environ["AGG_BATCH_MAX"]]
        return cmd + list(args)

    def aggregate(self, *args, timeout=240, env=None):
        rc, out, err = run(self.aggregate_cmd(*args), env=env or self.env,
                           timeout=timeout)
        if rc != 0:
            die("kx-aggregate exited %d:\n%s" % (rc, err))
        return err

    def kxgen(self, seed, n, name="gen.jsonl", extra=()):
        path = os.path.join(self.tmp, name)
        run([sys.executable, os.path.join(TOP, "tools", "kxgen", "kxgen.py"),
             "--seed", str(seed), "-n", str(n), "--out", path] + list(extra),
            check=True)
        return path

    def views(self):
        """Every dashboard view, as sorted rows (party ids never show)."""
        out = {}
        for v in VIEWS:
            out[v] = sorted(self.q("SELECT * FROM kx.%s" % v))
        return out

    def verify(self):
        return self.admin("verify")

    def check_verify(self, what):
        rc, out, err = self.verify()
        self.res.true("%s: kx-admin verify passes" % what, rc == 0, out + err)

    # ---- queries ----

    def q(self, sql):
        rc, out, err = psql_raw(self.db, sql)
        if rc:
            die("query failed: %s\n%s" % (sql, err))
        return [tuple(line.split("\t")) for line in out.splitlines() if line != ""]

    def q1(self, sql):
        rows = self.q(sql)
        return rows[0][0] if rows else None

    def progress(self, programme, cols):
        rows = self.q("SELECT %s FROM kx.programme_progress WHERE programme = '%s'"
                      % (", ".join(cols), programme))
        return rows[0] if rows else None

    def funnel(self, programme):
        return dict(self.q("SELECT state, pairings FROM kx.pairing_funnel "
                           "WHERE programme = '%s'" % programme))

    def cleanup(self, keep):
        """Drops what the scenario made, unless a test failed. Topics go too:
        a stack kept across runs (KX_STACK_KEEP) would otherwise gather
        thousands of partitions, past what the broker's heap holds."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        if not keep:
            psql_raw(self.admin_db, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.dbname)
            for prefix in self.prefixes:
                self.admin("topics", "delete", "--yes", "--topic-prefix", prefix)


# ---- events ----

_seq = [0]


def eid(n=None):
    """A deterministic event id; larger n sorts later as text."""
    if n is None:
        _seq[0] += 1
        n = _seq[0]
    return "00000000-0000-4000-8000-%012x" % n


def party(name, country, kind="city", eu=False):
    return {"name": name, "country": country, "kind": kind, "eu": eu}


P_LISBOA = party("Lisboa", "PT", eu=True)
P_SAO_PAULO = party("São Paulo", "BR")
P_KYIV = party("Київ", "UA")
P_BEIJING = party("北京", "CN")


def pairing(pid, state, at, programme="IURC", sdgs=("11",), members=None,
            pilot=None, event_id=None, **extra):
    ev = {"event_id": event_id or eid(), "event_type": "pairing." + state,
          "occurred_at": at, "source": "agg-test", "programme": programme,
          "sdgs": list(sdgs), "pairing_id": pid, "cooperation_type": "bilateral",
          "members": members if members is not None else [P_LISBOA, P_SAO_PAULO]}
    if pilot is not None:
        ev["pilot_projects"] = pilot
    ev.update(extra)
    return ev


def visit(vid, state, at, programme="IURC", sdgs=("11",), participants=None,
          host=None, visitors=None, event_id=None, **extra):
    ev = {"event_id": event_id or eid(), "event_type": "visit." + state,
          "occurred_at": at, "source": "agg-test", "programme": programme,
          "sdgs": list(sdgs), "visit_id": vid, "visit_type": "study_visit",
          "format": "in_person", "host": host or P_LISBOA,
          "visitors": visitors or [P_SAO_PAULO],
          "start_date": "2025-04-28", "end_date": "2025-04-30"}
    if participants is not None:
        ev["participants"] = participants
    ev.update(extra)
    return ev


def practice(prid, at, programme="IURC", sdgs=("11",), origin=None,
             event_id=None):
    return {"event_id": event_id or eid(), "event_type": "practice.documented",
            "occurred_at": at, "source": "agg-test", "programme": programme,
            "sdgs": list(sdgs), "practice_id": prid, "title": "Practice " + prid,
            "origin": origin or P_LISBOA, "product_type": "handbook"}


def transfer(tid, prid, state, at, programme="IURC", sdgs=("11",),
             adopter=None, event_id=None):
    return {"event_id": event_id or eid(), "event_type": "transfer." + state,
            "occurred_at": at, "source": "agg-test", "programme": programme,
            "sdgs": list(sdgs), "transfer_id": tid, "practice_id": prid,
            "adopter": adopter or P_KYIV}


VIEWS = ["programme_progress", "sdg_progress", "programme_sdg_progress",
         "sdg_target_progress", "pairing_funnel", "monthly_activity",
         "target_progress"]

# The integer measures of kx.programme_progress, in view order.
MEASURES = ["pairings_proposed", "pairings_active", "pairings_completed",
            "pairings_suspended", "pairings_withdrawn", "action_plans_adopted",
            "pilot_projects", "visits_planned", "visits_held", "visits_cancelled",
            "participants", "practices_documented", "transfers_in_progress",
            "transfers_replicated", "transfers_abandoned", "countries", "partners"]


def measures(**kw):
    """A full measure tuple (as psql text) with zeros except kw."""
    unknown = set(kw) - set(MEASURES)
    assert not unknown, unknown
    return tuple(str(kw.get(m, 0)) for m in MEASURES)


class Suite:
    """Runs scenario functions, each in its own Scenario; closes the result."""

    def __init__(self, test):
        self.test = test
        self.res = Result()
        self.scenarios = []

    def scenario(self, name, prefix=None):
        sc = Scenario(self.test, name, self.res, prefix)
        self.scenarios.append(sc)
        return sc

    def run(self, funcs, only=None):
        for f in funcs:
            if only and f.__name__ not in only:
                continue
            failed_before = self.res.failed
            try:
                f(self)
            except subprocess.TimeoutExpired as e:
                self.res.true("%s: no timeout" % f.__name__, False, str(e))
            except SystemExit:
                raise
            except Exception as e:  # a broken scenario is a failure, not a crash
                import traceback
                self.res.true("%s: runs" % f.__name__, False, traceback.format_exc())
            if self.res.failed != failed_before:
                print("# %s failed; its database is kept" % f.__name__)
        for sc in self.scenarios:
            sc.cleanup(keep=self.res.failed > 0)
        return self.res.done()
