#!/usr/bin/env python3
"""oracle: an independent reference computation of the KX views.

Computes every view of CONTRACT.md section 3 straight from the partner
feed (JSON Lines, section 1), written from the contract text alone: it
shares no code or SQL with KX.  Python 3 standard library only.

    oracle.py compute --events FILE... [--rejects FILE...] [--targets CSV]
                      [--out FILE]
    oracle.py compare (--events FILE... [--rejects FILE...] | --expected JSON)
                      --db CONNINFO [--targets CSV] [--no-ids] [--max-diffs N]

`compute` prints (or writes) the canonical JSON form: one sorted list of
rows per view, plus "event_ids" (the sorted distinct valid event ids) and
"stats".  `compare` queries every view with psql and prints each
difference; exit 0 when all match, 1 when any differs, 2 on usage/IO
errors.  Unless --no-ids is given it also compares the set of event ids in
kx.events with the distinct valid input ids, so a lost or extra event is
named.

Which lines are valid: the oracle does NOT validate on its own.  It takes
the lines that kx-produce accepted: pass kx-produce's --rejects file(s)
(from a --dry-run or a real run over the same files) with --rejects, and
every line listed there ("line N: ..." or "FILE: line N: ...") is
excluded.  A line that is not even JSON, or has no usable event_id,
event_type or occurred_at, is reported on stderr and excluded too (it can
only be a rejected line).

Choices where the contract leaves room (each is marked CHOICE below):
- party identity: (country, name) with the name compared as
  unicodedata.normalize('NFC', name).casefold(), i.e. full Unicode case
  folding after NFC (so 'STRASSE' equals 'straße').  A plain lower() would
  differ only for such special foldings; the generator never relies on one.
- a duplicate event_id keeps the first copy read (input order); the
  generator's duplicates are byte-identical so the choice is moot.
- occurred_at is kept to the microsecond (PostgreSQL's precision), with
  extra digits truncated before comparison.
- sdg targets are written '<goal>.<target>' exactly as in the code (codes
  are text; the contract's examples have no leading zeros).
"""

import argparse
import csv
import datetime
import io
import json
import os
import re
import subprocess
import sys
import unicodedata
from decimal import Decimal, ROUND_HALF_UP

PAIRING_STATES = ("proposed", "matched", "agreement_signed",
                  "action_plan_adopted", "completed", "suspended", "withdrawn")
ACTIVE = {"matched", "agreement_signed", "action_plan_adopted"}
ADOPTED = {"action_plan_adopted", "completed"}

MEASURES = ("pairings_proposed", "pairings_active", "pairings_completed",
            "pairings_suspended", "pairings_withdrawn", "action_plans_adopted",
            "pilot_projects", "visits_planned", "visits_held",
            "visits_cancelled", "participants", "practices_documented",
            "transfers_in_progress", "transfers_replicated",
            "transfers_abandoned", "countries", "partners")
COLS = MEASURES + ("last_event_at",)

# view -> (key columns, value columns)
VIEWS = {
    "programme_progress": (("programme",), COLS),
    "sdg_progress": (("sdg_goal",), COLS),
    "programme_sdg_progress": (("programme", "sdg_goal"), COLS),
    "sdg_target_progress": (("sdg_target",), ("sdg_goal",) + COLS),
    "pairing_funnel": (("programme", "state"), ("pairings",)),
    "monthly_activity": (("month", "programme"),
                         ("pairings_matched", "visits_held", "participants",
                          "transfers_replicated")),
    "target_progress": (("programme", "measure"),
                        ("target", "achieved", "pct")),
}

TS_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})"
                   r"(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def instant_us(s):
    """RFC 3339 text -> integer microseconds since the epoch (UTC)."""
    m = TS_RE.fullmatch(s)
    if not m:
        raise ValueError("not an RFC 3339 timestamp: %r" % s)
    y, mo, d, h, mi, se, frac, off = m.groups()
    sec = int(se)
    leap = sec == 60  # RFC 3339 leap second: count it as :59.999999+1us
    if leap:
        sec = 59
    dt = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), sec,
                           tzinfo=datetime.timezone.utc)
    us = (dt - EPOCH) // datetime.timedelta(microseconds=1)
    if frac:
        us += int((frac + "000000")[:6])  # CHOICE: truncate past 1 us
    if leap:
        us += 1000000
    if off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        us -= sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60) * 1000000
    return us


def fmt_instant(us):
    dt = EPOCH + datetime.timedelta(microseconds=us)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def month_of(us):
    dt = EPOCH + datetime.timedelta(microseconds=us)
    return "%04d-%02d-01" % (dt.year, dt.month)


def party_ident(p):
    # CHOICE: NFC, then full case folding (str.casefold), see the docstring.
    return (p.get("country"),
            unicodedata.normalize("NFC", p.get("name") or "").casefold())


