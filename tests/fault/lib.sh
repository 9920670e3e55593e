#!/usr/bin/env bash
# Shared helpers of the fault suite (sourced, not run). Builds on
# tests/integration/lib.sh: each scenario has its own database, topics and
# consumer group. The load (200,000 generated events), kx-produce's verdict
# on it and the oracle's expected views come from the fault_data fixture
# (make-data.sh) in $KX_FAULT_DATA.
#
# Every process a scenario starts is recorded (fault_pids, and
# $FAULT_LOGS/pids) and only those are ever signalled. Every wait has a
# timeout. Logs stay in $FAULT_LOGS (the build's fault-logs/NAME/).
set -u
# shellcheck source=../integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

FAULT_DIR=$KX_TOP/tests/fault
ORACLE=$KX_TOP/tools/oracle/oracle.py
STACK=$KX_TOP/deploy/local/kx-stack
: "${KX_FAULT_DATA:=$KX_BIN_DIR/../fault-data}"
EVENTS=$KX_FAULT_DATA/events.jsonl
fault_pids=()
FAULT_T0=$(date +%s)

flog() { echo "# [$(($(date +%s) - FAULT_T0))s] $*"; }

fault_setup() {
	local name=$1
	[ -s "$KX_FAULT_DATA/expected.json" ] || kx_die "no fault data in $KX_FAULT_DATA (run the fault_data test)"
	FAULT_LOGS=${KX_FAULT_LOGS:-$KX_BIN_DIR/../fault-logs}/$name
	rm -rf "$FAULT_LOGS"
	mkdir -p "$FAULT_LOGS"
	kx_test_setup "$name"
	trap fault_cleanup EXIT
	trap 'exit 143' INT TERM
	kx admin targets load "$KX_FAULT_DATA/targets.csv" >/dev/null || kx_die "targets load failed"
	FAULT_SEED=${KX_FAULT_SEED:-$(( $(date +%s) % 100000 ))}
	RANDOM=$FAULT_SEED
	flog "scenario $name: db $KX_TEST_DB, topics ${KX_TOPIC_PREFIX}*, group $KX_GROUP, seed $FAULT_SEED, logs $FAULT_LOGS"
}

fault_record() { # PID WHAT
	fault_pids+=("$1")
	echo "$1 $2" >>"$FAULT_LOGS/pids"
}

alive() { kill -0 "$1" 2>/dev/null; }

# Stops every recorded process that still runs: SIGCONT (a frozen one),
# SIGTERM, then SIGKILL after 10 s. Only recorded PIDs are signalled.
fault_stop_all() {
	local p i
	for p in "${fault_pids[@]}"; do
		alive "$p" || continue
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${fault_pids[@]}"; do
		for ((i = 0; i < 100; i++)); do
			alive "$p" || break
			sleep 0.1
		done
		if alive "$p"; then
			kill -KILL "$p" 2>/dev/null
		fi
		wait "$p" 2>/dev/null
	done
	fault_pids=()
}

fault_cleanup() {
	local rc=$? f
	fault_stop_all
	# A failed scenario shows the end of each consumer's log: CI keeps
	# only what the test printed.
	if [ "$kx_failed" -ne 0 ] || [ "$rc" -ne 0 ]; then
		for f in "$FAULT_LOGS"/agg-*.log; do
			[ -f "$f" ] || continue
			echo "# last lines of ${f##*/}:"
			tail -n 15 "$f" | sed 's/^/#   /'
		done
	fi
	kx_test_cleanup
}

# agg_start NAME [ARGS...]: starts a kx-aggregate in the background; its
# PID is in AGG_PID, its log in $FAULT_LOGS/agg-NAME.log. Returns once the
# instance has logged "started" (it is connected to PostgreSQL and Kafka
# and serves --http); an instance that exits first ends the scenario with
# its log, instead of leaving the scenario to wait for it.
agg_start() {
	local name=$1 log=$FAULT_LOGS/agg-$1.log n0 i
	shift
	n0=$(grep -c "info aggregate: started" "$log" 2>/dev/null)
	"$KX_BIN_DIR/kx-aggregate" "$@" >>"$log" 2>&1 &
	AGG_PID=$!
	fault_record "$AGG_PID" "kx-aggregate $name"
	for ((i = 0; i < 300; i++)); do
		[ "$(grep -c "info aggregate: started" "$log")" -gt "${n0:-0}" ] && return 0
		alive "$AGG_PID" || break
		sleep 0.1
	done
	wait "$AGG_PID" 2>/dev/null
	flog "kx-aggregate $name (pid $AGG_PID) did not start (exit $?); its log:"
	tail -n 20 "$log" | sed 's/^/#   /'
	kx_die "kx-aggregate $name did not start"
}

