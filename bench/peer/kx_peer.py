#!/usr/bin/env python3
"""kx_peer: a well-written Python equivalent of kx-aggregate, for bench/run.

It does what kx-aggregate does, the same way, so the comparison is fair:
  - confluent-kafka consumer, eager `range` assignor, start offsets read from
    PostgreSQL on every assignment and passed to assign();
  - batches of up to --batch-max messages or --batch-ms of polling;
  - Confluent framing + Avro decoded with fastavro.schemaless_reader, using
    the writer schema of the frame's schema id (schemas/*.avsc, catalogue);
  - parties resolved (own short transaction, cached), then ONE transaction
    per batch: guarded offset move, COPY events into a staging table and
    INSERT ... ON CONFLICT DO NOTHING RETURNING (dedup by event_id, the
    database decides), entity states loaded FOR UPDATE, the snapshot rule
    applied in memory, deltas "old contribution out, new in" pre-aggregated
    per batch, COPY of entity rows and deltas into staging tables and the
    same set-based upserts as kx-aggregate, COMMIT; then an async commit of
    the offsets to Kafka for lag tools;
  - it writes KX's own schema (run `kx-admin migrate` on its database), so
    `kx-admin verify` checks its result, and the views can be compared.

Usage: kx_peer.py --brokers B --db CONNINFO --group G [--topic-prefix P]
                  [--schemas DIR] [--until-caught-up]
"""
import argparse
import io
import json
import os
import signal
import sys
import time
import unicodedata

import fastavro
import psycopg
from confluent_kafka import Consumer, KafkaError, TopicPartition

FAMILIES = ("pairing", "visit", "practice")
TOPIC_SUFFIX = {"pairing": "pairings", "visit": "visits", "practice": "practices"}
KINDS = ("pairing", "visit", "practice", "transfer")
TABLE = {"pairing": "pairings", "visit": "visits", "practice": "practices",
         "transfer": "transfers"}
IDCOL = {"pairing": "pairing_id", "visit": "visit_id", "practice": "practice_id",
         "transfer": "transfer_id"}
KIND_NO = {k: i for i, k in enumerate(KINDS)}

MEASURES = ("entities", "pairings_proposed", "pairings_matched",
            "pairings_agreement_signed", "pairings_action_plan_adopted",
            "pairings_completed", "pairings_suspended", "pairings_withdrawn",
            "action_plans_adopted", "pilot_projects", "visits_planned",
            "visits_held", "visits_cancelled", "participants",
            "practices_documented", "transfers_planned", "transfers_piloting",
            "transfers_replicated", "transfers_abandoned")
MI = {m: i for i, m in enumerate(MEASURES)}
NM = len(MEASURES)
STATE_MEASURE = {"pairing": "pairings_", "visit": "visits_",
                 "transfer": "transfers_"}
FIRST_TYPE = {"pairing": "pairing.matched", "visit": "visit.held",
              "transfer": "transfer.replicated"}
FIRST_STEM = {"pairing": "matched", "visit": "held", "transfer": "replicated"}

COMMON = ["shard", "programme", "state", "source", "geo_area"]
TAIL = ["sdgs", "goals", "targets", "themes", "party_ids", "last_event_at",
        "last_event_id"]
COLS = {
    "pairing": ["pairing_id"] + COMMON + ["cooperation_type", "pilot_projects"]
    + TAIL + ["first_matched_at", "first_matched_id"],
    "visit": ["visit_id"] + COMMON + ["pairing_id", "visit_type", "format",
                                      "start_date", "end_date", "participants"]
    + TAIL + ["first_held_at", "first_held_id", "held_newest_at",
              "held_newest_id", "held_participants"],
    "practice": ["practice_id"] + COMMON + ["title", "product_type"] + TAIL,
    "transfer": ["transfer_id"] + COMMON + ["practice_id"] + TAIL
    + ["first_replicated_at", "first_replicated_id"],
}

