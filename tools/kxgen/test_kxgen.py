#!/usr/bin/env python3
"""Tests of kxgen and check_contract (python3 -m unittest, stdlib only).

Run from anywhere:  python3 tools/kxgen/test_kxgen.py
They check what a user of the generator relies on: byte-identical output
for the same options, valid events, every bad line rejected for the rule
it was made to break, CSV files that hold the same events as their JSON
Lines twins, coherent lifecycles, and examples/ matching what
examples/regenerate.sh makes.
"""

import collections
import datetime
import filecmp
import io
import json
import os
import subprocess
import sys
import tempfile
import unicodedata
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import check_contract  # noqa: E402
import kxdata  # noqa: E402
import kxgen  # noqa: E402

GEN = [sys.executable, os.path.join(HERE, "kxgen.py")]


def gen(*args):
    return subprocess.run(GEN + list(args), check=True,
                          stdout=subprocess.PIPE).stdout


def check_bytes(data, fmt="jsonl"):
    """(read, [(line, field, reason)]) of check_contract over data."""
    out = io.StringIO()
    read, _ = check_contract.check_file(io.BytesIO(data), fmt, "", out)
    errs = []
    for line in out.getvalue().splitlines():
        head, field, reason = line.split("'", 2)
        errs.append((int(head.split()[1].rstrip(":")), field,
                     reason.lstrip(": ")))
    return read, errs


