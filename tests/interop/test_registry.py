#!/usr/bin/env python3
"""Registry mode end to end, against the Confluent-compatible Schema
Registry of the local stack (kx-stack up --registry; its URL comes in
KX_SCHEMA_REGISTRY):

  1. kx-produce registers its schemas and frames with the registry's ids;
     a Python consumer deserializes every message with confluent-kafka's
     AvroDeserializer (the schema fetched from the registry by id) and every
     field equals the input; kx-aggregate, also in registry mode, fetches
     the ids it does not know and its views equal the oracle.
  2. Python's AvroSerializer registers the v1 and the v2 schema text under
     the topics' subjects and sends events with both; kx-aggregate fetches
     those ids too, and its views equal the oracle.

Run through run.sh (pinned deps) and with-stack.sh (KX_BROKERS, KX_DB,
KX_STACK_REGISTRY).
"""

import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration", "aggregate"))
import avro_json  # noqa: E402
import oracle  # noqa: E402
from aggtest import Suite, die  # noqa: E402
from test_python_reads_kx import read_all  # noqa: E402

N = int(os.environ.get("INTEROP_N", "2000"))
# The stack's registry (with-stack.sh); KX programs the scenarios run use
# it through KX_SCHEMA_REGISTRY, which Scenario copies from os.environ.
URL = os.environ.get("KX_STACK_REGISTRY") or os.environ.get("KX_SCHEMA_REGISTRY")
if URL:
    os.environ["KX_SCHEMA_REGISTRY"] = URL


def client():
    from confluent_kafka.schema_registry import SchemaRegistryClient
    # A request timeout, which the client retries: without one, a request
    # the registry never answered hung the test until ctest's timeout.
    return SchemaRegistryClient({"url": URL, "timeout": 10})


def kx_writes(suite):
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext
    sc = suite.scenario("registry_kx_writes")
    with open(sc.kxgen(51, N, extra=["--dup-rate", "0"]), encoding="utf-8") as fp:
        lines = avro_json.add_v2_fields(fp.readlines())
    path = os.path.join(sc.tmp, "v2.jsonl")
    with open(path, "w", encoding="utf-8") as fp:
        fp.writelines(lines)
    sc.produce_file(path)  # KX_SCHEMA_REGISTRY is in the environment

    reg = client()
    subjects = [s for s in reg.get_subjects() if s.startswith(sc.prefix)]
    sc.res.eq("kx-produce registered one subject per topic",
              sorted(sc.prefix + t + "-value" for t in avro_json.TOPIC_OF.values()),
              sorted(subjects))
    deser = AvroDeserializer(reg)
    want = {json.loads(l)["event_id"].lower(): json.loads(l) for l in lines}
    bad, ids = [], set()
    msgs = read_all(sc.prefix, os.environ["KX_BROKERS"])
    for topic, key, value in msgs:
        ids.add(int.from_bytes(value[1:5], "big"))
        rec = deser(value, SerializationContext(topic, MessageField.VALUE))
        ev = want.get(str(rec["event_id"]))
        exp = avro_json.as_python_reads(avro_json.to_avro(ev, 2)) if ev else None
        if rec != exp or key != avro_json.key(ev):
            bad.append((rec, exp))
    sc.res.eq("every event arrived once", len(want), len(msgs))
    sc.res.true("AvroDeserializer reads every field as written (%d messages)"
                % len(msgs), not bad,
                "\n".join("%r\n  want %r" % b for b in bad[:3]))
    catalogue = set(avro_json.load_catalogue())
    sc.res.true("the frames carry the registry's ids %s, not the catalogue's"
                % sorted(ids), len(ids) == 3 and not ids & catalogue)
    oracle.aggregate_and_check(sc, lines, "kx-produce via the registry")


def python_writes(suite):
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext
    sc = suite.scenario("registry_python_writes")
    with open(sc.kxgen(52, N, extra=["--ooo-rate", "0.1", "--dup-rate", "0.02"]),
              encoding="utf-8") as fp:
        lines = avro_json.add_v2_fields(fp.readlines())
    reg = client()
    sdir = os.path.join(avro_json.TOP, "schemas")
    ser = {}
    for fam in avro_json.TOPIC_OF:
        for v in (1, 2):
            with open(os.path.join(sdir, "%s.v%d.avsc" % (fam, v)), encoding="utf-8") as f:
                # Subjects named after the topic, as KX names them. The
                # default since 2.16 (ASSOCIATED) first asks an endpoint
                # the Confluent-compatible API of Apicurio lacks, once per
                # message; one such request was never answered.
                ser[(fam, v)] = AvroSerializer(reg, f.read(),
                                               conf={"auto.register.schemas": True,
                                                     "subject.name.strategy.type": "TOPIC"})
    p = Producer({"bootstrap.servers": os.environ["KX_BROKERS"],
                  "enable.idempotence": True, "partitioner": "murmur2_random"})
    errors = []
    for i, line in enumerate(lines):
        ev = json.loads(line)
        fam, v = avro_json.family(ev), 1 + i % 2
        topic = sc.prefix + avro_json.TOPIC_OF[fam]
        value = ser[(fam, v)](avro_json.to_avro(ev, v),
                              SerializationContext(topic, MessageField.VALUE))
        p.produce(topic, key=avro_json.key(ev).encode(), value=value,
                  on_delivery=lambda err, msg: err and errors.append(str(err)))
        p.poll(0)
    left = p.flush(60)
    sc.res.true("Python delivered every event through the registry",
                not errors and left == 0, "; ".join(errors[:3]))
    versions = {s: reg.get_versions(s) for s in reg.get_subjects()
                if s.startswith(sc.prefix)}
    sc.res.true("v1 and v2 are two versions of each subject: %r" % versions,
                len(versions) == 3 and all(len(v) == 2 for v in versions.values()))
    oracle.aggregate_and_check(sc, lines, "Python via the registry")


if __name__ == "__main__":
    if not URL:
        die("the stack runs no schema registry (KX_STACK_REGISTRY is not "
            "set): bring it up with 'deploy/local/kx-stack up --registry'")
    sys.exit(Suite("interop_registry").run([kx_writes, python_writes]))
