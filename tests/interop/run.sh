#!/usr/bin/env bash
# run.sh SCRIPT [ARGS...]: runs a Python interop test with the pinned deps of
# requirements.txt, installed once into a virtualenv under the KX cache
# ($KX_CACHE, default ~/.cache/kx), and again only when they change.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
venv=${KX_CACHE:-$HOME/.cache/kx}/interop-venv
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$venv/.requirements"; then
	echo "interop: installing $(grep -c '==' "$here/requirements.txt") pinned packages into $venv" >&2
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
	cp "$here/requirements.txt" "$venv/.requirements"
fi
exec "$venv/bin/python" "$@"
