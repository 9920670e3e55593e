#!/usr/bin/env bash
# Rebuilds every data file in examples/ from tools/kxgen with fixed seeds,
# then checks them with tools/kxgen/check_contract.py.
#
#   examples/regenerate.sh          rewrite examples/ in place
#   examples/regenerate.sh DIR      write the same files under DIR instead
#
# The output is byte-identical on every run (python3 >= 3.11, stdlib only).
# Each partner file gets its own --key-base, so that no entity key is
# shared by two files and all of them can be loaded together.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here}
gen=("${PYTHON:-python3}" "$here/../tools/kxgen/kxgen.py")
check=("${PYTHON:-python3}" "$here/../tools/kxgen/check_contract.py")
p=$out/partners
mkdir -p "$p" "$out/csv"

# Partner exports: one file per partner system, all valid.
"${gen[@]}" --seed 101 -n 150 --programmes IURC --source iurc-crm \
  --mix pairing=0.5,visit=0.2,practice=0.3 --key-base 1 \
  --dup-rate 0.02 --ooo-rate 0.05 --retag-rate 0.1 \
  --out "$p/iurc-crm.jsonl"
"${gen[@]}" --seed 102 -n 40 --programmes IURC --source iurc.events \
  --family visit --key-base 501 --dup-rate 0.02 --ooo-rate 0.05 \
  --out "$p/iurc-events.jsonl"
"${gen[@]}" --seed 103 -n 70 --programmes URBELAC \
  --source urbelac.registrations --mix pairing=0.55,visit=0.45 \
  --key-base 1001 --dup-rate 0.02 --ooo-rate 0.05 \
  --out "$p/urbelac-registrations.jsonl"
"${gen[@]}" --seed 104 -n 70 --programmes ICP-AGIR --source agir-catalogue \
  --family practice --key-base 1501 --dup-rate 0.02 --ooo-rate 0.05 \
  --out "$p/agir-catalogue.jsonl"
"${gen[@]}" --seed 105 -n 50 --programmes ICP-AGIR \
  --source agir.partnerships --mix pairing=0.6,visit=0.4 --key-base 2001 \
  --dup-rate 0.02 --ooo-rate 0.05 --out "$p/agir-partnerships.jsonl"
"${gen[@]}" --seed 146 -n 60 --programmes IUC=0.9,IURC=0.1 \
  --source iuc-archive --start 2019-01-01 --days 900 --key-base 2501 \
  --retag-rate 0.3 --dup-rate 0.02 --ooo-rate 0.05 \
  --out "$p/iuc-archive.jsonl"
"${gen[@]}" --seed 107 -n 60 --programmes RPD --source rpd-dialogues \
  --key-base 3001 --dup-rate 0.02 --ooo-rate 0.05 \
  --out "$p/rpd-dialogues.jsonl"

# A demonstration of rejects: good lines and one bad line of each kind
# below.  bad-lines.expected.tsv lists line, kind and the field a validator
# should name.
"${gen[@]}" --seed 112 -n 28 --start 2021-06-01 --days 1500 \
  --mix pairing=0.35,visit=0.3,practice=0.35 --key-base 9001 \
  --dup-rate 0 --ooo-rate 0 --bad-rate 0.43 --bad-cycle --bad-kinds \
not-json,bad-event-id,timestamp-no-offset,unknown-programme,\
sdg-goal-range,sdg-number,party-country,members-too-few,dates-reversed,\
participants-missing,adopter-missing,null-required \
  --bad-log "$p/bad-lines.expected.tsv" --out "$p/bad-lines.jsonl"

# CSV exports with their JSON Lines twins (the same events).
"${gen[@]}" --seed 201 -n 120 --key-base 5001 --dup-rate 0 \
  --emit-csv-twins "$out/csv"

# Programme targets (programme,measure,target) for kx-admin targets load.
cat > "$out/targets.csv" <<'EOF'
programme,measure,target
IURC,pairings_active,12
IURC,action_plans_adopted,15
IURC,pairings_completed,8
IURC,pilot_projects,60
IURC,visits_held,40
IURC,participants,20000
IURC,practices_documented,20
IURC,transfers_replicated,6
IURC,countries,40
IURC,partners,200
IUC,pairings_completed,5
IUC,action_plans_adopted,6
IUC,visits_held,10
IUC,participants,5000
URBELAC,pairings_active,6
URBELAC,visits_held,20
URBELAC,participants,10000
URBELAC,partners,60
ICP-AGIR,practices_documented,20
ICP-AGIR,transfers_in_progress,10
ICP-AGIR,transfers_replicated,10
ICP-AGIR,pairings_active,5
ICP-AGIR,transfers_abandoned,0
RPD,pairings_active,6
RPD,visits_held,6
RPD,countries,25
RPD,pairings_withdrawn,0
EOF

# Every example must say what it claims: partner files and CSV twins valid,
# bad-lines.jsonl rejected exactly where bad-lines.expected.tsv says.
valid=("$p"/iurc-crm.jsonl "$p"/iurc-events.jsonl
       "$p"/urbelac-registrations.jsonl "$p"/agir-catalogue.jsonl
       "$p"/agir-partnerships.jsonl "$p"/iuc-archive.jsonl
       "$p"/rpd-dialogues.jsonl "$out"/csv/*.jsonl)
"${check[@]}" "${valid[@]}"
for f in pairing visit practice; do
  "${check[@]}" --format csv "$out/csv/${f}s.csv"
done
got=$("${check[@]}" -q "$p/bad-lines.jsonl" | sed -E "s/^line ([0-9]+): '([^']*)'.*/\1 \2/" || true)
want=$(sed -E 's/^[^:]*:([0-9]+)\t[^\t]*\t(.*)$/\1 \2/' "$p/bad-lines.expected.tsv")
if [ "$got" != "$want" ]; then
  echo "regenerate.sh: bad-lines.jsonl is not rejected as bad-lines.expected.tsv says" >&2
  diff <(echo "$want") <(echo "$got") >&2 || true
  exit 1
fi
echo "regenerate.sh: wrote $out" >&2
