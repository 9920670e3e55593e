#!/usr/bin/env bash
# Helpers of the kx-produce integration tests (sourced after ../lib.sh).
#
#   kxp_gen ARGS...             tools/kxgen/kxgen.py (deterministic per seed)
#   kxp_produce OUT RC ARGS...  runs kx-produce (bounded by a timeout) with
#                               stderr in OUT; its exit code goes to RC
#   kxp_closing FILE            the closing line(s) of a stderr file
#   kxp_count [PREFIX]          messages in the three topics of PREFIX
#   kxp_wait_count N [PREFIX]   waits (bounded) until the topics hold N
#   kxp_readback ARGS...        runs the readback checker and counts its
#                               "ok"/"not ok" lines as this test's checks
#   kxp_wait_exit PID SECONDS   waits for a background job; 124 on timeout
#   kxp_blank_pad FD            writes 70,000 blank lines (skipped by
#                               kx-produce), so that its 64 KiB reads hand
#                               it every line written before
KXP_READBACK=$KX_BIN_DIR/kx-test-readback
KXP_STACK=$KX_TOP/deploy/local/kx-stack
# Every kx-produce run is bounded; a hang fails the test instead of ctest's
# 20 minute timeout.
KXP_TIMEOUT=${KXP_TIMEOUT:-300}

kxp_gen() {
	python3 "$KX_TOP/tools/kxgen/kxgen.py" "$@"
}

kxp_produce() {
	local out=$1 __rcvar=$2
	shift 2
	timeout -k 10 "$KXP_TIMEOUT" "$KX_BIN_DIR/kx-produce" "$@" 2>"$out"
	printf -v "$__rcvar" '%s' $?
}

kxp_closing() {
	grep -E '^read [0-9]+, (sent|valid) [0-9]+, rejected [0-9]+' "$1"
}

kxp_count() {
	"$KXP_READBACK" --prefix "${1:-$KX_TOPIC_PREFIX}" --timeout-ms 60000 count
}

kxp_wait_count() {
	local want=$1 prefix=${2:-$KX_TOPIC_PREFIX} n deadline=$((SECONDS + 120))
	while :; do
		n=$(kxp_count "$prefix") || n=-1
		[ "$n" -ge "$want" ] 2>/dev/null && return 0
		if [ $SECONDS -ge $deadline ]; then
			echo "test: topics of '$prefix' hold $n messages after 120 s, expected $want" >&2
			return 1
		fi
		sleep 0.2
	done
}

kxp_readback() {
	local out rc line
	out=$("$KXP_READBACK" --timeout-ms 120000 "$@")
	rc=$?
	printf '%s\n' "$out"
	while IFS= read -r line; do
		case $line in
		"ok - "*) kx_passed=$((kx_passed + 1)) ;;
		"not ok - "*) kx_failed=$((kx_failed + 1)) ;;
		esac
	done <<<"$out"
	if [ $rc -ne 0 ] && ! grep -q '^not ok - ' <<<"$out"; then
		kx_failed=$((kx_failed + 1))
		echo "not ok - readback $* exited $rc"
	fi
	return $rc
}

kxp_wait_exit() {
	local pid=$1 secs=$2 deadline
	deadline=$((SECONDS + secs))
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 124
		fi
		sleep 0.1
	done
	wait "$pid"
}

kxp_blank_pad() {
	head -c 70000 /dev/zero | tr '\0' '\n' >&"$1"
}

# kxp_expect_match WHAT REGEX TEXT
kxp_expect_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then
		kx_expect_eq "$1" ok ok
	else
		kx_expect_eq "$1" "/$2/" "$3"
	fi
}
