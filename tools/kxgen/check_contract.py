#!/usr/bin/env python3
"""check_contract: validate KX partner events against CONTRACT.md section 1.

An independent reading of the contract, written from its text alone and
sharing no code with kxgen.  It reads JSON Lines (or the CSV form of one
family) and prints one line per invalid event:

    line N: 'field': reason

The first broken rule of a line is reported, in the order the contract
lists its fields.  Exit status: 0 when every line is valid, 1 when some
line is invalid, 2 for usage or I/O errors.  Python 3.11 stdlib only.

Where the contract is silent this checker chooses (see README.md):
a blank line is invalid; unknown fields are ignored; duplicate keys in
one object, NaN and Infinity are invalid JSON; SDG codes have no leading
zeros; a country must be an assigned ISO 3166-1 alpha-2 code.
"""

import argparse
import csv
import datetime
import io
import json
import re
import signal
import sys

PAIRING_STATES = ("proposed", "matched", "agreement_signed",
                  "action_plan_adopted", "completed", "suspended", "withdrawn")
EVENT_TYPES = frozenset(
    ["pairing." + s for s in PAIRING_STATES]
    + ["visit.planned", "visit.held", "visit.cancelled",
       "practice.documented", "transfer.planned", "transfer.piloting",
       "transfer.replicated", "transfer.abandoned"])
PROGRAMMES = ("IUC", "IURC", "ICP-AGIR", "URBELAC", "RPD")
PARTY_KINDS = ("city", "region", "metropolitan_area", "organisation")
COOPERATION_TYPES = ("bilateral", "trio", "cluster", "cohort")
VISIT_TYPES = ("study_visit", "networking_event", "webinar", "staff_exchange")
VISIT_FORMATS = ("in_person", "virtual", "hybrid")
PRODUCT_TYPES = ("case_study", "factsheet", "guideline", "handbook")

# Officially assigned ISO 3166-1 alpha-2 codes (249).
ISO_3166_1 = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ
BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR
CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI
SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR
TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
RFC3339_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]"
                        r"([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
                        r"([Zz]|[+-]([0-9]{2}):([0-9]{2}))")
SOURCE_RE = re.compile(r"[a-z0-9._-]{1,64}")
GEO_RE = re.compile(r"[A-Z0-9-]{1,16}")
SDG_RE = re.compile(r"([0-9]+)(?:\.([0-9]+|[A-Za-z])(?:\.([0-9]+))?)?")
THEME_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INT_TEXT_RE = re.compile(r"-?[0-9]+")


class Invalid(Exception):
    def __init__(self, field, reason):
        super().__init__(field, reason)
        self.field = field
        self.reason = reason


def show(v):
    """A value as it appears in a message: strings in single quotes."""
    if isinstance(v, str):
        return "'%s'" % (v if len(v) <= 40 else v[:37] + "...")
    return json.dumps(v, ensure_ascii=False)[:40]


def get(ev, field):
    """A field's value; null counts as absent."""
    return ev.get(field)


def need(ev, field, why="required"):
    v = ev.get(field)
    if v is None:
        raise Invalid(field, "missing (%s)" % why)
    return v


def need_str(ev, field, why="required"):
    v = need(ev, field, why)
    if not isinstance(v, str):
        raise Invalid(field, "%s is not a string" % show(v))
    return v


def check_enum(ev, field, allowed):
    v = need_str(ev, field)
    if v not in allowed:
        raise Invalid(field, "%s is not one of %s" % (show(v),
                                                      ", ".join(allowed)))
    return v


def check_key(ev, field, why="required"):
    v = need_str(ev, field, why)
    if not 1 <= len(v) <= 64:
        raise Invalid(field, "%s is %d chars, not 1-64" % (show(v), len(v)))
    return v


def check_int(ev, field, lo, hi, why="required"):
    v = need(ev, field, why)
    if type(v) is not int:
        raise Invalid(field, "%s is not an integer" % show(v))
    if not lo <= v <= hi:
        raise Invalid(field, "%d is not in %d-%d" % (v, lo, hi))
    return v


