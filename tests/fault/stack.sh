#!/usr/bin/env bash
# stack.sh up|down MARKER: the fault suite's stack fixture. The scenarios run
# with KX_STACK_KEEP=1 so they share one stack start; 'up' brings the stack
# up when it is not running and then leaves MARKER, and 'down' takes it down
# only when MARKER says this suite brought it up (a stack that was already
# running is left alone).
set -u
stack=$(cd "$(dirname "$0")/../.." && pwd -P)/deploy/local/kx-stack
marker=$2
case $1 in
up)
	rm -f "$marker"
	if "$stack" status >/dev/null 2>&1; then
		echo "fault stack: already up, left alone"
		exit 0
	fi
	touch "$marker"
	"$stack" up
	;;
down)
	if [ -e "$marker" ]; then
		rm -f "$marker"
		"$stack" down
	else
		echo "fault stack: not ours, left up"
	fi
	;;
*)
	echo "usage: stack.sh up|down MARKER" >&2
	exit 2
	;;
esac
