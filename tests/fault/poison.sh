#!/usr/bin/env bash
# Scenario 6, poison messages: the first half of the 200,000-event load is
# produced, then tests/fault/poison.py writes 20 hostile messages of 20
# kinds straight to the topics (random bytes, empty value, wrong magic byte,
# unknown schema id, truncated payload, huge and negative lengths, huge
# array count, out-of-range enum indexes, invalid UTF-8, SDG goal 18, SDG
# target 20, missing key, wrong key, wrong topic, ...), then the second
# half. kx-aggregate runs all along. Each poison message must land in
# kx.rejected_events with its exact bytes and a reason, nothing else may be
# rejected, and the invariant must hold (the oracle would name any poison
# message that was wrongly counted: each carries a fresh event_id).
. "$(dirname "$0")/lib.sh"
fault_setup poison
half=100000
head -n "$half" "$EVENTS" >"$KX_TEST_TMP/first.jsonl"
tail -n +$((half + 1)) "$EVENTS" >"$KX_TEST_TMP/second.jsonl"
agg_start run
P=$AGG_PID
produce_start "$KX_TEST_TMP/first.jsonl" first
produce_wait 300
logs=("$PRODUCE_LOG")
python3 "$FAULT_DIR/poison.py" --brokers "$KX_BROKERS" --prefix "$KX_TOPIC_PREFIX" \
	--schemas "$KX_TOP/schemas" --out "$FAULT_LOGS/poison.jsonl" --seed "$FAULT_SEED" ||
	kx_die "poison.py failed"
npoison=$(wc -l <"$FAULT_LOGS/poison.jsonl")
produce_start "$KX_TEST_TMP/second.jsonl" second
produce_wait 300
logs+=("$PRODUCE_LOG")
alive "$P" && a=yes || a=no
kx_expect_eq "kx-aggregate survives the poison" yes "$a"
kill -TERM "$P"
wait_until 30 "kx-aggregate to stop" eval "! alive $P"
wait "$P"
kx_expect_eq "kx-aggregate exits 0 on SIGTERM" 0 "$?"
catch_up 300
# Every poison message is in kx.rejected_events with its bytes and a reason.
while IFS= read -r line; do
	read -r kind topic key value <<<"$(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); print(m["kind"], m["topic"], m["key"] or "-", m["value"] or "-")' "$line")"
	if [ "$value" = - ]; then
		cond="(value IS NULL OR length(value) = 0)"
	else
		cond="value = '\\x$value'::bytea"
	fi
	if [ "$key" = - ]; then
		kcond="key IS NULL"
	else
		kcond="key = '\\x$key'::bytea"
	fi
	reason=$(db "SELECT reason FROM kx.rejected_events WHERE topic = '$topic' AND $cond AND $kcond AND group_id = '$KX_GROUP' LIMIT 1")
	printf '  %-26s -> %s\n' "$kind" "${reason:-NOT REJECTED}"
	kx_expect_eq "poison '$kind' is in kx.rejected_events with a reason" yes \
		"$([ -n "$reason" ] && echo yes || echo no)"
done <"$FAULT_LOGS/poison.jsonl"
check_produced "${logs[@]}"
fault_check "$npoison"
kx_test_done