def entity_of(ev):
    """(entity kind, key) of an event, by its type's family."""
    fam = ev["event_type"].split(".", 1)[0]
    key = {"pairing": "pairing_id", "visit": "visit_id",
           "practice": "practice_id", "transfer": "transfer_id"}[fam]
    return fam, ev[key]


def parties_of(ev):
    fam = ev["event_type"].split(".", 1)[0]
    out = []
    if fam == "pairing":
        out = list(ev.get("members") or [])
    elif fam == "visit":
        if ev.get("host"):
            out.append(ev["host"])
        out += list(ev.get("visitors") or [])
    elif fam == "practice":
        if ev.get("origin"):
            out.append(ev["origin"])
    elif fam == "transfer":
        if ev.get("adopter"):
            out.append(ev["adopter"])
    return [p for p in out if isinstance(p, dict)]


def goals_and_targets(sdgs):
    goals, targets = set(), set()
    for code in sdgs or []:
        parts = str(code).split(".")
        goal = int(parts[0])
        goals.add(goal)
        if len(parts) >= 2:  # a target, or an indicator under a target
            targets.add((parts[0] + "." + parts[1], goal))
    return goals, targets


# ---------------------------------------------------------------- input

def parse_rejects(paths):
    """kx-produce --rejects lines -> {(file or None, line number)}."""
    out = set()
    rx = re.compile(r"^(?:(.*?): )?line (\d+):")
    for path in paths or []:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = rx.match(line)
                if m:
                    out.add((m.group(1), int(m.group(2))))
    return out


def is_rejected(rejects, fname, n):
    return ((None, n) in rejects or (fname, n) in rejects
            or (os.path.basename(fname), n) in rejects)


def read_events(paths, rejects):
    """Valid, de-duplicated events in input order, plus stats."""
    seen = set()
    events = []
    stats = {"lines": 0, "rejected": 0, "duplicates": 0, "unusable": 0}
    for path in paths:
        with open(path, "rb") as f:
            for n, raw in enumerate(f, 1):
                stats["lines"] += 1
                if is_rejected(rejects, path, n):
                    stats["rejected"] += 1
                    continue
                try:
                    ev = json.loads(raw.decode("utf-8"))
                    eid = ev["event_id"].lower()
                    ev["_t"] = instant_us(ev["occurred_at"])
                    entity_of(ev)
                except Exception as e:  # only a rejected line can get here
                    stats["unusable"] += 1
                    print("oracle: %s: line %d: unusable, not listed as "
                          "rejected (%s)" % (path, n, e), file=sys.stderr)
                    continue
                if eid in seen:
                    stats["duplicates"] += 1
                    continue
                seen.add(eid)
                ev["_id"] = eid
                events.append(ev)
    stats["distinct_valid"] = len(events)
    return events, stats


def read_targets(path):
    rows = []
    if not path:
        return rows
    with open(path, newline="", encoding="utf-8") as f:
        for rec in csv.reader(f):
            if not rec or not "".join(rec).strip():
                continue
            if rec[0].strip() == "programme":  # header
                continue
            rows.append((rec[0].strip(), rec[1].strip(), int(rec[2])))
    return rows


# ---------------------------------------------------------------- views

def new_cell():
    c = dict.fromkeys(MEASURES, 0)
    c["_countries"] = set()
    c["_partners"] = set()
    c["last_event_at"] = None
    return c


def add_entity(c, kind, cur):
    st = cur["event_type"].split(".", 1)[1]
    if kind == "pairing":
        if st == "proposed":
            c["pairings_proposed"] += 1
        elif st in ACTIVE:
            c["pairings_active"] += 1
        elif st in ("completed", "suspended", "withdrawn"):
            c["pairings_" + st] += 1
        if st in ADOPTED:
            c["action_plans_adopted"] += 1
        c["pilot_projects"] += cur.get("pilot_projects") or 0
    elif kind == "visit":
        c["visits_" + st] += 1
        if st == "held":
            c["participants"] += cur.get("participants") or 0
    elif kind == "practice":
        c["practices_documented"] += 1
    elif kind == "transfer":
        if st in ("planned", "piloting"):
            c["transfers_in_progress"] += 1
        else:
            c["transfers_" + st] += 1
    for p in parties_of(cur):
        c["_countries"].add(p.get("country"))
        c["_partners"].add(party_ident(p))
    t = cur["_t"]
    if c["last_event_at"] is None or t > c["last_event_at"]:
        c["last_event_at"] = t


def finish(c):
    out = {k: c[k] for k in MEASURES}
    out["countries"] = len(c["_countries"])
    out["partners"] = len(c["_partners"])
    out["last_event_at"] = (fmt_instant(c["last_event_at"])
                            if c["last_event_at"] is not None else None)
    return out


