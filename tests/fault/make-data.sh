#!/usr/bin/env bash
# make-data.sh DIR: the load every fault scenario replays, made once and
# cached in DIR (the build's fault-data/) while its parameters are unchanged:
#   events.jsonl   kxgen: 200,000 lines, 1% duplicates, 2% out of order,
#                  0.1% deliberately invalid lines
#   dry-run.rej    kx-produce --dry-run --rejects: the lines KX rejects
#   targets.csv    programme targets (every measure of some programmes)
#   expected.json  tools/oracle/oracle.py compute over the accepted lines
# Needs KX_BIN_DIR (kx-produce). Override the size with KX_FAULT_EVENTS.
set -euo pipefail
dir=$1
top=$(cd "$(dirname "$0")/../.." && pwd -P)
: "${KX_BIN_DIR:=$top/build/bin}"
n=${KX_FAULT_EVENTS:-200000}
seed=${KX_FAULT_DATA_SEED:-20251}
gen=(--seed "$seed" -n "$n" --dup-rate 0.01 --ooo-rate 0.02 --bad-rate 0.001)
stamp="kxgen ${gen[*]} $(sha1sum "$top/tools/kxgen/kxgen.py" "$top/tools/kxgen/kxdata.py" "$top/tools/oracle/oracle.py" "$0" | cut -c1-12 | tr '\n' ' ')"
mkdir -p "$dir"
if [ -s "$dir/expected.json" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "fault data: cached in $dir ($stamp)"
	exit 0
fi
rm -f "$dir/stamp" "$dir/expected.json"
t0=$(date +%s)
python3 "$top/tools/kxgen/kxgen.py" "${gen[@]}" --bad-log "$dir/bad.tsv" --out "$dir/events.jsonl"
echo "fault data: generated $n lines in $(($(date +%s) - t0)) s"
set +e
"$KX_BIN_DIR/kx-produce" --dry-run --rejects "$dir/dry-run.rej" "$dir/events.jsonl" 2>"$dir/dry-run.log"
rc=$?
set -e
cat "$dir/dry-run.log"
[ "$rc" -le 1 ] || { echo "fault data: kx-produce --dry-run failed ($rc)" >&2; exit 1; }
# Targets: every measure for IURC and URBELAC, some for the others, one
# zero target (pct NULL) and one for a programme that may have no row.
python3 - "$dir/targets.csv" <<'PY'
import sys
m = ("pairings_proposed pairings_active pairings_completed pairings_suspended "
     "pairings_withdrawn action_plans_adopted pilot_projects visits_planned "
     "visits_held visits_cancelled participants practices_documented "
     "transfers_in_progress transfers_replicated transfers_abandoned "
     "countries partners").split()
rows = [("IURC", x, 50 * (i + 1)) for i, x in enumerate(m)]
rows += [("URBELAC", x, 7 * (i + 3)) for i, x in enumerate(m)]
rows += [("IUC", "pairings_active", 0), ("ICP-AGIR", "participants", 100000),
         ("RPD", "countries", 30), ("RPD", "partners", 333)]
with open(sys.argv[1], "w") as f:
    f.write("programme,measure,target\n")
    for r in rows:
        f.write("%s,%s,%d\n" % r)
PY
python3 "$top/tools/oracle/oracle.py" compute --events "$dir/events.jsonl" \
	--rejects "$dir/dry-run.rej" --targets "$dir/targets.csv" --out "$dir/expected.json"
echo "$stamp" >"$dir/stamp"
echo "fault data: ready in $(($(date +%s) - t0)) s"
