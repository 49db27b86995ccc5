#!/bin/sh
# Disk full: a server whose instance (catalog and container pool) sits on
# a small tmpfs runs out of space in the middle of a backup.  The backup
# fails with a message that names the cause, the server keeps running,
# nothing committed is lost (audit clean, the first backup and every
# version the second one committed restore identically), and once there
# is room again the same backup completes.  Needs root to mount a tmpfs;
# skipped (77) where that is not allowed.
tid="disk-full"
. "$(dirname "$0")/lib.sh"

mnt="$T/FULL"
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=24m,mode=0700 tmpfs "$mnt" 2>/dev/null; then
	echo "# cannot mount a tmpfs here (not root?): skipped"
	exit 77
fi
full_cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
	cleanup
}
trap full_cleanup EXIT

start_server FULL || { fail "server starts on the small file system"; finish; }
adm "register node web01 web01-secret" >/dev/null

src="$T/data"
mkdir -p "$src/small" "$src/big"
python3 - "$src" <<'PY'
import os, random, sys
rnd = random.Random(3)
root = sys.argv[1]
for i in range(30):
    with open(os.path.join(root, "small", "f%02d" % i), "wb") as f:
        f.write(rnd.randbytes(40000 + i * 1000))
PY
cli web01 web01-secret --json incremental "$src" >"$T/b1.json" 2>"$T/b1.err"
check "the first backup fits" test "$(json_get "$T/b1.json" objects_failed)" = 0
cp -a "$src" "$T/first"

# 48 MiB of data that does not compress, on a 24 MiB file system.
python3 - "$src" <<'PY'
import os, random, sys
rnd = random.Random(4)
for i in range(24):
    with open(os.path.join(sys.argv[1], "big", "b%02d" % i), "wb") as f:
        f.write(rnd.randbytes(2 << 20))
PY
cli web01 web01-secret --json incremental "$src" >"$T/b2.json" 2>"$T/b2.err"
rc=$?
check "the backup that fills the disk fails (exit $rc)" test "$rc" -ne 0
check "and says the server is out of space" grep -qi "no space\|disk full\|out of space" "$T/b2.err" "$T/b2.json"
check "the server is still running" kill -0 "$SRV_PID"
check "the message names the container that could not be written" grep -q "container [0-9a-f]*: write" "$T/b2.err"

adm "audit container wait=yes" --json >"$T/a1.json" 2>&1
check "audit after the failure finds no damage" test "$(json_get "$T/a1.json" damaged)" = 0
cli web01 web01-secret restore "$src/small/" "$T/r1/" --subdir=yes >"$T/r1.out" 2>&1
check "the first backup restores identically" same_tree "$T/first/small" "$T/r1"
# Whatever the second backup committed before the disk filled is whole.
cli web01 web01-secret restore "$src/big/" "$T/r2/" --subdir=yes >"$T/r2.out" 2>&1
ok_big=0; bad_big=0
for f in "$T"/r2/b*; do
	[ -f "$f" ] || continue
	if cmp -s "$f" "$src/big/$(basename "$f")"; then ok_big=$((ok_big + 1)); else bad_big=$((bad_big + 1)); fi
done
check "every committed big file restores identically ($ok_big whole, $bad_big bad)" test "$bad_big" = 0

# Room again (the administrator grows the file system): the same backup
# completes, and the restart after the full disk is clean too.
mount -o remount,size=256m "$mnt"
stop_server
start_server FULL "$SRV_PORT" || { fail "server restarts after the full disk"; finish; }
cli web01 web01-secret --json incremental "$src" >"$T/b3.json" 2>"$T/b3.err"
check "with room again the backup completes" test "$(json_get "$T/b3.json" objects_failed)" = 0
cli web01 web01-secret restore "$src/" "$T/r3/" --subdir=yes >"$T/r3.out" 2>&1
check "and the whole tree restores identically" same_tree "$src" "$T/r3"
adm "audit container wait=yes" --json >"$T/a2.json" 2>&1
check "audit is clean at the end" test "$(json_get "$T/a2.json" damaged)" = 0
finish