def instant(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def entity_key(ev):
    fam, _ = ev["event_type"].split(".")
    return {"pairing": "pairing_id", "visit": "visit_id",
            "practice": "practice_id", "transfer": "transfer_id"}[fam], \
        ev[{"pairing": "pairing_id", "visit": "visit_id",
            "practice": "practice_id", "transfer": "transfer_id"}[fam]]


class Determinism(unittest.TestCase):
    def test_kxgen__same_options_same_bytes(self):
        a = gen("--seed", "42", "-n", "3000", "--bad-rate", "0.05")
        b = gen("--seed", "42", "-n", "3000", "--bad-rate", "0.05")
        self.assertEqual(a, b)
        self.assertEqual(a.count(b"\n"), 3000)

    def test_kxgen__other_seed_other_bytes(self):
        self.assertNotEqual(gen("--seed", "1", "-n", "50"),
                            gen("--seed", "2", "-n", "50"))

    def test_kxgen__csv_is_deterministic(self):
        args = ("--seed", "5", "-n", "500", "--format", "csv",
                "--family", "visit")
        self.assertEqual(gen(*args), gen(*args))

    def test_kxgen__event_ids_are_v4_uuids(self):
        for line in gen("--seed", "9", "-n", "2000").splitlines():
            eid = json.loads(line)["event_id"].lower()
            self.assertEqual(eid[14], "4")
            self.assertIn(eid[19], "89ab")


class Validity(unittest.TestCase):
    CASES = [
        ("--seed", "1", "-n", "20000"),
        ("--seed", "2", "-n", "8000", "--dup-rate", "0.1",
         "--ooo-rate", "0.2", "--retag-rate", "0.5"),
        ("--seed", "3", "-n", "3000", "--days", "30"),
        ("--seed", "4", "-n", "3000", "--family", "visit"),
        ("--seed", "5", "-n", "3000", "--family", "practice",
         "--programmes", "URBELAC"),
        ("--seed", "6", "-n", "3000", "--programmes", "IUC=1,IURC=1",
         "--source", "legacy.export", "--start", "2016-03-01"),
    ]

    def test_kxgen__every_line_is_valid(self):
        for args in self.CASES:
            read, errs = check_bytes(gen(*args))
            self.assertGreater(read, 0)
            self.assertEqual(errs, [], args)

    def test_kxgen__fast_encoder_matches_json_module(self):
        opts = kxgen.build_parser().parse_args(["--seed", "8"])
        opts.mix = kxgen.parse_weights(opts.mix, kxgen.FAMILIES, "m")
        opts.programme_weights = kxgen.parse_weights(
            opts.programmes, kxdata.PROGRAMMES, "p")
        opts.bad_kinds, opts.bad_log = list(kxgen.BAD_KINDS), None
        g = kxgen.Generator(opts)
        seen = []

        def sink(ev, line, kind):
            seen.append(kind)
            self.assertEqual(
                line, kxgen.encoder_of(ev["source"])(ev).encode("utf-8"))
        g.run(5000, sink)
        self.assertEqual(len(seen), 5000)

    def test_kxgen__timestamps_inside_window(self):
        lo = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
        hi = lo + datetime.timedelta(days=100)
        for line in gen("--seed", "3", "-n", "3000", "--start",
                        "2024-05-01", "--days", "100").splitlines():
            t = instant(json.loads(line)["occurred_at"])
            self.assertTrue(lo <= t < hi, t)


class BadLines(unittest.TestCase):
    def run_bad(self, extra, fmt="jsonl"):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "bad.tsv")
            data = gen("--seed", "13", "-n", "6000", "--bad-rate", "0.15",
                       "--bad-log", log, *extra)
            with open(log, encoding="utf-8") as f:
                want = {}
                for row in f:
                    where, kind, field = row.rstrip("\n").split("\t")
                    want[int(where.rsplit(":", 1)[1])] = (kind, field)
        read, errs = check_bytes(data, fmt)
        got = {n: (field, reason) for n, field, reason in errs}
        self.assertEqual(len(want), 900)
        self.assertEqual(sorted(got), sorted(want),
                         "flagged lines differ from injected lines")
        for n, (kind, field) in want.items():
            self.assertEqual(got[n][0], field, "%s at line %d: %s"
                             % (kind, n, got[n][1]))
        return {k for k, _ in want.values()}

    def test_kxgen__bad_lines_rejected_for_intended_rule(self):
        kinds = self.run_bad([])
        self.assertEqual(kinds, set(kxgen.BAD_KINDS))

    def test_kxgen__bad_csv_rows_rejected_for_intended_rule(self):
        for fam in kxgen.FAMILIES:
            self.run_bad(["--format", "csv", "--family", fam], "csv")

    def test_check_contract__edge_cases(self):
        good = json.loads(gen("--seed", "4", "-n", "1", "--family",
                              "pairing", "--source", "x"))
        cases = [
            (dict(good, event_id=good["event_id"].upper()), None),
            (dict(good, occurred_at="2024-03-31T01:30:00.123456789-03:30"),
             None),
            (dict(good, geo_area=None, themes=None), None),
            (dict(good, sdgs=[]), None),
            (dict(good, sdgs=["17.19", "3.d", "11.b.1"]), None),
            (dict(good, sdgs=["011"]), "sdgs[0]"),
            (dict(good, sdgs=["11."]), "sdgs[0]"),
            (dict(good, sdgs=["7.k"]), "sdgs[0]"),
            (dict(good, pilot_projects=True), "pilot_projects"),
            (dict(good, pilot_projects=None), None),
            (dict(good, occurred_at="2024-03-14T09:30:00"), "occurred_at"),
            (dict(good, pairing_id="P" * 64), None),
            (dict(good, pairing_id="P" * 65), "pairing_id"),
        ]
        for ev, field in cases:
            read, errs = check_bytes(json.dumps(ev).encode())
            self.assertEqual([e[1] for e in errs], [field] if field else [],
                             (ev, errs))
        for raw, field in [(b"", "$"), (b"NaN", "$"),
                           (b'{"a":1,"a":2}', "a"), (b"\xff", "$")]:
            read, errs = check_bytes(raw + b"\n")
            self.assertEqual([e[1] for e in errs], [field], raw)


