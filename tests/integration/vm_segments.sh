#!/bin/sh
# VM disks stored in segments (client/vm_seg.h).  A disk is cut into
# objects of COFFER_VM_SEGMENT bytes of the image (8 GiB in production;
# 1 MiB here, so that a 40 MiB image is 40 objects) so that a disk of any
# size fits the protocol's recipe bound.  Checks what an administrator
# would: the image restored byte for byte and sparse, at the latest
# version and at points in time, after it changed, grew and shrank, and
# across versions cut in other segment sizes; only the change travels;
# a version missing a segment is refused, naming the disk.
tid="vm segments"
. "$(dirname "$0")/lib.sh"

start_server VMSEG || { fail "server starts"; finish; }
adm "register node hv1 hv1-secret-pw" >/dev/null
conf="$T/qemu"
img="$T/images"
mkdir -p "$conf" "$img"

stamp() { sleep 1.1; date '+%Y-%m-%d %H:%M:%S'; sleep 1.1; }

mkimage "$img/db01.raw" 40 1
vm_xml db01 "$img/db01.raw" >"$conf/db01.xml"
vm() { cli hv1 hv1-secret-pw --vmconfdir "$conf" "$@"; }
seg() { s=$1; shift; COFFER_VM_SEGMENT=$s vm "$@"; }	# seg SIZE ARGS...
restored() {	# restored NAME [restore options]: restore into $T/NAME
	d="$T/$1"; shift
	rm -rf "$d"
	vm --json restore vm db01 --target-dir "$d" "$@" >"$d.json" 2>"$d.err"
}

# 1. Cut in 1 MiB segments: 40 objects of one disk.
cp --sparse=always "$img/db01.raw" "$T/v1.raw"
seg 1M --json backup vm db01 >"$T/b1.json" 2>"$T/b1.err"
check "a backup cut in segments succeeds" test "$(json_get "$T/b1.json" rc)" = 0
check "the disk and the domain XML are stored (as 40 segments and the XML)" \
    test "$(json_get "$T/b1.json" objects_backed_up)" = 2
vm --json query vm db01 >"$T/q1.json" 2>&1
check "query vm counts one disk of the image's size" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["rows"][0]
assert r["disks"] == 1 and r["size_bytes"] == 40 << 20, r' "$T/q1.json"
restored r1
check "the segmented disk restores byte for byte" cmp "$img/db01.raw" "$T/r1/db01.raw"
a0=$(allocated "$img/db01.raw"); a1=$(allocated "$T/r1/db01.raw")
check "the restored image keeps its holes (${a1} KiB for ${a0} KiB)" \
    test "$a1" -le $((a0 + 512))
t1=$(stamp)

# 2. Unchanged, in another segment size: nothing is read or sent.
seg 4M --json backup vm db01 >"$T/b2.json" 2>"$T/b2.err"
check "an unchanged segmented disk reads nothing" \
    test "$(json_get "$T/b2.json" bytes_inspected)" -lt 65536
check "and sends nothing" test "$(json_get "$T/b2.json" bytes_sent)" = 0

# 3. 2 MiB changed: about 2 MiB travel.
change "$img/db01.raw" 32 7
cp --sparse=always "$img/db01.raw" "$T/v3.raw"
seg 1M --json backup vm db01 >"$T/b3.json" 2>"$T/b3.err"
sent=$(json_get "$T/b3.json" bytes_sent)
check "after a 2 MiB change about 2 MiB travel ($sent bytes)" \
    test "$sent" -ge $((3 << 19)) -a "$sent" -le $((3 << 20))
t3=$(stamp)

# 4. The disk shrinks to 10 MiB: the segments past its end go.
truncate -s 10M "$img/db01.raw"
cp --sparse=always "$img/db01.raw" "$T/v4.raw"
seg 1M --json backup vm db01 >"$T/b4.json" 2>"$T/b4.err"
check "the shrunk disk backs up" test "$(json_get "$T/b4.json" rc)" = 0
restored r4
check "the shrunk disk restores as it is now (10 MiB)" cmp "$T/v4.raw" "$T/r4/db01.raw"
t4=$(stamp)

# 5. It grows to 72 MiB, backed up in 16 MiB segments (a new layout).
truncate -s 72M "$img/db01.raw"
change "$img/db01.raw" 16 9
cp --sparse=always "$img/db01.raw" "$T/v5.raw"
seg 16M --json backup vm db01 >"$T/b5.json" 2>"$T/b5.err"
check "the grown disk backs up in 16 MiB segments, counted as one disk" \
    test "$(json_get "$T/b5.json" objects_backed_up)" = 2
restored r5
check "the grown disk restores byte for byte" cmp "$T/v5.raw" "$T/r5/db01.raw"

# 6. Every version restores by date, whatever its layout.
restored p1 --pitdate "$t1"
check "point in time 1 (1 MiB segments, 40 MiB)" cmp "$T/v1.raw" "$T/p1/db01.raw"
restored p3 --pitdate "$t3"
check "point in time 3 (after the change)" cmp "$T/v3.raw" "$T/p3/db01.raw"
restored p4 --pitdate "$t4"
check "point in time 4 (shrunk)" cmp "$T/v4.raw" "$T/p4/db01.raw"