def check_timestamp(ev, field):
    v = need_str(ev, field)
    m = RFC3339_RE.fullmatch(v)
    if not m:
        raise Invalid(field, "%s is not an RFC 3339 timestamp with offset"
                      % show(v))
    y, mo, d, hh, mi, ss = (int(m.group(i)) for i in range(1, 7))
    try:
        datetime.date(y, mo, d)
    except ValueError:
        raise Invalid(field, "%s has no such date" % show(v))
    # RFC 3339 allows second 60 (a leap second).
    if hh > 23 or mi > 59 or ss > 60:
        raise Invalid(field, "%s has no such time of day" % show(v))
    if m.group(9) is not None and (int(m.group(9)) > 23
                                   or int(m.group(10)) > 59):
        raise Invalid(field, "%s has an offset out of range" % show(v))


def check_date(ev, field):
    v = need_str(ev, field)
    if not DATE_RE.fullmatch(v):
        raise Invalid(field, "%s is not a YYYY-MM-DD date" % show(v))
    try:
        return datetime.date.fromisoformat(v)
    except ValueError:
        raise Invalid(field, "%s has no such date" % show(v))


def check_sdg(path, code):
    if not isinstance(code, str):
        raise Invalid(path, "%s is not a string (codes are text)"
                      % show(code))
    m = SDG_RE.fullmatch(code)
    if not m:
        raise Invalid(path, "%s is not an SDG goal, target or indicator"
                      % show(code))
    goal, target, indicator = m.groups()
    if not 1 <= int(goal) <= 17:
        raise Invalid(path, "%s is not an SDG goal (1-17)" % show(code))
    if target is not None and not (target in "abcdefghij" if
                                   target.isalpha() else
                                   1 <= int(target) <= 19):
        raise Invalid(path, "%s has a target that is not 1-19 or a-j"
                      % show(code))
    if indicator is not None and int(indicator) < 1:
        raise Invalid(path, "%s has an indicator number below 1"
                      % show(code))
    for part in (goal, target, indicator):
        if part is not None and part[0] == "0":
            raise Invalid(path, "%s has a leading zero" % show(code))


def check_party(path, p):
    if not isinstance(p, dict):
        raise Invalid(path, "%s is not a party object" % show(p))
    box = {"name": p.get("name"), "country": p.get("country"),
           "kind": p.get("kind"), "eu": p.get("eu")}
    name = box["name"]
    if name is None:
        raise Invalid(path + ".name", "missing (required)")
    if not isinstance(name, str):
        raise Invalid(path + ".name", "%s is not a string" % show(name))
    if not 1 <= len(name) <= 200:
        raise Invalid(path + ".name", "%s is %d code points, not 1-200"
                      % (show(name), len(name)))
    c = box["country"]
    if c is None:
        raise Invalid(path + ".country", "missing (required)")
    if not isinstance(c, str) or c not in ISO_3166_1:
        raise Invalid(path + ".country", "%s is not an ISO 3166-1 alpha-2 "
                      "code in upper case" % show(c))
    k = box["kind"]
    if k is None:
        raise Invalid(path + ".kind", "missing (required)")
    if k not in PARTY_KINDS:
        raise Invalid(path + ".kind", "%s is not one of %s"
                      % (show(k), ", ".join(PARTY_KINDS)))
    eu = box["eu"]
    if eu is None:
        raise Invalid(path + ".eu", "missing (required)")
    if not isinstance(eu, bool):
        raise Invalid(path + ".eu", "%s is not a boolean" % show(eu))


def check_party_list(ev, field, minimum, why):
    v = need(ev, field)
    if not isinstance(v, list):
        raise Invalid(field, "%s is not an array" % show(v))
    for i, p in enumerate(v):
        check_party("%s[%d]" % (field, i), p)
    if len(v) < minimum:
        raise Invalid(field, "has %d %s, needs at least %d%s"
                      % (len(v), "party" if len(v) == 1 else "parties",
                         minimum, " " + why if why else ""))