def compute(events, targets):
    # Group each entity's history; the current state is the newest event
    # by (instant, event_id as text).
    hist = {}
    for ev in events:
        hist.setdefault(entity_of(ev), []).append(ev)
    prog, goal, pgoal, target = {}, {}, {}, {}
    funnel = {}
    monthly = {}
    for (kind, _key), evs in hist.items():
        evs.sort(key=lambda e: (e["_t"], e["_id"]))
        cur = evs[-1]
        p = cur["programme"]
        goals, tgts = goals_and_targets(cur.get("sdgs"))
        add_entity(prog.setdefault(p, new_cell()), kind, cur)
        for g in goals:
            add_entity(goal.setdefault(g, new_cell()), kind, cur)
            add_entity(pgoal.setdefault((p, g), new_cell()), kind, cur)
        for t, g in tgts:
            cell = target.setdefault(t, new_cell())
            cell["_goal"] = g
            add_entity(cell, kind, cur)
        if kind == "pairing":
            st = cur["event_type"].split(".", 1)[1]
            funnel[(p, st)] = funnel.get((p, st), 0) + 1
        # monthly history, under the entity's current programme
        want = {"pairing": ("pairing.matched", "pairings_matched"),
                "visit": ("visit.held", "visits_held"),
                "transfer": ("transfer.replicated",
                             "transfers_replicated")}.get(kind)
        if want:
            carrying = [e for e in evs if e["event_type"] == want[0]]
            if carrying:
                first, newest = carrying[0], carrying[-1]
                row = monthly.setdefault(
                    (month_of(first["_t"]), p),
                    {"pairings_matched": 0, "visits_held": 0,
                     "participants": 0, "transfers_replicated": 0})
                row[want[1]] += 1
                if kind == "visit":
                    row["participants"] += newest.get("participants") or 0

    views = {}
    views["programme_progress"] = [
        dict(programme=k, **finish(c)) for k, c in prog.items()]
    views["sdg_progress"] = [
        dict(sdg_goal=g, **finish(goal.get(g, new_cell())))
        for g in range(1, 18)]
    views["programme_sdg_progress"] = [
        dict(programme=k[0], sdg_goal=k[1], **finish(c))
        for k, c in pgoal.items()]
    views["sdg_target_progress"] = [
        dict(sdg_target=k, sdg_goal=c["_goal"], **finish(c))
        for k, c in target.items()]
    views["pairing_funnel"] = [
        {"programme": p, "state": s, "pairings": funnel.get((p, s), 0)}
        for p in prog for s in PAIRING_STATES]
    views["monthly_activity"] = [
        dict(month=k[0], programme=k[1], **v) for k, v in monthly.items()
        if any(v.values())]
    pp = {r["programme"]: r for r in views["programme_progress"]}
    views["target_progress"] = _targets(pp, targets)
    for name, (keys, _vals) in VIEWS.items():
        views[name].sort(key=lambda r: tuple(str(r[k]).zfill(3)
                                             if k == "sdg_goal" else r[k]
                                             for k in keys))
    return views


# ---------------------------------------------------------------- database

SELECT = {
    "last_event_at": "to_char(last_event_at AT TIME ZONE 'UTC', "
                     "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS last_event_at",
    "month": "to_char(month, 'YYYY-MM-DD') AS month",
    "pct": "pct::text AS pct",
}


def psql(conninfo, sql):
    r = subprocess.run(["psql", "-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1",
                        "-d", conninfo, "-c", sql],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=300)
    if r.returncode:
        raise RuntimeError("psql failed: %s" % r.stderr.strip())
    return list(csv.DictReader(io.StringIO(r.stdout)))


def db_view(conninfo, name):
    keys, vals = VIEWS[name]
    cols = ", ".join(SELECT.get(c, c) for c in keys + vals)
    rows = psql(conninfo, "SELECT %s FROM kx.%s" % (cols, name))
    out = []
    for r in rows:
        row = {}
        for c in keys + vals:
            v = r[c]
            if v == "":
                v = None
            elif c in MEASURES or c in ("sdg_goal", "pairings", "target",
                                        "achieved", "pairings_matched",
                                        "visits_held", "transfers_replicated"):
                v = int(v)
            row[c] = v
        out.append(row)
    return out


def norm_value(col, v):
    if col == "pct" and v is not None:
        return str(Decimal(v).quantize(Decimal("0.1")))
    return v


def diff_view(name, want, got, limit):
    keys, vals = VIEWS[name]
    kf = lambda r: tuple(r[k] for k in keys)  # noqa: E731
    w = {kf(r): r for r in want}
    g = {}
    diffs = []
    for r in got:
        k = kf(r)
        if k in g:
            diffs.append("%s %s: duplicate row in the database" % (name, k))
        g[k] = r
    for k in sorted(set(w) | set(g), key=str):
        if k not in g:
            diffs.append("%s %s: missing in the database (expected %s)"
                         % (name, k, {c: w[k][c] for c in vals}))
        elif k not in w:
            diffs.append("%s %s: unexpected row in the database %s"
                         % (name, k, {c: g[k][c] for c in vals}))
        else:
            for c in vals:
                a, b = norm_value(c, w[k][c]), norm_value(c, g[k][c])
                if a != b:
                    diffs.append("%s %s: %s expected %r, database has %r"
                                 % (name, k, c, a, b))
    return diffs