SESSION_SQL = """
SET synchronous_commit = off;
SET jit = off;
SET TimeZone = 'UTC';
SET client_min_messages = warning;
CREATE TEMP TABLE IF NOT EXISTS s_events (LIKE kx.events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS s_pairings (LIKE kx.pairings INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS s_visits (LIKE kx.visits INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS s_practices (LIKE kx.practices INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS s_transfers (LIKE kx.transfers INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS s_cell (LIKE kx.agg_cell INCLUDING DEFAULTS, removed_last timestamptz) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS s_party_in (dim smallint, programme text, goal smallint,
  target text, party_id int, shard int, refs int) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS s_party (cell_id int, party_id int, shard int, refs int) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS s_month (LIKE kx.agg_monthly) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS s_reject (group_id text, topic text, partition int,
  kafka_offset bigint, key bytea, value bytea, reason text) ON COMMIT DELETE ROWS;
"""


# The same statement as kx-aggregate's (consumers/kx-aggregate/store_sql.c,
# PARTY_CTES): refs after the batch come back from RETURNING with the
# batch's delta, so refs - delta is the count before it, and 0 <-> 1
# crossings move partners and countries; a goal's rows count programmes.
# s_party is filled in key order (below), so p takes its rows in that order.
PARTY_SQL = (
    "WITH p AS (INSERT INTO kx.agg_party AS a (cell_id, party_id, refs, delta) "
    "SELECT cell_id, party_id, refs, refs FROM s_party ON CONFLICT "
    "(cell_id, party_id) DO UPDATE SET refs = a.refs + EXCLUDED.refs, delta = "
    "EXCLUDED.refs RETURNING a.cell_id, a.party_id, a.refs, a.delta), "
    "x0 AS (SELECT cell_id, party_id, CASE WHEN refs > 0 THEN 1 ELSE -1 END AS d "
    "FROM p WHERE (refs > 0) <> (refs - delta > 0)), "
    "g AS (SELECT k.goal_cell_id AS cell_id, x0.party_id, sum(x0.d)::int AS d "
    "FROM x0 JOIN kx.cells k USING (cell_id) WHERE k.goal_cell_id IS NOT NULL "
    "GROUP BY 1, 2 HAVING sum(x0.d) <> 0), "
    "p1 AS (INSERT INTO kx.agg_party AS a (cell_id, party_id, refs, delta) SELECT "
    "cell_id, party_id, d, d FROM g ORDER BY 1, 2 ON CONFLICT (cell_id, party_id) "
    "DO UPDATE SET refs = a.refs + EXCLUDED.refs, delta = EXCLUDED.refs RETURNING "
    "a.cell_id, a.party_id, a.refs, a.delta), "
    "x AS (SELECT cell_id, party_id, d FROM x0 UNION ALL SELECT cell_id, party_id, "
    "CASE WHEN refs > 0 THEN 1 ELSE -1 END FROM p1 WHERE (refs > 0) <> (refs - "
    "delta > 0)), "
    "xc AS (SELECT x.cell_id, pa.country, sum(x.d)::int AS d FROM x JOIN "
    "kx.parties pa USING (party_id) GROUP BY 1, 2 HAVING sum(x.d) <> 0), "
    "c AS (INSERT INTO kx.agg_country AS a (cell_id, country, refs, delta) SELECT "
    "cell_id, country, d, d FROM xc ORDER BY 1, 2 ON CONFLICT (cell_id, country) "
    "DO UPDATE SET refs = a.refs + EXCLUDED.refs, delta = EXCLUDED.refs "
    "RETURNING a.cell_id, a.refs, a.delta), "
    "cx AS (SELECT cell_id, CASE WHEN refs > 0 THEN 1 ELSE -1 END AS d FROM c "
    "WHERE (refs > 0) <> (refs - delta > 0)), "
    "m AS (SELECT cell_id, d AS partners, 0 AS countries FROM x UNION ALL "
    "SELECT cell_id, 0, d FROM cx) "
    "INSERT INTO s_cell (dim, programme, goal, target, shard, partners, countries) "
    "SELECT k.dim, k.programme, k.goal, k.target, (SELECT min(shard) FROM s_party), "
    "sum(m.partners), sum(m.countries) FROM m JOIN kx.cells k USING (cell_id) "
    "GROUP BY 1, 2, 3, 4")


