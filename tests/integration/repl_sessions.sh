#!/bin/sh
# REPLICATE NODE MAXSESSIONS: a node with several filespaces (a tree on
# the root file system large enough to be cut into uuid ranges, a tree on
# tmpfs, two VMs) replicated with maxsessions=4 uses four sessions at the
# target, and the target restores every filespace byte for byte; a node
# with one filespace is cut into ranges that two sessions share; a second
# run sends nothing over one session; deletions and changes spread over
# the ranges arrive; a target that refuses the extra sessions (its
# MAXSESSIONS option) fails the process with the refusal named, and the
# rerun sends only what the target still lacks.
tid="replication sessions"
. "$(dirname "$0")/lib.sh"

use() { eval "SRV_DIR=\$${1}_DIR SRV_PORT=\$${1}_PORT SRV_PID=\$${1}_PID"; }
save() { eval "${1}_DIR=\$SRV_DIR ${1}_PORT=\$SRV_PORT ${1}_PID=\$SRV_PID"; }
up() { start_server "$1" || { fail "server $1 starts"; finish; }; save "$1"; }

# A second file system makes a second file filespace: tmpfs when there is
# one, else a second tree of the first (still its own backup path).
shm=
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	shm=$(mktemp -d /dev/shm/coffer-it.XXXXXX) || shm=
fi
trap 'cleanup; [ -z "$shm" ] || rm -rf "$shm"' EXIT
[ -n "$shm" ] || { shm="$T/other"; mkdir -p "$shm"; }

up PRIMARY
up HOTSITE
use PRIMARY
check "primary defines the hot site" adm "define server HOTSITE serverpassword=repl-pw-4 hladdress=127.0.0.1 lladdress=$HOTSITE_PORT cafile=$HOTSITE_DIR/tls/ca.pem"
adm "set replserver HOTSITE" >/dev/null
use HOTSITE
check "hot site defines the primary" adm "define server PRIMARY serverpassword=repl-pw-4 hladdress=127.0.0.1 lladdress=$PRIMARY_PORT cafile=$PRIMARY_DIR/tls/ca.pem"
use PRIMARY
adm "register node web01 web01-secret" >/dev/null
adm "define domain short verexists=1 verdeleted=0 retextra=0 retonly=0" >/dev/null
adm "update node web01 domain=short" >/dev/null
check "node set to replicate" adm "update node web01 replstate=enabled replmode=send"

src="$T/data"
python3 - "$src" "$shm/tree" <<'PY'
import os, random, sys
rnd = random.Random(44)
root, other = sys.argv[1], sys.argv[2]
# About 6,000 versions: several uuid ranges of the filespace.
for d in range(12):
    p = os.path.join(root, "d%02d" % d)
    os.makedirs(p)
    for i in range(500):
        with open(os.path.join(p, "f%04d" % i), "w") as f:
            f.write(("file %d of dir %d\n" % (i, d)) * (1 + i % 40))
    # Chunk data in every range, some of it shared between ranges.
    with open(os.path.join(p, "blob.bin"), "wb") as f:
        f.write(rnd.randbytes(700 << 10))
    with open(os.path.join(p, "same.bin"), "wb") as f:
        f.write(random.Random(7).randbytes(300 << 10))
os.makedirs(other)
for i in range(800):
    with open(os.path.join(other, "o%04d" % i), "w") as f:
        f.write("other %d\n" % i * 5)
PY
ln -s d01/f0001 "$src/link"
mkdir -p "$T/qemu" "$T/img"
for v in vm1 vm2; do
	mkimage "$T/img/$v.raw" 24 "$(printf '%s' "$v" | cksum | cut -d' ' -f1)"
	vm_xml "$v" "$T/img/$v.raw" >"$T/qemu/$v.xml"
done

# backup: the objects backed up, added to $backed.
backed=0
backup() {
	cli web01 web01-secret --json "$@" >"$T/b.out" 2>&1
	n=$(json_get "$T/b.out" objects_backed_up 2>/dev/null || echo 0)
	backed=$((backed + n))
}
backup incremental "$src"
backup incremental "$shm/tree"
backup --vmconfdir "$T/qemu" backup vm vm1
backup --vmconfdir "$T/qemu" backup vm vm2
adm "query filespace web01" --json >"$T/qfs.json" 2>&1
nfs=$(python3 -c 'import json,sys; print(len(json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])["rows"]))' "$T/qfs.json")
check "the node has several filespaces ($nfs)" test "$nfs" -ge 3

# sessions: how many server sessions the hot site's activity log shows.
sessions() {
	use HOTSITE
	adm "query actlog search=PRIMARY" 2>/dev/null | grep -c "started for server PRIMARY"
	use PRIMARY
}

s0=$(sessions)
adm "replicate node web01 maxsessions=4 wait=yes" --json >"$T/r1.json" 2>&1
check "replicate node maxsessions=4 prints the contract's fields" has_json_keys "$T/r1.json" \
    objects_sent chunks_sent bytes_sent objects_deleted
check "it sends every version the primary holds ($backed)" test "$(json_get "$T/r1.json" objects_sent)" = "$backed"
check "no version failed" test "$(json_get "$T/r1.json" objects_failed)" = 0
check "every filespace was replicated" test "$(json_get "$T/r1.json" filespaces)" = "$nfs"
s1=$(sessions)
check "the hot site served four sessions ($s0 -> $s1)" test "$((s1 - s0))" = 4