class CsvTwins(unittest.TestCase):
    @staticmethod
    def normalise(ev):
        return {k: v for k, v in ev.items() if v is not None}

    def assert_twins(self, jsonl, csv_bytes):
        want = [self.normalise(json.loads(line))
                for line in jsonl.splitlines()]
        got = []
        for n, ev in check_contract.read_csv(io.BytesIO(csv_bytes)):
            self.assertNotIsInstance(ev, check_contract.Invalid)
            got.append(ev)
        self.assertEqual(len(got), len(want))
        for i, (a, b) in enumerate(zip(want, got)):
            self.assertEqual(a, b, "record %d" % (i + 1))

    def test_kxgen__csv_family_equals_jsonl_family(self):
        for fam in kxgen.FAMILIES:
            args = ("--seed", "21", "-n", "2000", "--family", fam)
            self.assert_twins(gen(*args),
                              gen(*args, "--format", "csv"))

    def test_kxgen__emit_csv_twins(self):
        with tempfile.TemporaryDirectory() as d:
            gen("--seed", "22", "-n", "3000", "--emit-csv-twins", d)
            total = 0
            for fam in kxgen.FAMILIES:
                base = os.path.join(d, fam + "s")
                with open(base + ".jsonl", "rb") as f:
                    j = f.read()
                with open(base + ".csv", "rb") as f:
                    c = f.read()
                self.assertEqual(c.split(b"\n", 1)[0].decode(),
                                 ",".join(kxgen.COLUMNS[fam]))
                self.assert_twins(j, c)
                total += j.count(b"\n")
            self.assertEqual(total, 3000)