def check_event(ev):
    """Raise Invalid for the first contract rule that ev breaks."""
    if not isinstance(ev, dict):
        raise Invalid("$", "%s is not a JSON object" % type(ev).__name__)
    eid = need_str(ev, "event_id")
    if not UUID_RE.fullmatch(eid):
        raise Invalid("event_id", "%s is not a UUID (8-4-4-4-12 hex)"
                      % show(eid))
    et = need_str(ev, "event_type")
    if et not in EVENT_TYPES:
        raise Invalid("event_type", "%s is not a known event type" % show(et))
    check_timestamp(ev, "occurred_at")
    src = need_str(ev, "source")
    if not SOURCE_RE.fullmatch(src):
        raise Invalid("source", "%s is not 1-64 chars of [a-z0-9._-]"
                      % show(src))
    check_enum(ev, "programme", PROGRAMMES)
    geo = get(ev, "geo_area")
    if geo is not None and (not isinstance(geo, str)
                            or not GEO_RE.fullmatch(geo)):
        raise Invalid("geo_area", "%s is not 1-16 chars of [A-Z0-9-]"
                      % show(geo))
    sdgs = need(ev, "sdgs", "required, may be empty")
    if not isinstance(sdgs, list):
        raise Invalid("sdgs", "%s is not an array" % show(sdgs))
    for i, code in enumerate(sdgs):
        check_sdg("sdgs[%d]" % i, code)
    themes = get(ev, "themes")
    if themes is not None:
        if not isinstance(themes, list):
            raise Invalid("themes", "%s is not an array" % show(themes))
        for i, t in enumerate(themes):
            if not isinstance(t, str) or not 1 <= len(t) <= 48 or \
                    not THEME_RE.fullmatch(t):
                raise Invalid("themes[%d]" % i, "%s is not lowercase "
                              "kebab-case of 1-48 chars" % show(t))

    family, state = et.split(".")
    if family == "pairing":
        check_key(ev, "pairing_id")
        check_enum(ev, "cooperation_type", COOPERATION_TYPES)
        if state == "proposed":
            check_party_list(ev, "members", 1, "while proposed")
        else:
            check_party_list(ev, "members", 2, "when " + state)
        if get(ev, "pilot_projects") is not None:
            check_int(ev, "pilot_projects", 0, 1000)
    elif family == "visit":
        check_key(ev, "visit_id")
        if get(ev, "pairing_id") is not None:
            check_key(ev, "pairing_id")
        check_enum(ev, "visit_type", VISIT_TYPES)
        check_enum(ev, "format", VISIT_FORMATS)
        check_party("host", need(ev, "host"))
        check_party_list(ev, "visitors", 1, "")
        start = check_date(ev, "start_date")
        end = check_date(ev, "end_date")
        if end < start:
            raise Invalid("end_date", "%s is before start_date %s"
                          % (show(ev["end_date"]), show(ev["start_date"])))
        if state == "held" or get(ev, "participants") is not None:
            check_int(ev, "participants", 0, 100000, "required when held")
    elif family == "practice":
        check_key(ev, "practice_id")
        title = need_str(ev, "title")
        if not 1 <= len(title) <= 300:
            raise Invalid("title", "is %d chars, not 1-300" % len(title))
        check_party("origin", need(ev, "origin"))
        check_enum(ev, "product_type", PRODUCT_TYPES)
    else:
        check_key(ev, "transfer_id")
        check_key(ev, "practice_id")
        check_party("adopter", need(ev, "adopter"))


# ------------------------------------------------------------------ input

