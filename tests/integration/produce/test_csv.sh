#!/usr/bin/env bash
# CSV input: for each family, a CSV export and its JSON Lines twin (kxgen
# run twice with the same seed and --family, once per format) go through
# kx-produce into two topic prefixes. Both prefixes are read back and each
# message compared (kx_event_equal) with the JSON Lines twin's events, so
# the CSV topics and the JSON Lines topics hold the same events, each once.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kx_test_setup produce_csv
t=$KX_TEST_TMP
pj=${KX_TOPIC_PREFIX}jsonl.
pc=${KX_TOPIC_PREFIX}csv.
kx_test_topics "$pj"
kx_test_topics "$pc"
n=1000

# One seed per family: kxgen draws event_ids from its seeded RNG, so two
# families generated with the same seed share event_ids.
seed=303
for f in pairing visit practice; do
	seed=$((seed + 1))
	kxp_gen --seed $seed -n $n --family $f --out "$t/$f.jsonl" || kx_die "kxgen failed"
	kxp_gen --seed $seed -n $n --family $f --format csv --out "$t/$f.csv" || kx_die "kxgen failed"
	kx_expect_eq "$f: CSV has a header and $n rows" $((n + 1)) "$(python3 -c '
import csv, sys
print(sum(1 for _ in csv.reader(open(sys.argv[1], newline=""))))' "$t/$f.csv")"

	KX_TOPIC_PREFIX=$pj kxp_produce "$t/$f.jsonl.err" rc --rejects "$t/$f.jsonl.rej" "$t/$f.jsonl"
	kx_expect_eq "$f: JSON Lines exit code" 0 "$rc"
	kx_expect_eq "$f: JSON Lines closing line" "read $n, sent $n, rejected 0, failed 0" \
		"$(kxp_closing "$t/$f.jsonl.err")"

	KX_TOPIC_PREFIX=$pc kxp_produce "$t/$f.csv.err" rc --format csv --family $f \
		--rejects "$t/$f.csv.rej" "$t/$f.csv"
	kx_expect_eq "$f: CSV exit code" 0 "$rc"
	kx_expect_eq "$f: CSV closing line" "read $n, sent $n, rejected 0, failed 0" \
		"$(kxp_closing "$t/$f.csv.err")"
	kx_expect_eq "$f: CSV rejects nothing" "" "$(cat "$t/$f.csv.rej")"
done

echo "# the JSON Lines topics against the JSON Lines twins"
kxp_readback --prefix "$pj" check --expect "$t/pairing.jsonl" \
	--expect "$t/visit.jsonl" --expect "$t/practice.jsonl" --ids "$t/ids.jsonl"
echo "# the CSV topics against the same JSON Lines twins"
kxp_readback --prefix "$pc" check --expect "$t/pairing.jsonl" \
	--expect "$t/visit.jsonl" --expect "$t/practice.jsonl" --ids "$t/ids.csv"
kx_expect_eq "both prefixes hold the same event_ids (as multisets)" \
	"$(sort "$t/ids.jsonl" | md5sum)" "$(sort "$t/ids.csv" | md5sum)"
kx_expect_eq "each prefix holds $((3 * n)) messages" "$((3 * n)) $((3 * n))" \
	"$(kxp_count "$pj") $(kxp_count "$pc")"

kx_test_done
