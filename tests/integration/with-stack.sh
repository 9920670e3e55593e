#!/usr/bin/env bash
#
# with-stack.sh COMMAND [ARGS...]: runs COMMAND with the local stack
# (deploy/local/kx-stack) up and KX_BROKERS and KX_DB set from
# 'kx-stack env' (and KX_STACK_REGISTRY, the schema registry's URL, when
# the stack runs one), and exits with COMMAND's exit code.
#
# If the stack is not up, it brings it up first and takes it down afterwards,
# unless KX_STACK_KEEP=1 is set: then the stack stays up for the next test,
# so a suite pays the start once.  A stack that was already up is left alone.
# Tests that use it must not run in parallel: give them the CTest property
# RESOURCE_LOCK kx_stack.

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
stack=$here/../../deploy/local/kx-stack
prog=with-stack

if [ $# -eq 0 ]; then
	echo "usage: with-stack.sh command [args...]" >&2
	exit 2
fi

started=0
child=

take_down() {
	if [ $started -eq 1 ] && [ "${KX_STACK_KEEP:-0}" != 1 ]; then
		started=0
		"$stack" down >&2 || echo "$prog: cannot take the stack down" >&2
	fi
}

# shellcheck disable=SC2317 # called by the trap
on_signal() {
	# Pass the signal to the command, then clean up as on a normal exit.
	[ -n "$child" ] && kill -TERM "$child" 2>/dev/null
	[ -n "$child" ] && wait "$child" 2>/dev/null
	take_down
	exit 143
}
trap on_signal INT TERM HUP

if ! "$stack" status >/dev/null 2>&1; then
	started=1
	if ! "$stack" up >&2; then
		echo "$prog: cannot bring the stack up" >&2
		take_down
		exit 1
	fi
fi

if ! stack_env=$("$stack" env); then
	echo "$prog: 'kx-stack env' failed" >&2
	take_down
	exit 1
fi
eval "$stack_env"
# Registry mode is a test's own choice: a stack run with the registry
# ('kx-stack up --registry') exports KX_SCHEMA_REGISTRY, which would put
# every KX program of every test in registry mode. Tests get the URL as
# KX_STACK_REGISTRY instead, and the registry tests set it themselves.
if [ -n "${KX_SCHEMA_REGISTRY:-}" ]; then
	export KX_STACK_REGISTRY=$KX_SCHEMA_REGISTRY
fi
unset KX_SCHEMA_REGISTRY

# The command runs in the background so that a signal reaches the trap at
# once; its standard input stays the script's.
"$@" <&0 &
child=$!
wait "$child"
rc=$?
child=
take_down
exit $rc
