#!/usr/bin/env bash
# Scenario 2, three instances: three kx-aggregate instances share one group
# over the 3 x 6 partitions while the 200,000-event load is produced. During
# the load, instances are killed with SIGKILL, stopped with SIGTERM, started
# and a fourth one joins and leaves, so the group rebalances again and again
# while batches are being collected and committed. Then the invariant.
. "$(dirname "$0")/lib.sh"
fault_setup rebalance
agg_args=(--batch-max 1000 --batch-ms 150 -X session.timeout.ms=6000
	-X heartbeat.interval.ms=1000)
declare -A inst
start_inst() { # NAME
	agg_start "$1" "${agg_args[@]}"
	inst[$1]=$AGG_PID
	flog "started $1 (pid $AGG_PID)"
}
term_inst() { # NAME: SIGTERM, must exit 0 within 30 s
	local p=${inst[$1]} rc
	kill -TERM "$p"
	wait_until 30 "$1 to stop" eval "! alive $p"
	wait "$p"
	rc=$?
	kx_expect_eq "$1 exits 0 on SIGTERM" 0 "$rc"
	flog "stopped $1 with SIGTERM: events now $(events_count)"
}
kill_inst() { # NAME
	kill -KILL "${inst[$1]}"
	wait "${inst[$1]}" 2>/dev/null
	kills=$((kills + 1))
	flog "kill -9 $1: events now $(events_count)"
}
kills=0
produce_start
start_inst a
start_inst b
start_inst c
sleep "$(rand_between 30 60)"
kill_inst b
sleep "$(rand_between 5 20)"
start_inst b2
sleep "$(rand_between 30 60)"
term_inst c
start_inst c2
sleep "$(rand_between 30 60)"
kill_inst a
start_inst a2
sleep "$(rand_between 20 50)"
start_inst d
sleep "$(rand_between 30 60)"
kill_inst d
sleep "$(rand_between 20 40)"
kill_inst b2
start_inst b3
produce_wait 300
sleep "$(rand_between 10 30)"
for n in a2 b3 c2; do
	term_inst "$n"
done
catch_up 300
fenced=$(cat "$FAULT_LOGS"/agg-*.log | grep -c "offset guard")
flog "kills: $kills; rebalances (assignments): $(cat "$FAULT_LOGS"/agg-*.log | grep -c 'assigned'); batches dropped by the offset guard: $fenced"
check_produced "$FAULT_LOGS/produce.log"
fault_check 0
kx_test_done
