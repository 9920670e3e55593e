#!/usr/bin/env python3
"""A Python consumer (confluent-kafka, fastavro: no KX code) reads what
kx-produce wrote, v2 fields included, and every field of every event is
equal to the input line; the schema id is the newest catalogue id of the
topic's family. With KX_SCHEMA_REGISTRY set, kx-produce registers its
schemas there and the reader fetches each id from the registry (through
confluent-kafka's SchemaRegistryClient) instead of the catalogue.

Run through run.sh (pinned deps) and with-stack.sh (KX_BROKERS, KX_DB).
"""

import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration", "aggregate"))
import avro_json  # noqa: E402
from aggtest import Suite  # noqa: E402

N = int(os.environ.get("INTEROP_N", "3000"))


def read_all(prefix, brokers):
    """Every message of the three topics: (topic, key, value)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": brokers, "group.id": "interop-reader",
                  "enable.auto.commit": False})
    parts, ends = [], {}
    for fam in avro_json.TOPIC_OF.values():
        topic = prefix + fam
        md = c.list_topics(topic, timeout=30).topics[topic]
        for p in md.partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            if hi > lo:
                parts.append(TopicPartition(topic, p, lo))
                ends[(topic, p)] = hi
    c.assign(parts)
    out, left = [], dict(ends)
    while left:
        m = c.poll(10)
        if m is None:
            raise RuntimeError("no message within 10 s; %d partitions left" % len(left))
        if m.error():
            raise RuntimeError(str(m.error()))
        out.append((m.topic(), m.key().decode(), m.value()))
        if m.offset() + 1 >= ends[(m.topic(), m.partition())]:
            left.pop((m.topic(), m.partition()), None)
    c.close()
    return out


def registry_schemas(url):
    """id -> parsed schema, fetched lazily from the registry."""
    import fastavro
    from confluent_kafka.schema_registry import SchemaRegistryClient
    client = SchemaRegistryClient({"url": url, "timeout": 10})  # retried

    class Lazy(dict):
        def __missing__(self, sid):
            s = client.get_schema(sid)
            self[sid] = fastavro.parse_schema(json.loads(s.schema_str))
            return self[sid]
    return Lazy()


def reads_kx(suite):
    sc = suite.scenario("python_reads_kx")
    path = sc.kxgen(31, N, extra=["--dup-rate", "0"])
    with open(path, encoding="utf-8") as fp:
        lines = avro_json.add_v2_fields(fp.readlines())
    v2 = os.path.join(sc.tmp, "v2.jsonl")
    with open(v2, "w", encoding="utf-8") as fp:
        fp.writelines(lines)
    sc.produce_file(v2)

    registry = os.environ.get("KX_SCHEMA_REGISTRY")
    catalogue = avro_json.load_catalogue()
    schemas = registry_schemas(registry) if registry else \
        {sid: s for sid, (_, _, s) in catalogue.items()}
    newest = {}
    for sid, (fam, ver, _) in catalogue.items():
        if ver >= newest.get(fam, (0, 0))[1]:
            newest[fam] = (sid, ver)

    want = {}
    for line in lines:
        ev = json.loads(line)
        want[ev["event_id"].lower()] = ev
    msgs = read_all(sc.prefix, os.environ["KX_BROKERS"])
    sc.res.eq("one message per distinct event", len(want), len(msgs))

    bad, ids = [], set()
    for topic, key, value in msgs:
        sid, rec = avro_json.unframe(value, schemas)
        ids.add(sid)
        ev = want.get(str(rec["event_id"]))
        fam = topic[len(sc.prefix):]
        exp = avro_json.as_python_reads(avro_json.to_avro(ev, 2)) if ev else None
        if ev is None or rec != exp or key != avro_json.key(ev) or \
                avro_json.TOPIC_OF[avro_json.family(ev)] != fam:
            bad.append((topic, key, rec, exp))
        elif not registry and sid != newest[avro_json.family(ev)][0]:
            bad.append((topic, key, "schema id %d" % sid, None))
    sc.res.true("every message equals its input line, key and topic included "
                "(%d messages)" % len(msgs), not bad,
                "\n".join("%r\n  want %r" % (b[2], b[3]) for b in bad[:3]))
    v2_seen = sum(1 for _, _, v in msgs
                  for _r in [avro_json.unframe(v, schemas)[1]]
                  if _r.get("budget_eur") is not None or _r.get("report_url")
                  or _r.get("url"))
    sc.res.true("v2 fields arrived (%d events carry one)" % v2_seen, v2_seen > 0)
    if registry:
        sc.res.true("the ids are the registry's (%s)" % sorted(ids),
                    len(ids) == 3)


if __name__ == "__main__":
    sys.exit(Suite("interop_reads").run([reads_kx]))
