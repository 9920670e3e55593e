#!/bin/sh
# Runs one libFuzzer target (or all of them, one after another) for SECONDS
# each, gently: nice 19, one worker, so that it can share a small machine.
#
#   tests/fuzz/run.sh TARGET|all SECONDS      fuzz
#   tests/fuzz/run.sh merge TARGET|all        minimise the committed corpus
#
# Build first:
#   CC=clang cmake -S . -B build-fuzz -G Ninja -DKX_FUZZ=ON
#   ninja -C build-fuzz fuzz_json_line fuzz_csv fuzz_avro fuzz_lines
# KX_FUZZ_BUILD overrides the build directory (default build-fuzz).
# New inputs go to $KX_FUZZ_BUILD/fuzz-work/<target>/corpus, never to the
# committed corpus; crashes to $KX_FUZZ_BUILD/fuzz-work/<target>/crash-*,
# and the fuzzer's log to $KX_FUZZ_BUILD/fuzz-work/<target>/fuzz-0.log.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${KX_FUZZ_BUILD:-$top/build-fuzz}
all="fuzz_json_line fuzz_csv fuzz_avro fuzz_lines"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

usage() {
	echo "usage: $0 TARGET|all SECONDS | $0 merge TARGET|all" >&2
	echo "targets: $all" >&2
	exit 2
}

opts() {
	case $1 in
	fuzz_json_line) echo "-max_len=65536 -dict=$here/json.dict" ;;
	fuzz_avro) echo "-max_len=65536" ;;
	fuzz_csv) echo "-max_len=65536" ;;
	fuzz_lines) echo "-max_len=4096" ;;
	*) usage ;;
	esac
}

fuzz() {
	t=$1 secs=$2
	bin=$build/bin/$t
	[ -x "$bin" ] || { echo "$bin: not built" >&2; exit 1; }
	work=$build/fuzz-work/$t
	mkdir -p "$work/corpus"
	echo "== $t for ${secs}s (log: $work/fuzz-0.log)"
	# -jobs=1 runs the fuzzer in one child whose output goes to
	# fuzz-0.log in the current directory.
	(cd "$work" && nice -n 19 "$bin" $(opts "$t") -jobs=1 -workers=1 \
		-rss_limit_mb=2048 -timeout=10 -max_total_time="$secs" \
		-print_final_stats=1 -artifact_prefix="$work/" \
		"$work/corpus" "$here/corpus/$t" >"$work/run.out" 2>&1) || true
	grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY|^Done' \
		"$work/fuzz-0.log" || true
	if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* \
		"$work"/oom-* >/dev/null 2>&1; then
		echo "$t: artifacts in $work" >&2
		return 1
	fi
}

merge() {
	t=$1
	bin=$build/bin/$t
	work=$build/fuzz-work/$t
	new=$work/merged
	big=$work/too-big
	rm -rf "$new" "$big"
	mkdir -p "$new" "$big" "$work/corpus"
	# Hand-made seeds (any name but libFuzzer's 40-hex-digit ones) stay;
	# the rest only when it adds coverage. Inputs over 8 KiB are left out
	# to keep the committed corpus small.
	for f in "$here/corpus/$t"/*; do
		[ -e "$f" ] || continue
		case ${f##*/} in
		????????????????????????????????????????) ;;
		*) cp "$f" "$new/" ;;
		esac
	done
	find "$work/corpus" "$here/corpus/$t" -type f -size +8k \
		-exec mv {} "$big/" \;
	nice -n 19 "$bin" $(opts "$t") -merge=1 -rss_limit_mb=2048 \
		-timeout=10 "$new" "$here/corpus/$t" "$work/corpus" \
		>"$work/merge.out" 2>&1
	rm -rf "$here/corpus/$t"
	mv "$new" "$here/corpus/$t"
	echo "$t: $(ls "$here/corpus/$t" | wc -l) inputs," \
		"$(cat "$here/corpus/$t"/* | wc -c) bytes"
}

[ $# -eq 2 ] || usage
if [ "$1" = merge ]; then
	[ "$2" = all ] && set -- merge "$all"
	for t in $2; do merge "$t"; done
	exit 0
fi
targets=$1
[ "$targets" = all ] && targets=$all
status=0
for t in $targets; do
	fuzz "$t" "$2" || status=1
done
exit $status
