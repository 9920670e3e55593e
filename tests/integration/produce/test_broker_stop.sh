#!/usr/bin/env bash
# The broker stops in the middle of a run.
#
# A: during a 200,000-event send the broker is stopped (kx-stack stop
#    kafka) and started again well within message.timeout.ms: every event
#    arrives, and the topics hold exactly as many messages as were sent
#    (the idempotent producer adds no duplicates).
# B: the broker stays down past a short message.timeout.ms: exit code 3,
#    the closing line's failed count equals the lines in --failed, --failed
#    holds exactly the events not in Kafka, and sending the failed file
#    again completes the set.
#
# Input comes through a FIFO so that the broker stops at a known point of
# the input: kx-produce reads 64 KiB blocks, so each chunk is followed by
# blank lines (which it skips) to hand it the chunk's last lines at once.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kx_test_setup produce_broker_stop
t=$KX_TEST_TMP
kafka_stopped=0
on_exit() {
	if [ $kafka_stopped = 1 ]; then
		"$KXP_STACK" start kafka >&2 || echo "test: cannot restart kafka" >&2
	fi
	kx_test_cleanup
}
trap on_exit EXIT

stop_kafka() {
	kafka_stopped=1
	"$KXP_STACK" stop kafka || kx_die "kx-stack stop kafka failed"
}
start_kafka() {
	"$KXP_STACK" start kafka || kx_die "kx-stack start kafka failed"
	kafka_stopped=0
}

in=$t/in.jsonl
kxp_gen --seed 404 -n 200000 --out "$in" || kx_die "kxgen failed"

echo "# A: broker stopped and restarted during a 200,000-event send"
mkfifo "$t/fifo.a"
timeout -k 10 900 "$KX_BIN_DIR/kx-produce" --failed "$t/a.failed" \
	<"$t/fifo.a" 2>"$t/a.err" &
pid=$!
exec 7>"$t/fifo.a"
head -n 50000 "$in" >&7
kxp_wait_count 40000 || kx_die "the first 40000 events did not arrive"
stop_kafka
kx_expect_eq "A: kx-produce runs on after the broker stopped" running \
	"$(kill -0 "$pid" 2>/dev/null && echo running || echo exited)"
{ tail -n +50001 "$in"; } >&7 &
writer=$!
exec 7>&-
sleep 5
start_kafka
kxp_wait_exit "$writer" 600
kxp_wait_exit "$pid" 900
rc=$?
kx_expect_eq "A: exit code 0" 0 "$rc"
kx_expect_eq "A: closing line" "read 200000, sent 200000, rejected 0, failed 0" \
	"$(kxp_closing "$t/a.err")"
kx_expect_eq "A: no producer rebuild" "" "$(grep 'rebuilt' "$t/a.err")"
kx_expect_eq "A: --failed is empty" 0 "$(wc -c <"$t/a.failed")"
kx_expect_eq "A: the topics hold 200000 messages (no duplicates)" 200000 "$(kxp_count)"
kxp_readback check --expect "$in"

echo "# B: the broker stays down past message.timeout.ms"
pb=${KX_TOPIC_PREFIX}b.
kx_test_topics "$pb"
head -n 20000 "$in" >"$t/b.jsonl"
mkfifo "$t/fifo.b"
KX_TOPIC_PREFIX=$pb timeout -k 10 300 "$KX_BIN_DIR/kx-produce" \
	-X message.timeout.ms=5000 --failed "$t/b.failed" <"$t/fifo.b" 2>"$t/b.err" &
pid=$!
exec 7>"$t/fifo.b"
head -n 10000 "$t/b.jsonl" >&7
kxp_blank_pad 7
kxp_wait_count 10000 "$pb" || kx_die "the first 10000 events did not arrive"
sleep 1 # let the last acknowledgements reach the producer
stop_kafka
tail -n +10001 "$t/b.jsonl" >&7
exec 7>&-
kxp_wait_exit "$pid" 240
rc=$?
kx_expect_eq "B: exit code 3" 3 "$rc"
kx_expect_eq "B: closing line" "read 20000, sent 10000, rejected 0, failed 10000" \
	"$(kxp_closing "$t/b.err")"
kx_expect_eq "B: the failed count equals the lines in --failed" 10000 "$(wc -l <"$t/b.failed")"
start_kafka
kx_expect_eq "B: the topics hold the 10000 sent" 10000 "$(kxp_count "$pb")"
kxp_readback --prefix "$pb" check --expect "$t/b.jsonl" --subset --missing "$t/b.missing"
kx_expect_eq "B: --failed holds exactly the events not in Kafka" \
	"$(sort "$t/b.missing" | md5sum)" "$(sort "$t/b.failed" | md5sum)"

echo "# B: sending the failed file again completes the set"
KX_TOPIC_PREFIX=$pb kxp_produce "$t/b2.err" rc --failed "$t/b2.failed" "$t/b.failed"
kx_expect_eq "B: re-send exit code 0" 0 "$rc"
kx_expect_eq "B: re-send closing line" "read 10000, sent 10000, rejected 0, failed 0" \
	"$(kxp_closing "$t/b2.err")"
kxp_readback --prefix "$pb" check --expect "$t/b.jsonl" --ids "$t/b.ids"
kx_expect_eq "B: the union equals the input, by event_id" \
	"$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    print(json.loads(l)["event_id"].lower())' "$t/b.jsonl" | sort -u | md5sum)" \
	"$(sort -u "$t/b.ids" | md5sum)"

kx_test_done
