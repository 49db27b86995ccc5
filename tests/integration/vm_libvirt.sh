#!/bin/sh
# Live VM backup through libvirt: a private libvirtd runs a tiny guest
# under QEMU emulation (TCG, no KVM, no guest OS: its block layer runs
# all the same) with a qcow2 and a raw disk.  The guest's block layer
# writes into the qcow2 disk (qemu-io through the monitor) between two
# backups by name; the second must read only the dirty blocks.  Restores
# by name at each point in time must equal the guest's disk then, byte
# for byte; a restored copy is defined and started in libvirt; a broken
# checkpoint chain falls back to a full read and says so.
#
# Needs root and Debian's libvirt-daemon, libvirt-daemon-driver-qemu,
# libvirt-clients, qemu-system-x86, qemu-utils (tools/install-deps.sh);
# otherwise it is skipped (77).  Side effects, all undone at the end:
# while it runs, /etc/libvirt/qemu.conf is replaced by one that runs
# QEMU as root without a security driver (the saved file is put back);
# the system user libvirt-qemu is created if missing (libvirt's QEMU
# driver looks it up before reading qemu.conf; it is left in place).
# libvirtd listens on a socket in the test's directory and is stopped by
# its PID.
tid="vm libvirt"
. "$(dirname "$0")/lib.sh"

skip() { echo "# SKIP: $*"; exit 77; }
grep -q '^#define HAVE_LIBVIRT 1' "$top_builddir/config.h" 2>/dev/null ||
	skip "coffer built without --with-libvirt"
[ "$(id -u)" = 0 ] || skip "needs root for a private system libvirtd"
for p in libvirtd virsh qemu-system-x86_64 qemu-img; do
	command -v $p >/dev/null 2>&1 || skip "$p missing (apt-get install" \
	    "libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients" \
	    "qemu-system-x86 qemu-utils)"
done
# One system libvirtd per machine: its QEMU driver state is shared.
if [ -f /run/libvirtd.pid ] && kill -0 "$(cat /run/libvirtd.pid)" 2>/dev/null ||
    pgrep -x libvirtd >/dev/null 2>&1; then
	skip "a libvirtd already runs on this machine (its QEMU driver state is shared)"
fi

LV="$T/libvirt"
mkdir -p "$LV"
QCONF=/etc/libvirt/qemu.conf
lv_cleanup() {
	if [ -n "${LV_PID:-}" ]; then
		for d in vmlv01 vmlv02; do
			virsh -q -c "$URI" destroy $d >/dev/null 2>&1
			virsh -q -c "$URI" undefine $d --checkpoints-metadata \
			    >/dev/null 2>&1
		done
		kill "$LV_PID" 2>/dev/null
		i=0
		while kill -0 "$LV_PID" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
	fi
	if [ -f "$LV/qemu.conf.saved" ]; then
		cp "$LV/qemu.conf.saved" "$QCONF"
	elif [ -f "$LV/qemu.conf.none" ]; then
		rm -f "$QCONF"
	fi
	cleanup
}
trap lv_cleanup EXIT

getent passwd libvirt-qemu >/dev/null ||
	useradd --system --no-create-home --shell /usr/sbin/nologin \
	    --user-group libvirt-qemu 2>/dev/null
mkdir -p /etc/libvirt
if [ -f "$QCONF" ]; then cp "$QCONF" "$LV/qemu.conf.saved"; else : >"$LV/qemu.conf.none"; fi
cat >"$QCONF" <<'CONF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
CONF
cat >"$LV/libvirtd.conf" <<CONF
log_outputs="2:file:$LV/libvirtd.log"
unix_sock_dir="$LV"
unix_sock_group="root"
auth_unix_rw="none"
auth_unix_ro="none"
CONF
URI="qemu:///system?socket=$LV/libvirt-sock"
libvirtd --config "$LV/libvirtd.conf" --pid-file "$LV/libvirtd.pid" \
    >"$LV/stdout" 2>&1 &
LV_PID=$!
i=0
until virsh -q -c "$URI" version >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 60 ] || ! kill -0 "$LV_PID" 2>/dev/null; then
		sed 's/^/#   /' "$LV/stdout" | tail -5
		skip "libvirtd does not start"
	fi
	sleep 0.25
done
V() { virsh -q -c "$URI" "$@"; }

start_server VLV || { fail "server starts"; finish; }
adm "register node hv1 hv1-secret-pw" >/dev/null
vm() { cli hv1 hv1-secret-pw --libvirt-uri "$URI" "$@"; }

img="$T/images"
mkdir -p "$img"
qemu-img create -q -f qcow2 "$img/vmlv01-os.qcow2" 64M
qemu-io -f qcow2 -c "write -q -P 0xaa 0 1M" -c "write -q -P 0xbb 32M 2M" \
    "$img/vmlv01-os.qcow2" >/dev/null