# produce_start [FILE [TAG]]: kx-produce in the background (PRODUCE_PID);
# its closing line goes to $FAULT_LOGS/produce[-TAG].log. With
# PRODUCE_PACE=N it reads FILE from a pipe, N lines every 0.1 s, for a
# scenario that needs it still sending seconds later (unpaced, it sends
# the 200,000-event load in about 2 s).
produce_start() {
	local file=${1:-$EVENTS} tag=${2:+-$2}
	local -a args=(--rejects "$FAULT_LOGS/produce$tag.rej"
		--failed "$FAULT_LOGS/produce$tag.failed")
	PRODUCE_LOG=$FAULT_LOGS/produce$tag.log
	if [ -n "${PRODUCE_PACE:-}" ]; then
		awk -v n="$PRODUCE_PACE" \
			'{ print } NR % n == 0 { fflush(); system("sleep 0.1") }' \
			"$file" | "$KX_BIN_DIR/kx-produce" "${args[@]}" - \
			>"$FAULT_LOGS/produce$tag.out" 2>"$PRODUCE_LOG" &
	else
		"$KX_BIN_DIR/kx-produce" "${args[@]}" "$file" \
			>"$FAULT_LOGS/produce$tag.out" 2>"$PRODUCE_LOG" &
	fi
	PRODUCE_PID=$!
	fault_record "$PRODUCE_PID" kx-produce
}

# produce_wait TIMEOUT: waits for the producer and checks its closing line
# against kx-produce's dry run over the same file.
produce_wait() {
	local timeout=$1 i rc
	for ((i = 0; i < timeout * 10; i++)); do
		alive "$PRODUCE_PID" || break
		sleep 0.1
	done
	alive "$PRODUCE_PID" && kx_die "kx-produce still runs after $timeout s"
	wait "$PRODUCE_PID"
	rc=$?
	flog "kx-produce exit $rc: $(tail -1 "$PRODUCE_LOG")"
	PRODUCE_RC=$rc
}

# Closing line of kx-produce -> "sent rejected failed".
produce_counts() {
	sed -n 's/.*read \([0-9]*\), sent \([0-9]*\), rejected \([0-9]*\), failed \([0-9]*\).*/\2 \3 \4/p' "$1" | tail -1
}

db() { kx_psql "$1"; }

offsets_sum() {
	db "SELECT coalesce(sum(next_offset), 0) FROM kx.consumer_offsets WHERE group_id = '$KX_GROUP'"
}

offsets_table() {
	db "SELECT topic || ':' || partition || '=' || next_offset FROM kx.consumer_offsets WHERE group_id = '$KX_GROUP' ORDER BY 1"
}

