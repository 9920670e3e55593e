#!/usr/bin/env python3
"""kxgen: a deterministic generator of realistic KX partner events.

It writes the partner feed of CONTRACT.md section 1 as JSON Lines, or as
the CSV form of one family.  Entities follow lifecycles (a pairing goes
proposed -> matched -> agreement_signed -> action_plan_adopted ->
completed, sometimes suspended or withdrawn; a visit is planned, then held
or cancelled; a practice is documented and then transferred), and every
event is a full snapshot of its entity.

Invariants:
- The output depends only on the options: one random.Random(seed) drives
  everything, and no clock, global RNG or uuid4 is used.
- Without --bad-rate every line is valid under the contract.
- Events of one entity carry strictly increasing instants; only the
  --ooo-rate injection moves an older event after a newer one in the file.
- Memory is bounded by the entities alive at one time (plus small
  buffers for duplicates and out-of-order events), not by -n.

Python 3.11 standard library only.
"""

import argparse
import bisect
import csv
import datetime
import gc
import heapq
import io
import itertools
import json
import os
import random
import signal
import sys
import time
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kxdata as D  # noqa: E402

VERSION = "1.0.0"

FAMILIES = ("pairing", "visit", "practice")

COMMON_COLUMNS = ["event_id", "event_type", "occurred_at", "source",
                  "programme", "geo_area"]
COLUMNS = {
    "pairing": COMMON_COLUMNS + ["pairing_id", "cooperation_type", "members",
                                 "pilot_projects", "sdgs", "themes"],
    "visit": COMMON_COLUMNS + ["visit_id", "pairing_id", "visit_type",
                               "format", "host", "visitors", "start_date",
                               "end_date", "participants", "sdgs", "themes"],
    "practice": COMMON_COLUMNS + ["practice_id", "transfer_id", "title",
                                  "origin", "product_type", "adopter",
                                  "sdgs", "themes"],
}
PARTY_FIELDS = ("host", "origin", "adopter")
PARTY_LIST_FIELDS = ("members", "visitors")

# Short programme tags used inside entity keys other than pairing_id.
KEY_TAG = {"IUC": "IUC", "IURC": "IURC", "ICP-AGIR": "AGIR",
           "URBELAC": "URB", "RPD": "RPD"}

DAY = 86400


def family_of(event_type):
    """Return the family of an event type ('transfer.*' is a practice)."""
    head = str(event_type).split(".", 1)[0]
    return "practice" if head == "transfer" else head


# ---------------------------------------------------------------- parties

class Party:
    __slots__ = ("idx", "name", "country", "kind", "eu", "canon", "variants")


def _same_party_name(a, b):
    """True when the contract's identity rule makes names a and b equal."""
    na = unicodedata.normalize("NFC", a)
    nb = unicodedata.normalize("NFC", b)
    return na.lower() == nb.lower() and na.casefold() == nb.casefold()


def _load_parties():
    parties = []
    for line in D.PARTY_TABLE.splitlines():
        if not line or line.startswith("#"):
            continue
        cells = line.split("|")
        name, country, kind = cells[0], cells[1], cells[2]
        flagged = len(cells) > 3 and cells[3] == "v"
        assert ";" not in name and unicodedata.is_normalized("NFC", name), name
        assert kind in ("city", "region", "metropolitan_area",
                        "organisation"), line
        p = Party()
        p.idx = len(parties)
        p.name, p.country, p.kind = name, country, kind
        p.eu = country in D.EU
        p.canon = {"name": name, "country": country, "kind": kind,
                   "eu": p.eu}
        p.variants = {}
        if flagged:
            nfd = unicodedata.normalize("NFD", name)
            if nfd != name:
                p.variants["nfd"] = dict(p.canon, name=nfd)
            up = name.upper()
            if up != name and _same_party_name(up, name):
                p.variants["upper"] = dict(p.canon, name=up)
            assert p.variants, name
        parties.append(p)
    seen = {}
    for p in parties:
        ident = (p.country, p.name.casefold())
        assert ident not in seen, "duplicate party %r" % (p.name,)
        seen[ident] = p
    return parties


PARTIES = _load_parties()
CITIES_BY_COUNTRY = {}
ORGS_BY_COUNTRY = {}
for _p in PARTIES:
    (ORGS_BY_COUNTRY if _p.kind == "organisation"
     else CITIES_BY_COUNTRY).setdefault(_p.country, []).append(_p.idx)
EU_CITIES = [p.idx for p in PARTIES if p.eu and p.kind != "organisation"]
EU_ORGS = [p.idx for p in PARTIES if p.eu and p.kind == "organisation"]
EUROPE_NON_EU = [i for c in ("CH", "NO", "GB", "IS", "UA", "MD", "GE", "TR",
                             "RS", "AL", "AM")
                 for i in CITIES_BY_COUNTRY.get(c, [])]
OTHER_ORGS = [p.idx for p in PARTIES
              if not p.eu and p.kind == "organisation"]


def area_countries(area):
    return D.AREAS.get(area, [area])


_AREA_CACHE = {}


def area_cities(area):
    got = _AREA_CACHE.get(area)
    if got is None:
        got = [i for c in area_countries(area)
               for i in CITIES_BY_COUNTRY.get(c, [])]
        _AREA_CACHE[area] = got
    return got


# ------------------------------------------------------------------- time

_EPOCH_ORD = datetime.date(1970, 1, 1).toordinal()
_DAY_STR = {}
_DST = {}


def day_str(d):
    """Return day number d (days since 1970-01-01) as YYYY-MM-DD."""
    s = _DAY_STR.get(d)
    if s is None:
        s = datetime.date.fromordinal(_EPOCH_ORD + d).isoformat()
        _DAY_STR[d] = s
    return s


def _last_sunday(year, month):
    d = datetime.date(year, month + 1, 1) - datetime.timedelta(days=1)
    return d - datetime.timedelta(days=(d.weekday() + 1) % 7)