qemu-img create -q -f raw "$img/vmlv01-data.raw" 16M
qemu-io -f raw -c "write -q -P 0x5a 4M 256k" "$img/vmlv01-data.raw" >/dev/null
cat >"$T/vmlv01.xml" <<XML
<domain type='qemu'>
  <name>vmlv01</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$img/vmlv01-os.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$img/vmlv01-data.raw'/><target dev='vdb' bus='virtio'/></disk>
    <interface type='user'><mac address='52:54:00:11:22:33'/><model type='virtio'/></interface>
  </devices>
</domain>
XML
V define "$T/vmlv01.xml" >/dev/null || { fail "define the guest"; finish; }

# A shut-off domain: its files, read directly.
vm --json backup vm vmlv01 >"$T/b0.json" 2>"$T/b0.err"
check "a shut-off domain backs up from its files" \
    test "$(json_get "$T/b0.json" rc)" = 0
check "no backup job for a shut-off domain" \
    sh -c "! grep -q pull-mode '$T/b0.err'"

if ! V start vmlv01 >"$T/start.out" 2>&1; then
	sed 's/^/#   /' "$T/start.out"
	fail "the guest starts under TCG"
	finish
fi

# The guest disk as it is now, as the guest sees it.
snap() {	# snap TAG
	qemu-img convert -U -f qcow2 -O raw "$img/vmlv01-os.qcow2" "$T/vda.$1"
	cp "$img/vmlv01-data.raw" "$T/vdb.$1"
}
gwrite() {	# gwrite PATTERN OFFSET LEN: through the guest's block layer
	V qemu-monitor-command vmlv01 --hmp \
	    "qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend \"write -P $1 $2 $3\"" \
	    >>"$T/qemu-io.out" 2>&1
}
jobnone() { V domjobinfo vmlv01 | grep -q "Job type:.*None"; }
# An aborted job ends in QEMU after libvirt returned: give it 5 s.
jobgone() { i=0; until jobnone || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done; jobnone; }
same_disk() {	# same_disk RAW IMAGE: the image's guest view is RAW's bytes
	qemu-img compare -q -f raw "$1" "$2"
}
is_qcow2() { qemu-img info --output=json "$1" | grep -q '"format": "qcow2"'; }
disk_read() {	# disk_read ERRFILE TARGET: bytes the client read from it
	sed -n "s/.*disk $2: \([0-9]*\) bytes read.*/\1/p" "$1" | tail -1
}

vm --json backup vm vmlv01 >"$T/b1.json" 2>"$T/b1.err"
check "the first live backup succeeds" test "$(json_get "$T/b1.json" rc)" = 0
check "a running domain is read through a pull-mode backup" \
    grep -q "running: its disks are read through a libvirt pull-mode" "$T/b1.err"
check "the first live backup of a disk is a full read" \
    grep -q "vda: the server's last version has no checkpoint" "$T/b1.err"
check "the raw disk is read whole" grep -q "disk vdb is raw: read whole" "$T/b1.err"
check "no backup job is left running" jobnone
check "one checkpoint of this node" \
    test "$(V checkpoint-list vmlv01 --name | grep -c '^coffer-hv1-')" = 1
full_s=$(json_get "$T/b1.json" elapsed_s)
full_read=$(disk_read "$T/b1.err" vda)
echo "# full: vda $full_read bytes read, $full_s s"
snap t1
sleep 1.1
t1=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1.1

# 192 KiB + 64 KiB + 64 KiB written by the guest: 320 KiB.
gwrite 0xab 10M 192k
gwrite 0xcd 40M 64k
gwrite 0xee 63M 64k
written=$((320 << 10))
snap t2
vm --json backup vm vmlv01 >"$T/b2.json" 2>"$T/b2.err"
check "the incremental live backup succeeds" test "$(json_get "$T/b2.json" rc)" = 0
inc_read=$(disk_read "$T/b2.err" vda)
inc_s=$(json_get "$T/b2.json" elapsed_s)
echo "# incremental: vda $inc_read bytes read for $written written, $inc_s s"
check "the second backup reads only the dirty blocks ($inc_read for $written)" \
    test "${inc_read:-999999999}" -ge "$written" -a "${inc_read:-999999999}" -le $((written + (128 << 10)))
check "and says it reads changed blocks only" \
    grep -q "disk vda: .* bytes read (changed blocks only)" "$T/b2.err"
check "no backup job is left running" jobnone
check "the older checkpoint is deleted" \
    test "$(V checkpoint-list vmlv01 --name | grep -c '^coffer-hv1-')" = 1

