#!/usr/bin/env python3
"""poison.py: writes hostile messages straight to the KX topics.

    poison.py --brokers B --prefix P --schemas DIR --out MANIFEST [--seed N]

Reads one real message (written by kx-produce) back from each topic with
kcat, walks its Avro payload with the writer schema from schemas/ (Confluent
framing: 0x00, big-endian schema id, Avro binary) to find every field's
bytes, and derives broken messages from it, plus a few made from nothing.
Every derived message gets a fresh event_id first, so a message that KX
wrongly accepted would show up as an extra event (the oracle names it)
instead of hiding as a duplicate. Each message is sent with kcat
(one file = one message). MANIFEST gets one JSON object per message:
kind, topic, partition, key (hex or null) and value (hex).
Python 3 standard library only.
"""

import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import uuid

_CATALOGUE = {}


def schema_file(schemas, sid):
    """The .avsc file of catalogue id sid (schemas/catalogue.txt)."""
    if not _CATALOGUE:
        with open(os.path.join(schemas, "catalogue.txt"), encoding="utf-8") as f:
            for line in f:
                if line.strip() and not line.lstrip().startswith("#"):
                    i, _family, _version, fname = line.split()
                    _CATALOGUE[int(i)] = fname
    return _CATALOGUE[sid]


def zz(n):
    """Avro long: zigzag varint."""
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_long(buf, pos):
    shift = n = 0
    while True:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return (n >> 1) ^ -(n & 1), pos


class Walker:
    """Decodes Avro binary, recording the span of every field."""

    def __init__(self):
        self.names = {}
        self.spans = []  # (path, start, end, kind, extra)

    def walk(self, schema, buf, pos, path):
        if isinstance(schema, str):
            if schema in self.names:
                return self.walk(self.names[schema], buf, pos, path)
            t = schema
            schema = {"type": t}
        elif isinstance(schema, list):  # union
            start = pos
            idx, pos = read_long(buf, pos)
            self.spans.append((path + "#branch", start, pos, "union", idx))
            return self.walk(schema[idx], buf, pos, path)
        t = schema["type"]
        if isinstance(t, (dict, list)):
            return self.walk(t, buf, pos, path)
        start = pos
        if t == "null":
            return pos
        if t == "boolean":
            pos += 1
        elif t in ("int", "long"):
            _, pos = read_long(buf, pos)
        elif t == "float":
            pos += 4
        elif t == "double":
            pos += 8
        elif t in ("string", "bytes"):
            n, p2 = read_long(buf, pos)
            self.spans.append((path + "#len", pos, p2, "len", n))
            pos = p2 + n
        elif t == "enum":
            self.names[schema["name"]] = schema
            _, pos = read_long(buf, pos)
        elif t == "fixed":
            self.names[schema["name"]] = schema
            pos += schema["size"]
        elif t == "record":
            self.names[schema["name"]] = schema
            for f in schema["fields"]:
                pos = self.walk(f["type"], buf, pos, path + "." + f["name"])
        elif t in ("array", "map"):
            i = 0
            while True:
                cstart = pos
                n, pos = read_long(buf, pos)
                self.spans.append((path + "#count", cstart, pos, "count", n))
                if n == 0:
                    break
                if n < 0:
                    n = -n
                    _, pos = read_long(buf, pos)
                for _ in range(n):
                    if t == "map":
                        pos = self.walk("string", buf, pos, path + "#k")
                    pos = self.walk(schema["items" if t == "array"
                                           else "values"], buf, pos,
                                    "%s[%d]" % (path, i))
                    i += 1
        else:
            raise ValueError("unknown Avro type %r" % t)
        self.spans.append((path, start, pos, t, None))
        return pos


def parse(schemas, value):
    sid = struct.unpack(">I", value[1:5])[0]
    with open(os.path.join(schemas, schema_file(schemas, sid)), encoding="utf-8") as f:
        schema = json.load(f)
    w = Walker()
    end = w.walk(schema, value, 5, "")
    assert end == len(value), "payload not fully consumed"
    out = {}
    for p, s, e, k, x in w.spans:  # the first block of an array
        out.setdefault(p, (s, e, k, x))
    return out


def splice(value, span, new):
    s, e = span[0], span[1]
    return value[:s] + new + value[e:]


def set_string(schemas, value, path, text):
    """Replaces the string at path (length and bytes)."""
    sp = parse(schemas, value)
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    return splice(value, sp[path], zz(len(data)) + data)


def fresh_id(schemas, value, rng):
    return set_string(schemas, value, ".event_id",
                      str(uuid.UUID(int=rng.getrandbits(128), version=4)))


