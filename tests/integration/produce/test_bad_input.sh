#!/usr/bin/env bash
# Bad input: files mixing valid and invalid lines (tests/data/produce).
# Checks the exact --rejects content (line numbers and reasons, prefixed by
# the file name when several files are read), exit code 1, the exact
# closing line, and that only the valid events reach Kafka (read back and
# compared one by one). Also stdin input and --dry-run.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kx_test_setup produce_bad_input
data=$KX_TOP/tests/data/produce
t=$KX_TEST_TMP
cp "$data/mixed-a.jsonl" "$data/mixed-b.jsonl" "$t/"
cd "$t" || kx_die "cannot cd to $t"

echo "# one file"
kxp_produce err1 rc --rejects rej1 mixed-a.jsonl
kx_expect_eq "one file: exit code 1 (lines rejected, all valid sent)" 1 "$rc"
kx_expect_eq "one file: closing line" "read 11, sent 5, rejected 6, failed 0" "$(kxp_closing err1)"
kx_expect_eq "one file: --rejects content" "$(cat "$data/mixed-a.rejects")" "$(cat rej1)"
kx_expect_eq "one file: the topics hold the 5 valid events" 5 "$(kxp_count)"
kxp_readback check --expect mixed-a.jsonl

echo "# two files"
p2=${KX_TOPIC_PREFIX}two.
kx_test_topics "$p2"
KX_TOPIC_PREFIX=$p2 kxp_produce err2 rc --rejects rej2 mixed-a.jsonl mixed-b.jsonl
kx_expect_eq "two files: exit code 1" 1 "$rc"
kx_expect_eq "two files: closing line" "read 14, sent 7, rejected 7, failed 0" "$(kxp_closing err2)"
kx_expect_eq "two files: --rejects prefixed by file name" "$(cat "$data/mixed-ab.rejects")" "$(cat rej2)"
kx_expect_eq "two files: the topics hold the 7 valid events" 7 "$(kxp_count "$p2")"
kxp_readback --prefix "$p2" check --expect mixed-a.jsonl --expect mixed-b.jsonl

echo "# stdin"
p3=${KX_TOPIC_PREFIX}stdin.
kx_test_topics "$p3"
KX_TOPIC_PREFIX=$p3 kxp_produce err3 rc --rejects rej3 <mixed-a.jsonl
kx_expect_eq "stdin: exit code 1" 1 "$rc"
kx_expect_eq "stdin: closing line" "read 11, sent 5, rejected 6, failed 0" "$(kxp_closing err3)"
kx_expect_eq "stdin: --rejects as for one file" "$(cat "$data/mixed-a.rejects")" "$(cat rej3)"
kx_expect_eq "stdin: the topics hold the 5 valid events" 5 "$(kxp_count "$p3")"
kxp_readback --prefix "$p3" check --expect mixed-a.jsonl

echo "# rejects on stderr when --rejects is not given"
p4=${KX_TOPIC_PREFIX}stderr.
kx_test_topics "$p4"
KX_TOPIC_PREFIX=$p4 kxp_produce err4 rc mixed-b.jsonl
kx_expect_eq "stderr: exit code 1" 1 "$rc"
kx_expect_eq "stderr: the reject and the closing line" \
	"line 2: 'occurred_at': '2024-05-01T10:00:00' is not a valid RFC 3339 timestamp: missing offset (Z, +HH:MM or -HH:MM)
read 3, sent 2, rejected 1, failed 0" "$(cat err4)"

echo "# dry run"
before=$(kxp_count)
(unset KX_BROKERS; kxp_produce err5 rc --dry-run --rejects rej5 mixed-a.jsonl mixed-b.jsonl; exit "$rc")
rc=$?
kx_expect_eq "dry run: exit code 1" 1 "$rc"
kx_expect_eq "dry run: closing line" "read 14, valid 7, rejected 7" "$(cat err5)"
kx_expect_eq "dry run: --rejects as usual" "$(cat "$data/mixed-ab.rejects")" "$(cat rej5)"
kx_expect_eq "dry run: nothing sent" "$before" "$(kxp_count)"

echo "# --rejects -: standard output, appended to what it already holds"
echo "a line before" >out7
(unset KX_BROKERS; kxp_produce err7 rc --dry-run --rejects - mixed-a.jsonl mixed-b.jsonl >>out7; exit "$rc")
rc=$?
kx_expect_eq "--rejects -: exit code 1" 1 "$rc"
kx_expect_eq "--rejects -: the rejects follow what stdout held" \
	"a line before
$(cat "$data/mixed-ab.rejects")" "$(cat out7)"
kx_expect_eq "--rejects -: only the closing line on stderr" "read 14, valid 7, rejected 7" "$(cat err7)"

echo "# all lines valid: exit 0"
p6=${KX_TOPIC_PREFIX}valid.
kx_test_topics "$p6"
sed -n '1p;3p;6p;11p;13p' mixed-a.jsonl >valid.jsonl
KX_TOPIC_PREFIX=$p6 kxp_produce err6 rc --rejects rej6 valid.jsonl
kx_expect_eq "valid only: exit code 0" 0 "$rc"
kx_expect_eq "valid only: closing line" "read 5, sent 5, rejected 0, failed 0" "$(kxp_closing err6)"
kx_expect_eq "valid only: empty --rejects" "" "$(cat rej6)"

kx_test_done