vm --json restore vm vmlv01 --target-dir "$T/r2" >"$T/r2.json" 2>&1
check "restore by name at the latest version" test "$(json_get "$T/r2.json" rc)" = 0
check "the qcow2 disk equals the guest's disk at the second backup" \
    same_disk "$T/vda.t2" "$T/r2/vmlv01-os.qcow2"
check "the qcow2 disk read live is restored as a qcow2 file again" \
    is_qcow2 "$T/r2/vmlv01-os.qcow2"
check "which qemu-img checks clean" qemu-img check -q "$T/r2/vmlv01-os.qcow2"
check "no temporary guest view is left" \
    sh -c "! ls -A '$T/r2' | grep -q coffer-restore"
check "the raw disk equals the guest's at the second backup" \
    cmp "$T/vdb.t2" "$T/r2/vmlv01-data.raw"
check "the restored XML describes the image as qcow2, without Coffer's metadata" python3 -c '
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
d = r.find("devices")
k = [x for x in d.findall("disk") if x.find("target").get("dev") == "vda"][0]
assert k.find("driver").get("type") == "qcow2", ET.tostring(k)
assert k.find("source").get("file") == sys.argv[2], ET.tostring(k)
assert "urn:coffer:vm-backup" not in open(sys.argv[1]).read()' \
    "$T/r2/vmlv01.xml" "$T/r2/vmlv01-os.qcow2"

vm --json restore vm vmlv01 --pitdate "$t1" --target-dir "$T/r1" >"$T/r1.json" 2>&1
check "restore by name at the first backup" test "$(json_get "$T/r1.json" rc)" = 0
check "the qcow2 disk equals the guest's disk at the first backup" \
    same_disk "$T/vda.t1" "$T/r1/vmlv01-os.qcow2"
check "the raw disk equals the guest's at the first backup" \
    cmp "$T/vdb.t1" "$T/r1/vmlv01-data.raw"

vm restore vm vmlv01 --newname vmlv02 --target-dir "$T/r3" --define --start \
    >"$T/r3.out" 2>&1
check "a restore by name defines and starts the copy" \
    grep -q "VM vmlv02: defined in libvirt and started" "$T/r3.out"
check "the copy runs" test "$(V domstate vmlv02)" = running
check "the copy has its own UUID" \
    test "$(V domuuid vmlv02)" != "$(V domuuid vmlv01)"
check "the copy's disks are the restored images" \
    sh -c "virsh -q -c '$URI' domblklist vmlv02 | grep -q '$T/r3/vmlv02-os.qcow2'"
check "the copy does not keep the original's MAC" \
    sh -c "! virsh -q -c '$URI' dumpxml vmlv02 | grep -q 52:54:00:11:22:33"

# Disks cut in 4 MiB segments (client/vm_seg.h; 8 GiB in production): an
# incremental from the one-object version before, then one from a
# segmented version, each taking the clean blocks from the segments of
# the version before it.
gwrite 0x31 6M 64k
gwrite 0x32 50M 128k
snap s1
COFFER_VM_SEGMENT=4M vm --json backup vm vmlv01 >"$T/bs1.json" 2>"$T/bs1.err"
check "an incremental into segments from one object succeeds" \
    test "$(json_get "$T/bs1.json" rc)" = 0
check "and reads only the dirty blocks" \
    test "$(disk_read "$T/bs1.err" vda)" -le $(((192 + 128) << 10))
gwrite 0x33 30M 64k
snap s2
COFFER_VM_SEGMENT=4M vm --json backup vm vmlv01 >"$T/bs2.json" 2>"$T/bs2.err"
check "an incremental from segments into segments succeeds" \
    test "$(json_get "$T/bs2.json" rc)" = 0
check "and reads only the dirty blocks, too" \
    test "$(disk_read "$T/bs2.err" vda)" -le $((128 << 10))
check "both disks and the XML are stored, a disk counted once" \
    test "$(json_get "$T/bs2.json" objects_backed_up)" = 3
vm --json restore vm vmlv01 --target-dir "$T/rs2" >"$T/rs2.json" 2>&1
check "the segmented live version restores the qcow2 disk" \
    same_disk "$T/vda.s2" "$T/rs2/vmlv01-os.qcow2"
check "and the raw disk" cmp "$T/vdb.s2" "$T/rs2/vmlv01-data.raw"

# Someone deletes Coffer's checkpoint: the next backup reads all, says so.
for c in $(V checkpoint-list vmlv01 --name); do
	V checkpoint-delete vmlv01 "$c" >/dev/null
done
gwrite 0x77 20M 64k
snap t3
vm --json backup vm vmlv01 >"$T/b3.json" 2>"$T/b3.err"
check "a broken checkpoint chain still backs up" test "$(json_get "$T/b3.json" rc)" = 0
check "a broken checkpoint chain makes a full read, said" \
    grep -q "vda: the server's last version has no checkpoint in libvirt" "$T/b3.err"
