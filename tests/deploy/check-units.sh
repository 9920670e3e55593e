#!/usr/bin/env bash
# Checks deploy/systemd: both units pass 'systemd-analyze verify' without a
# word (systemd only warns about an unknown key, so any output fails), and
# every KX_* variable the env file example names, set or commented out, is
# one that kx-aggregate reads (its --help lists them as [env: KX_...]).
#
# Usage: tests/deploy/check-units.sh KX_AGGREGATE_BINARY
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: $0 KX_AGGREGATE_BINARY" >&2; exit 2; }
bin=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
units=$top/deploy/systemd
command -v systemd-analyze >/dev/null ||
  { echo "check-units: systemd-analyze is missing (scripts/install-deps)" >&2; exit 1; }

# A scratch root holding the binary where ExecStart= looks for it and the
# distribution's units, so nothing needs installing.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/local/bin" "$root/etc/systemd/system" "$root/usr/lib/systemd"
cp "$bin" "$root/usr/local/bin/kx-aggregate"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$units/kx-aggregate.service" "$root/etc/systemd/system/"
# A template is verified through an instance of it.
cp "$units/kx-aggregate@.service" "$root/etc/systemd/system/kx-aggregate@1.service"

failed=0
for unit in kx-aggregate.service kx-aggregate@1.service; do
  out=$(systemd-analyze --root="$root" verify "$root/etc/systemd/system/$unit" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL: systemd-analyze verify $unit (exit $rc):" >&2
    printf '%s\n' "$out" >&2
    failed=1
  else
    echo "ok: systemd-analyze verify $unit"
  fi
done

known=$("$bin" --help | grep -o 'env: KX_[A-Z_]*' | sed 's/env: //' | sort -u)
named=$(grep -o '^#\{0,1\}KX_[A-Z_]*=' "$units/kx-aggregate.env.example" |
        tr -d '#=' | sort -u)
[ -n "$named" ] || { echo "FAIL: the env file example names no KX_ variable" >&2; failed=1; }
for var in $named; do
  if ! grep -qx "$var" <<<"$known"; then
    echo "FAIL: kx-aggregate.env.example names $var, which kx-aggregate does not read" >&2
    failed=1
  fi
done
[ $failed = 0 ] && echo "ok: the env file example names $(wc -w <<<"$named") variables, all read by kx-aggregate"
exit $failed
