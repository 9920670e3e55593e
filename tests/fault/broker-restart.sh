#!/usr/bin/env bash
# Scenario 5, the broker restarted under load: kx-produce is sending the
# 200,000-event load and kx-aggregate consuming it when the Kafka broker is
# stopped (kx-stack stop kafka), kept down for a few seconds and started
# again. The producer must keep its events queued and deliver them (exit 0,
# nothing in --failed; anything in --failed would be re-sent and reported),
# the consumer's /readyz must turn non-200 while the broker is down, stay so
# until it is back, and turn 200 again after, and the invariant must hold.
. "$(dirname "$0")/lib.sh"
fault_setup brokerrestart
port=$(free_port)
# 10,000 lines/s: still sending when the consumer has counted 2,000.
PRODUCE_PACE=1000 produce_start
agg_start run --http "127.0.0.1:$port"
P=$AGG_PID
wait_until 60 "the consumer to start counting" events_at_least 2000
alive "$PRODUCE_PID" && mid=yes || mid=no
kx_expect_eq "the producer is still sending when the broker stops" yes "$mid"
flog "stopping kafka: events $(events_count)"
"$STACK" stop kafka >"$FAULT_LOGS/stack.log" 2>&1 || kx_die "cannot stop kafka"
flog "kafka stopped"
wait_until 30 "/readyz to turn non-200" eval '[ "$(http_code "$port" /readyz)" != 200 ]'
kx_expect_eq "/readyz is not 200 while the broker is down" yes \
	"$([ "$(http_code "$port" /readyz)" != 200 ] && echo yes || echo no)"
# It must stay non-200 for as long as the broker is down: messages fetched
# before the stop, still in librdkafka's queue, say nothing about the broker.
down_until=$(($(date +%s%N) / 1000000 + $(rand_between 30 60 | tr -d .)00))
flips=0
while [ $(($(date +%s%N) / 1000000)) -lt "$down_until" ]; do
	[ "$(http_code "$port" /readyz)" = 200 ] && flips=$((flips + 1))
	sleep 0.3
done
# Regression: readyz_200_from_a_queued_message_while_broker_down.
kx_expect_eq "/readyz stays non-200 until the broker is back (200 answers)" 0 "$flips"
alive "$P" && a=yes || a=no
kx_expect_eq "kx-aggregate keeps running while the broker is down" yes "$a"
"$STACK" start kafka >>"$FAULT_LOGS/stack.log" 2>&1 || kx_die "cannot start kafka"
flog "kafka started"
wait_until 90 "/readyz 200 again" eval '[ "$(http_code "$port" /readyz)" = 200 ]'
kx_expect_eq "/readyz is 200 again after the restart" 200 "$(http_code "$port" /readyz)"
produce_wait 400
# Exit 1: the load's invalid lines were rejected, every valid one was sent.
kx_expect_eq "kx-produce exits 1 (lines rejected, every valid one delivered)" 1 "$PRODUCE_RC"
kx_expect_eq "kx-produce reports no failed delivery" 0 "$(produce_counts "$PRODUCE_LOG" | awk '{print $3}')"
logs=("$FAULT_LOGS/produce.log")
if [ -s "$FAULT_LOGS/produce.failed" ]; then
	flog "re-sending $(wc -l <"$FAULT_LOGS/produce.failed") failed events"
	mv "$FAULT_LOGS/produce.failed" "$FAULT_LOGS/produce.failed.1"
	"$KX_BIN_DIR/kx-produce" "$FAULT_LOGS/produce.failed.1" 2>"$FAULT_LOGS/produce-resend.log"
	tail -1 "$FAULT_LOGS/produce-resend.log"
fi
kill -TERM "$P"
wait_until 30 "kx-aggregate to stop" eval "! alive $P"
wait "$P"
kx_expect_eq "kx-aggregate exits 0 on SIGTERM" 0 "$?"
catch_up 300
check_produced "${logs[@]}"
fault_check 0
kx_test_done
