#!/bin/sh
# VMs by name: a libvirt domain XML with several disks (raw, qcow2, a path
# with spaces, a cdrom), sparse images of a few hundred MiB, backed up,
# changed, backed up again, restored at the latest version and at a point
# in time, under a new name, and in DR order.  Checks what an
# administrator would: the images restored byte for byte and sparse, the
# second backup sending about what changed, clear errors.
tid="vm backup"
. "$(dirname "$0")/lib.sh"

start_server VMS || { fail "server starts"; finish; }
adm "register node hv1 hv1-secret-pw" >/dev/null
conf="$T/qemu"
img="$T/images"
mkdir -p "$conf" "$img/with space"


mkimage "$img/web01-root.raw" 300 1
mkimage "$img/with space/web01 data.raw" 200 2
if command -v qemu-img >/dev/null 2>&1; then
	qemu-img create -q -f qcow2 "$img/web01-log.qcow2" 64M
	qdisk="<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$img/web01-log.qcow2'/><target dev='vdc' bus='virtio'/></disk>"
else
	echo "# qemu-img missing (Debian qemu-utils): no qcow2 disk"
	qdisk=
fi
cat > "$conf/web01.xml" <<EOF
<domain type='kvm'>
  <name>web01</name>
  <uuid>2c5f4a0e-8d1b-4f7e-9a63-0b2d4e6f8a10</uuid>
  <memory unit='KiB'>2097152</memory>
  <vcpu placement='static'>2</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source file='$img/web01-root.raw'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$img/with space/web01 data.raw'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    $qdisk
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/nonexistent/install.iso' startupPolicy='optional'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
  </devices>
