#!/usr/bin/env python3
"""kx-aggregate accepts events that Python wrote (confluent-kafka producer,
fastavro, Confluent framing, murmur2 partitioning), v1 and v2 mixed in the
same topics: every view equals the independent model of the contract
(tests/integration/aggregate/oracle.py) and kx-admin verify passes.

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
import oracle  # noqa: E402
from aggtest import Suite  # noqa: E402

N = int(os.environ.get("INTEROP_N", "3000"))
GEN = ["--ooo-rate", "0.1", "--retag-rate", "0.2", "--dup-rate", "0.03"]


def produce(prefix, lines, brokers):
    from confluent_kafka import Producer
    cat = avro_json.load_catalogue()
    by_fam = {}
    for sid, (fam, ver, schema) in cat.items():
        by_fam[(fam, ver)] = (sid, schema)
    p = Producer({"bootstrap.servers": brokers, "enable.idempotence": True,
                  "partitioner": "murmur2_random", "linger.ms": 5})
    errors = []
    counts = {1: 0, 2: 0}

    def done(err, msg):
        if err:
            errors.append(str(err))
    for i, line in enumerate(lines):
        ev = json.loads(line)
        version = 1 + i % 2          # v1 and v2 interleaved, same topics
        sid, schema = by_fam[(avro_json.family(ev), version)]
        p.produce(prefix + avro_json.TOPIC_OF[avro_json.family(ev)],
                  key=avro_json.key(ev).encode(),
                  value=avro_json.frame(sid, schema, avro_json.to_avro(ev, version)),
                  on_delivery=done)
        counts[version] += 1
        p.poll(0)
    left = p.flush(60)
    return counts, errors, left


def kx_reads(suite):
    sc = suite.scenario("kx_reads_python")
    path = sc.kxgen(32, N, extra=GEN)
    with open(path, encoding="utf-8") as fp:
        lines = avro_json.add_v2_fields(fp.readlines())
    counts, errors, left = produce(sc.prefix, lines, os.environ["KX_BROKERS"])
    sc.res.true("Python delivered every event (v1: %d, v2: %d)"
                % (counts[1], counts[2]), not errors and left == 0,
                "; ".join(errors[:3]))
    oracle.aggregate_and_check(sc, lines, "Python's v1 and v2 events", 500)


if __name__ == "__main__":
    sys.exit(Suite("interop_writes").run([kx_reads]))