# 7. Into one object again (the default size), then a version that lost a
# segment: the restore refuses it and names the disk and the segment.
change "$img/db01.raw" 4 11
vm --json backup vm db01 >"$T/b7.json" 2>"$T/b7.err"
check "the default size stores the disk as one object again" \
    test "$(json_get "$T/b7.json" objects_backed_up)" = 2
restored r7
check "which restores byte for byte" cmp "$img/db01.raw" "$T/r7/db01.raw"
stop_server
python3 - "$SRV_DIR/catalog.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("DELETE FROM object WHERE path = '/disks/vda/000002'").rowcount
db.commit()
print("# took segment 2 away from", n, "version(s)")
PY
restart_server VMSEG || fail "server restarts"
restored r8 --pitdate "$t4"
check "a version missing a segment is not restored" \
    test "$(json_get "$T/r8.json" rc)" -ne 0
check "the error names the disk and the segment" \
    grep -q "disk vda: segment 2 of 9 is not in the backup" "$T/r8.err"
check "and no partial image is left" test ! -e "$T/r8/db01.raw"

# 8. Many segments: 64 KiB ones, 385 of them (the last short).  The
# restore fetches each segment's recipe only when it gets there; the
# image must still come back whole and sparse, and a chunk that fails
# verification half-way must leave nothing behind.
mkimage "$img/many.raw" 24 5
printf 'the end' >>"$img/many.raw"
vm_xml many "$img/many.raw" >"$conf/many.xml"
seg 64K --json backup vm many >"$T/b9.json" 2>"$T/b9.err"
check "a disk of 385 segments backs up" test "$(json_get "$T/b9.json" rc)" = 0
rm -rf "$T/r9"
vm --json restore vm many --target-dir "$T/r9" >"$T/r9.json" 2>"$T/r9.err"
check "a disk of 385 segments restores byte for byte" \
    cmp "$img/many.raw" "$T/r9/many.raw"
a0=$(allocated "$img/many.raw"); a1=$(allocated "$T/r9/many.raw")
check "and keeps its holes (${a1} KiB for ${a0} KiB)" test "$a1" -le $((a0 + 512))
rm -rf "$T/r10"
COFFER_FAULT_RESTORE_CORRUPT=5 vm --json restore vm many \
    --target-dir "$T/r10" >"$T/r10.json" 2>"$T/r10.err"
check "a chunk failing verification in a later segment fails the restore" \
    test "$(json_get "$T/r10.json" rc)" -ne 0
check "naming the check that failed" grep -q "failed verification" "$T/r10.err"
check "and leaves no image, no temporary file" \
    test -z "$(ls -A "$T/r10" 2>/dev/null)"

# 9. A version committed in parts (COFFER_VM_STAGE: every 1 MiB of
# segments here, every 256 MiB by default): the server keeps each part
# unseen until the last commit, so neither side holds the whole version.
db() { python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
    "$SRV_DIR/catalog.db" "$1"; }
cp --sparse=always "$img/many.raw" "$T/m1.raw"
change "$img/many.raw" 8 13
COFFER_VM_STAGE=1M seg 64K --json backup vm many >"$T/b11.json" 2>"$T/b11.err"
check "a version sent in parts backs up" test "$(json_get "$T/b11.json" rc)" = 0
rm -rf "$T/r11"
vm --json restore vm many --target-dir "$T/r11" >"$T/r11.json" 2>"$T/r11.err"
check "and restores byte for byte" cmp "$img/many.raw" "$T/r11/many.raw"
check "no staged part is left behind" test "$(db 'SELECT count(*) FROM object_stage')" = 0
if "$COFFERD" --version 2>/dev/null | grep -q '^fault injection: compiled in'; then
	cp --sparse=always "$img/many.raw" "$T/m2.raw"
	refs0=$(db 'SELECT sum(refcount) FROM chunk')
	change "$img/many.raw" 8 17
	COFFER_FAULT=client.vm.part:3 COFFER_VM_STAGE=1M seg 64K backup vm many \
	    >"$T/b12.out" 2>&1
	check "the client dies after its third part" grep -q "client.vm.part reached 3" "$T/b12.out"
	i=0
	while [ "$(db 'SELECT count(*) FROM object_stage')" != 0 ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	check "the server drops the parts of the unfinished version" \
	    test "$(db 'SELECT count(*) FROM object_stage')" = 0
	check "and gives back their chunk references" \
	    test "$(db 'SELECT sum(refcount) FROM chunk')" = "$refs0"
	rm -rf "$T/r12"
	vm --json restore vm many --target-dir "$T/r12" >"$T/r12.json" 2>"$T/r12.err"
	check "the VM restores as its last whole version" cmp "$T/m2.raw" "$T/r12/many.raw"
fi
stop_server
finish