def _no_duplicate_keys(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise Invalid(k, "appears twice in one object")
        out[k] = v
    return out


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


def parse_json_line(raw):
    """Decode one JSONL line (bytes) into a value, or raise Invalid."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Invalid("$", "not valid UTF-8 (byte %d)" % (e.start + 1))
    if not text.strip():
        raise Invalid("$", "empty line, not a JSON object")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys,
                          parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise Invalid("$", "not valid JSON: %s at column %d"
                      % (e.msg.lower(), e.colno))
    except ValueError as e:
        raise Invalid("$", "not valid JSON: %s" % e)


def read_jsonl(fp):
    """Yield (line number, event or Invalid) for a binary file."""
    n = 0
    for raw in fp:
        n += 1
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        try:
            yield n, parse_json_line(raw)
        except Invalid as e:
            yield n, e


# The CSV form (CONTRACT section 1, "CSV"): arrays joined with ';',
# parties written as name|country|kind|eu.  An empty cell is an absent
# field, except that an empty sdgs cell is the empty array (sdgs is
# required but may be empty) and an empty members or visitors cell is
# the empty array.
CSV_PARTY = ("host", "origin", "adopter")
CSV_PARTY_LIST = ("members", "visitors")
CSV_INT = ("pilot_projects", "participants")


def party_from_csv(text):
    parts = text.split("|")
    if len(parts) != 4:
        return text
    name, country, kind, eu = parts
    return {"name": name, "country": country, "kind": kind,
            "eu": True if eu == "true" else False if eu == "false" else eu}


def event_from_csv(header, row):
    """Turn one CSV record into the event it stands for."""
    if len(row) != len(header):
        raise Invalid("$", "record has %d cells, header has %d"
                      % (len(row), len(header)))
    ev = {}
    for field, cell in zip(header, row):
        if field in CSV_PARTY_LIST:
            ev[field] = [party_from_csv(p) for p in cell.split(";")] \
                if cell else []
        elif field == "sdgs":
            ev[field] = cell.split(";") if cell else []
        elif cell == "":
            continue
        elif field == "themes":
            ev[field] = cell.split(";")
        elif field in CSV_PARTY:
            ev[field] = party_from_csv(cell)
        elif field in CSV_INT:
            ev[field] = int(cell) if INT_TEXT_RE.fullmatch(cell) else cell
        else:
            ev[field] = cell
    return ev


def read_csv(fp):
    """Yield (line number, event or Invalid) for a binary CSV file."""
    text = io.TextIOWrapper(fp, encoding="utf-8", newline="")
    try:
        reader = csv.reader(text, strict=True)
        header = next(reader, None)
        if header is None:
            return
        for row in reader:
            try:
                yield reader.line_num, event_from_csv(header, row)
            except Invalid as e:
                yield reader.line_num, e
    except UnicodeDecodeError as e:
        yield -1, Invalid("$", "not valid UTF-8 (byte %d)" % (e.start + 1))
    except csv.Error as e:
        yield reader.line_num, Invalid("$", "not valid CSV: %s" % e)
    finally:
        text.detach()


def check_file(fp, fmt, prefix, out):
    """Check one open binary file; return (read, invalid)."""
    reader = read_csv(fp) if fmt == "csv" else read_jsonl(fp)
    read = bad = 0
    for n, ev in reader:
        read += 1
        if not isinstance(ev, Invalid):
            try:
                check_event(ev)
                continue
            except Invalid as e:
                ev = e
        bad += 1
        where = "line %d" % n if n > 0 else "line ?"
        out.write("%s%s: '%s': %s\n" % (prefix, where, ev.field, ev.reason))
    return read, bad


def main(argv=None):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    p = argparse.ArgumentParser(
        prog="check_contract",
        description="Validate KX partner events (CONTRACT.md section 1). "
        "Prints \"line N: 'field': reason\" for each invalid line; with "
        "several files each line is prefixed by its file name. Exits 0 "
        "when all lines are valid, 1 otherwise, 2 on errors.")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="files to read (default: stdin)")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl",
                   help="input format (default jsonl); CSV needs a header")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no closing summary on stderr")
    opts = p.parse_args(argv)
    out = sys.stdout
    total = bad = 0
    try:
        if not opts.files:
            total, bad = check_file(sys.stdin.buffer, opts.format, "", out)
        for name in opts.files:
            prefix = name + ": " if len(opts.files) > 1 else ""
            with open(name, "rb") as fp:
                r, b = check_file(fp, opts.format, prefix, out)
            total += r
            bad += b
    except OSError as e:
        print("check_contract: '%s': %s" % (e.filename, e.strerror),
              file=sys.stderr)
        return 2
    if not opts.quiet:
        print("read %d, valid %d, invalid %d" % (total, total - bad, bad),
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
