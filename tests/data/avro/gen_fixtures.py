#!/usr/bin/env python3
"""Writes the golden Avro fixtures of tests/unit/test_codec.c.

The fixtures are written by fastavro, an Avro implementation independent of
Avro-C, with the catalogue schemas and Confluent framing (0x00, big-endian
int32 schema id, payload). test_codec decodes each one and also checks that
KX's encoder produces the same bytes. The build never runs this script; run
it by hand (pip install fastavro) only when the fixtures must change.
"""
import io
import json
import os
import struct
import sys

import fastavro

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "..", "..", "..", "schemas")


def party(name, country, kind, eu):
    return {"name": name, "country": country, "kind": kind, "eu": eu}


FIXTURES = [
    ("pairing.v1.bin", 101, "pairing.v1.avsc", {
        "event_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "event_type": "pairing_agreement_signed",
        "occurred_at": 1741941000123456,
        "occurred_offset_min": 60,
        "source": "partner.crm",
        "programme": "IURC",
        "geo_area": "LAC",
        "sdgs": ["11", "11.6", "7.a.1"],
        "themes": ["circular-economy"],
        "pairing_id": "IURC-LAC-007",
        "cooperation_type": "trio",
        "members": [party("Київ", "UA", "city", False),
                    party("São Paulo", "BR", "metropolitan_area", False),
                    party("Île-de-France", "FR", "region", True)],
        "pilot_projects": 4,
    }),
    ("visit.v1.bin", 201, "visit.v1.avsc", {
        "event_id": "16fd2706-8baf-433b-82eb-8c7fada847da",
        "event_type": "visit_held",
        "occurred_at": 1742000000000000,
        "occurred_offset_min": -300,
        "source": "events.portal",
        "programme": "IUC",
        "geo_area": None,
        "sdgs": ["13.2"],
        "themes": [],
        "visit_id": "V-2025-031",
        "pairing_id": None,
        "visit_type": "study_visit",
        "format": "hybrid",
        "host": party("北京", "CN", "city", False),
        "visitors": [party("القاهرة", "EG", "city", False),
                     party("Zürich", "CH", "city", False)],
        "start_date": 20100,
        "end_date": 20103,
        "participants": 48,
    }),
    ("practice.v1.bin", 301, "practice.v1.avsc", {
        "event_id": "886313e1-3b8a-4372-9b90-0c9aee199e5d",
        "event_type": "practice_documented",
        "occurred_at": 1743000000000000,
        "occurred_offset_min": 0,
        "source": "catalogue",
        "programme": "URBELAC",
        "geo_area": "LAC",
        "sdgs": ["11.6.2"],
        "themes": ["circular-economy", "public-procurement"],
        "practice_id": "P-42",
        "title": "Circular procurement: a handbook",
        "origin": party("Zürich", "CH", "city", False),
        "product_type": "handbook",
        "transfer_id": None,
        "adopter": None,
    }),
    ("transfer.v1.bin", 301, "practice.v1.avsc", {
        "event_id": "0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d",
        "event_type": "transfer_replicated",
        "occurred_at": 1744000000000000,
        "occurred_offset_min": 120,
        "source": "catalogue",
        "programme": "URBELAC",
        "geo_area": None,
        "sdgs": [],
        "themes": [],
        "practice_id": "P-42",
        "title": None,
        "origin": None,
        "product_type": None,
        "transfer_id": "T-42-1",
        "adopter": party("Київ", "UA", "city", False),
    }),
]


# The v2 fixtures: the same events written with the v2 schemas, with the
# v2 fields set (the transfer keeps them absent, as transfers have none).
V2_EXTRA = {
    "pairing": {"budget_eur": 1250000},
    "visit": {"report_url": "https://iurc.eu/reports/V-2025-031",
              "participants_by_sector": {"public_sector": 20,
                                         "private_sector": 12,
                                         "academia": 9,
                                         "civil_society": 7},
              "follow_up": "action_plan"},
    "practice": {"url": "https://practices.example.org/P-42"},
    "transfer": {"url": None},
}
for _name, _id, _avsc, _record in list(FIXTURES):
    _kind = _name.split(".")[0]
    FIXTURES.append((_name.replace(".v1.", ".v2."), _id + 1,
                     _avsc.replace(".v1.", ".v2."),
                     dict(_record, **V2_EXTRA[_kind])))


def main():
    for name, schema_id, avsc, record in FIXTURES:
        with open(os.path.join(SCHEMAS, avsc), encoding="utf-8") as f:
            schema = fastavro.parse_schema(json.load(f))
        buf = io.BytesIO()
        buf.write(b"\x00" + struct.pack(">i", schema_id))
        fastavro.schemaless_writer(buf, schema, record)
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(buf.getvalue())
        print(f"{name}: {len(buf.getvalue())} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