def brussels_minutes(t):
    """UTC offset of Brussels at instant t: EU summer time rule."""
    year = int(day_str(t // DAY)[:4])
    win = _DST.get(year)
    if win is None:
        a = (_last_sunday(year, 3).toordinal() - _EPOCH_ORD) * DAY + 3600
        b = (_last_sunday(year, 10).toordinal() - _EPOCH_ORD) * DAY + 3600
        win = _DST[year] = (a, b)
    return 120 if win[0] <= t < win[1] else 60


def _offset_minutes(spec):
    if spec == "Z":
        return 0
    sign = -1 if spec[0] == "-" else 1
    return sign * (int(spec[1:3]) * 60 + int(spec[4:6]))


def _offset_text(minutes):
    sign = "-" if minutes < 0 else "+"
    h, m = divmod(abs(minutes), 60)
    return "%s%02d:%02d" % (sign, h, m)


def format_ts(t, spec, frac=""):
    """RFC 3339 text of instant t (UTC seconds) in the offset spec."""
    if spec == "brussels":
        mins = brussels_minutes(t)
        suffix = _offset_text(mins)
    else:
        mins = _offset_minutes(spec)
        suffix = spec
    lt = t + mins * 60
    d, s = divmod(lt, DAY)
    hh, rem = divmod(s, 3600)
    mm, ss = divmod(rem, 60)
    return "%sT%02d:%02d:%02d%s%s" % (day_str(d), hh, mm, ss, frac, suffix)


def parse_date(text):
    d = datetime.date.fromisoformat(text)
    return (d.toordinal() - _EPOCH_ORD) * DAY


# ---------------------------------------------------------------- styles

_ENCODERS = {}


def style_of(source):
    return D.STYLES.get(source, D.DEFAULT_STYLE)


def encoder_of(source):
    """The stdlib JSON encoder of a partner system's export style."""
    enc = _ENCODERS.get(source)
    if enc is None:
        st = style_of(source)
        enc = json.JSONEncoder(ensure_ascii=st["ascii"],
                               separators=st["sep"]).encode
        _ENCODERS[source] = enc
    return enc


class FastEncoder:
    """Gives the same text as encoder_of(source), only faster.

    It handles the shapes the lifecycles build (str, int, bool, None,
    lists of strings, party dicts and lists of them) and caches the text
    of each party dict by identity: those dicts come from PARTIES, live
    as long as the process and are never changed.  Anything else goes to
    the stdlib encoder."""

    _all = {}

    @classmethod
    def of(cls, source):
        enc = cls._all.get(source)
        if enc is None:
            enc = cls._all[source] = cls(source)
        return enc

    def __init__(self, source):
        st = style_of(source)
        self.s = (json.encoder.encode_basestring_ascii if st["ascii"]
                  else json.encoder.encode_basestring)
        self.item, self.kv = st["sep"]
        self.slow = encoder_of(source)
        self.keys = {}
        self.parties = {}

    def __call__(self, d):
        return "{" + self.members(d.items()) + "}"

    def members(self, items):
        """The text of (key, value) pairs, without the braces."""
        s, keys, party = self.s, self.keys, self.parties
        parts = []
        add = parts.append
        for k, v in items:
            kk = keys.get(k)
            if kk is None:
                kk = keys[k] = s(k) + self.kv
            c = v.__class__
            if c is str:
                add(kk + s(v))
            elif c is list:
                if not v:
                    add(kk + "[]")
                elif v[0].__class__ is dict:
                    texts = []
                    for p in v:
                        t = party.get(id(p))
                        if t is None:
                            t = party[id(p)] = self.slow(p)
                        texts.append(t)
                    add(kk + "[" + self.item.join(texts) + "]")
                else:
                    try:
                        add(kk + "[" + self.item.join(map(s, v)) + "]")
                    except TypeError:
                        add(kk + self.slow(v))
            elif c is dict:
                t = party.get(id(v))
                if t is None:
                    t = party[id(v)] = self.slow(v)
                add(kk + t)
            elif c is int:
                add(kk + int.__repr__(v))
            elif v is None:
                add(kk + "null")
            else:
                add(kk + self.slow(v))
        return self.item.join(parts)


# ---------------------------------------------------------------- entity

class Ent:
    """One entity's current attributes; lifecycles change them in place.

    Lists (sdgs, themes, members, visitors) are replaced, never changed in
    place, so events built earlier can share them."""
    __slots__ = ("key", "source", "style", "enc", "programme", "area", "geo",
                 "sdgs", "themes", "tz", "pv", "members", "coop", "pilot",
                 "eu_side", "partner_side", "pairing_ref", "vtype", "fmt",
                 "host", "visitors", "sd", "ed", "participants", "title",
                 "origin", "product", "practice", "adopter", "plc")

    def __init__(self):
        for k in self.__slots__:
            setattr(self, k, None)


def _weighted(rng, items, weights):
    """One of items, drawn with the given weights (short lists)."""
    x = rng.random() * sum(weights)
    for item, w in zip(items, weights):
        x -= w
        if x < 0:
            return item
    return items[-1]


# ------------------------------------------------------------- generator

class Generator:
    def __init__(self, opts, mean_lines=None):
        self.rng = random.Random(opts.seed)
        self.opts = opts
        self.t_start = parse_date(opts.start)
        self.t_span = opts.days * DAY
        self.source_override = opts.source
        progs = opts.programme_weights
        self.prog_names = list(progs)
        self.prog_weights = [progs[p] for p in self.prog_names]
        fams = [f for f in FAMILIES if opts.mix.get(f, 0) > 0]
        # Spawn weights: the line mix divided by the mean number of lines
        # an entity of the family yields within the window (see
        # calibrate(); these defaults fit a two-year window).
        mean_lines = mean_lines or {"pairing": 3.8, "visit": 2.0,
                                    "practice": 3.3}
        self.spawn_fams = fams
        self.spawn_weights = [opts.mix[f] / mean_lines[f] for f in fams]
        self.spawned = {}
        self.seq = 0
        self.heap = []
        self.counters = {}
        self.live_pairings = {p: [] for p in D.PROGRAMMES}
        self.theme_names = list(D.THEME_WEIGHTS)
        self.theme_cum = list(itertools.accumulate(
            D.THEME_WEIGHTS[t] for t in self.theme_names))
        self.bad_queue = []
        self.stats = {"lines": 0, "events": 0, "duplicates": 0,
                      "out_of_order": 0, "bad": 0, "families": {},
                      "event_types": {}, "programmes": {}, "bad_kinds": {}}

    # ---- small helpers

    def next_key(self, kind, prog):
        k = (kind, prog)
        n = self.counters.get(k, self.opts.key_base - 1) + 1
        self.counters[k] = n
        if kind == "pairing":
            return "%s-P-%06d" % (prog, n)
        if kind == "visit":
            return "V-%s-%06d" % (KEY_TAG[prog], n)
        if kind == "practice":
            return "PR-%s-%05d" % (KEY_TAG[prog], n)
        return "TR-%s-%06d" % (KEY_TAG[prog], n)

    def after(self, t, lo_days, hi_days):
        """A random instant lo_days to hi_days after t."""
        return t + lo_days * DAY + int(self.rng.random() *
                                       (hi_days - lo_days) * DAY) + 1

    def uuid(self, upper=False):
        """An RFC 4122 version 4 UUID drawn from the seeded RNG."""
        h = "%032x" % self.rng.getrandbits(128)
        h = "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16],
                                   "89ab"[int(h[16], 16) & 3], h[17:20],
                                   h[20:])
        return h.upper() if upper else h

    def ts(self, e, t):
        rng = self.rng
        st = e.style
        r = rng.random()
        spec = e.tz if r < 0.75 else st["tz"][int((r - 0.75) * 4 *
                                                  len(st["tz"]))]
        frac = ""
        if st["frac"] and rng.random() < st["frac_p"]:
            kind = st["frac"]
            digits = (3 if kind == "ms" else 6 if kind == "us"
                      else rng.choice((1, 2, 3, 6, 9)))
            frac = ".%0*d" % (digits, int(rng.random() * 10 ** digits))
        return format_ts(t, spec, frac)

    def party(self, e, idx):
        d = e.pv.get(idx)
        if d is None:
            p = PARTIES[idx]
            d = p.canon
            st = e.style
            if p.variants and self.rng.random() < st["variant_p"]:
                want = st["variant"]
                if want in p.variants:
                    d = p.variants[want]
                else:
                    d = p.variants[self.rng.choice(sorted(p.variants))]
            e.pv[idx] = d
        return d

    def random_theme(self):
        x = self.rng.random() * self.theme_cum[-1]
        return self.theme_names[bisect.bisect(self.theme_cum, x)]

    def pick_themes(self):
        rng = self.rng
        k = _weighted(rng, (1, 2, 3), (45, 40, 15))
        out = []
        while len(out) < k:
            t = self.random_theme()
            if t not in out:
                out.append(t)
        return out

    def pick_sdgs(self, themes):
        rng = self.rng
        if rng.random() < 0.04:
            return []
        pool = []
        for th in themes or [self.random_theme()]:
            for c in D.THEME_SDGS[th]:
                if c not in pool:
                    pool.append(c)
        k = min(len(pool), _weighted(rng, (1, 2, 3, 4), (25, 35, 25, 15)))
        out = rng.sample(pool, k)
        if rng.random() < 0.35:
            b = rng.choice(D.BROAD_SDGS)
            if b not in out:
                out.append(b)
        return out

    def new_ent(self, family, prog):
        rng = self.rng
        e = Ent()
        e.programme = prog
        e.area = rng.choice(D.PROGRAMME_AREAS[prog])
        e.geo = e.area if rng.random() < 0.85 else None
        e.source = self.source_override or D.SOURCES[prog][family]
        e.style = style_of(e.source)
        e.enc = FastEncoder.of(e.source)
        e.tz = rng.choice(e.style["tz"])
        e.themes = None if rng.random() < 0.08 else self.pick_themes()
        e.sdgs = self.pick_sdgs(e.themes)
        e.pv = {}
        return e

    def retag(self, e):
        """Occasionally change an entity's tags between two events."""
        rng = self.rng
        r = rng.random()
        rate = self.opts.retag_rate
        if r < rate:
            if e.sdgs and rng.random() < 0.4:
                e.sdgs = [c for c in e.sdgs if c != rng.choice(e.sdgs)]
            else:
                e.sdgs = self.pick_sdgs(e.themes) or list(e.sdgs)
        elif r < rate * 1.2 and e.themes is not None:
            extra = self.pick_themes()[0]
            if extra not in e.themes:
                e.themes = e.themes + [extra]
        elif r < rate * 1.32 and len(self.prog_names) > 1:
            new = rng.choice([p for p in self.prog_names
                              if p != e.programme])
            e.programme = new
            if e.geo is not None and e.geo not in D.PROGRAMME_AREAS[new]:
                e.geo = None
            e.sdgs = self.pick_sdgs(e.themes)
        if rng.random() < 0.02:
            e.pv = {}

    def head(self, e, etype, t):
        d = {"event_id": self.uuid(e.style["upper_uuid"]),
             "event_type": etype,
             "occurred_at": self.ts(e, t), "source": e.source,
             "programme": e.programme}
        if e.geo is not None:
            d["geo_area"] = e.geo
        elif e.style["nulls"]:
            d["geo_area"] = None
        return d

    def tail(self, e, d):
        d["sdgs"] = e.sdgs
        if e.themes is not None:
            d["themes"] = e.themes
        elif e.style["nulls"]:
            d["themes"] = None
        return d, e.enc(d).encode("utf-8")

    def parties(self, e, field, idxs):
        """The party dicts of idxs, reused while idxs and e.pv stay."""
        if e.plc is None:
            e.plc = {}
        got = e.plc.get(field)
        if got is not None and got[0] is idxs and got[1] is e.pv:
            return got[2]
        out = [self.party(e, i) for i in idxs]
        e.plc[field] = (idxs, e.pv, out)
        return out

    def schedule(self, gen, t):
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, gen, None))

    # ---- pairings

    def ev_pairing(self, e, state, t):
        d = self.head(e, "pairing." + state, t)
        d["pairing_id"] = e.key
        d["cooperation_type"] = e.coop
        d["members"] = self.parties(e, "members", e.members)
        if e.pilot is not None and not (e.pilot == 0
                                        and e.style["omit_zero_pilot"]):
            d["pilot_projects"] = e.pilot
        elif e.style["nulls"]:
            d["pilot_projects"] = None
        return self.tail(e, d)

    PAIRING_NEXT = {
        "proposed": (("matched", 90, 14, 60), ("withdrawn", 8, 10, 90),
                     (None, 2, 0, 0)),
        "matched": (("agreement_signed", 85, 21, 90),
                    ("suspended", 4, 30, 120), ("withdrawn", 6, 30, 150),
                    (None, 5, 0, 0)),
        "agreement_signed": (("action_plan_adopted", 86, 45, 150),
                             ("suspended", 6, 30, 120),
                             ("withdrawn", 4, 30, 150), (None, 4, 0, 0)),
        "action_plan_adopted": (("completed", 82, 90, 300),
                                ("suspended", 8, 30, 200), (None, 10, 0, 0)),
        "suspended": (("resume", 50, 30, 180), ("withdrawn", 30, 30, 180),
                      (None, 20, 0, 0)),
        "completed": (("completed", 6, 20, 120), (None, 94, 0, 0)),
        "withdrawn": ((None, 1, 0, 0),),
    }

    def pilot_for(self, e):
        rng = self.rng
        if rng.random() < 0.005:
            return rng.randint(100, 400)
        hi = {"bilateral": 4, "trio": 6, "cluster": 10, "cohort": 25}[e.coop]
        return rng.randint(0 if e.coop in ("bilateral", "trio") else 1, hi)

    def g_pairing(self, t, prog):
        rng = self.rng
        e = self.new_ent("pairing", prog)
        e.key = self.next_key("pairing", prog)
        e.coop = _weighted(rng, ("bilateral", "trio", "cluster", "cohort"),
                           (60, 15, 15, 10))
        n_eu, n_pa = {"bilateral": (1, 1),
                      "trio": rng.choice(((2, 1), (1, 2))),
                      "cluster": (rng.randint(2, 3), rng.randint(2, 3)),
                      "cohort": (rng.randint(3, 6), rng.randint(3, 6))}[
                          e.coop]
        partners = area_cities(e.area)
        e.eu_side = rng.sample(EU_CITIES, n_eu)
        e.partner_side = rng.sample(partners, min(n_pa, len(partners)))
        if e.coop in ("cluster", "cohort") and rng.random() < 0.1:
            orgs = EU_ORGS + [i for c in area_countries(e.area)
                              for i in ORGS_BY_COUNTRY.get(c, [])]
            e.partner_side.append(rng.choice(orgs))
        if e.coop == "cohort" and rng.random() < 0.1:
            e.eu_side.append(rng.choice(EUROPE_NON_EU))
        full = e.eu_side + e.partner_side
        if rng.random() < 0.5:
            e.members = e.eu_side[:rng.randint(1, len(e.eu_side))]
        else:
            e.members = e.eu_side + e.partner_side[:1]
        state, before_suspension, suspended_once, corrected = (
            "proposed", None, False, False)
        while True:
            item = self.ev_pairing(e, state, t)
            opts = self.PAIRING_NEXT[state]
            if suspended_once:
                opts = [o for o in opts if o[0] != "suspended"]
            if corrected:
                opts = [o for o in opts if not (state == "completed"
                                                and o[0] == "completed")]
            nxt, _, lo, hi = _weighted(rng, opts, [o[1] for o in opts])
            if nxt is None:
                yield item, None
                return
            t = self.after(t, lo, hi)
            yield item, t
            self.retag(e)
            if nxt == "resume":
                nxt = before_suspension
            if nxt == "suspended":
                before_suspension, suspended_once = state, True
            if state == "completed":
                corrected = True
            if state == "proposed":
                # Leaving the proposal: the partners are now all known.
                e.members = list(full)
                if nxt == "matched":
                    self.remember_pairing(e)
            if nxt == "agreement_signed" and e.pilot is None:
                e.pilot = 0
                if e.coop == "cohort" and rng.random() < 0.2:
                    extra = rng.choice(partners)
                    if extra not in e.members:
                        e.members = e.members + [extra]
            if nxt == "action_plan_adopted" and not e.pilot:
                e.pilot = self.pilot_for(e)
            if nxt == "completed":
                e.pilot = min(1000, (e.pilot or 0) + rng.randint(0, 3))
            state = nxt

    def remember_pairing(self, e):
        lst = self.live_pairings[e.programme]
        lst.append(e)
        if len(lst) > 400:
            del lst[:200]

    # ---- visits

    VISIT_FORMATS = {
        "study_visit": (("in_person", "hybrid"), (85, 15)),
        "networking_event": (("in_person", "hybrid", "virtual"),
                             (50, 35, 15)),
        "webinar": (("virtual", "hybrid"), (90, 10)),
        "staff_exchange": (("in_person", "virtual"), (95, 5)),
    }
    VISIT_DAYS = {"study_visit": (1, 4), "networking_event": (0, 2),
                  "webinar": (0, 0), "staff_exchange": (5, 30)}
    VISIT_PEOPLE = {"study_visit": (6, 45), "networking_event": (25, 900),
                    "webinar": (12, 2500), "staff_exchange": (1, 4)}

    def ev_visit(self, e, state, t):
        d = self.head(e, "visit." + state, t)
        d["visit_id"] = e.key
        if e.pairing_ref is not None:
            d["pairing_id"] = e.pairing_ref
        elif e.style["nulls"]:
            d["pairing_id"] = None
        d["visit_type"] = e.vtype
        d["format"] = e.fmt
        d["host"] = self.party(e, e.host)
        d["visitors"] = self.parties(e, "visitors", e.visitors)
        d["start_date"] = day_str(e.sd)
        d["end_date"] = day_str(e.ed)
        if e.participants is not None:
            d["participants"] = e.participants
        elif e.style["nulls"]:
            d["participants"] = None
        return self.tail(e, d)

    def visit_people(self, e):
        lo, hi = self.VISIT_PEOPLE[e.vtype]
        if self.rng.random() < 0.005:
            return 0
        return self.rng.randint(lo, hi)

    def set_visit_dates(self, e, t, lo, hi):
        e.sd = t // DAY + self.rng.randint(lo, hi)
        a, b = self.VISIT_DAYS[e.vtype]
        e.ed = e.sd + self.rng.randint(a, b)

    def g_visit(self, t, prog):
        rng = self.rng
        e = self.new_ent("visit", prog)
        live = self.live_pairings[prog]
        link = live[rng.randrange(len(live))] if live and \
            rng.random() < 0.6 else None
        if link is not None:
            e.pairing_ref = link.key
            e.programme, e.area, e.geo = (link.programme, link.area,
                                          link.geo)
            e.themes = None if link.themes is None else list(link.themes)
            e.sdgs = (list(link.sdgs) if rng.random() < 0.7
                      else rng.sample(link.sdgs, len(link.sdgs) // 2))
            members = list(link.members)
            rng.shuffle(members)
            e.host, e.visitors = members[0], members[1:]
        else:
            if "pairing" not in self.spawn_fams and rng.random() < 0.3:
                # A visits-only export still names pairings, by the keys
                # another system gave them: the first ones of the
                # programme, as a companion file made from key base 1 has.
                e.pairing_ref = "%s-P-%06d" % (prog, rng.randint(1, 40))
            eu_host = rng.random() < 0.5
            here = area_cities(e.area)
            hosts = EU_CITIES if eu_host else here
            e.host = rng.choice(hosts)
            if rng.random() < 0.12:
                e.host = rng.choice(EU_ORGS + OTHER_ORGS)
            guests = here if eu_host else EU_CITIES
            e.visitors = rng.sample(guests, min(len(guests),
                                                rng.randint(1, 6)))
        if rng.random() < 0.08:
            extra = rng.choice(EUROPE_NON_EU)
            if extra != e.host and extra not in e.visitors:
                e.visitors = e.visitors + [extra]
        e.key = self.next_key("visit", e.programme)
        e.vtype = _weighted(rng, ("study_visit", "networking_event",
                                  "webinar", "staff_exchange"),
                            (45, 20, 20, 15))
        fmts, w = self.VISIT_FORMATS[e.vtype]
        e.fmt = _weighted(rng, fmts, w)
        self.set_visit_dates(e, t, 14, 120)
        if rng.random() < 0.2:
            e.participants = self.visit_people(e)
        item = self.ev_visit(e, "planned", t)
        if rng.random() < 0.1 and e.sd * DAY - t > 4 * DAY:
            # Re-planned: new dates, announced before the old start.
            t = rng.randint(t + DAY, e.sd * DAY - DAY)
            yield item, t
            self.retag(e)
            self.set_visit_dates(e, t, 14, 90)
            item = self.ev_visit(e, "planned", t)
        r = rng.random()
        if r < 0.8:
            t = (e.ed + rng.randint(1, 14)) * DAY + rng.randrange(DAY)
            yield item, t
            self.retag(e)
            e.participants = self.visit_people(e)
            item = self.ev_visit(e, "held", t)
            if rng.random() < 0.08:
                # A corrected report with a different participant count.
                t = self.after(t, 3, 45)
                yield item, t
                old = e.participants
                while e.participants == old:
                    e.participants = max(0, min(100000, old + rng.randint(
                        -max(2, old // 5), max(2, old // 5))))
                item = self.ev_visit(e, "held", t)
            yield item, None
        elif r < 0.93:
            start = e.sd * DAY
            t = rng.randint(t + 3600, max(t + 3600, start - 3600))
            yield item, t
            self.retag(e)
            e.participants = None
            yield self.ev_visit(e, "cancelled", t), None
        else:
            yield item, None

    # ---- practices and transfers

    def ev_practice(self, e, t):
        d = self.head(e, "practice.documented", t)
        d["practice_id"] = e.key
        d["title"] = e.title
        d["origin"] = self.party(e, e.origin)
        d["product_type"] = e.product
        return self.tail(e, d)

    def ev_transfer(self, e, state, t):
        d = self.head(e, "transfer." + state, t)
        d["practice_id"] = e.practice
        d["transfer_id"] = e.key
        d["adopter"] = self.party(e, e.adopter)
        return self.tail(e, d)

    def practice_title(self, e):
        rng = self.rng
        theme = e.themes[0] if e.themes else rng.choice(self.theme_names)
        phrase = rng.choice(D.PRACTICE_PHRASES[theme])
        where = PARTIES[e.origin].name
        form = rng.randrange(6)
        if form == 0:
            title = "%s in %s" % (phrase, where)
        elif form == 1:
            title = "%s: %s" % (where, phrase.lower()
                                if phrase[1:2].islower() else phrase)
        elif form == 2:
            title = "%s, the %s experience" % (phrase, where)
        elif form == 3:
            title = '"%s", %s' % (phrase, where)
        elif form == 4:
            title = "%s (%s, %s)" % (phrase, where, rng.randint(2016, 2025))
        else:
            title = phrase
        return title[:300]

    def g_practice(self, t, prog):
        rng = self.rng
        e = self.new_ent("practice", prog)
        e.key = self.next_key("practice", prog)
        if rng.random() < 0.05:
            e.origin = rng.choice(EU_ORGS + OTHER_ORGS)
        elif rng.random() < 0.55:
            e.origin = rng.choice(EU_CITIES)
        else:
            e.origin = rng.choice(area_cities(e.area))
        if not e.themes:
            e.themes = self.pick_themes()
            e.sdgs = self.pick_sdgs(e.themes)
        e.title = self.practice_title(e)
        e.product = _weighted(rng, ("case_study", "factsheet", "guideline",
                                    "handbook"), (45, 30, 15, 10))
        item = self.ev_practice(e, t)
        for _ in range(_weighted(rng, (0, 1, 2, 3, 4),
                                 (25, 35, 25, 10, 5))):
            ts = self.after(t, 20, 420)
            self.schedule(self.g_transfer(ts, e), ts)
        if rng.random() < 0.12:
            # A revised catalogue entry: upgraded product, re-tagged.
            t = self.after(t, 60, 300)
            yield item, t
            self.retag(e)
            if e.product in ("case_study", "factsheet"):
                e.product = rng.choice(("guideline", "handbook"))
            item = self.ev_practice(e, t)
        yield item, None

    TRANSFER_NEXT = {
        "planned": (("piloting", 80, 30, 120), ("abandoned", 10, 30, 200),
                    (None, 10, 0, 0)),
        "piloting": (("replicated", 65, 90, 360), ("abandoned", 25, 60, 300),
                     (None, 10, 0, 0)),
        "replicated": ((None, 1, 0, 0),),
        "abandoned": ((None, 1, 0, 0),),
    }

    def g_transfer(self, t, pe):
        rng = self.rng
        e = Ent()
        e.programme = pe.programme
        if rng.random() < 0.08 and len(self.prog_names) > 1:
            e.programme = rng.choice(self.prog_names)
        e.area, e.geo = pe.area, pe.geo
        if e.geo is not None and e.geo not in D.PROGRAMME_AREAS[e.programme]:
            e.geo = None
        e.source = pe.source
        e.style, e.enc = pe.style, pe.enc
        e.tz = rng.choice(e.style["tz"])
        e.themes = None if pe.themes is None else list(pe.themes)
        e.sdgs = list(pe.sdgs)
        e.pv = {}
        e.practice = pe.key
        e.key = self.next_key("transfer", e.programme)
        pool = EU_CITIES if rng.random() < 0.4 else area_cities(e.area)
        e.adopter = rng.choice(pool)
        while e.adopter == pe.origin:
            e.adopter = rng.choice(EU_CITIES)
        state = "planned"
        while True:
            item = self.ev_transfer(e, state, t)
            opts = self.TRANSFER_NEXT[state]
            nxt, _, lo, hi = _weighted(rng, opts, [o[1] for o in opts])
            if nxt is None:
                yield item, None
                return
            t = self.after(t, lo, hi)
            yield item, t
            self.retag(e)
            state = nxt

    # ---- the stream

    @staticmethod
    def calibrate(opts, lines=20000):
        """Mean lines per entity of each family, from a trial run.

        How many events an entity yields depends on how much of its
        lifecycle fits in the window, so a short trial run with the same
        window, mix and programmes (and a derived seed) measures it.  The
        result is deterministic like everything else."""
        if len([f for f in FAMILIES if opts.mix.get(f, 0) > 0]) < 2:
            return None
        trial = argparse.Namespace(**vars(opts))
        trial.seed = opts.seed * 1000003 + 17
        trial.dup_rate = trial.ooo_rate = trial.bad_rate = 0.0
        g = Generator(trial)
        g.run(lines, lambda ev, line, kind: None)
        fams = g.stats["families"]
        return {f: max(1.0, fams.get(f, 0) / c)
                for f, c in g.spawned.items()}

    def spawn(self, t):
        rng = self.rng
        fam = _weighted(rng, self.spawn_fams, self.spawn_weights)
        self.spawned[fam] = self.spawned.get(fam, 0) + 1
        prog = _weighted(rng, self.prog_names, self.prog_weights)
        if fam == "pairing":
            return self.g_pairing(t, prog)
        if fam == "visit":
            return self.g_visit(t, prog)
        return self.g_practice(t, prog)

    def run(self, n, sink):
        """Generate n lines and hand each to sink(ev, line, kind).

        kind is 'event', 'duplicate' or 'bad'; sink returns where the line
        went, as FILE:LINE, for the --bad-log."""
        rng = self.rng
        heap = self.heap
        opts = self.opts
        start, span = self.t_start, self.t_span
        step = max(1, span // max(n, 1))
        dup_rate, ooo_rate = opts.dup_rate, opts.ooo_rate
        nbad = round(n * opts.bad_rate) if n > 1 else 0
        bad_at = set(rng.sample(range(1, n), min(nbad, n - 1))) if nbad \
            else set()
        bad_pending = 0
        ring, ring_max = [], 4096
        delay = []
        dseq = 0
        done = 0
        by_type, by_prog = {}, {}
        st = self.stats
        while done < n:
            if done in bad_at:
                bad_at.discard(done)
                bad_pending += 1
            if delay and delay[0][0] <= done:
                # A held-back event, now after a newer one of its entity.
                _, _, ev, line = heapq.heappop(delay)
                sink(ev, line, "event")
                et = ev["event_type"]
                by_type[et] = by_type.get(et, 0) + 1
                p = ev["programme"]
                by_prog[p] = by_prog.get(p, 0) + 1
                st["out_of_order"] += 1
                done += 1
                continue
            if bad_pending and ring:
                bad = self.make_bad(ring)
                if bad is not None:
                    bad_pending -= 1
                    ev, line, field, kind = bad
                    where = sink(ev, line, "bad")
                    st["bad"] += 1
                    st["bad_kinds"][kind] = st["bad_kinds"].get(kind, 0) + 1
                    if opts.bad_log:
                        opts.bad_log.write("%s\t%s\t%s\n" % (where, kind,
                                                             field))
                    done += 1
                    continue
            if dup_rate and ring and rng.random() < dup_rate:
                ev, line = ring[int(rng.random() * len(ring))]
                sink(ev, line, "duplicate")
                st["duplicates"] += 1
                done += 1
                continue
            now = start + span * done // n
            if heap and heap[0][0] <= now:
                _, seq, gen, held = heapq.heappop(heap)
            else:
                t0 = min(start + span - 1, now + int(rng.random() * step))
                gen, held = self.spawn(t0), None
                self.seq += 1
                seq = self.seq
            (ev, line), t_next = next(gen)
            if t_next is not None and held is None and ooo_rate and \
                    rng.random() < ooo_rate:
                # Hold this event back until its entity's next one is out.
                heapq.heappush(heap, (t_next, seq, gen, (ev, line)))
                continue
            sink(ev, line, "event")
            et = ev["event_type"]
            by_type[et] = by_type.get(et, 0) + 1
            p = ev["programme"]
            by_prog[p] = by_prog.get(p, 0) + 1
            done += 1
            if len(ring) < ring_max:
                ring.append((ev, line))
            else:
                ring[int(rng.random() * ring_max)] = (ev, line)
            if held is not None:
                dseq += 1
                heapq.heappush(delay, (done + rng.randint(0, 20), dseq,
                                       held[0], held[1]))
            if t_next is not None:
                heapq.heappush(heap, (t_next, seq, gen, None))
        st["lines"] = done
        st["events"] = sum(by_type.values())
        st["event_types"] = by_type
        st["programmes"] = by_prog
        fams = {}
        for et, c in by_type.items():
            f = family_of(et)
            fams[f] = fams.get(f, 0) + c
        st["families"] = fams

    # ---- deliberately invalid lines

    def make_bad(self, ring):
        """Return (ev, line, kind, field) for one invalid line, or None.

        With --bad-cycle each listed kind is used once per round, in list
        order where a recent event suits it, else the next kind that fits.
        None means no recent event suits any kind due; the caller then
        writes a good line and tries again on the next one."""
        rng = self.rng
        if self.opts.bad_cycle:
            if not self.bad_queue:
                self.bad_queue = list(self.opts.bad_kinds)
            kinds = self.bad_queue
        else:
            kinds = [rng.choice(self.opts.bad_kinds)]
        for kind in kinds:
            got = self.mutate(ring, kind)
            if got is not None:
                if self.opts.bad_cycle:
                    self.bad_queue.remove(kind)
                return got + (kind,)
        return None

    def mutate(self, ring, kind):
        rng = self.rng
        fn = BAD_KINDS[kind][2]
        for attempt in range(48):
            if attempt < 32:
                _, base_line = ring[int(rng.random() * len(ring))]
            else:
                _, base_line = ring[-1 - (attempt - 32) % len(ring)]
            ev = json.loads(base_line)
            enc = encoder_of(ev["source"])
            ev["event_id"] = self.uuid(style_of(ev["source"])["upper_uuid"])
            got = fn(self, ev)
            if got is None:
                continue
            field, out = got
            if isinstance(out, bytes):
                return None, out, field
            return out, enc(out).encode("utf-8"), field
        return None


# ------------------------------------------------------- bad line kinds
#
# Each kind breaks exactly one rule of CONTRACT.md section 1.  A mutator
# takes a fresh copy of a valid event and returns (field, new_event) or
# (field, raw_bytes), or None when the event does not suit the kind.  The
# field is where a validator is expected to point.

ENTITY_KEY = {"pairing": "pairing_id", "visit": "visit_id"}


def _key_field(ev):
    et = ev.get("event_type", "")
    if et.startswith("transfer."):
        return "transfer_id"
    if et.startswith("practice."):
        return "practice_id"
    return ENTITY_KEY.get(family_of(et))


def _party_paths(ev):
    out = []
    for f in PARTY_FIELDS:
        if isinstance(ev.get(f), dict):
            out.append((f, ev, f))
    for f in PARTY_LIST_FIELDS:
        for i, p in enumerate(ev.get(f) or []):
            out.append(("%s[%d]" % (f, i), ev[f], i))
    return out


def _pick(g, seq):
    return seq[g.rng.randrange(len(seq))]


def bk_not_json(g, ev):
    s = encoder_of(ev["source"])(ev)
    return "$", s[:len(s) // 2].encode("utf-8")


def bk_not_object(g, ev):
    return "$", ("[" + encoder_of(ev["source"])(ev) + "]").encode("utf-8")


def bk_bad_utf8(g, ev):
    s = json.dumps(ev, ensure_ascii=False, separators=(",", ":"))
    for i, ch in enumerate(s):
        if 0x80 <= ord(ch) <= 0xFF:
            # A Latin-1 export of a name such as "Bogotá".
            return "$", (s[:i].encode() + ch.encode("latin-1")
                         + s[i + 1:].encode())
    i = s.index('"source":"') + len('"source":"')
    return "$", s[:i].encode() + b"\xff" + s[i:].encode()


def bk_missing_event_id(g, ev):
    del ev["event_id"]
    return "event_id", ev


def bk_bad_event_id(g, ev):
    u = ev["event_id"]
    ev["event_id"] = _pick(g, ["EVT-" + u[:8].upper(), u.replace("-", ""),
                               u[:-1], "{%s}" % u, u[:-1] + "g"])
    return "event_id", ev


def bk_unknown_event_type(g, ev):
    fam = ev["event_type"].split(".")[0]
    ev["event_type"] = fam + "." + {"pairing": "approved",
                                    "visit": "postponed",
                                    "practice": "updated",
                                    "transfer": "completed"}[fam]
    return "event_type", ev


def bk_timestamp_no_offset(g, ev):
    ts = ev["occurred_at"]
    ev["occurred_at"] = ts[:19]
    return "occurred_at", ev


def bk_timestamp_bad_date(g, ev):
    ts = ev["occurred_at"]
    ev["occurred_at"] = _pick(g, [ts[:4] + "-02-30" + ts[10:],
                                  ts[:4] + "-13-01" + ts[10:],
                                  ts[:10], ts[:10] + "T25:00:00Z",
                                  "14/03/2025 09:30"])
    return "occurred_at", ev


def bk_bad_source(g, ev):
    ev["source"] = _pick(g, ["IURC CRM", "iurc_crm!", "", "x" * 65,
                             "Urbelac.Registrations"])
    return "source", ev


def bk_unknown_programme(g, ev):
    ev["programme"] = _pick(g, ["IURC2", "iurc", "URBACT", "ICP AGIR"])
    return "programme", ev


def bk_bad_geo_area(g, ev):
    ev["geo_area"] = _pick(g, ["lac", "Latin America", "ASIA_PACIFIC",
                               "A" * 17])
    return "geo_area", ev


def bk_missing_sdgs(g, ev):
    if g.rng.random() < 0.5:
        del ev["sdgs"]
    else:
        ev["sdgs"] = None
    return "sdgs", ev


def _sdg_slot(g, ev, code):
    sdgs = ev.setdefault("sdgs", [])
    if sdgs and g.rng.random() < 0.6:
        i = g.rng.randrange(len(sdgs))
        sdgs[i] = code
    else:
        sdgs.append(code)
        i = len(sdgs) - 1
    return "sdgs[%d]" % i, ev


def bk_sdg_goal_range(g, ev):
    return _sdg_slot(g, ev, _pick(g, ["18", "0", "18.1", "42.1.1"]))


def bk_sdg_number(g, ev):
    return _sdg_slot(g, ev, _pick(g, [11, 13, 7]))


def bk_sdg_target_range(g, ev):
    return _sdg_slot(g, ev, _pick(g, ["11.20", "7.k", "11.0", "13.z.1"]))


def bk_sdgs_not_array(g, ev):
    ev["sdgs"] = ";".join(ev.get("sdgs") or ["11"]) or "11"
    return "sdgs", ev


def bk_bad_theme(g, ev):
    bad = _pick(g, ["Urban Mobility", "urban_mobility", "circular--economy",
                    "-green-deal", "x" * 49])
    themes = ev.get("themes")
    if not themes:
        ev["themes"] = [bad]
        return "themes[0]", ev
    i = g.rng.randrange(len(themes))
    themes[i] = bad
    return "themes[%d]" % i, ev


def _party_kind(fieldname, values):
    def fn(g, ev):
        paths = _party_paths(ev)
        if not paths:
            return None
        path, box, k = _pick(g, paths)
        box[k][fieldname] = _pick(g, values)
        return "%s.%s" % (path, fieldname), ev
    return fn


def bk_party_missing_field(g, ev):
    paths = _party_paths(ev)
    if not paths:
        return None
    path, box, k = _pick(g, paths)
    del box[k]["kind"]
    return path + ".kind", ev


def bk_members_too_few(g, ev):
    if not ev["event_type"].startswith("pairing."):
        return None
    if ev["event_type"] == "pairing.proposed":
        ev["members"] = []
    else:
        ev["members"] = ev["members"][:1]
    return "members", ev


def _set_field(fieldname, family, values, etype_prefix=None):
    def fn(g, ev):
        et = ev["event_type"]
        if family_of(et) != family or (etype_prefix and
                                       not et.startswith(etype_prefix)):
            return None
        ev[fieldname] = _pick(g, values)
        return fieldname, ev
    return fn


def bk_dates_reversed(g, ev):
    if not ev["event_type"].startswith("visit."):
        return None
    sd = datetime.date.fromisoformat(ev["start_date"])
    ev["end_date"] = (sd - datetime.timedelta(
        days=g.rng.randint(1, 30))).isoformat()
    return "end_date", ev


def bk_participants_missing(g, ev):
    if not ev["event_type"].startswith("visit."):
        return None
    ev["event_type"] = "visit.held"
    ev.pop("participants", None)
    return "participants", ev


def _drop_field(fieldname, etype_prefix):
    def fn(g, ev):
        if not ev["event_type"].startswith(etype_prefix):
            return None
        if g.rng.random() < 0.5:
            ev.pop(fieldname, None)
        else:
            ev[fieldname] = None
        return fieldname, ev
    return fn


def bk_key_too_long(g, ev):
    f = _key_field(ev)
    ev[f] = (ev[f] + "-" + "X" * 64)[:65] if g.rng.random() < 0.7 else ""
    return f, ev


def bk_missing_key(g, ev):
    f = _key_field(ev)
    del ev[f]
    return f, ev


def bk_null_required(g, ev):
    f = _pick(g, ["programme", "occurred_at", "source", "event_id"])
    ev[f] = None
    return f, ev


# name -> (description, csv_ok, mutator)
BAD_KINDS = {
    "not-json": ("a truncated line that is not JSON", False, bk_not_json),
    "not-object": ("valid JSON that is not an object", False,
                   bk_not_object),
    "bad-utf8": ("bytes that are not UTF-8 (a Latin-1 name)", False,
                 bk_bad_utf8),
    "missing-event-id": ("no event_id", True, bk_missing_event_id),
    "bad-event-id": ("event_id that is not a hyphenated UUID", True,
                     bk_bad_event_id),
    "unknown-event-type": ("event_type outside the contract's list", True,
                           bk_unknown_event_type),
    "timestamp-no-offset": ("occurred_at without its UTC offset", True,
                            bk_timestamp_no_offset),
    "timestamp-bad-date": ("occurred_at that is no RFC 3339 instant", True,
                           bk_timestamp_bad_date),
    "null-required": ("a required common field set to null", True,
                      bk_null_required),
    "bad-source": ("source outside 1-64 chars of [a-z0-9._-]", True,
                   bk_bad_source),
    "unknown-programme": ("programme outside the five", True,
                          bk_unknown_programme),
    "bad-geo-area": ("geo_area outside 1-16 chars of [A-Z0-9-]", True,
                     bk_bad_geo_area),
    "missing-sdgs": ("no sdgs (absent or null)", False, bk_missing_sdgs),
    "sdgs-not-array": ("sdgs as one string", False, bk_sdgs_not_array),
    "sdg-goal-range": ("an SDG code whose goal is not 1-17", True,
                       bk_sdg_goal_range),
    "sdg-number": ("an SDG code given as a JSON number", False,
                   bk_sdg_number),
    "sdg-target-range": ("an SDG target that is not 1-19 or a-j", True,
                         bk_sdg_target_range),
    "bad-theme": ("a theme that is not lowercase kebab-case of 1-48",
                  True, bk_bad_theme),
    "party-country": ("a party country that is not ISO 3166-1 alpha-2",
                      True, _party_kind("country", ["de", "DEU",
                                                    "Deutschland", "B"])),
    "party-kind": ("a party kind outside the four", True,
                   _party_kind("kind", ["municipality", "City", "county"])),
    "party-eu": ("a party eu flag that is not a boolean", True,
                 _party_kind("eu", ["yes", "EU", "1"])),
    "party-name": ("a party name that is empty or over 200 code points",
                   True, _party_kind("name", ["", "N" * 201])),
    "party-missing-field": ("a party without its kind", False,
                            bk_party_missing_field),
    "members-too-few": ("a pairing with too few members for its state",
                        True, bk_members_too_few),
    "cooperation-type": ("cooperation_type outside the four", True,
                         _set_field("cooperation_type", "pairing",
                                    ["multilateral", "Bilateral",
                                     "twinning"])),
    "pilot-range": ("pilot_projects outside 0-1000", True,
                    _set_field("pilot_projects", "pairing",
                               [1001, -1, 5000])),
    "pilot-not-integer": ("pilot_projects that is not a JSON integer", True,
                          _set_field("pilot_projects", "pairing",
                                     [2.5, 3.0, 1e3])),
    "visit-type": ("visit_type outside the four", True,
                   _set_field("visit_type", "visit",
                              ["conference", "study-visit", "Webinar"])),
    "visit-format": ("format outside the three", True,
                     _set_field("format", "visit",
                                ["online", "In person", "remote"])),
    "dates-reversed": ("end_date before start_date", True,
                       bk_dates_reversed),
    "date-format": ("start_date that is not a YYYY-MM-DD date", True,
                    _set_field("start_date", "visit",
                               ["14/03/2025", "2025-3-14", "2025-02-29",
                                "2025-03-14T10:00:00Z"])),
    "participants-missing": ("visit.held without participants", True,
                             bk_participants_missing),
    "participants-range": ("participants outside 0-100000", True,
                           _set_field("participants", "visit",
                                      [100001, -3, 250000])),
    "participants-not-integer": ("participants not a JSON integer", True,
                                 _set_field("participants", "visit",
                                            [12.5, 40.0])),
    "visitors-empty": ("a visit with no visitors", True,
                       _set_field("visitors", "visit", [[]])),
    "host-missing": ("a visit without its host", True,
                     _drop_field("host", "visit.")),
    "title-length": ("a practice title that is empty or over 300 chars",
                     True, _set_field("title", "practice", [
                         "", "Urban forest masterplan " * 13],
                         "practice.")),
    "product-type": ("product_type outside the four", True,
                     _set_field("product_type", "practice",
                                ["video", "Case Study", "toolkit"],
                                "practice.")),
    "origin-missing": ("practice.documented without origin", True,
                       _drop_field("origin", "practice.")),
    "adopter-missing": ("a transfer without adopter", True,
                        _drop_field("adopter", "transfer.")),
    "transfer-practice-missing": ("a transfer without practice_id", True,
                                  _drop_field("practice_id", "transfer.")),
    "key-length": ("an entity key that is empty or over 64 chars", True,
                   bk_key_too_long),
    "key-missing": ("an event without its entity key", True,
                    bk_missing_key),
}


# ------------------------------------------------------------------ sinks

def party_text(p):
    """A party as the CSV form writes it: name|country|kind|eu."""
    if not isinstance(p, dict):
        return "" if p is None else str(p)
    eu = p.get("eu")
    eu = ("true" if eu else "false") if isinstance(eu, bool) else (
        "" if eu is None else str(eu))
    return "|".join(["" if p.get(k) is None else str(p.get(k))
                     for k in ("name", "country", "kind")] + [eu])


def csv_cell(field, v):
    if v is None:
        return ""
    if field in PARTY_FIELDS:
        return party_text(v)
    if field in PARTY_LIST_FIELDS:
        return ";".join(party_text(p) for p in v) if isinstance(v, list) \
            else str(v)
    if isinstance(v, list):
        return ";".join(str(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class JsonlSink:
    def __init__(self, raw, name="-"):
        self.raw = raw
        self.name = name
        self.buf = []
        self.n = 0

    def __call__(self, ev, line, kind):
        self.buf.append(line)
        self.n += 1
        if len(self.buf) >= 4096:
            self.flush()
        if kind == "bad":
            return "%s:%d" % (self.name, self.n)

    def flush(self):
        if self.buf:
            self.raw.write(b"\n".join(self.buf) + b"\n")
            self.buf = []


class CsvSink:
    def __init__(self, raw, family, name="-"):
        self.text = io.TextIOWrapper(raw, encoding="utf-8", newline="",
                                     write_through=False)
        self.cols = COLUMNS[family]
        self.w = csv.writer(self.text, lineterminator="\n")
        self.w.writerow(self.cols)
        self.name = name
        self.n = 1

    def __call__(self, ev, line, kind):
        self.w.writerow([csv_cell(c, ev.get(c)) for c in self.cols])
        self.n += 1
        if kind == "bad":
            return "%s:%d" % (self.name, self.n)

    def flush(self):
        self.text.flush()
        self.text.detach()


class TwinSink:
    """Routes each event to <family>s.jsonl and <family>s.csv in a dir."""

    def __init__(self, directory):
        os.makedirs(directory, exist_ok=True)
        self.files = []
        self.sinks = {}
        for fam in FAMILIES:
            base = os.path.join(directory, fam + "s")
            fj = open(base + ".jsonl", "wb")
            fc = open(base + ".csv", "wb")
            self.files += [fj, fc]
            self.sinks[fam] = (JsonlSink(fj, fam + "s.jsonl"),
                               CsvSink(fc, fam, fam + "s.csv"))

    def __call__(self, ev, line, kind):
        js, cs = self.sinks[family_of(ev["event_type"])]
        a = js(ev, line, kind)
        b = cs(ev, line, kind)
        if kind == "bad":
            return a + "," + b

    def flush(self):
        for js, cs in self.sinks.values():
            js.flush()
            cs.flush()
        for f in self.files:
            f.close()


# -------------------------------------------------------------------- cli

def parse_weights(text, names, what):
    out = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, w = part.partition("=")
        name = name.strip()
        if name not in names:
            raise argparse.ArgumentTypeError(
                "%s: '%s' is not one of %s" % (what, name, ", ".join(names)))
        try:
            out[name] = float(w) if w else 1.0
        except ValueError:
            raise argparse.ArgumentTypeError(
                "%s: '%s' is not a number" % (what, w))
        if out[name] < 0:
            raise argparse.ArgumentTypeError("%s: negative weight" % what)
    if not out or sum(out.values()) <= 0:
        raise argparse.ArgumentTypeError("%s: no positive weight" % what)
    return out


def rate(text):
    v = float(text)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError("'%s' is not a fraction in 0-1"
                                         % text)
    return v


def build_parser():
    p = argparse.ArgumentParser(
        prog="kxgen",
        description="Generate realistic KX partner events (CONTRACT.md "
        "section 1) as JSON Lines, or as the CSV form of one family. "
        "The same options always give byte-identical output.",
        epilog="Examples:\n"
        "  kxgen.py --seed 7 -n 1000000 --out events.jsonl\n"
        "  kxgen.py --seed 7 -n 500 --format csv --family visit\n"
        "  kxgen.py --seed 7 -n 2000 --emit-csv-twins twins/\n"
        "  kxgen.py --seed 3 -n 100 --bad-rate 0.2 --bad-log bad.tsv\n"
        "Column order of the CSV form: see tools/kxgen/README.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version",
                   version="kxgen " + VERSION)
    p.add_argument("--seed", type=int, default=1,
                   help="seed of the random generator (default 1)")
    p.add_argument("-n", type=int, default=1000, metavar="N",
                   help="number of lines to write, duplicates and bad "
                   "lines included (default 1000; CSV: data rows)")
    p.add_argument("--mix", default="pairing=0.4,visit=0.35,practice=0.25",
                   help="family mix of the lines (default %(default)s); "
                   "practice includes its transfer events")
    p.add_argument("--programmes", default=",".join(
        "%s=%s" % kv for kv in D.DEFAULT_PROGRAMME_WEIGHTS.items()),
        metavar="P[=W],...",
        help="programmes to draw entities from, with weights (default "
        "%(default)s); an entity re-tagged to another programme moves "
        "only within this set")
    p.add_argument("--source", default=None,
                   help="write every event with this source instead of "
                   "the partner system of its programme and family")
    p.add_argument("--dup-rate", type=rate, default=0.01,
                   help="fraction of lines that repeat an earlier line "
                   "byte for byte (default %(default)s)")
    p.add_argument("--ooo-rate", type=rate, default=0.02,
                   help="fraction of events held back and written after a "
                   "newer event of the same entity (default %(default)s)")
    p.add_argument("--retag-rate", type=rate, default=0.05,
                   help="chance per lifecycle step that an entity's sdgs "
                   "change (default %(default)s); its themes change at a "
                   "fifth and its programme at about an eighth of it")
    p.add_argument("--bad-rate", type=rate, default=0.0,
                   help="fraction of lines that are deliberately invalid, "
                   "each breaking one contract rule (default 0)")
    p.add_argument("--bad-kinds", default=None, metavar="K,...",
                   help="draw bad lines only from these kinds "
                   "(see --list-bad-kinds)")
    p.add_argument("--bad-cycle", action="store_true",
                   help="use each of the --bad-kinds once per round, in the "
                   "order given where the stream allows, instead of at "
                   "random")
    p.add_argument("--bad-log", default=None, metavar="FILE",
                   help="write 'FILE:LINE<TAB>kind<TAB>field' for every "
                   "bad line")
    p.add_argument("--list-bad-kinds", action="store_true",
                   help="list the kinds of bad lines and exit")
    p.add_argument("--start", default="2024-01-01", metavar="YYYY-MM-DD",
                   help="start of the business time window, UTC "
                   "(default %(default)s)")
    p.add_argument("--days", type=int, default=730,
                   help="length of the window in days (default "
                   "%(default)s); every occurred_at falls inside it")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl",
                   help="output format (default jsonl); csv needs --family")
    p.add_argument("--family", choices=FAMILIES, default=None,
                   help="generate only this family (overrides --mix)")
    p.add_argument("--key-base", type=int, default=1, metavar="N",
                   help="first sequence number of entity keys (default 1); "
                   "use distinct bases for files that are loaded together")
    p.add_argument("--emit-csv-twins", default=None, metavar="DIR",
                   help="write the stream as pairings.jsonl, pairings.csv, "
                   "visits.jsonl, visits.csv, practices.jsonl, "
                   "practices.csv in DIR (nothing on stdout)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="write to FILE instead of stdout")
    p.add_argument("--stats", action="store_true",
                   help="print counts (per family, type, programme) as JSON "
                   "on stderr at the end")
    return p


def main(argv=None):
    # Quietly stop when the reader goes away (kxgen ... | head).
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    parser = build_parser()
    opts = parser.parse_args(argv)
    if opts.list_bad_kinds:
        for k, (desc, csv_ok, _) in BAD_KINDS.items():
            print("%-26s %s%s" % (k, desc, "" if csv_ok else
                                  "  [JSON Lines only]"))
        return 0
    try:
        opts.mix = parse_weights(opts.mix, FAMILIES, "--mix")
        opts.programme_weights = parse_weights(opts.programmes,
                                               D.PROGRAMMES, "--programmes")
        parse_date(opts.start)
    except (argparse.ArgumentTypeError, ValueError) as e:
        parser.error(str(e))
    if opts.n < 0 or opts.days < 1 or opts.key_base < 0:
        parser.error("-n, --days and --key-base must be positive")
    if opts.format == "csv" and not opts.family:
        parser.error("--format csv needs --family")
    if opts.emit_csv_twins and (opts.family or opts.format != "jsonl"
                                or opts.out):
        parser.error("--emit-csv-twins takes neither --family, --format "
                     "nor --out")
    if opts.family:
        opts.mix = {opts.family: 1.0}
    if opts.source is not None:
        import re
        if not re.fullmatch(r"[a-z0-9._-]{1,64}", opts.source):
            parser.error("--source: '%s' is not 1-64 chars of [a-z0-9._-]"
                         % opts.source)
    csv_mode = opts.format == "csv" or bool(opts.emit_csv_twins)
    if opts.bad_kinds:
        kinds = [k.strip() for k in opts.bad_kinds.split(",") if k.strip()]
        for k in kinds:
            if k not in BAD_KINDS:
                parser.error("--bad-kinds: '%s' is unknown "
                             "(see --list-bad-kinds)" % k)
            if csv_mode and not BAD_KINDS[k][1]:
                parser.error("--bad-kinds: '%s' cannot be written as CSV" % k)
    else:
        kinds = [k for k, v in BAD_KINDS.items() if v[1] or not csv_mode]
    opts.bad_kinds = kinds
    if opts.bad_cycle and not opts.bad_kinds:
        parser.error("--bad-cycle needs --bad-kinds")

    t0 = time.monotonic()
    out_file = None
    log_file = None
    try:
        if opts.bad_log:
            log_file = open(opts.bad_log, "w", encoding="utf-8")
        opts.bad_log = log_file
        if opts.emit_csv_twins:
            sink = TwinSink(opts.emit_csv_twins)
        else:
            if opts.out:
                out_file = open(opts.out, "wb")
                raw, name = out_file, opts.out
            else:
                raw, name = sys.stdout.buffer, "-"
            name = os.path.basename(name)
            sink = (CsvSink(raw, opts.family, name) if opts.format == "csv"
                    else JsonlSink(raw, name))
        # Nothing here needs the cycle collector (no reference cycles are
        # made per event), and with a million live objects its full
        # passes cost a third of the run time.
        gc.disable()
        g = Generator(opts, Generator.calibrate(opts))
        g.run(opts.n, sink)
        sink.flush()
    except OSError as e:
        print("kxgen: %s: %s" % (getattr(e, "filename", None) or "write",
                                 e.strerror or e), file=sys.stderr)
        return 2
    finally:
        if out_file:
            out_file.close()
        if log_file:
            log_file.close()
    if opts.stats:
        st = g.stats
        st["seconds"] = round(time.monotonic() - t0, 2)
        for k in ("families", "event_types", "programmes", "bad_kinds"):
            st[k] = dict(sorted(st[k].items()))
        print(json.dumps(st, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