def compare(expected, conninfo, check_ids, limit):
    total = 0
    for name in VIEWS:
        try:
            got = db_view(conninfo, name)
        except RuntimeError as e:
            print("%s: cannot query: %s" % (name, e))
            total += 1
            continue
        diffs = diff_view(name, expected[name], got, limit)
        for d in diffs[:limit]:
            print(d)
        if len(diffs) > limit:
            print("%s: ... and %d more differences" % (name,
                                                       len(diffs) - limit))
        print("oracle: view %-24s %6d rows expected, %6d in db: %s"
              % (name, len(expected[name]), len(got),
                 "ok" if not diffs else "%d differences" % len(diffs)),
              file=sys.stderr)
        total += len(diffs)
    if check_ids:
        rows = psql(conninfo, "SELECT event_id::text AS id FROM kx.events")
        got = [r["id"] for r in rows]
        gs, ws = set(got), set(expected["event_ids"])
        missing, extra = sorted(ws - gs), sorted(gs - ws)
        ndup = len(got) - len(gs)
        for i in missing[:limit]:
            print("events: %s is valid input but not in kx.events" % i)
        for i in extra[:limit]:
            print("events: %s is in kx.events but not valid input" % i)
        if ndup:
            print("events: %d duplicate event_id rows in kx.events" % ndup)
        bad = len(missing) + len(extra) + ndup
        print("oracle: kx.events: %d distinct valid input ids, %d rows in "
              "db: %s" % (len(ws), len(got),
                          "ok" if not bad else "%d missing, %d extra"
                          % (len(missing), len(extra))), file=sys.stderr)
        total += bad
    return total


# ---------------------------------------------------------------- main

def build(args):
    if args.expected:
        with open(args.expected, encoding="utf-8") as f:
            res = json.load(f)
        if args.targets:  # targets may differ from the cached run's
            pp = {r["programme"]: r for r in res["programme_progress"]}
            res["target_progress"] = _targets(pp, read_targets(args.targets))
        return res
    events, stats = read_events(args.events, parse_rejects(args.rejects))
    res = compute(events, read_targets(args.targets))
    res["event_ids"] = sorted(e["_id"] for e in events)
    res["stats"] = stats
    return res


def _targets(pp, targets):
    out = []
    for p, m, tgt in targets:
        ach = pp[p][m] if p in pp else 0
        pct = None
        if tgt:
            pct = str((Decimal(100) * ach / Decimal(tgt)).quantize(
                Decimal("0.1"), rounding=ROUND_HALF_UP))
        out.append({"programme": p, "measure": m, "target": tgt,
                    "achieved": ach, "pct": pct})
    out.sort(key=lambda r: (r["programme"], r["measure"]))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="oracle.py",
        description="Reference computation of the KX views from the input "
                    "events (CONTRACT.md sections 1 and 3).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("compute", "compare"):
        s = sub.add_parser(name)
        s.add_argument("--events", nargs="+", default=[], metavar="FILE",
                       help="partner feed(s), JSON Lines")
        s.add_argument("--rejects", nargs="+", default=[], metavar="FILE",
                       help="kx-produce --rejects file(s): lines to exclude")
        s.add_argument("--targets", metavar="CSV",
                       help="programme,measure,target")
        s.add_argument("--expected", metavar="JSON",
                       help="a cached 'compute --out' result instead of "
                            "--events")
        if name == "compute":
            s.add_argument("--out", metavar="FILE")
        else:
            s.add_argument("--db", required=True, metavar="CONNINFO")
            s.add_argument("--no-ids", action="store_true",
                           help="do not compare the ids in kx.events")
            s.add_argument("--max-diffs", type=int, default=30)
    args = ap.parse_args(argv)
    if not args.events and not args.expected:
        ap.error("give --events or --expected")
    try:
        res = build(args)
    except (OSError, ValueError, KeyError) as e:
        print("oracle: %s" % e, file=sys.stderr)
        return 2
    if args.cmd == "compute":
        text = json.dumps(res, ensure_ascii=False, sort_keys=True)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            print(text)
        if "stats" in res:
            print("oracle: %s" % json.dumps(res["stats"]), file=sys.stderr)
        return 0
    n = compare(res, args.db, not args.no_ids, args.max_diffs)
    print("oracle: %s" % ("all views match" if not n
                          else "%d differences" % n), file=sys.stderr)
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
