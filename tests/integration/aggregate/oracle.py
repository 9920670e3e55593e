"""An independent model of CONTRACT §3: computes every dashboard view from
the partner events themselves (JSON Lines), with none of the consumer's
code or SQL. kx-admin verify compares the aggregates with a recomputation
from the entity states the consumer wrote; this compares the views with the
input, so it also catches a wrong entity state or a wrong first/held
marker, which verify would take on trust.

Values come out as psql prints them (-A -t, TimeZone UTC), so rows compare
as tuples of text.
"""

import datetime
import json
import unicodedata

MEASURES = ["pairings_proposed", "pairings_active", "pairings_completed",
            "pairings_suspended", "pairings_withdrawn", "action_plans_adopted",
            "pilot_projects", "visits_planned", "visits_held", "visits_cancelled",
            "participants", "practices_documented", "transfers_in_progress",
            "transfers_replicated", "transfers_abandoned", "countries", "partners"]
STATES = ["proposed", "matched", "agreement_signed", "action_plan_adopted",
          "completed", "suspended", "withdrawn"]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def instant_us(text):
    """RFC 3339 to microseconds since the epoch, fraction truncated."""
    main, rest, frac = text[:19], text[19:], ""
    if rest.startswith("."):
        i = 1
        while i < len(rest) and rest[i].isdigit():
            i += 1
        frac, rest = rest[1:i], rest[i:]
    offset = "+00:00" if rest in ("Z", "z") else rest
    dt = datetime.datetime.fromisoformat(main.replace("t", "T") + offset)
    us = int((dt - EPOCH).total_seconds()) * 1000000
    return us + int((frac + "000000")[:6])


def pg_ts(us):
    dt = EPOCH + datetime.timedelta(microseconds=us)
    s = dt.strftime("%Y-%m-%d %H:%M:%S")
    if us % 1000000:
        s += ("." + "%06d" % (us % 1000000)).rstrip("0")
    return s + "+00"


def party_key(p):
    return (p["country"], unicodedata.normalize(
        "NFC", unicodedata.normalize("NFC", p["name"]).casefold()))


def kind_of(ev):
    fam, state = ev["event_type"].split(".")
    if fam == "practice":
        return "practice", ev["practice_id"]
    if fam == "transfer":
        return "transfer", ev["transfer_id"]
    return fam, ev[fam + "_id"]


def parties_of(ev):
    t = ev["event_type"]
    if t.startswith("pairing."):
        return ev["members"]
    if t.startswith("visit."):
        return [ev["host"]] + ev["visitors"]
    if t.startswith("practice."):
        return [ev["origin"]]
    return [ev["adopter"]]


def contribution(kind, ev):
    """The measures (without countries/partners) one current entity adds."""
    m = dict.fromkeys(MEASURES[:-2], 0)
    state = ev["event_type"].split(".")[1]
    if kind == "pairing":
        key = {"matched": "pairings_active", "agreement_signed": "pairings_active",
               "action_plan_adopted": "pairings_active"}.get(state, "pairings_" + state)
        m[key] = 1
        m["action_plans_adopted"] = int(state in ("action_plan_adopted", "completed"))
        m["pilot_projects"] = ev.get("pilot_projects") or 0
    elif kind == "visit":
        m["visits_" + state] = 1
        if state == "held":
            m["participants"] = ev.get("participants") or 0
    elif kind == "practice":
        m["practices_documented"] = 1
    else:
        key = {"planned": "transfers_in_progress",
               "piloting": "transfers_in_progress"}.get(state, "transfers_" + state)
        m[key] = 1
    return m, state


FIRST = {"pairing": "pairing.matched", "visit": "visit.held",
         "transfer": "transfer.replicated"}


