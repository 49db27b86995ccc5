# Shared helpers for integration scenarios (sourced).  Each scenario sets
# tid, works in a fresh temporary directory and prints TAP-like "ok" /
# "not ok" lines that tools/test.sh counts.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
T=$(mktemp -d "${TMPDIR:-/tmp}/coffer-it.XXXXXX")
nfail=0
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
ok() { echo "ok - $tid: $*"; }
fail() { echo "not ok - $tid: $*"; nfail=$((nfail + 1)); }
check() {	# check "what" command...; shows the command's output on failure
	what=$1; shift
	if "$@" >"$T/.check.out" 2>&1; then
		ok "$what"
	else
		fail "$what"
		sed 's/^/#   /' "$T/.check.out"
	fi
}
finish() { [ "$nfail" -eq 0 ] && exit 0 || exit 1; }