class Realism(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lines = gen("--seed", "31", "-n", "30000").splitlines()
        cls.events = [json.loads(line) for line in cls.lines]

    def test_kxgen__lifecycles_are_coherent(self):
        """Per entity, by instant: allowed state sequences, one family per
        key, distinct instants, transfers of documented practices."""
        allowed = {
            "pairing": {None: {"proposed"},
                        "proposed": {"matched", "withdrawn"},
                        "matched": {"agreement_signed", "suspended",
                                    "withdrawn"},
                        "agreement_signed": {"action_plan_adopted",
                                             "suspended", "withdrawn"},
                        "action_plan_adopted": {"completed", "suspended"},
                        "suspended": {"matched", "agreement_signed",
                                      "action_plan_adopted", "withdrawn"},
                        "completed": {"completed"}, "withdrawn": set()},
            "visit": {None: {"planned"}, "planned": {"planned", "held",
                                                     "cancelled"},
                      "held": {"held"}, "cancelled": set()},
            "transfer": {None: {"planned"},
                         "planned": {"piloting", "abandoned"},
                         "piloting": {"replicated", "abandoned"},
                         "replicated": set(), "abandoned": set()},
            "practice": {None: {"documented"},
                         "documented": {"documented"}},
        }
        # Without injected disorder no event is held back and lost at the
        # end of the window, so every lifecycle starts at its first state.
        by = collections.defaultdict(dict)
        for line in gen("--seed", "32", "-n", "30000", "--dup-rate", "0",
                        "--ooo-rate", "0").splitlines():
            ev = json.loads(line)
            by[entity_key(ev)][ev["event_id"]] = ev
        practices = {k[1] for k in by if k[0] == "practice_id"}
        for key, evs in by.items():
            seq = sorted(evs.values(), key=lambda e: instant(
                e["occurred_at"]))
            times = [instant(e["occurred_at"]) for e in seq]
            self.assertEqual(len(set(times)), len(times), key)
            fam = seq[0]["event_type"].split(".")[0]
            prev = None
            for ev in seq:
                f, state = ev["event_type"].split(".")
                self.assertEqual(f, fam, key)
                self.assertIn(state, allowed[fam][prev], (key, prev, state))
                prev = state
            if fam == "transfer":
                self.assertIn(seq[0]["practice_id"], practices, key)

    def test_kxgen__duplicates_and_out_of_order(self):
        seen, dups = set(), 0
        for line in self.lines:
            if line in seen:
                dups += 1
            seen.add(line)
        self.assertTrue(0.005 < dups / len(self.lines) < 0.02, dups)
        ids = collections.Counter(e["event_id"] for e in self.events)
        self.assertEqual(sum(c - 1 for c in ids.values()), dups)
        newest, late = {}, 0
        for ev in self.events:
            k, t = entity_key(ev), instant(ev["occurred_at"])
            if k in newest and t < newest[k]:
                late += 1
            newest[k] = max(t, newest.get(k, t))
        self.assertTrue(0.005 < late / len(self.events) < 0.04, late)

    def test_kxgen__counts_cover_contract(self):
        types = collections.Counter(e["event_type"] for e in self.events)
        self.assertEqual(set(types), check_contract.EVENT_TYPES)
        progs = collections.Counter(e["programme"] for e in self.events)
        self.assertEqual(set(progs), set(kxdata.PROGRAMMES))
        fams = collections.Counter(kxgen.family_of(e["event_type"])
                                   for e in self.events)
        for f, share in (("pairing", 0.4), ("visit", 0.35),
                         ("practice", 0.25)):
            self.assertAlmostEqual(fams[f] / len(self.events), share,
                                   delta=0.03)
        self.assertTrue(any(e["sdgs"] == [] for e in self.events))
        self.assertTrue(any("geo_area" not in e for e in self.events))
        offsets = {e["occurred_at"][19:].lstrip(".0123456789")
                   for e in self.events}
        self.assertTrue({"Z", "+01:00", "+02:00", "-03:00", "+08:00",
                         "+05:30"} <= offsets, offsets)
        self.assertTrue(any(len(e["occurred_at"]) > 25 and "." in
                            e["occurred_at"] for e in self.events))

    def test_kxgen__sdg_codes_are_real(self):
        real = set(kxdata.BROAD_SDGS)
        for codes in kxdata.THEME_SDGS.values():
            real.update(codes)
        for ev in self.events:
            self.assertTrue(set(ev["sdgs"]) <= real, ev["sdgs"])

    def test_kxgen__entities_get_retagged(self):
        tags = collections.defaultdict(set)
        progs = collections.defaultdict(set)
        for ev in self.events:
            k = entity_key(ev)
            tags[k].add(tuple(ev["sdgs"]))
            progs[k].add(ev["programme"])
        self.assertGreater(sum(len(v) > 1 for v in tags.values()), 100)
        self.assertGreater(sum(len(v) > 1 for v in progs.values()), 5)

    def test_kxgen__party_spellings_exercise_identity_rule(self):
        names = collections.defaultdict(set)
        for ev in self.events:
            for f in ("members", "visitors"):
                for p in ev.get(f) or []:
                    names[(p["country"], unicodedata.normalize(
                        "NFC", p["name"]).casefold())].add(p["name"])
            for f in ("host", "origin", "adopter"):
                if f in ev:
                    p = ev[f]
                    names[(p["country"], unicodedata.normalize(
                        "NFC", p["name"]).casefold())].add(p["name"])
        spelled = [v for v in names.values() if len(v) > 1]
        self.assertGreater(len(spelled), 20)
        self.assertTrue(any(any(not unicodedata.is_normalized("NFC", n)
                                for n in v) for v in spelled))
        self.assertTrue(any(any(n.isupper() for n in v) for v in spelled))

    def test_kxdata__parties(self):
        self.assertGreaterEqual(len(kxgen.PARTIES), 150)
        for p in kxgen.PARTIES:
            self.assertIn(p.country, check_contract.ISO_3166_1, p.name)
            self.assertEqual(p.eu, p.country in kxdata.EU)
            self.assertFalse(set(p.name) & set(";|"), p.name)
        self.assertEqual(len(kxdata.EU), 27)
        countries = {p.country for p in kxgen.PARTIES}
        for area in kxdata.AREAS.values():
            self.assertTrue(set(area) <= countries)


class Examples(unittest.TestCase):
    def test_examples__match_regenerate_sh(self):
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run(["bash", os.path.join(ROOT, "examples",
                                                     "regenerate.sh"), d],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            for sub in ("partners", "csv", "."):
                left = os.path.join(ROOT, "examples", sub)
                right = os.path.join(d, sub)
                names = sorted(n for n in os.listdir(right)
                               if os.path.isfile(os.path.join(right, n)))
                self.assertTrue(names)
                match, mismatch, errors = filecmp.cmpfiles(
                    left, right, names, shallow=False)
                self.assertEqual((mismatch, errors), ([], []))


if __name__ == "__main__":
    unittest.main()
