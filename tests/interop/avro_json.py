"""Partner JSON events as Avro records, written independently of KX's C code
for the interop tests: what a v1 or v2 schema's record must hold for a
given contract JSON line (CONTRACT §1, docs/avro.md)."""

import datetime
import io
import json
import os
import struct
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

def _load_instant_us():
    # tools/oracle/oracle.py, loaded by path: its module name would clash
    # with tests/integration/aggregate/oracle.py.
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "kx_tools_oracle", os.path.join(TOP, "tools", "oracle", "oracle.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.instant_us


instant_us = _load_instant_us()
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

FAMILY_OF = {"pairing": "pairing", "visit": "visit", "practice": "practice",
             "transfer": "practice"}
TOPIC_OF = {"pairing": "pairings", "visit": "visits", "practice": "practices"}


def family(ev):
    return FAMILY_OF[ev["event_type"].split(".")[0]]


def key(ev):
    f = family(ev)
    return ev["pairing_id"] if f == "pairing" else (
        ev["visit_id"] if f == "visit" else ev["practice_id"])


def load_catalogue():
    """Schema id -> (family, version, parsed fastavro schema)."""
    import fastavro
    out = {}
    sdir = os.path.join(TOP, "schemas")
    with open(os.path.join(sdir, "catalogue.txt"), encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            sid, fam, ver, fname = line.split()
            with open(os.path.join(sdir, fname), encoding="utf-8") as sf:
                out[int(sid)] = (fam, int(ver),
                                 fastavro.parse_schema(json.load(sf)))
    return out


def _offset_min(ts):
    if ts[-1] in "Zz":
        return 0
    sign = 1 if ts[-6] == "+" else -1
    return sign * (int(ts[-5:-3]) * 60 + int(ts[-2:]))


def _days(d):
    return (datetime.date.fromisoformat(d) - datetime.date(1970, 1, 1)).days


def _party(p):
    return None if p is None else {"name": p["name"], "country": p["country"],
                                   "kind": p["kind"], "eu": p["eu"]}


def _get(ev, k, default=None):
    v = ev.get(k)
    return default if v is None else v


def to_avro(ev, version):
    """The Avro record (a dict) of JSON event ev under schema version."""
    f = family(ev)
    t = ev["event_type"]
    r = {"event_id": ev["event_id"].lower(), "event_type": t.replace(".", "_"),
         "occurred_at": instant_us(ev["occurred_at"]),
         "occurred_offset_min": _offset_min(ev["occurred_at"]),
         "source": ev["source"], "programme": ev["programme"],
         "geo_area": ev.get("geo_area"), "sdgs": list(ev["sdgs"]),
         "themes": list(_get(ev, "themes", []))}
    if f == "pairing":
        r.update(pairing_id=ev["pairing_id"],
                 cooperation_type=ev["cooperation_type"],
                 members=[_party(p) for p in ev["members"]],
                 pilot_projects=_get(ev, "pilot_projects", 0))
        if version >= 2:
            r["budget_eur"] = ev.get("budget_eur")
    elif f == "visit":
        r.update(visit_id=ev["visit_id"], pairing_id=ev.get("pairing_id"),
                 visit_type=ev["visit_type"], format=ev["format"],
                 host=_party(ev["host"]),
                 visitors=[_party(p) for p in ev["visitors"]],
                 start_date=_days(ev["start_date"]),
                 end_date=_days(ev["end_date"]),
                 participants=ev.get("participants"))
        if version >= 2:
            s = ev.get("participants_by_sector")
            r["report_url"] = ev.get("report_url")
            r["participants_by_sector"] = None if s is None else {
                k: _get(s, k, 0) for k in ("public_sector", "private_sector",
                                           "academia", "civil_society")}
            r["follow_up"] = _get(ev, "follow_up", "none")
    else:
        doc = t == "practice.documented"
        r.update(practice_id=ev["practice_id"],
                 title=ev.get("title") if doc else None,
                 origin=_party(ev.get("origin")) if doc else None,
                 product_type=ev.get("product_type") if doc else None,
                 transfer_id=None if doc else ev["transfer_id"],
                 adopter=None if doc else _party(ev["adopter"]))
        if version >= 2:
            r["url"] = ev.get("url") if doc else None
    return r


def as_python_reads(rec):
    """rec as fastavro hands it to a Python consumer: the logical types
    uuid, timestamp-micros and date become UUID, datetime and date."""
    import uuid
    out = dict(rec)
    out["event_id"] = uuid.UUID(rec["event_id"])
    out["occurred_at"] = EPOCH + datetime.timedelta(microseconds=rec["occurred_at"])
    for k in ("start_date", "end_date"):
        if k in out:
            out[k] = datetime.date(1970, 1, 1) + datetime.timedelta(days=rec[k])
    return out


def frame(schema_id, schema, record):
    import fastavro
    buf = io.BytesIO()
    buf.write(b"\x00" + struct.pack(">i", schema_id))
    fastavro.schemaless_writer(buf, schema, record)
    return buf.getvalue()


def unframe(value, schemas):
    """(schema id, record) of a Confluent-framed value; schemas: id -> parsed."""
    import fastavro
    if len(value) < 5 or value[0] != 0:
        raise ValueError("not Confluent framing")
    sid = struct.unpack(">i", value[1:5])[0]
    return sid, fastavro.schemaless_reader(io.BytesIO(value[5:]), schemas[sid])


def add_v2_fields(lines):
    """Sets v2 fields on some events, deterministically (sum of sectors
    never above participants)."""
    out = []
    for i, line in enumerate(lines):
        ev = json.loads(line)
        f = family(ev)
        if f == "pairing" and i % 3 == 0:
            ev["budget_eur"] = 10000 * (i % 97)
        elif f == "visit" and i % 3 == 0:
            ev["report_url"] = "https://reports.example.org/%s" % ev["visit_id"]
            ev["follow_up"] = ("action_plan", "pilot", "replication")[(i // 3) % 3]
            n = ev.get("participants")
            if n is not None:
                ev["participants_by_sector"] = {"public_sector": n // 2,
                                                "academia": n // 4}
        elif ev["event_type"] == "practice.documented" and i % 3 == 0:
            ev["url"] = "http://practices.example.org/%s" % ev["practice_id"]
        out.append(json.dumps(ev, ensure_ascii=False) + "\n")
    return out
