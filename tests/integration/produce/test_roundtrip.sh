#!/usr/bin/env bash
# Round trip: 10,000 generated events covering all 15 event types go
# through kx-produce; an independent librdkafka consumer (readback) reads
# every message back and checks framing, schema id, key (transfers keyed
# by practice_id), topic, murmur2 partition, and kx_event_equal against the
# input line. Every input event must be found exactly once, nothing extra.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kx_test_setup produce_roundtrip
in=$KX_TEST_TMP/in.jsonl

kxp_gen --seed 101 -n 10000 --out "$in" || kx_die "kxgen failed"
kx_expect_eq "generator wrote 10000 lines" 10000 "$(wc -l <"$in")"
types=$(python3 -c '
import json, sys
print(" ".join(sorted({json.loads(l)["event_type"] for l in open(sys.argv[1])})))' "$in")
kx_expect_eq "the input covers all 15 event types" \
	"pairing.action_plan_adopted pairing.agreement_signed pairing.completed pairing.matched pairing.proposed pairing.suspended pairing.withdrawn practice.documented transfer.abandoned transfer.piloting transfer.planned transfer.replicated visit.cancelled visit.held visit.planned" \
	"$types"

kxp_produce "$KX_TEST_TMP/err" rc --rejects "$KX_TEST_TMP/rejects" \
	--failed "$KX_TEST_TMP/failed" "$in"
kx_expect_eq "kx-produce exits 0" 0 "$rc"
kx_expect_eq "closing line" "read 10000, sent 10000, rejected 0, failed 0" \
	"$(kxp_closing "$KX_TEST_TMP/err")"
kx_expect_eq "the closing line is the last line on stderr" \
	"read 10000, sent 10000, rejected 0, failed 0" "$(tail -n 1 "$KX_TEST_TMP/err")"
kx_expect_eq "no rejects" 0 "$(wc -c <"$KX_TEST_TMP/rejects")"
kx_expect_eq "no failed events" 0 "$(wc -c <"$KX_TEST_TMP/failed")"
kx_expect_eq "the topics hold 10000 messages" 10000 "$(kxp_count)"
kxp_readback check --expect "$in"

kx_test_done
