#!/usr/bin/env bash
# Scenario 1, crashes: kx-aggregate is killed with SIGKILL at least 6 times
# while the 200,000-event load is produced and consumed, and restarted each
# time. Batches are small (500 messages) so there are many transactions;
# half of the kills wait until the consumer's PostgreSQL session is inside a
# transaction (pg_stat_activity), the others land at random moments. At the
# end one --until-caught-up run finishes, and the invariant must hold.
. "$(dirname "$0")/lib.sh"
fault_setup crash
kills=${KX_FAULT_KILLS:-6}
state=$("$STACK" status | awk '$1 == "state" {print $2}')
pglog=$state/pg/postgres.log
eof_before=$(grep -c "open transaction" "$pglog" 2>/dev/null)
# Static membership: a restarted instance takes its predecessor's place at
# once instead of waiting for the session timeout of the killed one.
agg_args=(--batch-max 500 --batch-ms 100 -X session.timeout.ms=6000
	-X "group.instance.id=$KX_GROUP-crash")

in_transaction() {
	[ "$(db "SELECT count(*) FROM pg_stat_activity WHERE datname = '$KX_TEST_DB' AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND state <> 'idle'")" -gt 0 ]
}

produce_start
agg_start run "${agg_args[@]}"
made=0
for ((k = 1; k <= kills; k++)); do
	sleep "$(rand_between 15 45)"
	how=random
	if [ $((k % 2)) -eq 0 ] && wait_until 5 "a transaction" in_transaction; then
		how=in-transaction
	fi
	if ! alive "$AGG_PID"; then
		kx_expect_eq "kx-aggregate still runs before kill $k" alive dead
		break
	fi
	kill -KILL "$AGG_PID"
	wait "$AGG_PID" 2>/dev/null
	made=$((made + 1))
	flog "kill -9 #$k ($how): events now $(events_count), offsets $(offsets_sum)"
	agg_start run "${agg_args[@]}"
done
produce_wait 300
# Let the last instance work a little, then stop it the polite way.
sleep 1
kill -TERM "$AGG_PID"
wait_until 30 "kx-aggregate to stop on SIGTERM" eval '! alive $AGG_PID'
wait "$AGG_PID"
kx_expect_eq "kx-aggregate exits 0 on SIGTERM" 0 "$?"
catch_up 300 -X session.timeout.ms=6000 -X "group.instance.id=$KX_GROUP-crash"
eof_after=$(grep -c "open transaction" "$pglog" 2>/dev/null)
flog "kills made: $made; PostgreSQL saw $((eof_after - eof_before)) client(s) vanish inside an open transaction"
kx_expect_eq "kills made" "$kills" "$made"
check_produced "$FAULT_LOGS/produce.log"
fault_check 0
kx_test_done