def build_upsert_sql():
    out = []
    for k in KINDS:
        cols = COLS[k]
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols[1:])
        out.append(f"INSERT INTO kx.{TABLE[k]} AS t ({', '.join(cols)}) SELECT "
                   f"{', '.join(cols)} FROM s_{TABLE[k]} ON CONFLICT ({cols[0]}) "
                   f"DO UPDATE SET updated_at = now(), {sets}")
    m = ", ".join(MEASURES)
    sums = ", ".join(f"sum({c})" for c in MEASURES)
    upd = ", ".join(f"{c} = a.{c} + EXCLUDED.{c}" for c in MEASURES)
    # Party refs per (cell id, party) over all shards, as kx-aggregate
    # writes them (schema version 2): cells by id, one of the shards kept.
    out.append("INSERT INTO kx.cells (dim, programme, goal, target) SELECT "
               "DISTINCT dim, programme, goal, target FROM s_party_in ORDER BY "
               "1, 2, 3, 4 ON CONFLICT DO NOTHING")
    out.append("INSERT INTO s_party SELECT c.cell_id, s.party_id, min(s.shard), "
               "sum(s.refs) FROM s_party_in s JOIN kx.cells c USING (dim, "
               "programme, goal, target) WHERE s.dim <> 1 GROUP BY 1, 2 HAVING "
               "sum(s.refs) <> 0 ORDER BY 1, 2")
    out.append(PARTY_SQL)
    out.append("INSERT INTO kx.agg_cell AS a (dim, programme, goal, target, shard, "
               f"{m}, partners, countries, last_event_at) SELECT dim, programme, "
               f"goal, target, shard, {sums}, sum(partners), sum(countries), "
               "max(last_event_at) FROM s_cell GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, "
               "2, 3, 4, 5 ON CONFLICT (dim, programme, goal, target, shard) DO "
               "UPDATE SET last_event_at = greatest(a.last_event_at, "
               "EXCLUDED.last_event_at), partners = a.partners + EXCLUDED.partners, "
               f"countries = a.countries + EXCLUDED.countries, {upd}")
    out.append("UPDATE kx.agg_cell a SET last_event_at = kx.cell_last_event(a.dim, "
               "a.programme, a.goal, a.target, a.shard) FROM s_cell s WHERE "
               "s.removed_last IS NOT NULL AND a.dim = s.dim AND a.programme = "
               "s.programme AND a.goal = s.goal AND a.target = s.target AND "
               "a.shard = s.shard AND (a.last_event_at IS NULL OR "
               "a.last_event_at <= s.removed_last)")
    out.append("INSERT INTO kx.agg_monthly AS a (month, programme, shard, "
               "pairings_matched, visits_held, participants, transfers_replicated) "
               "SELECT * FROM s_month ORDER BY 1, 2, 3 ON CONFLICT (month, programme, "
               "shard) DO UPDATE SET pairings_matched = a.pairings_matched + "
               "EXCLUDED.pairings_matched, visits_held = a.visits_held + "
               "EXCLUDED.visits_held, participants = a.participants + "
               "EXCLUDED.participants, transfers_replicated = a.transfers_replicated "
               "+ EXCLUDED.transfers_replicated")
    out.append("INSERT INTO kx.rejected_events (group_id, topic, partition, "
               "kafka_offset, key, value, reason) SELECT * FROM s_reject ON "
               "CONFLICT DO NOTHING")
    return ";\n".join(out) + ";"


UPSERT_SQL = build_upsert_sql()


def load_sql(kind):
    return (f"SELECT {', '.join(COLS[kind])} FROM kx.{TABLE[kind]} "
            f"WHERE {IDCOL[kind]} = ANY(%s) FOR UPDATE")


# ---------------------------------------------------------------- decoding

