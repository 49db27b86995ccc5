#!/bin/sh
# A backup killed (SIGKILL) after the server committed part of it, and run
# again, sends only what was not committed, and the tree restores whole.
tid="a backup killed midway resumes"
. "$(dirname "$0")/lib.sh"

start_server RESUME || { fail "server starts"; finish; }
check "register node" adm "register node nr noder-secret"

# More files than one transaction holds (BACKUP_TXN_OBJECTS, 4096; the
# client has no option to make transactions smaller), so that one commits
# before the end: 5 directories of 820 small random files, the 4096th object
# near the end of dir04, then dir05 with 240 files of 256 KiB that take a
# while to send.
src="$T/data/tree"
python3 - "$src" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(3)
for d in range(6):
    dd = os.path.join(root, "dir%02d" % d)
    os.makedirs(dd)
    for i in range(820 if d < 5 else 240):
        with open(os.path.join(dd, "f%04d.bin" % i), "wb") as f:
            f.write(os.urandom(rnd.randint(100, 2000) if d < 5 else 262144))
PY
nfiles=$(find "$src" -type f | wc -l)
nobj=$(find "$src" | wc -l)
check "source tree has $nfiles files" test "$nfiles" -eq 4340

# Once the client's walk reached dir05 (about the end of the first
# transaction), it runs in short slices until the server shows committed
# objects, and is killed while stopped: midway, whatever the speed of the
# machine.
cli_bg nr noder-secret --json incremental "$src" > "$T/b1.json" 2> "$T/b1.err"
wait_for_open "$CLI_PID" "^$src/dir05" 45 && run_until_committed "$CLI_PID" 0 45
r=$?
if [ $r -ne 0 ]; then
	wait "$CLI_PID"
	if [ $r -eq 1 ]; then
		echo "# SKIP: the first backup finished before the server showed a partial commit"
		exit 77
	fi
	fail "the backup did not get past its first transaction within 45 s"
	sed 's/^/#   /' "$T/b1.err"
	finish
fi
kill -KILL "$CLI_PID"
wait "$CLI_PID" 2>/dev/null
committed=$(committed_objects)
ok "client killed after the server committed $committed of $nobj objects"
check "the kill left part of the tree unsent ($committed < $nobj)" test "$committed" -lt "$nobj"
check "server survives the client's death" kill -0 "$SRV_PID"

cli nr noder-secret --json incremental "$src" > "$T/b2.json" 2> "$T/b2.err"
rc=$?
check "second backup exits 0" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/b2.err"
sent=$(json_get "$T/b2.json" objects_backed_up 2>/dev/null || echo "$nobj")
insp=$(json_get "$T/b2.json" objects_inspected 2>/dev/null || echo 0)
check "second backup inspected the whole tree ($insp)" test "$insp" -eq "$nobj"
check "second backup sent fewer objects ($sent) than the tree holds ($nfiles files)" \
    test "$sent" -lt "$nfiles"
check "committed objects were not sent again ($sent + $committed <= $nobj)" \
    test $((sent + committed)) -le "$nobj"
check "server holds every object after the rerun" test "$(committed_objects)" -eq "$nobj"

cli nr noder-secret --json restore "$src/" "$T/r/" --subdir=yes > "$T/r.json" 2> "$T/r.err"
check "restore exits 0" test $? -eq 0
check "restored tree equals the original" same_tree "$src" "$T/r"

adm "audit container wait=yes" --json > "$T/audit.json" 2>&1
check "audit finds no damage" test "$(json_get "$T/audit.json" damaged)" -eq 0
client_reports
finish
