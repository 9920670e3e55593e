#!/usr/bin/env bash
# Checks that kx-stack, run as root, brings a stack up in a state folder
# that PostgreSQL's owner cannot reach (under a 'mktemp -d' folder, mode
# 700): the cluster goes to /var/lib/kx-stack/pg.*, linked from <state>/pg, the
# stack answers and takes a query, 'down' stops what 'up' started, a second
# 'up' reuses the same cluster, and 'down --purge' deletes both folders.
# Its own ports and state folder, so a stack already running is untouched.
# Skipped (77) when not root: a user's own cluster needs no other owner.
#
# Usage: tests/deploy/stack-outside.sh
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd -P)
stack=$top/deploy/local/kx-stack
[ "$(id -u)" -eq 0 ] || { echo "stack-outside: not root, skipped"; exit 77; }

fail() { echo "stack-outside: FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d)
chmod 700 "$tmp"
export KX_STATE_DIR=$tmp/state
unset KX_REGISTRY
# Four free ports, each bound once by the kernel and released.
read -r KX_KAFKA_PORT KX_KAFKA_CONTROLLER_PORT KX_PG_PORT KX_REGISTRY_PORT < <(
	python3 -c 'import socket
s = [socket.socket() for _ in range(4)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
export KX_KAFKA_PORT KX_KAFKA_CONTROLLER_PORT KX_PG_PORT KX_REGISTRY_PORT
cleanup() {
	"$stack" down --purge >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

out=$("$stack" up 2>&1) || { echo "$out"; fail "'up' failed"; }
echo "$out"
link=$KX_STATE_DIR/pg
[ -L "$link" ] || fail "'$link' is not a link"
place=$(readlink "$link")
case $place in
/var/lib/kx-stack/pg.*) ;;
*) fail "'$link' links to '$place', not to /var/lib/kx-stack/pg.*" ;;
esac
grep -q "cluster lives in '$place'" <<<"$out" || fail "'up' did not say where the cluster lives"
[ "$(stat -c %U "$place")" != root ] || fail "'$place' belongs to root"
"$stack" status || fail "'status' says the stack does not answer"
got=$(psql -X -tA -h 127.0.0.1 -p "$KX_PG_PORT" -U kx -d kx -c 'select 6 * 7') ||
	fail "cannot query the cluster"
[ "$got" = 42 ] || fail "the query answered '$got'"

"$stack" down || fail "'down' failed"
"$stack" status >/dev/null && fail "'status' says the stack answers after 'down'"
out=$("$stack" up 2>&1) || { echo "$out"; fail "the second 'up' failed"; }
[ "$(readlink "$link")" = "$place" ] || fail "the second 'up' moved the cluster"
grep -q "cluster lives" <<<"$out" && fail "the second 'up' placed the cluster again"
psql -X -tA -h 127.0.0.1 -p "$KX_PG_PORT" -U kx -d kx -c 'select 1' >/dev/null ||
	fail "cannot query the cluster after the second 'up'"

"$stack" down --purge || fail "'down --purge' failed"
[ -e "$place" ] && fail "'down --purge' left '$place'"
[ -e "$KX_STATE_DIR" ] && fail "'down --purge' left '$KX_STATE_DIR'"
echo "stack-outside: ok"