vm --json restore vm vmlv01 --target-dir "$T/r4" >"$T/r4.json" 2>&1
check "and that version restores whole" same_disk "$T/vda.t3" "$T/r4/vmlv01-os.qcow2"
check "no backup job is left running" jobnone

# A coffer killed midway leaves its pull-mode job running: the next
# backup ends it (its pid is gone) and goes on.  A job that is not
# coffer's is left alone and the VM fails.
pulljob() {	# pulljob DIR: a pull backup of vda with its socket in DIR
	cat >"$T/pull.xml" <<XML
<domainbackup mode='pull'><server transport='unix' socket='$1/nbd.sock'/>
<disks><disk name='vda' backup='yes' type='file'><scratch file='$1/vda.scratch'/></disk><disk name='vdb' backup='no'/></disks></domainbackup>
XML
	V backup-begin vmlv01 "$T/pull.xml" >/dev/null
}
mkdir -p "$T/other" "$T/stale/coffer-vm.dead"
sh -c 'echo $$ >"$1/pid"' sh "$T/stale/coffer-vm.dead"
pulljob "$T/other"
vm --json backup vm vmlv01 >"$T/b5.json" 2>"$T/b5.err"
check "a backup job that is not coffer's fails the VM" \
    test "$(json_get "$T/b5.json" rc)" != 0
check "and is left running" sh -c "! virsh -q -c '$URI' domjobinfo vmlv01 | grep -q 'Job type:.*None'"
V domjobabort vmlv01 >/dev/null 2>&1
i=0; until jobnone || [ $i -gt 40 ]; do sleep 0.25; i=$((i + 1)); done
pulljob "$T/stale/coffer-vm.dead"
vm --json backup vm vmlv01 >"$T/b6.json" 2>"$T/b6.err"
check "a job a dead coffer left is ended and the backup goes on" \
    test "$(json_get "$T/b6.json" rc)" = 0
check "and says so" grep -q "ended a backup job left running by a coffer that is gone" "$T/b6.err"
check "no backup job is left running" jobnone

# SIGTERM during a live backup: coffer ends the libvirt job itself and
# keeps nothing of the version.  The fault hook stops coffer (SIGSTOP) at
# its first disk read, so the signal lands while the job runs.
stopped() { case $(cat "/proc/$1/stat" 2>/dev/null) in *") T "*) return 0 ;; esac; return 1; }
if "$COFFERD" --version 2>/dev/null | grep -q '^fault injection: compiled in'; then
	cp0=$(V checkpoint-list vmlv01 --name | sort)
	gwrite 0x3c 8M 64k
	COFFER_FAULT=vm.live.read COFFER_FAULT_SIGNAL=STOP; export COFFER_FAULT COFFER_FAULT_SIGNAL
	cli_bg hv1 hv1-secret-pw --libvirt-uri "$URI" --json backup vm vmlv01 >"$T/bt.json" 2>"$T/bt.err"
	unset COFFER_FAULT COFFER_FAULT_SIGNAL
	i=0; until stopped "$CLI_PID" || [ $i -gt 200 ]; do sleep 0.05; i=$((i + 1)); done
	check "coffer stopped inside the live backup" stopped "$CLI_PID"
	check "with the backup job running" sh -c "! virsh -q -c '$URI' domjobinfo vmlv01 | grep -q 'Job type:.*None'"
	kill -TERM "$CLI_PID"; kill -CONT "$CLI_PID"
	wait "$CLI_PID"; trc=$?
	check "the backup stopped by SIGTERM fails (rc $trc)" test "$trc" -ne 0 -a "$trc" -ne 143
	check "and says SIGTERM stopped it" grep -q "backup stopped by SIGTERM" "$T/bt.err"
	check "no backup job is left after SIGTERM" jobgone
	check "the checkpoints are as before the SIGTERM" \
	    test "$(V checkpoint-list vmlv01 --name | sort)" = "$cp0"
	vm --json query vm vmlv01 >"$T/qt.json" 2>&1
	vm --json backup vm vmlv01 >"$T/b7.json" 2>"$T/b7.err"
	check "the next backup runs without finding a stale job" sh -c \
	    "test \"\$(grep -c 'ended a backup job left running' '$T/b7.err')\" = 0"
	check "and succeeds" test "$(json_get "$T/b7.json" rc)" = 0
else
	echo "# fault injection not compiled in: the SIGTERM check is skipped"
fi

# A failed backup (the server is gone) leaves no job and no new checkpoint.
cp0=$(V checkpoint-list vmlv01 --name | sort)
stop_server
vm backup vm vmlv01 >"$T/b4.out" 2>&1
check "no backup job is left after a failed backup" jobnone
check "the checkpoints are as before" \
    test "$(V checkpoint-list vmlv01 --name | sort)" = "$cp0"

finish