# hot_restores TAG: the hot site restores every filespace identically.
hot_restores() {
	use HOTSITE
	cli web01 web01-secret restore "$src/" "$T/$1-data/" --subdir=yes >"$T/$1.out" 2>&1
	check "$1: the hot site restores the large tree identically" same_tree "$src" "$T/$1-data"
	cli web01 web01-secret restore "$shm/tree/" "$T/$1-other/" --subdir=yes >>"$T/$1.out" 2>&1
	check "$1: and the second file system's tree" same_tree "$shm/tree" "$T/$1-other"
	for v in vm1 vm2; do
		cli web01 web01-secret --vmconfdir "$T/qemu" restore vm $v \
		    --target-dir "$T/$1-vm" >>"$T/$1.out" 2>&1
		check "$1: and VM $v byte for byte" cmp "$T/img/$v.raw" "$T/$1-vm/$v.raw"
	done
	use PRIMARY
}
hot_restores first

# One filespace alone is cut into uuid ranges that two sessions share.
adm "register node db01 db01-secret" >/dev/null
adm "update node db01 replstate=enabled replmode=send" >/dev/null
one="$T/one"
python3 - "$one" <<'PY'
import os, sys
os.makedirs(sys.argv[1])
for i in range(3500):
    with open(os.path.join(sys.argv[1], "r%04d" % i), "w") as f:
        f.write("row %d\n" % i * (1 + i % 9))
PY
cli db01 db01-secret incremental "$one" >/dev/null 2>&1
s1=$(sessions)
adm "replicate node db01 maxsessions=2 wait=yes" --json >"$T/one.json" 2>&1
check "a one-filespace node replicates whole" test "$(json_get "$T/one.json" objects_sent)" -ge 3501
s2=$(sessions)
check "over two sessions ($s1 -> $s2)" test "$((s2 - s1))" = 2
use HOTSITE
cli db01 db01-secret restore "$one/" "$T/one-r/" --subdir=yes >"$T/one-r.out" 2>&1
check "and the hot site restores it identically" same_tree "$one" "$T/one-r"
use PRIMARY

# Nothing changed: every digest is equal, one session does it.
s1=$(sessions)
adm "replicate node web01 maxsessions=4 wait=yes" --json >"$T/r2.json" 2>&1
check "a second run sends no version" test "$(json_get "$T/r2.json" objects_sent)" = 0
check "and no chunk bytes" test "$(json_get "$T/r2.json" bytes_sent)" = 0
check "every filespace is consistent at once" test \
    "$(json_get "$T/r2.json" filespaces_consistent)" = "$nfs"
s2=$(sessions)
check "over one session ($s1 -> $s2)" test "$((s2 - s1))" = 1

# Deletions and changes in every range, enough to cut the filespace
# again: two files in five gone (expired), every 11th changed, a few new.
python3 - "$src" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(12):
    p = os.path.join(root, "d%02d" % d)
    for i in range(500):
        f = os.path.join(p, "f%04d" % i)
        if i % 5 in (1, 3):
            os.remove(f)
        elif i % 11 == 5:
            with open(f, "a") as fh:
                fh.write("changed\n")
    with open(os.path.join(p, "new"), "w") as fh:
        fh.write("new in %d\n" % d)
PY
sleep 1.1
backup incremental "$src"
adm "expire inventory wait=yes" >/dev/null 2>&1
s2=$(sessions)
adm "replicate node web01 maxsessions=4 wait=yes verify=yes" --json >"$T/r3.json" 2>&1
check "expired versions in every range are deleted at the target" \
    test "$(json_get "$T/r3.json" objects_deleted)" -ge 2400
s3=$(sessions)
check "by several sessions ($s2 -> $s3)" test "$((s3 - s2))" -ge 2
check "the changes travel, none failed" test "$(json_get "$T/r3.json" objects_failed)" = 0
check "verify finds no difference" test "$(json_get "$T/r3.json" differences)" = 0
hot_restores changed

# A target that takes one server session refuses the extra ones: the
# process fails, naming the refusal.
use HOTSITE
stop_server
echo "MAXSESSIONS 1" >>"$HOTSITE_DIR/cofferd.opt"
restart_server HOTSITE || { fail "hot site restarts"; finish; }
save HOTSITE
use PRIMARY
adm "update server HOTSITE lladdress=$HOTSITE_PORT" >/dev/null 2>&1
python3 - "$src" <<'PY'
import os, sys
p = os.path.join(sys.argv[1], "late")
os.makedirs(p)
for i in range(3000):
    with open(os.path.join(p, "l%04d" % i), "w") as f:
        f.write("late %d\n" % i * 4)
PY
backup incremental "$src"
late=$n
adm "replicate node web01 maxsessions=4 wait=yes" >"$T/r4.out" 2>&1
rc=$?
check "a refused session fails the replication (rc $rc)" test "$rc" -ge 8
check "naming the session" grep -q "replication session [2-4] of 4" "$T/r4.out"
check "and the target's refusal" grep -q "ANR0429W" "$T/r4.out"

use HOTSITE
stop_server
sed -i '/^MAXSESSIONS/d' "$HOTSITE_DIR/cofferd.opt"
restart_server HOTSITE || { fail "hot site restarts"; finish; }
save HOTSITE
before=$(committed_objects)
use PRIMARY
adm "update server HOTSITE lladdress=$HOTSITE_PORT" >/dev/null 2>&1
adm "replicate node web01 maxsessions=4 wait=yes" --json >"$T/r5.json" 2>&1
r5=$(json_get "$T/r5.json" objects_sent)
check "the rerun completes" test "$(json_get "$T/r5.json" objects_failed)" = 0
check "and sends no more than the target lacked ($r5 of $late new; the target held $before)" \
    test "$r5" -gt 0 -a "$r5" -le "$late"
hot_restores rerun
adm "replicate node web01 maxsessions=4 wait=yes" --json >"$T/r6.json" 2>&1
check "then the node is consistent" test "$(json_get "$T/r6.json" objects_sent)" = 0

for s in HOTSITE PRIMARY; do use $s; stop_server; done
finish
