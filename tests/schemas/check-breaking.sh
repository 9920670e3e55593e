#!/bin/sh
# kx-admin schemas check must fail on tests/data/schemas/breaking, naming
# each breaking change, and pass on tests/data/schemas/evolving.
# Usage: check-breaking.sh KX_ADMIN DATA_DIR
set -u
admin=$1 data=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$admin" schemas check "$data/schemas/evolving" >"$out" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	echo "evolving: expected exit 0, got $rc:"; cat "$out"; exit 1
fi

"$admin" schemas check "$data/schemas/breaking" >"$out" 2>&1
rc=$?
if [ $rc -ne 1 ]; then
	echo "breaking: expected exit 1, got $rc:"; cat "$out"; exit 1
fi
for want in \
	"visit: v1 cannot read v2: VisitEvent.visit_type: the writer's symbol 'peer_review' of VisitType is unknown to the reader, whose enum has no default" \
	"visit: v1 cannot read v2: VisitEvent.participants<string>: no branch of the reader's union reads the writer's string" \
	"visit: v2 cannot read v1: VisitEvent.rating: the reader's field has no default and the writer lacks it" \
	"schemas: 2 of 2 checks failed; 1 of 3 schemas unusable"; do
	if ! grep -qF "$want" "$out"; then
		echo "breaking: output lacks: $want"; cat "$out"; exit 1
	fi
done
echo "ok: the evolving catalogue passes, the breaking one fails as expected"