</domain>
EOF
for f in "$img"/*.raw "$img"/*.qcow2 "$img/with space"/*.raw; do
	[ -f "$f" ] && cp --sparse=always "$f" "$f.v1"
done

vm() { cli hv1 hv1-secret-pw --vmconfdir "$conf" "$@"; }

vm --json backup vm web01 >"$T/b1.json" 2>"$T/b1.err"
check "first VM backup succeeds" test "$(json_get "$T/b1.json" rc)" = 0
check "the cdrom is noted, not fatal" grep -q "sda.*not backed up" "$T/b1.err"
nd=3; [ -n "$qdisk" ] || nd=2
check "domain XML and every disk stored" \
    test "$(json_get "$T/b1.json" objects_backed_up)" = $((nd + 1))
read1=$(json_get "$T/b1.json" bytes_inspected)
check "holes are skipped, not read" test "$read1" -lt $((200 << 20))

vm --json backup vm web01 >"$T/b2.json" 2>"$T/b2.err"
check "an unchanged VM reads no image" \
    test "$(json_get "$T/b2.json" bytes_inspected)" -lt 65536
check "an unchanged VM sends nothing" test "$(json_get "$T/b2.json" bytes_sent)" = 0
sleep 1.1
t1=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1.1

change "$img/web01-root.raw" 32 7		# 2 MiB
vm --json backup vm web01 >"$T/b3.json" 2>"$T/b3.err"
sent=$(json_get "$T/b3.json" bytes_sent)
check "after a 2 MiB change about 2 MiB travel ($sent bytes)" \
    test "$sent" -ge $((2 << 20)) -a "$sent" -le $((3 << 20))

vm --json query vm >"$T/q.json" 2>&1
check "query vm lists three versions" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["rows"]
assert len(r) == 1 and r[0]["vm_name"] == "web01" and r[0]["versions"] == 3, r
assert r[0]["disks"] == int(sys.argv[2]) and r[0]["drprotect"] is False, r' \
    "$T/q.json" "$nd"

vm --json restore vm web01 --target-dir "$T/r-latest" >"$T/r1.json" 2>"$T/r1.err"
check "restore at the latest version" test "$(json_get "$T/r1.json" rc)" = 0
check "root disk equals the image byte for byte" \
    cmp "$img/web01-root.raw" "$T/r-latest/web01-root.raw"
check "the disk path with spaces restores" \
    cmp "$img/with space/web01 data.raw" "$T/r-latest/web01 data.raw"
if [ -n "$qdisk" ]; then
	check "the qcow2 disk restores as the file it is" \
	    cmp "$img/web01-log.qcow2" "$T/r-latest/web01-log.qcow2"
	check "qemu-img reads the restored qcow2" \
	    qemu-img check -q "$T/r-latest/web01-log.qcow2"
fi
a0=$(allocated "$img/web01-root.raw"); a1=$(allocated "$T/r-latest/web01-root.raw")
check "the restored image keeps its holes (${a1} KiB for ${a0} KiB)" \
    test "$a1" -le $((a0 + 1024))
check "the restored XML points at the restored disks" \
    grep -q "source file=.$T/r-latest/web01-root.raw" "$T/r-latest/web01.xml"

vm --json restore vm web01 --pitdate "$t1" --target-dir "$T/r-pit" >"$T/r2.json" 2>&1
check "point-in-time restore gives the first version" \
    cmp "$img/web01-root.raw.v1" "$T/r-pit/web01-root.raw"

vm restore vm web01 --newname web02 --target-dir "$T/r-new" >"$T/r3.out" 2>&1
check "restore under a new name" cmp "$img/web01-root.raw" "$T/r-new/web02-root.raw"
check "the new XML has the new name" grep -q "<name>web02</name>" "$T/r-new/web02.xml"
check "the new XML has a new UUID" sh -c "! grep -q 2c5f4a0e-8d1b '$T/r-new/web02.xml'"

vm restore vm web01 --target-dir "$T/r-latest" >"$T/r4.out" 2>&1
rc=$?
check "existing images are not overwritten without --replace (rc $rc)" test $rc -ne 0
check "the refusal names the image" grep -q "exists" "$T/r4.out"
vm restore vm web01 >"$T/r5.out" 2>&1
check "restore to the original paths refuses to overwrite" grep -q "exists.*--replace" "$T/r5.out"
check "and leaves the original image alone" cmp "$img/web01-root.raw" "$T/r-latest/web01-root.raw"

vm backup vm nosuchvm >"$T/e1.out" 2>&1
rc=$?
check "an unknown VM fails (rc $rc)" test $rc -ne 0
check "the error names the VM and the file" grep -q "nosuchvm.*nosuchvm.xml" "$T/e1.out"

mv "$img/with space/web01 data.raw" "$T/moved.raw"
vm --json backup vm web01 >"$T/e2.json" 2>"$T/e2.err"
check "a missing disk image fails the VM" test "$(json_get "$T/e2.json" rc)" -ne 0
check "the error names the disk" grep -q "disk vdb.*web01 data.raw" "$T/e2.err"
vm --json query vm web01 >"$T/q2.json" 2>&1
check "the failed backup made no version" python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))["rows"][0]["versions"] == 3' "$T/q2.json"
mv "$T/moved.raw" "$img/with space/web01 data.raw"

# DR order: two more VMs, one small each; the admin marks priorities.
for v in mgmt01 cust01; do mkimage "$img/$v.raw" 8 3; done
for v in mgmt01 cust01; do vm_xml $v "$img/$v.raw" >"$conf/$v.xml"; done
vm backup vm mgmt01 cust01 >"$T/b4.out" 2>&1
check "two VMs in one command" test "$(grep -c "backed up," "$T/b4.out")" = 2
adm "update filespace hv1 VM:mgmt01 drprotect=yes drpriority=1" >/dev/null
adm "update filespace hv1 VM:cust01 drprotect=yes drpriority=2" >/dev/null
vm restore vm --drorder --target-dir "$T/r-dr" >"$T/dr.out" 2>&1
check "DR order restores mgmt01 first, then cust01, not web01" python3 -c '
import re, sys
t = open(sys.argv[1]).read()
order = re.findall(r"^VM (\S+) restored", t, re.M)
assert order == ["mgmt01", "cust01"], (order, t)' "$T/dr.out"
check "each DR restore reports its time" grep -q "restored: .* s$" "$T/dr.out"
check "DR restores are byte-identical" cmp "$img/mgmt01.raw" "$T/r-dr/mgmt01.raw"
vm --json query vm mgmt01 >"$T/q3.json" 2>&1
check "query vm shows the DR flag and priority" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["rows"][0]
assert r["drprotect"] is True and r["drpriority"] == 1, r' "$T/q3.json"

check "audit finds no damage" sh -c \
    "$(printf '%s' "'$ADMIN' --server 127.0.0.1:$SRV_PORT --ca '$SRV_DIR/tls/ca.pem' --json -c 'audit container wait=yes'") | grep -q '\"damaged\":0'"
stop_server
finish