# offsets_moved BEFORE AFTER ahead|back: how many partitions of two
# offsets_table snapshots went ahead (or appeared) or back (or vanished).
offsets_moved() {
	awk -F= -v want="$3" '
		FNR == NR { if ($0 != "") b[$1] = $2; next }
		$0 != "" { a[$1] = $2 }
		END {
			n = 0
			for (k in a) if (want == "ahead" && (!(k in b) || a[k] > b[k])) n++
			for (k in b) if (want == "back" && (!(k in a) || a[k] < b[k])) n++
			print n
		}' <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}

events_count() { db "SELECT count(*) FROM kx.events"; }

# wait_until TIMEOUT WHAT CMD...: polls CMD every 0.2 s.
wait_until() {
	local timeout=$1 what=$2 i
	shift 2
	for ((i = 0; i < timeout * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	flog "timed out after $timeout s waiting for: $what"
	return 1
}

events_at_least() { [ "$(events_count 2>/dev/null || echo 0)" -ge "$1" ]; }

rand_between() { # LO HI (tenths of a second) -> seconds with one decimal
	local t=$(($1 + RANDOM % ($2 - $1 + 1)))
	printf '%d.%d' $((t / 10)) $((t % 10))
}

# A free TCP port on 127.0.0.1 for --http. It is taken below the kernel's
# ephemeral range, where no outgoing connection (to Kafka, PostgreSQL) can
# hold it as its local port, is used by no socket in any state (ss), and
# is never handed out twice in one scenario.
free_port() {
	local lo p
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$lo" -gt 12000 ] || lo=32768
	for ((;;)); do
		p=$((lo - 10000 + RANDOM % 9000))
		grep -qx "$p" "$FAULT_LOGS/ports" 2>/dev/null && continue
		if command -v ss >/dev/null; then
			[ -n "$(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null)" ] && continue
		fi
		echo "$p" >>"$FAULT_LOGS/ports"
		echo "$p"
		return
	done
}

http_code() { # PORT PATH
	curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1$2" 2>/dev/null || true
}

metric() { # PORT NAME
	curl -s -m 2 "http://127.0.0.1:$1/metrics" 2>/dev/null | awk -v n="$2" '$1 == n {print $2}'
}

# catch_up TIMEOUT [ARGS...]: one kx-aggregate --until-caught-up after the
# load.
catch_up() {
	local timeout=$1 rc
	shift
	flog "catching up"
	timeout -k 10 "$timeout" "$KX_BIN_DIR/kx-aggregate" --until-caught-up "$@" \
		>>"$FAULT_LOGS/agg-catchup.log" 2>&1 &
	local pid=$!
	fault_record "$pid" "kx-aggregate --until-caught-up"
	wait "$pid"
	rc=$?
	kx_expect_eq "kx-aggregate --until-caught-up exits 0" 0 "$rc"
}

# The invariant every scenario ends with. EXTRA_REJECTED is the number of
# messages the scenario wrote straight to Kafka that must be rejected.
fault_check() {
	local extra_rejected=${1:-0} out rc stats valid rej lines dups
	flog "checking the invariant"
	# (1) the aggregates equal their recomputation from the entity states
	out=$(kx admin verify 2>&1)
	rc=$?
	echo "$out" | tail -5 | sed 's/^/  verify: /'
	kx_expect_eq "kx-admin verify exits 0" 0 "$rc"
	# Every party an entity names exists: an id cached from a commit that
	# a crash lost must not be used again (verify counts only those
	# that exist, so this names the cause when it fails).
	kx_expect_eq "every party id the entities name is in kx.parties" 0 \
		"$(db "SELECT count(*) FROM (SELECT unnest(party_ids) AS id FROM kx.pairings UNION ALL SELECT unnest(party_ids) FROM kx.visits UNION ALL SELECT unnest(party_ids) FROM kx.practices UNION ALL SELECT unnest(party_ids) FROM kx.transfers) e LEFT JOIN kx.parties p ON p.party_id = e.id WHERE p.party_id IS NULL")"
	# (2) every view equals the oracle's, and kx.events holds exactly the
	# distinct valid input event ids
	"$ORACLE" compare --expected "$KX_FAULT_DATA/expected.json" --db "$KX_DB" \
		>"$FAULT_LOGS/oracle.out" 2>"$FAULT_LOGS/oracle.err"
	rc=$?
	sed 's/^/  /' "$FAULT_LOGS/oracle.err"
	head -40 "$FAULT_LOGS/oracle.out" | sed 's/^/  diff: /'
	kx_expect_eq "oracle compare: every view and kx.events match" 0 "$rc"
	# (3) every input line is counted, a duplicate, or rejected
	stats=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stats"]; print(s["lines"], s["distinct_valid"], s["duplicates"], s["rejected"])' "$KX_FAULT_DATA/expected.json")
	read -r lines valid dups rej <<<"$stats"
	kx_expect_eq "input lines = distinct valid + duplicates + rejected" "$lines" "$((valid + dups + rej))"
	kx_expect_eq "kx.events holds every distinct valid id" "$valid" "$(events_count)"
	kx_expect_eq "kx.rejected_events holds only what the scenario injected" "$extra_rejected" \
		"$(db "SELECT count(*) FROM kx.rejected_events")"
}

# Sums what the producers of a scenario reported: "sent rejected failed".
check_produced() { # LOGFILE...
	local f s r fl sent=0 rejd=0 failed=0 stats valid dups rej
	for f in "$@"; do
		read -r s r fl <<<"$(produce_counts "$f")"
		sent=$((sent + ${s:-0}))
		rejd=$((rejd + ${r:-0}))
		failed=$((failed + ${fl:-0}))
	done
	stats=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stats"]; print(s["distinct_valid"], s["duplicates"], s["rejected"])' "$KX_FAULT_DATA/expected.json")
	read -r valid dups rej <<<"$stats"
	kx_expect_eq "kx-produce sent every valid line (duplicates included)" "$((valid + dups))" "$sent"
	kx_expect_eq "kx-produce rejected what its dry run rejected" "$rej" "$rejd"
	FAILED_TOTAL=$failed
}
