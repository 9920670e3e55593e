#!/usr/bin/env bash
# Scenario 3, a zombie: two instances, A and B, share the group. The
# 200,000-event load is produced in two parts: all but the last 1,500 lines
# at full speed, then the last 1,500 as a trickle (about 25 lines a second
# through kx-produce's standard input). A runs with the test hook
# KX_TEST_COMMIT_DELAY_MS=4000: it holds each collected batch for 4 s before
# committing and logs "test hook: holding". A is frozen with SIGSTOP right
# after such a line, so it owns an uncommitted batch, and stays frozen past
# its session timeout (6 s); the group gives its partitions to
# B; B commits on them; A is resumed. A's batch must be rejected by the
# offset guard ("offset guard" in its log, kx_fenced_total > 0), and A must
# re-seek and go on. The freeze is repeated (up to 3 times) until A has been
# fenced. Then the invariant: nothing counted twice, nothing lost.
. "$(dirname "$0")/lib.sh"
fault_setup zombie
tail_n=1500
total=$(wc -l <"$EVENTS")
head -n $((total - tail_n)) "$EVENTS" >"$KX_TEST_TMP/bulk.jsonl"
tail -n "$tail_n" "$EVENTS" >"$KX_TEST_TMP/trickle.jsonl"
pa=$(free_port)
pb=$(free_port)
common=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)
# A holds each collected batch for 4 s before committing (a test hook of
# kx-aggregate), so it can be frozen exactly while it owns an uncommitted
# batch: the moment a zombie is dangerous.
KX_TEST_COMMIT_DELAY_MS=4000 agg_start a --batch-ms 2000 --batch-max 100000 --http "127.0.0.1:$pa" "${common[@]}"
A=$AGG_PID
agg_start b --http "127.0.0.1:$pb" "${common[@]}"
B=$AGG_PID
produce_start "$KX_TEST_TMP/bulk.jsonl" bulk
produce_wait 300
logs=("$PRODUCE_LOG")
read -r bulk_sent _ <<<"$(produce_counts "$PRODUCE_LOG")"
wait_until 240 "the bulk to be consumed" eval '[ "$(offsets_sum)" -ge "$bulk_sent" ]'
flog "bulk consumed: $(events_count) events"

# The trickle: one line every 40 ms into kx-produce.
(while IFS= read -r l; do printf '%s\n' "$l"; sleep 0.04; done <"$KX_TEST_TMP/trickle.jsonl") |
	"$KX_BIN_DIR/kx-produce" --rejects "$FAULT_LOGS/produce-trickle.rej" \
		2>"$FAULT_LOGS/produce-trickle.log" &
PRODUCE_PID=$!
PRODUCE_LOG=$FAULT_LOGS/produce-trickle.log
fault_record "$PRODUCE_PID" "kx-produce (trickle)"
logs+=("$PRODUCE_LOG")

assigned_b() { grep -c "assigned 18 partitions" "$FAULT_LOGS/agg-b.log"; }
fenced_a() { grep -c "offset guard" "$FAULT_LOGS/agg-a.log"; }
held_a() { grep -c "test hook: holding" "$FAULT_LOGS/agg-a.log"; }
attempts=0
for ((try = 1; try <= 3; try++)); do
	alive "$A" || { flog "A (pid $A) has exited"; break; }
	wait_until 30 "A to hold partitions" eval '[ "$(grep -c "assigned [1-9]" "$FAULT_LOGS/agg-a.log")" -ge '"$try"' ]'
	h0=$(held_a)
	wait_until 60 "A to hold a batch" eval '[ "$(held_a)" -gt "$h0" ]'
	before=$(assigned_b)
	kill -STOP "$A"
	attempts=$try
	off_before=$(offsets_sum)
	flog "froze A (attempt $try), stored offsets $off_before"
	# B gets all 18 partitions once A's session has expired ...
	wait_until 40 "B to take A's partitions" eval '[ "$(assigned_b)" -gt "$before" ]'
	flog "B holds all 18 partitions"
	# ... and commits on them.
	wait_until 20 "B to commit" eval '[ "$(offsets_sum)" -gt "$off_before" ]'
	sleep 2
	kill -CONT "$A"
	flog "resumed A"
	if wait_until 15 "A to be fenced" eval '[ "$(fenced_a)" -gt 0 ]'; then
		break
	fi
	flog "A was not fenced this time (its batch was empty or revoked first); again"
done
flog "A's log: $(grep "offset guard" "$FAULT_LOGS/agg-a.log" | head -1)"
kx_expect_eq "the zombie's batch was rejected by the offset guard" yes \
	"$([ "$(fenced_a)" -gt 0 ] && echo yes || echo no)"
fm=$(metric "$pa" kx_fenced_total)
kx_expect_eq "kx_fenced_total of the zombie > 0" yes "$([ "${fm:-0}" -gt 0 ] && echo yes || echo no)"
alive "$A" && zalive=yes || zalive=no
kx_expect_eq "the zombie goes on after being fenced" yes "$zalive"
produce_wait 120
for p in "$A" "$B"; do
	kill -TERM "$p"
	wait_until 30 "kx-aggregate $p to stop" eval "! alive $p"
	wait "$p"
	kx_expect_eq "instance $p exits 0 on SIGTERM" 0 "$?"
done
catch_up 300
flog "freezes: $attempts; fenced batches: A $(fenced_a), B $(grep -c "offset guard" "$FAULT_LOGS/agg-b.log")"
check_produced "${logs[@]}"
fault_check 0
kx_test_done