def compute(lines):
    """lines: JSON texts in Kafka order per entity (the file order)."""
    seen = set()
    history = {}
    for line in lines:
        line = line.strip()
        if not line:
            continue
        ev = json.loads(line)
        ev = {k: v for k, v in ev.items() if v is not None}
        eid = ev["event_id"].lower()
        if eid in seen:
            continue
        seen.add(eid)
        ev["_mark"] = (instant_us(ev["occurred_at"]), eid)
        history.setdefault(kind_of(ev), []).append(ev)

    cells = {}    # (dim, programme, goal, target) -> dict
    monthly = {}  # (month, programme) -> [pm, vh, part, tr]

    def cell(key):
        if key not in cells:
            c = dict.fromkeys(MEASURES[:-2], 0)
            c["_parties"] = set()
            c["_last"] = None
            c["_n"] = 0
            cells[key] = c
        return cells[key]

    for (kind, _), evs in history.items():
        evs.sort(key=lambda e: e["_mark"])
        cur = evs[-1]
        m, state = contribution(kind, cur)
        prog = cur["programme"]
        goals = {int(c.split(".")[0]) for c in cur["sdgs"]}
        targets = {".".join(c.split(".")[:2]) for c in cur["sdgs"] if "." in c}
        keys = [(0, prog, 0, "")]
        keys += [(1, "", g, "") for g in goals] + [(2, prog, g, "") for g in goals]
        keys += [(3, "", int(t.split(".")[0]), t) for t in targets]
        pkeys = {party_key(p) for p in parties_of(cur)}
        for k in keys:
            c = cell(k)
            c["_n"] += 1
            for name, v in m.items():
                c[name] += v
            c["_parties"] |= pkeys
            c["_last"] = max(c["_last"] or 0, cur["_mark"][0])
        if kind in FIRST:
            firsts = [e for e in evs if e["event_type"] == FIRST[kind]]
            if firsts:
                d = (datetime.datetime(1970, 1, 1) + datetime.timedelta(
                    microseconds=firsts[0]["_mark"][0])).strftime("%Y-%m-01")
                row = monthly.setdefault((d, prog), [0, 0, 0, 0])
                if kind == "pairing":
                    row[0] += 1
                elif kind == "visit":
                    row[1] += 1
                    row[2] += firsts[-1].get("participants") or 0
                else:
                    row[3] += 1

    def measures_of(c):
        vals = [c[name] for name in MEASURES[:-2]]
        vals += [len({p[0] for p in c["_parties"]}), len(c["_parties"])]
        return tuple(str(v) for v in vals)

    views = {"programme_progress": [], "sdg_progress": [], "programme_sdg_progress": [],
             "sdg_target_progress": [], "pairing_funnel": [], "monthly_activity": []}
    for (dim, prog, goal, target), c in cells.items():
        last = pg_ts(c["_last"])
        if dim == 0:
            views["programme_progress"].append((prog,) + measures_of(c) + (last,))
        elif dim == 2:
            views["programme_sdg_progress"].append((prog, str(goal)) + measures_of(c) + (last,))
        elif dim == 3:
            views["sdg_target_progress"].append((target, str(goal)) + measures_of(c) + (last,))
    for g in range(1, 18):
        c = cells.get((1, "", g, ""))
        if c:
            views["sdg_progress"].append((str(g),) + measures_of(c) + (pg_ts(c["_last"]),))
        else:
            views["sdg_progress"].append((str(g),) + ("0",) * len(MEASURES) + ("",))
    # The funnel counts pairings by state, from the entities themselves.
    funnel = {}
    for (kind, _), evs in history.items():
        if kind == "pairing":
            cur = evs[-1]
            funnel.setdefault(cur["programme"], dict.fromkeys(STATES, 0))
            funnel[cur["programme"]][cur["event_type"].split(".")[1]] += 1
    for _, prog, _, _ in [k for k in cells if k[0] == 0]:
        f = funnel.get(prog, dict.fromkeys(STATES, 0))
        for s in STATES:
            views["pairing_funnel"].append((prog, s, str(f[s])))
    for (month, prog), row in monthly.items():
        if any(row):
            views["monthly_activity"].append((month, prog) + tuple(str(v) for v in row))
    return {k: sorted(v) for k, v in views.items()}


QUERIES = {
    "programme_progress": "SELECT programme, %s, last_event_at FROM kx.programme_progress"
                          % ", ".join(MEASURES),
    "sdg_progress": "SELECT sdg_goal, %s, last_event_at FROM kx.sdg_progress"
                    % ", ".join(MEASURES),
    "programme_sdg_progress": "SELECT programme, sdg_goal, %s, last_event_at FROM "
                              "kx.programme_sdg_progress" % ", ".join(MEASURES),
    "sdg_target_progress": "SELECT sdg_target, sdg_goal, %s, last_event_at FROM "
                           "kx.sdg_target_progress" % ", ".join(MEASURES),
    "pairing_funnel": "SELECT programme, state, pairings FROM kx.pairing_funnel",
    "monthly_activity": "SELECT month, programme, pairings_matched, visits_held, "
                        "participants, transfers_replicated FROM kx.monthly_activity",
}


def actual(sc):
    return {name: sorted(sc.q(q)) for name, q in QUERIES.items()}


def compare(sc, lines, what):
    """One check per view: the view equals the model of lines."""
    want, got = compute(lines), actual(sc)
    for name in want:
        w, g = want[name], got[name]
        if not sc.res.true("%s: %s equals the model (%d rows)" % (what, name, len(w)),
                           w == g):
            ws, gs = set(w), set(g)
            for r in sorted(ws - gs)[:5]:
                print("  model only: %r" % (r,))
            for r in sorted(gs - ws)[:5]:
                print("  view only:  %r" % (r,))


def aggregate_and_check(sc, lines, what, batch_max="400"):
    """Folds what the scenario's topics hold, then checks that nothing was
    rejected, that every view equals the model of lines, and verify."""
    sc.aggregate("--batch-max", str(batch_max))
    sc.res.eq("%s: no event was rejected" % what, "0",
              sc.q1("SELECT count(*) FROM kx.rejected_events"))
    compare(sc, lines, what)
    sc.check_verify(what)
