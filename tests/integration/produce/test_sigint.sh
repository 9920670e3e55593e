#!/usr/bin/env bash
# SIGINT: kx-produce stops reading, waits for the delivery of what it read,
# prints the closing line and exits 130; what it says it sent is in Kafka,
# exactly the lines it read. A second SIGINT gives up at once and writes
# what was not delivered to --failed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kx_test_setup produce_sigint
t=$KX_TEST_TMP
# B needs kx-produce still reading when the first message is seen in
# Kafka: at 200k lines/s 60,000 lines were all read first, so 300,000.
kxp_gen --seed 606 -n 300000 --out "$t/in.jsonl" || kx_die "kxgen failed"

echo "# A: SIGINT while it waits for more input on a pipe"
head -n 5000 "$t/in.jsonl" >"$t/a.jsonl"
mkfifo "$t/fifo"
"$KX_BIN_DIR/kx-produce" --failed "$t/a.failed" <"$t/fifo" 2>"$t/a.err" &
pid=$!
exec 7>"$t/fifo"
cat "$t/a.jsonl" >&7
kxp_blank_pad 7
kxp_wait_count 5000 || kx_expect_eq "A: the first 5000 lines arrive" 5000 "$(kxp_count)"
sleep 1
kill -INT "$pid"
kxp_wait_exit "$pid" 60
rc=$?
exec 7>&-
kx_expect_eq "A: exit code 130 without the pipe being closed" 130 "$rc"
kx_expect_eq "A: stderr is the closing line alone" \
	"read 5000, sent 5000, rejected 0, failed 0" "$(cat "$t/a.err")"
kx_expect_eq "A: --failed is empty" 0 "$(wc -c <"$t/a.failed")"
kxp_readback check --expect "$t/a.jsonl"

# Regression: a line read before the SIGINT but waiting for room in the
# full queue went to --failed ('failed 1', broker healthy) once kx-produce
# read faster than the broker acknowledged.
echo "# B: SIGINT while messages are in flight"
pb=${KX_TOPIC_PREFIX}b.
kx_test_topics "$pb"
KX_TOPIC_PREFIX=$pb "$KX_BIN_DIR/kx-produce" --failed "$t/b.failed" "$t/in.jsonl" 2>"$t/b.err" &
pid=$!
kxp_wait_count 1 "$pb" || true
kill -INT "$pid"
kxp_wait_exit "$pid" 300
rc=$?
kx_expect_eq "B: exit code 130" 130 "$rc"
closing=$(kxp_closing "$t/b.err")
read -r read_n sent_n rejected_n failed_n < <(sed -E 's/read ([0-9]+), sent ([0-9]+), rejected ([0-9]+), failed ([0-9]+)/\1 \2 \3 \4/' <<<"$closing")
echo "closing line: $closing"
kx_expect_eq "B: stderr is the closing line alone" "$closing" "$(cat "$t/b.err")"
kx_expect_eq "B: it stopped reading before the end" yes "$([ "${read_n:-300000}" -lt 300000 ] && echo yes || echo "no: read ${read_n:-?}")"
kx_expect_eq "B: everything read was sent, nothing failed" "sent $read_n, rejected 0, failed 0" \
	"sent $sent_n, rejected $rejected_n, failed $failed_n"
kx_expect_eq "B: --failed is empty" 0 "$(wc -c <"$t/b.failed")"
kx_expect_eq "B: the topics hold what it says it sent" "$sent_n" "$(kxp_count "$pb")"
head -n "${read_n:-0}" "$t/in.jsonl" >"$t/b.jsonl"
kxp_readback --prefix "$pb" check --expect "$t/b.jsonl"

echo "# C: broker unreachable, queue full: SIGINT stops reading, a second SIGINT gives up"
head -n 3000 "$t/in.jsonl" >"$t/c.jsonl"
"$KX_BIN_DIR/kx-produce" --brokers 127.0.0.1:9 -X queue.buffering.max.messages=1000 \
	--log-level error --failed "$t/c.failed" "$t/c.jsonl" 2>"$t/c.err" &
pid=$!
sleep 5 # it reads 1000 lines at once, then waits for room in the queue
kill -INT "$pid"
sleep 3
kx_expect_eq "C: after one SIGINT it still waits for deliveries" running \
	"$(kill -0 "$pid" 2>/dev/null && echo running || echo exited)"
kill -INT "$pid"
kxp_wait_exit "$pid" 20
rc=$?
kx_expect_eq "C: a second SIGINT ends it at once, exit code 130" 130 "$rc"
kx_expect_eq "C: closing line" "read 1001, sent 0, rejected 0, failed 1001" "$(kxp_closing "$t/c.err")"
kx_expect_eq "C: --failed holds the 1001 lines read" \
	"$(head -n 1001 "$t/c.jsonl" | sort | md5sum)" "$(sort "$t/c.failed" | md5sum)"

kx_test_done