def kcat_read(brokers, topic):
    """First message of the first non-empty partition: (partition, key,
    value)."""
    for p in range(6):
        r = subprocess.run(["kcat", "-C", "-b", brokers, "-t", topic, "-p",
                            str(p), "-o", "beginning", "-c", "1", "-e",
                            "-f", "%p\\n%K\\n%k\\n%S\\n%s"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           timeout=60)
        out = r.stdout
        if not out:
            continue
        part, klen, rest = out.split(b"\n", 2)
        klen = int(klen)
        key, rest = rest[:klen], rest[klen + 1:]
        vlen, value = rest.split(b"\n", 1)
        value = value[:int(vlen)]
        return int(part), key, value
    raise RuntimeError("no message on %s" % topic)


def kcat_send(brokers, topic, partition, key, value, tmp):
    cmd = ["kcat", "-P", "-b", brokers, "-t", topic, "-p", str(partition)]
    if not value:
        # kcat skips an empty line and sends nothing for an empty file,
        # but 'KEY<TAB>' with -K sends KEY with a zero-length value.
        subprocess.run(cmd + ["-K", "\t"], input=(key or b"") + b"\t\n",
                       check=True, timeout=60)
        return
    path = os.path.join(tmp, "msg")
    with open(path, "wb") as f:
        f.write(value)
    if key is not None:
        cmd += ["-k", key.decode("utf-8", "surrogateescape")]
    cmd.append(path)
    subprocess.run(cmd, check=True, timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    S = a.schemas
    tp, tv = a.prefix + "pairings", a.prefix + "visits"
    pp, pk, P = kcat_read(a.brokers, tp)
    vp, vk, V = kcat_read(a.brokers, tv)
    P = fresh_id(S, P, rng)  # every derived message: a new event_id
    V = fresh_id(S, V, rng)
    sp = parse(S, P)

    def with_id(v):
        return fresh_id(S, v, rng)

    msgs = []

    def add(kind, value, topic=tp, part=pp, key=pk):
        msgs.append((kind, topic, part, key, bytes(value)))

    add("random-bytes", rng.randbytes(97), part=rng.randrange(6),
        key=b"K-random")
    add("empty-value", b"", topic=tv, part=vp, key=vk)
    add("wrong-magic-byte", b"\x01" + with_id(P)[1:])
    add("unknown-schema-id", b"\x00" + struct.pack(">I", 4242) + with_id(P)[5:])
    add("schema-of-another-family", b"\x00" + struct.pack(">I", 201)
        + with_id(P)[5:])
    v = with_id(P)
    add("truncated-payload", v[:len(v) // 2])
    v = with_id(P)
    s = parse(S, v)[".event_id#len"]
    add("huge-string-length", splice(v, s, zz(1 << 40)))
    v = with_id(P)
    s = parse(S, v)[".source#len"]
    add("negative-string-length", splice(v, s, zz(-3)))
    v = with_id(P)
    s = parse(S, v)[".sdgs#count"]
    add("huge-array-count", splice(v, s, zz(1 << 31)))
    v = with_id(P)
    s = parse(S, v)[".event_type"]
    add("enum-index-out-of-range", splice(v, s, zz(57)))
    v = with_id(P)
    s = parse(S, v)[".cooperation_type"]
    add("enum-index-negative", splice(v, s, zz(-1)))
    v = with_id(P)
    name = parse(S, v)[".members[0].name#len"]
    n = parse(S, v)[".members[0].name#len"][3]
    bad = b"\xff\xfe" + b"x" * max(0, n - 2)
    add("invalid-utf8", splice(v, (name[0], name[1] + n), zz(len(bad)) + bad))
    v = with_id(P)
    if ".sdgs[0]" in parse(S, v):
        v = set_string(S, v, ".sdgs[0]", "18.1")
    else:  # no tag on this pairing: put one in
        s = parse(S, v)[".sdgs#count"]
        v = splice(v, s, zz(1) + zz(4) + b"18.1" + zz(0))
    add("sdg-goal-18", v)
    add("sdg-target-20", set_string(S, with_id(P), ".sdgs[0]", "11.20")
        if ".sdgs[0]" in sp else set_string(S, with_id(P), ".programme", "")
        )
    add("missing-key", with_id(P), key=None)
    add("key-mismatch", with_id(P), key=b"NOT-THE-ENTITY-KEY")
    add("event-on-wrong-topic", with_id(V), key=vk)
    add("bad-event-id", set_string(S, P, ".event_id",
                                   "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"))
    add("lower-case-country",
        set_string(S, with_id(P), ".members[0].country", "fr"))
    add("unknown-programme", set_string(S, with_id(P), ".programme", "XYZ"))

    with tempfile.TemporaryDirectory() as tmp, open(a.out, "w") as man:
        for kind, topic, part, key, value in msgs:
            kcat_send(a.brokers, topic, part, key, value, tmp)
            man.write(json.dumps({"kind": kind, "topic": topic,
                                  "partition": part,
                                  "key": key.hex() if key is not None
                                  else None,
                                  "value": value.hex()}) + "\n")
    print("poison: sent %d messages of %d kinds" % (len(msgs), len(msgs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
