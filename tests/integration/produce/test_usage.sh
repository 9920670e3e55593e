#!/usr/bin/env bash
# Config and usage errors of kx-produce: each exits 2 with one line on
# stderr that says what is wrong (CONTRACT §4), before anything is sent.
# --help exits 0 and mentions every option of the config table in main.c.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kx_test_setup produce_usage
t=$KX_TEST_TMP
kxp_gen --seed 505 -n 50 --out "$t/good.jsonl" || kx_die "kxgen failed"

# usage_case WHAT EXPECTED-STDERR-REGEX ARGS...: exit 2, one line on stderr
# matching the regex, nothing on stdout, nothing sent.
usage_case() {
	local what=$1 re=$2 rc
	shift 2
	timeout 60 "$KX_BIN_DIR/kx-produce" "$@" >"$t/out" 2>"$t/err"
	rc=$?
	kx_expect_eq "$what: exit code 2" 2 "$rc"
	kx_expect_eq "$what: one line on stderr" 1 "$(wc -l <"$t/err")"
	kxp_expect_match "$what: message" "$re" "$(cat "$t/err")"
	kx_expect_eq "$what: nothing on stdout" "" "$(cat "$t/out")"
}

usage_case "unknown option" "^kx-produce: unknown option '--bogus' \(see --help\)$" \
	--bogus "$t/good.jsonl"
usage_case "unknown short option" "^kx-produce: unknown option '-Q' \(see --help\)$" \
	-Q "$t/good.jsonl"
usage_case "--format csv without --family" \
	"^kx-produce: --format csv needs --family pairing, visit or practice$" \
	--format csv "$t/good.jsonl"
usage_case "--family of no family" \
	"^kx-produce: --format csv needs --family pairing, visit or practice$" \
	--format csv --family transfer "$t/good.jsonl"
usage_case "unknown format" "^kx-produce: 'format': 'xml' is not jsonl or csv$" \
	--format xml "$t/good.jsonl"
usage_case "unknown -X property" \
	"^kx-produce: kafka property 'no.such.property': .*no.such.property" \
	-X no.such.property=1 "$t/good.jsonl"
usage_case "unknown -X property in a dry run" \
	"^kx-produce: kafka property 'no.such.property': .*no.such.property" \
	--dry-run -X no.such.property=1 "$t/good.jsonl"
usage_case "invalid -X value" "^kx-produce: kafka property 'linger.ms': " \
	-X linger.ms=soon "$t/good.jsonl"
usage_case "-X without '='" "^kx-produce: 'linger.ms': expected key=value$" \
	-X linger.ms "$t/good.jsonl"
(
	unset KX_BROKERS
	usage_case "no brokers" \
		"^kx-produce: no brokers: set --brokers or KX_BROKERS \(or use --dry-run\)$" \
		"$t/good.jsonl"
	usage_case "empty --brokers" "^kx-produce: no brokers: " --brokers '' "$t/good.jsonl"
	echo "$kx_passed $kx_failed" >"$t/counts"
)
read -r kx_passed kx_failed <"$t/counts"
usage_case "missing input file" \
	"^kx-produce: cannot open '$t/missing.jsonl': No such file or directory$" \
	"$t/missing.jsonl"
usage_case "missing input file after a good one" \
	"^kx-produce: cannot open '$t/missing.jsonl': No such file or directory$" \
	"$t/good.jsonl" "$t/missing.jsonl"
kx_expect_eq "missing input file: nothing was sent" 0 "$(kxp_count)"
usage_case "--rejects in a missing folder" \
	"^kx-produce: cannot open '$t/no/rejects': No such file or directory$" \
	--rejects "$t/no/rejects" "$t/good.jsonl"
usage_case "--failed in a missing folder" \
	"^kx-produce: cannot open '$t/no/failed': No such file or directory$" \
	--failed "$t/no/failed" "$t/good.jsonl"
usage_case "--schema-version with no such version" \
	"^kx-produce: 'schema-version': the pairing family has no version 9$" \
	--schema-version 9 "$t/good.jsonl"
kx_expect_eq "nothing was sent by any usage error" 0 "$(kxp_count)"

echo "# --help and --version"
timeout 60 "$KX_BIN_DIR/kx-produce" --help >"$t/help" 2>"$t/err"
kx_expect_eq "--help: exit code 0" 0 "$?"
kx_expect_eq "--help: nothing on stderr" "" "$(cat "$t/err")"
# Every long option of the config table (options[] in main.c), plus those
# the config parser adds.
opts=$(sed -n '/^static const struct kx_conf_entry options\[\]/,/KX_CONF_END/p' \
	"$KX_TOP/producers/kx-produce/main.c" | grep -oE '^[[:space:]]*\{"[a-z-]+"' |
	grep -oE '[a-z-]+')
kx_expect_eq "the config table has its 12 options" 12 "$(wc -w <<<"$opts")"
missing=
for o in $opts config help version; do
	grep -qE -- "--$o( |$)" "$t/help" || missing="$missing --$o"
done
for o in -X -b -f -r -n -h; do
	grep -qE -- "(^| )$o," "$t/help" || missing="$missing $o"
done
kx_expect_eq "--help mentions every option" "" "$missing"
kxp_expect_match "--help gives the closing line and the exit codes" \
	"read N, sent N, rejected N, failed N" "$(tr '\n' ' ' <"$t/help")"
timeout 60 "$KX_BIN_DIR/kx-produce" --version >"$t/version" 2>"$t/err"
kx_expect_eq "--version: exit code 0" 0 "$?"
kxp_expect_match "--version: one line" "^kx-produce [0-9]+\.[0-9]+\.[0-9]+$" "$(cat "$t/version")"

kx_test_done
