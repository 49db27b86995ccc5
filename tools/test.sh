#!/bin/sh
# The README's test command: dependencies, build, unit and integration
# tests, then the same tests again under ASan + UBSan in a separate build
# directory.  Ends with one line "N passed, N failed".
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=${JOBS:-2}
status=0

say() { printf '\n==> %s\n' "$*"; }

say "dependencies"
"$top/tools/install-deps.sh" || { echo "test.sh: installing dependencies failed"; exit 1; }

# Out-of-tree builds need a source tree that was never configured in place.
if [ -f "$top/config.status" ]; then
	say "make distclean (the source tree was configured in place)"
	make -s distclean >/dev/null 2>&1 || true
fi

say "autoreconf -fi"
autoreconf -fi >/dev/null || { echo "test.sh: autoreconf failed"; exit 1; }

# Run make check in a build directory; keeps going so both builds report.
run_build() {
	dir=$1; shift
	say "configure $* ($dir)"
	mkdir -p "$dir"
	( cd "$dir" && "$top/configure" --enable-werror "$@" >configure.out 2>&1 ) ||
		{ cat "$dir/configure.out"; echo "test.sh: configure failed in $dir"; status=1; return; }
	say "make -j$jobs ($dir)"
	( cd "$dir" && make -j"$jobs" >make.out 2>&1 ) ||
		{ tail -50 "$dir/make.out"; echo "test.sh: build failed in $dir"; status=1; return; }
	say "make check ($dir)"
	( cd "$dir" && make -j"$jobs" check >check.out 2>&1 ) || status=1
	grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR):' "$dir/check.out" || true
	# Print the logs of whatever failed.
	for log in $(cd "$dir" && find tests -name '*.log' ! -name test-suite.log 2>/dev/null); do
		trs="$dir/${log%.log}.trs"
		if [ -f "$trs" ] && grep -qE '^:test-result: (FAIL|ERROR)' "$trs"; then
			printf '\n---- %s/%s ----\n' "$dir" "$log"
			tail -80 "$dir/$log"
		fi
	done
}

# Count individual tests: cmocka's summaries in the unit logs, and one per
# integration scenario (each scenario prints "ok"/"not ok" lines).
count() {
	dir=$1
	[ -d "$dir/tests" ] || return 0
	for log in $(find "$dir/tests" -name '*.log' ! -name test-suite.log); do
		trs="${log%.log}.trs"
		[ -f "$trs" ] || continue
		p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -1)
		if [ -z "$p$f" ]; then
			p=$(grep -c '^ok ' "$log" || true)
			f=$(grep -c '^not ok ' "$log" || true)
			if [ "$p$f" = "00" ]; then
				if grep -qE '^:test-result: (PASS|SKIP)' "$trs"; then p=1; else f=1; fi
			fi
		fi
		# A program that crashed before its summary still failed.
		if grep -qE '^:test-result: (FAIL|ERROR)' "$trs" && [ "${f:-0}" = 0 ]; then f=1; fi
		passed=$((passed + ${p:-0}))
		failed=$((failed + ${f:-0}))
	done
}

# Live VM backup (vm_libvirt.c) is built and tested where libvirt is.
lv=
pkg-config --exists libvirt libnbd 2>/dev/null && lv=--with-libvirt
# Both with the fault hooks that tests/crash/crash.sh uses.
run_build "$top/build-ci" --enable-fault-injection $lv
run_build "$top/build-sanitize" --enable-fault-injection --enable-sanitizers $lv

# Static analysis of the product's code (not the tests, whose fixtures
# return early without freeing and end variadic lists with NULL): any
# finding fails the run, as a test would.
analyze() {
	command -v cppcheck >/dev/null || { echo "cppcheck not installed: skipped"; return 0; }
	say "cppcheck (common storage-pools server client tools)"
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --std=c11 --inline-suppr --suppress=missingIncludeSystem \
	    -D__GNUC__ -I "$top/build-ci" -I common -I storage-pools -I server \
	    -I client common storage-pools server client tools \
	    >"$top/build-ci/cppcheck.out" 2>&1
	r=$?
	cat "$top/build-ci/cppcheck.out"
	if [ "$r" -eq 0 ]; then echo "ok - cppcheck: no findings"; else echo "not ok - cppcheck"; fi
	return $r
}
analyzed=0
analyze && analyzed=1

passed=0
failed=0
count "$top/build-ci"
count "$top/build-sanitize"
if command -v cppcheck >/dev/null; then
	if [ "$analyzed" -eq 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
printf '\n%d passed, %d failed\n' "$passed" "$failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
