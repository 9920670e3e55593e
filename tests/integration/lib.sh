#!/usr/bin/env bash
# Shared helpers for KX integration tests (sourced, not run). Each test
# gets its own database, topic prefix and consumer group, so tests never
# see each other's data and can run one after another on one stack.
#
#   . "$(dirname "$0")/../lib.sh"
#   kx_test_setup NAME      # db kx_NAME, topics NAME.*, group NAME
#   kx_test_topics PREFIX   # the topics of another prefix
#                           # (all dropped with the db when the test passes)
#   kx produce FILE ...     # runs build/bin/kx-produce with the test's env
#   kx_psql "SQL"           # prints rows, tab-separated, no header
#   kx_expect_eq WHAT EXPECTED ACTUAL
#   kx_test_done            # prints the closing 'N passed, N failed' line
#
# Needs KX_BROKERS and KX_DB from with-stack.sh, and KX_BIN_DIR (the
# build's bin folder; ctest passes it).
set -u

KX_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
: "${KX_BIN_DIR:=$KX_TOP/build/bin}"
kx_passed=0
kx_failed=0

kx_die() {
	echo "test: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

# The stack's base conninfo with another dbname.
kx_conninfo_for() {
	local db=$1
	printf '%s dbname=%s' "$(printf '%s' "$KX_BASE_DB" | sed 's/dbname=[^ ]*//')" "$db"
}

kx_test_setup() {
	local name=$1
	[ -n "${KX_BROKERS:-}" ] && [ -n "${KX_DB:-}" ] || kx_die "KX_BROKERS and KX_DB must be set (run through with-stack.sh)"
	KX_BASE_DB=$KX_DB
	KX_TEST_NAME=$name
	KX_TEST_DB=kx_$(printf '%s' "$name" | tr -c 'a-z0-9_\n' '_')
	psql -X -q -v ON_ERROR_STOP=1 "$KX_BASE_DB" \
		-c "DROP DATABASE IF EXISTS $KX_TEST_DB WITH (FORCE)" \
		-c "CREATE DATABASE $KX_TEST_DB" >/dev/null || kx_die "cannot create database $KX_TEST_DB"
	export KX_DB
	KX_DB=$(kx_conninfo_for "$KX_TEST_DB")
	export KX_TOPIC_PREFIX="$name.$$."
	export KX_GROUP="$name-$$"
	"$KX_BIN_DIR/kx-admin" migrate >/dev/null || kx_die "kx-admin migrate failed"
	KX_TEST_PREFIXES=
	kx_test_topics "$KX_TOPIC_PREFIX"
	KX_TEST_TMP=$(mktemp -d "/tmp/kx-$name.XXXXXX")
	trap kx_test_cleanup EXIT
}

# Creates the three topics of a prefix; kx_test_cleanup() deletes them.
kx_test_topics() {
	KX_TOPIC_PREFIX=$1 "$KX_BIN_DIR/kx-admin" topics create >/dev/null ||
		kx_die "cannot create the topics of prefix '$1'"
	KX_TEST_PREFIXES="$KX_TEST_PREFIXES $1"
}

kx_test_cleanup() {
	local p
	[ -n "${KX_TEST_TMP:-}" ] && rm -rf "$KX_TEST_TMP"
	# The database and the topics (each run has its own prefix) are
	# dropped when the test passed: a stack kept across runs
	# (KX_STACK_KEEP) would otherwise gather thousands of partitions,
	# past what the broker's heap holds.
	if [ "$kx_failed" -eq 0 ] && [ -n "${KX_TEST_DB:-}" ]; then
		psql -X -q "$KX_BASE_DB" -c "DROP DATABASE IF EXISTS $KX_TEST_DB WITH (FORCE)" >/dev/null 2>&1
		for p in ${KX_TEST_PREFIXES:-}; do
			"$KX_BIN_DIR/kx-admin" topics delete --yes \
				--topic-prefix "$p" >/dev/null 2>&1
		done
	fi
}

kx() {
	local cmd=$1
	shift
	"$KX_BIN_DIR/kx-$cmd" "$@"
}

kx_psql() {
	psql -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 "$KX_DB" -c "$1"
}

kx_expect_eq() {
	local what=$1 expected=$2 actual=$3
	if [ "$expected" = "$actual" ]; then
		kx_passed=$((kx_passed + 1))
		echo "ok - $what"
	else
		kx_failed=$((kx_failed + 1))
		echo "not ok - $what"
		echo "  expected: $expected" | head -20
		echo "  actual:   $actual" | head -20
	fi
}

kx_test_done() {
	echo "$kx_passed passed, $kx_failed failed"
	[ "$kx_failed" -eq 0 ]
}