def load_writer_schemas(schema_dir):
    """Schema id -> (family, parsed writer schema), from catalogue.txt."""
    out = {}
    with open(os.path.join(schema_dir, "catalogue.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            sid, family, _version, fname = line.split()
            with open(os.path.join(schema_dir, fname), encoding="utf-8") as sf:
                out[int(sid)] = (family, fastavro.parse_schema(json.load(sf)))
    return out


def party_tuple(p):
    return (p["country"], p["name"], p["kind"], p["eu"])


class Event:
    __slots__ = ("event_id", "type", "kind", "state", "at", "programme", "source",
                 "geo_area", "sdgs", "themes", "entity_id", "parties", "rec",
                 "party_ids", "shard", "offset")


def to_event(rec, family):
    ev = Event()
    t = rec["event_type"].replace("_", ".", 1)
    ev.type = t
    fam, state = t.split(".", 1)
    ev.kind = fam
    ev.state = state
    ev.event_id = str(rec["event_id"]).lower()
    ev.at = rec["occurred_at"]
    ev.programme = rec["programme"]
    ev.source = rec["source"]
    ev.geo_area = rec.get("geo_area")
    ev.sdgs = rec["sdgs"]
    ev.themes = rec.get("themes") or []
    ev.rec = rec
    if fam == "pairing":
        ev.entity_id = rec["pairing_id"]
        ev.parties = [party_tuple(p) for p in rec["members"]]
    elif fam == "visit":
        ev.entity_id = rec["visit_id"]
        ev.parties = [party_tuple(rec["host"])] + [party_tuple(p) for p in rec["visitors"]]
    elif fam == "practice":
        ev.entity_id = rec["practice_id"]
        ev.parties = [party_tuple(rec["origin"])]
    else:
        ev.entity_id = rec["transfer_id"]
        ev.parties = [party_tuple(rec["adopter"])]
    return ev


# ---------------------------------------------------------------- fold

class Ent:
    __slots__ = ("kind", "id", "exists", "dirty", "shard", "state", "programme",
                 "source", "geo_area", "sdgs", "themes", "goals", "targets",
                 "party_ids", "pilot_projects", "participants", "cooperation_type",
                 "pairing_id", "visit_type", "format", "start_date", "end_date",
                 "title", "product_type", "practice_id", "last", "first", "held",
                 "held_participants", "evs")

    def __init__(self, kind, eid):
        for s in Ent.__slots__:
            setattr(self, s, None)
        self.kind = kind
        self.id = eid
        self.exists = False
        self.dirty = False
        self.last = self.first = self.held = None
        self.participants = None
        self.pilot_projects = 0
        self.held_participants = None
        self.evs = []
        self.goals = ()
        self.targets = ()
        self.party_ids = ()

    def copy(self):
        c = Ent(self.kind, self.id)
        for s in Ent.__slots__:
            setattr(c, s, getattr(self, s))
        return c


def sdg_cells(sdgs):
    goals = set()
    targets = []
    for code in sdgs:
        parts = code.split(".")
        goals.add(int(parts[0]))
        if len(parts) > 1:
            t = parts[0] + "." + parts[1]
            if t not in targets:
                targets.append(t)
    return tuple(sorted(goals)), tuple(targets)


def take_snapshot(e, ev):
    r = ev.rec
    e.state = ev.state
    e.shard = ev.shard
    e.programme = ev.programme
    e.source = ev.source
    e.geo_area = ev.geo_area
    e.sdgs = ev.sdgs
    e.themes = ev.themes
    e.goals, e.targets = sdg_cells(ev.sdgs)
    e.party_ids = tuple(sorted(set(ev.party_ids)))
    e.pilot_projects = 0
    e.participants = None
    if e.kind == "pairing":
        e.cooperation_type = r["cooperation_type"]
        e.pilot_projects = r.get("pilot_projects") or 0
    elif e.kind == "visit":
        e.pairing_id = r.get("pairing_id")
        e.visit_type = r["visit_type"]
        e.format = r["format"]
        e.start_date = r["start_date"]
        e.end_date = r["end_date"]
        e.participants = r.get("participants")
    elif e.kind == "practice":
        e.title = r.get("title")
        e.product_type = r.get("product_type")
    else:
        e.practice_id = r["practice_id"]
    e.last = (ev.at, ev.event_id)


def apply(e, ev):
    m = (ev.at, ev.event_id)
    if e.last is None or m > e.last:
        take_snapshot(e, ev)
        e.dirty = True
    if ev.type == FIRST_TYPE.get(e.kind) and (e.first is None or m < e.first):
        e.first = m
        e.dirty = True
    if ev.type == "visit.held" and (e.held is None or m > e.held):
        e.held = m
        e.held_participants = ev.rec.get("participants")
        e.dirty = True


def measures(e):
    v = [0] * NM
    v[0] = 1
    k = e.kind
    if k == "pairing":
        v[MI["pairings_" + e.state]] = 1
        v[MI["action_plans_adopted"]] = int(e.state in ("action_plan_adopted", "completed"))
        v[MI["pilot_projects"]] = e.pilot_projects
    elif k == "visit":
        v[MI["visits_" + e.state]] = 1
        if e.state == "held" and e.participants and e.participants > 0:
            v[MI["participants"]] = e.participants
    elif k == "practice":
        v[MI["practices_documented"]] = 1
    else:
        v[MI["transfers_" + e.state]] = 1
    return v


def cells_of(e):
    out = [(0, e.programme, 0, "")]
    for g in e.goals:
        out.append((1, "", g, ""))
        out.append((2, e.programme, g, ""))
    for t in e.targets:
        out.append((3, "", int(t.split(".")[0]), t))
    return out


class Fold:
    def __init__(self):
        self.cells = {}
        self.parties = {}
        self.months = {}

    def add_cell(self, e, ck, sign, v, leaving):
        key = ck + (e.shard,)
        d = self.cells.get(key)
        if d is None:
            d = self.cells[key] = [[0] * NM, None, None]
        m = d[0]
        for i in range(NM):
            if v[i]:
                m[i] += sign * v[i]
        at = e.last[0]
        if sign > 0 and (d[1] is None or at > d[1]):
            d[1] = at
        if leaving and (d[2] is None or at > d[2]):
            d[2] = at
        for pid in e.party_ids:
            pk = key + (pid,)
            self.parties[pk] = self.parties.get(pk, 0) + sign

    def add_month(self, e, sign):
        if e.first is None:
            return
        month = e.first[0].date().replace(day=1)
        key = (month, e.programme, e.shard)
        d = self.months.get(key)
        if d is None:
            d = self.months[key] = [0, 0, 0, 0]
        if e.kind == "pairing":
            d[0] += sign
        elif e.kind == "visit":
            d[1] += sign
            if e.held is not None and e.held_participants and e.held_participants > 0:
                d[2] += sign * e.held_participants
        elif e.kind == "transfer":
            d[3] += sign

    def contribute(self, old, cur):
        nc = cells_of(cur) if cur.last is not None else []
        if old is not None and old.last is not None:
            oc = cells_of(old)
            v = measures(old)
            ncs = set(nc) if old.shard == cur.shard else ()
            for c in oc:
                self.add_cell(old, c, -1, v, c not in ncs)
            self.add_month(old, -1)
        if nc:
            v = measures(cur)
            for c in nc:
                self.add_cell(cur, c, 1, v, False)
            self.add_month(cur, 1)


# ---------------------------------------------------------------- store

def to_date(v):
    return v


class Store:
    def __init__(self, conninfo, group):
        self.conninfo = conninfo
        self.group = group
        self.conn = None
        self.party_cache = {}
        self.connect()

    def connect(self):
        self.conn = psycopg.connect(self.conninfo, autocommit=True)
        self.conn.execute(SESSION_SQL)

    def offsets(self):
        rows = self.conn.execute(
            "SELECT topic, partition, next_offset FROM kx.consumer_offsets "
            "WHERE group_id = %s", (self.group,)).fetchall()
        return {(t, p): o for t, p, o in rows}

    def resolve_parties(self, evs):
        miss = {}
        cache = self.party_cache
        for ev in evs:
            for p in ev.parties:
                k = (p[0], p[1])
                if k not in cache and k not in miss:
                    miss[k] = p
        if miss:
            items = list(miss.values())
            rows = self.conn.execute(
                "WITH input AS (SELECT * FROM unnest(%s::text[], %s::text[], "
                "%s::text[], %s::text[], %s::boolean[], %s::int[]) AS "
                "i(country, name_key, name, kind, eu, ord)), "
                "ins AS (INSERT INTO kx.parties (country, name_key, name, kind, eu) "
                "SELECT DISTINCT ON (country, name_key) country, name_key, name, "
                "kind, eu FROM input ORDER BY country, name_key ON CONFLICT DO "
                "NOTHING RETURNING party_id, country, name_key) "
                "SELECT i.ord, coalesce(n.party_id, p.party_id) FROM input i "
                "LEFT JOIN ins n ON n.country = i.country AND n.name_key = i.name_key "
                "LEFT JOIN kx.parties p ON p.country = i.country AND "
                "p.name_key = i.name_key",
                ([p[0] for p in items],
                 [unicodedata.normalize("NFC", unicodedata.normalize("NFD", p[1]).casefold())
                  for p in items],
                 [p[1] for p in items], [p[2] for p in items],
                 [p[3] for p in items], list(range(len(items))))).fetchall()
            if len(cache) > 200000:
                cache.clear()
            for i, pid in rows:
                if pid is not None:
                    p = items[i]
                    cache[(p[0], p[1])] = pid
        for ev in evs:
            ev.party_ids = [cache[(p[0], p[1])] for p in ev.parties]

    def apply(self, msgs, moves):
        """msgs: list of (topic, partition, offset, key, value, ev|None, reason).
        moves: {(topic, partition): (expected, next)}. Returns n_new, or None
        when fenced."""
        conn = self.conn
        with conn.transaction():
            cur = conn.cursor()
            mv = list(moves.items())
            cur.execute(
                "WITH input AS (SELECT * FROM unnest(%s::text[], %s::int[], "
                "%s::bigint[], %s::bigint[]) AS i(topic, part, expected, next)), "
                "upd AS (UPDATE kx.consumer_offsets o SET next_offset = i.next, "
                "updated_at = now() FROM input i WHERE o.group_id = %s AND "
                "o.topic = i.topic AND o.partition = i.part AND o.next_offset = "
                "i.expected AND i.expected >= 0 RETURNING 1), "
                "ins AS (INSERT INTO kx.consumer_offsets (group_id, topic, "
                "partition, next_offset) SELECT %s, topic, part, next FROM input "
                "WHERE expected < 0 ON CONFLICT DO NOTHING RETURNING 1) "
                "SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ins)",
                ([k[0] for k, _ in mv], [k[1] for k, _ in mv],
                 [v[0] for _, v in mv], [v[1] for _, v in mv], self.group,
                 self.group))
            if cur.fetchone()[0] != len(mv):
                raise Fenced()

            good = [m for m in msgs if m[5] is not None]
            with cur.copy("COPY s_events (event_id, entity, entity_id, event_type, "
                          "occurred_at, programme, shard, kafka_offset) FROM STDIN") as cp:
                for m in good:
                    ev = m[5]
                    cp.write_row((ev.event_id, KIND_NO[ev.kind], ev.entity_id,
                                  ev.type, ev.at, ev.programme, ev.shard, ev.offset))
            cur.execute(
                "INSERT INTO kx.events (event_id, entity, entity_id, event_type, "
                "occurred_at, programme, shard, kafka_offset) SELECT DISTINCT ON "
                "(event_id) event_id, entity, entity_id, event_type, occurred_at, "
                "programme, shard, kafka_offset FROM s_events ORDER BY event_id, "
                "kafka_offset ON CONFLICT (event_id) DO NOTHING "
                "RETURNING event_id::text, kafka_offset, shard")
            fresh = {(r[0], r[2], r[1]) for r in cur.fetchall()}
            new = [m[5] for m in good
                   if (m[5].event_id, m[5].shard, m[5].offset) in fresh]

            ents = {}
            for ev in new:
                k = (ev.kind, ev.entity_id)
                e = ents.get(k)
                if e is None:
                    e = ents[k] = Ent(ev.kind, ev.entity_id)
                e.evs.append(ev)
            for kind in KINDS:
                ids = [k[1] for k in ents if k[0] == kind]
                if not ids:
                    continue
                cur.execute(load_sql(kind), (ids,))
                cols = COLS[kind]
                for row in cur.fetchall():
                    self.load_row(ents[(kind, row[0])], cols, row)

            fold = Fold()
            dirty = []
            for e in ents.values():
                old = e.copy() if e.exists else None
                e.evs.sort(key=lambda x: (x.at, x.event_id))
                for ev in e.evs:
                    apply(e, ev)
                if not e.dirty:
                    continue
                dirty.append(e)
                fold.contribute(old, e)

            for kind in KINDS:
                rows = [e for e in dirty if e.kind == kind]
                if not rows:
                    continue
                cols = COLS[kind]
                with cur.copy(f"COPY s_{TABLE[kind]} ({', '.join(cols)}) FROM STDIN") as cp:
                    for e in rows:
                        cp.write_row(self.entity_row(e, cols))
            with cur.copy("COPY s_cell (dim, programme, goal, target, shard, "
                          + ", ".join(MEASURES) + ", last_event_at, removed_last) "
                          "FROM STDIN") as cp:
                for k, d in fold.cells.items():
                    cp.write_row(k + tuple(d[0]) + (d[1], d[2]))
            with cur.copy("COPY s_party_in FROM STDIN") as cp:
                for k, refs in fold.parties.items():
                    if refs:
                        # key is (dim, programme, goal, target, shard, party);
                        # s_party_in's columns put party_id before shard
                        cp.write_row(k[:4] + (k[5], k[4], refs))
            with cur.copy("COPY s_month FROM STDIN") as cp:
                for k, d in fold.months.items():
                    cp.write_row(k + tuple(d))
            rejects = [m for m in msgs if m[5] is None]
            if rejects:
                with cur.copy("COPY s_reject FROM STDIN") as cp:
                    for m in rejects:
                        cp.write_row((self.group, m[0], m[1], m[2], m[3], m[4], m[6]))
            cur.execute(UPSERT_SQL)
        return len(new)

    @staticmethod
    def load_row(e, cols, row):
        e.exists = True
        for c, v in zip(cols, row):
            if c in ("sdgs", "themes", "shard", "programme", "state", "source",
                     "geo_area", "cooperation_type", "pilot_projects", "pairing_id",
                     "visit_type", "format", "start_date", "end_date",
                     "participants", "title", "product_type", "practice_id",
                     "held_participants"):
                setattr(e, c, v)
            elif c == "party_ids":
                e.party_ids = tuple(v)
        e.goals, e.targets = sdg_cells(e.sdgs)
        d = dict(zip(cols, row))
        e.last = (d["last_event_at"], str(d["last_event_id"]))
        stem = FIRST_STEM.get(e.kind)
        if stem and d[f"first_{stem}_at"] is not None:
            e.first = (d[f"first_{stem}_at"], str(d[f"first_{stem}_id"]))
        if e.kind == "visit" and d["held_newest_at"] is not None:
            e.held = (d["held_newest_at"], str(d["held_newest_id"]))
        if e.pilot_projects is None:
            e.pilot_projects = 0

    @staticmethod
    def entity_row(e, cols):
        out = []
        for c in cols:
            if c in (IDCOL[e.kind],) and c == cols[0]:
                out.append(e.id)
            elif c == "goals":
                out.append(list(e.goals))
            elif c == "targets":
                out.append(list(e.targets))
            elif c == "party_ids":
                out.append(list(e.party_ids))
            elif c == "title":
                out.append(e.title or "")
            elif c == "product_type":
                out.append(e.product_type or "")
            elif c == "last_event_at":
                out.append(e.last[0])
            elif c == "last_event_id":
                out.append(e.last[1])
            elif c.startswith("first_") and c.endswith("_at"):
                out.append(e.first[0] if e.first else None)
            elif c.startswith("first_") and c.endswith("_id"):
                out.append(e.first[1] if e.first else None)
            elif c == "held_newest_at":
                out.append(e.held[0] if e.held else None)
            elif c == "held_newest_id":
                out.append(e.held[1] if e.held else None)
            elif c == "held_participants":
                out.append((e.held_participants or 0) if e.held else None)
            else:
                out.append(getattr(e, c))
        return out


class Fenced(Exception):
    pass


# ---------------------------------------------------------------- main loop

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--brokers", default=os.environ.get("KX_BROKERS"))
    ap.add_argument("--db", default=os.environ.get("KX_DB", ""))
    ap.add_argument("--group", default="kx-peer")
    ap.add_argument("--topic-prefix", default="kx.")
    ap.add_argument("--schemas", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas"))
    ap.add_argument("--batch-max", type=int, default=5000)  # as kx-aggregate
    ap.add_argument("--batch-ms", type=int, default=50)
    ap.add_argument("--until-caught-up", action="store_true")
    args = ap.parse_args()

    schemas = load_writer_schemas(args.schemas)
    topics = [args.topic_prefix + TOPIC_SUFFIX[f] for f in FAMILIES]
    topic_family = {args.topic_prefix + TOPIC_SUFFIX[f]: i for i, f in enumerate(FAMILIES)}
    store = Store(args.db, args.group)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))

    expected = {}   # (topic, partition) -> next offset this instance last saw
    revoked = []

    def on_assign(c, parts):
        stored = store.offsets()
        for tp in parts:
            o = stored.get((tp.topic, tp.partition), -1)
            expected[(tp.topic, tp.partition)] = o
            tp.offset = o if o >= 0 else -2  # OFFSET_BEGINNING
        c.assign(parts)

    def on_revoke(c, parts):
        revoked.append(1)
        for tp in parts:
            expected.pop((tp.topic, tp.partition), None)
        c.unassign()

    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "partition.assignment.strategy": "range",
        "session.timeout.ms": 10000,
        "queued.max.messages.kbytes": 16384,
        "fetch.max.bytes": 8388608,
    })
    ends = {}
    if args.until_caught_up:
        md = consumer.list_topics(timeout=10)
        for t in topics:
            for p in md.topics[t].partitions:
                lo, hi = consumer.get_watermark_offsets(TopicPartition(t, p), timeout=10)
                if hi > lo:
                    ends[(t, p)] = hi
    consumer.subscribe(topics, on_assign=on_assign, on_revoke=on_revoke)

    n_events = n_new = 0
    last_check = 0.0
    t_start = time.monotonic()
    while not stopping:
        msgs = []
        deadline = time.monotonic() + args.batch_ms / 1000
        while len(msgs) < args.batch_max and not stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            got = consumer.consume(num_messages=args.batch_max - len(msgs), timeout=left)
            if revoked:
                msgs.clear()
                revoked.clear()
            for m in got:
                if m.error():
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        print(f"kx-peer: kafka: {m.error()}", file=sys.stderr)
                    continue
                msgs.append(decode(m, schemas, topic_family))
        if msgs:
            moves = {}
            for m in msgs:
                k = (m[0], m[1])
                if k not in expected:
                    continue
                mv = moves.get(k)
                if mv is None:
                    moves[k] = [expected[k], m[2] + 1]
                elif m[2] + 1 > mv[1]:
                    mv[1] = m[2] + 1
            good = [m[5] for m in msgs if m[5] is not None]
            try:
                store.resolve_parties(good)
                n_new += store.apply(msgs, moves)
            except Fenced:
                print("kx-peer: offset guard: re-seeking", file=sys.stderr)
                consumer.unassign()
                on_assign(consumer, [TopicPartition(t, p) for t, p in moves])
                continue
            for k, mv in moves.items():
                expected[k] = mv[1]
            consumer.commit(offsets=[TopicPartition(t, p, mv[1]) for (t, p), mv in moves.items()],
                            asynchronous=True)
            n_events += len(msgs)
        if args.until_caught_up and (not msgs or time.monotonic() - last_check > 1):
            last_check = time.monotonic()
            stored = store.offsets()
            if all(stored.get(k, 0) >= v for k, v in ends.items()):
                break
    dt = time.monotonic() - t_start
    consumer.close()
    print(f"kx-peer: {n_events} messages, {n_new} new events in {dt:.1f} s", file=sys.stderr)
    return 0


def decode(m, schemas, topic_family):
    topic, part, off, key, value = m.topic(), m.partition(), m.offset(), m.key(), m.value()
    try:
        if not value or len(value) < 5 or value[0] != 0:
            raise ValueError("not Confluent-framed Avro")
        sid = int.from_bytes(value[1:5], "big")
        if sid not in schemas:
            raise ValueError(f"unknown schema id {sid}")
        family, schema = schemas[sid]
        if FAMILIES.index(family) != topic_family.get(topic, 0):
            raise ValueError(f"a {family} event does not belong on topic '{topic}'")
        rec = fastavro.schemaless_reader(io.BytesIO(value[5:]), schema, None)
        ev = to_event(rec, family)
        wire_key = ev.rec["practice_id"] if ev.kind == "transfer" else ev.entity_id
        if key is None or key.decode("utf-8") != wire_key:
            raise ValueError("message key does not match the event's entity key")
        ev.shard = topic_family.get(topic, 0) * 10000 + part
        ev.offset = off
        return (topic, part, off, key, value, ev, None)
    except Exception as e:  # a poison message: rejected, not dropped
        return (topic, part, off, key, value, None, str(e)[:500])


if __name__ == "__main__":
    sys.exit(main())
