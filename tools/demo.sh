#!/bin/sh
# Coffer demo: the nightly-backup and recovery story, end to end, on this
# machine.  It installs what it needs, builds, formats a server in a
# scratch directory, starts it on 127.0.0.1, and drives it with the real
# client and admin console, saying what it does at each step.
# Writes only below a fresh temporary directory (kept with KEEP=1).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bold=$(printf '\033[1m'); off=$(printf '\033[0m')
[ -t 1 ] || { bold=; off=; }
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
note() { printf '   %s\n' "$*"; }
json() { python3 -c 'import json,sys; d=json.loads([l for l in sys.stdin if l.startswith("{")][-1]); print(d[sys.argv[1]])' "$1"; }

step "Installing build dependencies (Debian packages, if missing)"
"$top/tools/install-deps.sh"

step "Building Coffer"
cd "$top"
# Live VM backup (libvirt, libnbd) is built in where install-deps put them.
lvopt=
pkg-config --exists libvirt libnbd 2>/dev/null && lvopt=--with-libvirt
if [ ! -f "$top/Makefile" ] || { [ -n "$lvopt" ] &&
    ! grep -q '^#define HAVE_LIBVIRT 1' "$top/config.h" 2>/dev/null; }; then
	autoreconf -fi >/dev/null
	./configure -q $lvopt
fi
make -s -j2 >/dev/null
note "built cofferd, coffer, coffer-admin and coffer-pool in $top"

scratch=$(mktemp -d /tmp/coffer-demo.XXXXXX)
srv_pid=
hot_pid=
lv_pid=
ceph_up=
cleanup() {
	[ -n "$ceph_up" ] && bash "$top/tests/integration/ceph.sh" stop "$cd_ceph" >/dev/null 2>&1
	if [ -n "$lv_pid" ]; then	# a failed live-VM step: undo it
		for d in mgmt02-dr mgmt02; do
			virsh -q -c "$uri" destroy $d >/dev/null 2>&1
			virsh -q -c "$uri" undefine $d --checkpoints-metadata >/dev/null 2>&1
		done
		kill "$lv_pid" 2>/dev/null && wait "$lv_pid" 2>/dev/null
		if [ -f "$lv/qemu.conf.saved" ]; then cp "$lv/qemu.conf.saved" "$qconf"; else rm -f "$qconf"; fi
	fi
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
	[ -n "$hot_pid" ] && kill "$hot_pid" 2>/dev/null && wait "$hot_pid" 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT
export COFFER_ADMIN_PASSWORD="demo-admin-$$"
export COFFER_PASSWORD="demo-node-$$"

step "Formatting a server instance (catalog, container pool, CA and certificate)"
"$top/cofferd" format --dir "$scratch/primary" --name PRIMARY
note "the administrator ADMIN's password comes from COFFER_ADMIN_PASSWORD, never argv"

step "Starting cofferd on 127.0.0.1 (a free port)"
"$top/cofferd" --dir "$scratch/primary" --port 0 >"$scratch/cofferd.out" 2>"$scratch/cofferd.err" &
srv_pid=$!
i=0
until grep -q 'ready on' "$scratch/cofferd.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 200 ] || { cat "$scratch/cofferd.err"; exit 1; }
	sleep 0.05
done
cat "$scratch/cofferd.out"
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$scratch/cofferd.out")
ca="$scratch/primary/tls/ca.pem"
adm() { "$top/coffer-admin" --server "127.0.0.1:$port" --ca "$ca" "$@"; }
cli() { "$top/coffer" --server "127.0.0.1:$port" --ca "$ca" --node WEB01 "$@"; }

step "Registering node WEB01 (coffer-admin, like dsmadmc)"
adm -c "register node web01 $COFFER_PASSWORD contact='web team'" | sed 's/^/   /'
adm -c "query node" | sed 's/^/   /'

step "Preparing a real directory tree to protect"
src="$scratch/srv/www"
mkdir -p "$src"
for d in /usr/share/doc /usr/include/openssl /usr/lib/python3/dist-packages; do
	[ -d "$d" ] && cp -a "$d" "$src/" 2>/dev/null || true
done
truncate -s 256M "$src/disk.img"
dd if=/usr/bin/bash of="$src/disk.img" bs=64k seek=100 conv=notrunc status=none
note "$(find "$src" | wc -l) entries, $(du -sh --apparent-size "$src" | cut -f1) logical (a 256 MiB sparse image among them)"

step "Nightly backup #1: progressive incremental (first run sends everything once)"
cli incremental "$src" | sed 's/^/   /'

step "The day's changes: a line appended, a file added, a file deleted"
big=$(find "$src" -type f -size +100k ! -name disk.img | head -1)
printf 'one changed line\n' >> "$big"
cp /etc/services "$src/new-file"
victim=$(find "$src" -type f -name '*.h' | head -1)
cp "$victim" "$scratch/victim.copy"
rm -f "$victim"
note "changed: $big"
note "deleted: $victim"
sleep 1
pit=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1

step "Nightly backup #2: only what changed is read, only missing chunks cross the wire"
cli --json incremental "$src" > "$scratch/b2.json"
note "objects backed up: $(json objects_backed_up < "$scratch/b2.json"), bytes sent over TLS: $(json bytes_sent < "$scratch/b2.json")"

step "Nightly backup #3 with nothing changed"
cli --json incremental "$src" > "$scratch/b3.json"
note "objects backed up: $(json objects_backed_up < "$scratch/b3.json"), bytes sent: $(json bytes_sent < "$scratch/b3.json")"

step "The nightly schedule: the server says when, the client scheduler runs it"
adm -c "define schedule standard nightly action=incremental objects='$src' starttime=now duration=2 durunits=hours period=1 perunits=days description='web tree, every night'" | sed 's/^/   /'
adm -c "define association standard nightly web01" | sed 's/^/   /'
adm -c "set randomize 0" >/dev/null
note "RANDOMIZE spreads the nightly starts over the window's first part; 0 for the demo"
cli sched --once --queryschedperiod 1s --schedlogname "$scratch/sched.log" >/dev/null 2>&1
grep -E "started|ended" "$scratch/sched.log" | sed 's/^/   coffer sched: /'
adm -c "query event standard nightly" | sed 's/^/   /'

step "What the server holds (query filespace, query occupancy, query stgpool)"
cli query filespace | sed 's/^/   /'
adm -c "query occupancy" | sed 's/^/   /'
adm -c "query stgpool" | sed 's/^/   /'

step "Disaster on the client: restoring the whole tree to a new place"
cli restore "$src/" "$scratch/restored/" --subdir=yes | tail -4 | sed 's/^/   /'
python3 - "$src" "$scratch/restored" <<'PY'
import filecmp, os, sys
a, b = sys.argv[1], sys.argv[2]
n = bad = 0
for root, dirs, files in os.walk(a):
    for f in files:
        p = os.path.join(root, f); q = os.path.join(b, os.path.relpath(p, a))
        n += 1
        if os.path.islink(p):
            ok = os.path.islink(q) and os.readlink(p) == os.readlink(q)
        else:
            ok = os.path.isfile(q) and filecmp.cmp(p, q, shallow=False) and int(os.lstat(p).st_mtime) == int(os.lstat(q).st_mtime)
        if not ok:
            bad += 1; print("   DIFFERS:", p)
print("   compared %d files, symlinks included: %d differ" % (n, bad))
sys.exit(1 if bad else 0)
PY
note "disk.img: $(du -h "$scratch/restored/disk.img" | cut -f1) allocated of 256M: holes stay holes"

step "Someone deleted a file yesterday: restoring its inactive version"
cli restore --inactive "$victim" "$scratch/undelete/" >/dev/null
cmp "$victim.copy" "$scratch/undelete/$(basename "$victim")" 2>/dev/null ||
	cmp "$scratch/victim.copy" "$scratch/undelete/$(basename "$victim")"
note "restored $(basename "$victim"): identical to what was deleted"

step "Point-in-time restore of the changed file, as it was before the change"
cli restore --pitdate "$pit" "$big" "$scratch/pit/" >/dev/null
if tail -1 "$scratch/pit/$(basename "$big")" | grep -q 'one changed line'; then
	echo "point-in-time restore returned the new version"; exit 1
fi
note "$(basename "$big") restored without the line added after $pit"

step "A virtual machine: libvirt domain mgmt01 (domain XML + a 512 MiB sparse disk)"
vmconf="$scratch/qemu"; vmimg="$scratch/images"
mkdir -p "$vmconf" "$vmimg"
python3 - "$vmimg/mgmt01-root.raw" <<'PY'
import random, sys
rnd = random.Random(7)
with open(sys.argv[1], "wb") as f:
    f.truncate(512 << 20)                      # a thin-provisioned disk
    for i in range(400):                       # ~25 MiB the guest wrote
        f.seek(rnd.randrange(0, (512 << 20) // 65536) * 65536)
        f.write(rnd.randbytes(65536) if i % 2 else (b"syslog line %d\n" % i) * 4000)
PY
cat > "$vmconf/mgmt01.xml" <<EOF
<domain type='kvm'>
  <name>mgmt01</name>
  <uuid>6f1c2a9e-0b7d-4c3e-8f21-9a4b5c6d7e80</uuid>
  <memory unit='KiB'>1048576</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$vmimg/mgmt01-root.raw'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>
  </devices>
</domain>
EOF
note "image: $(du -h --apparent-size "$vmimg/mgmt01-root.raw" | cut -f1) logical, $(du -h "$vmimg/mgmt01-root.raw" | cut -f1) allocated"

step "backup vm mgmt01: the XML and the disk as one version (holes are not read)"
cli --vmconfdir "$vmconf" backup vm mgmt01 2>&1 | grep -E "^VM|not backed up|transferred" | sed 's/^/   /'

step "The guest writes 2 MiB in 32 scattered places; backup vm again"
python3 - "$vmimg/mgmt01-root.raw" <<'PY'
import random, sys
rnd = random.Random(8)
with open(sys.argv[1], "r+b") as f:
    for _ in range(32):
        f.seek(rnd.randrange(0, (512 << 20) // 65536) * 65536)
        f.write(rnd.randbytes(65536))
PY
cli --vmconfdir "$vmconf" --json backup vm mgmt01 2>"$scratch/vm2.err" >"$scratch/vm2.json"
grep "^VM" "$scratch/vm2.err" | sed 's/^/   /'
note "sent $(json bytes_sent <"$scratch/vm2.json") bytes for 2097152 changed bytes"

step "The administrator marks mgmt01 for DR, priority 1 (update filespace)"
adm -c "update filespace WEB01 VM:mgmt01 drprotect=yes drpriority=1" | sed 's/^/   /'
cli query vm | sed 's/^/   /'

step "Disaster: restoring mgmt01 by name, as mgmt01-dr, into a new directory"
cli --vmconfdir "$vmconf" restore vm mgmt01 --newname mgmt01-dr \
    --target-dir "$scratch/vm-restored" 2>&1 | grep -E "^VM" | sed 's/^/   /'
cmp "$vmimg/mgmt01-root.raw" "$scratch/vm-restored/mgmt01-dr-root.raw"
note "mgmt01-dr-root.raw is identical to the disk; $(du -h "$scratch/vm-restored/mgmt01-dr-root.raw" | cut -f1) allocated: sparse"
note "mgmt01-dr.xml: $(grep -o '<name>[^<]*</name>' "$scratch/vm-restored/mgmt01-dr.xml"), a new UUID, disk $(grep -o 'source file="[^"]*"' "$scratch/vm-restored/mgmt01-dr.xml" | head -1)"

step "The DR order: every DR-protected VM, lowest priority number first"
cli --vmconfdir "$vmconf" restore vm --drorder --target-dir "$scratch/vm-dr" 2>&1 |
	grep -E "^(DR|VM)" | sed 's/^/   /'

step "A running VM: mgmt02 under QEMU, backed up live through libvirt (changed blocks only)"
lv_why=
grep -q '^#define HAVE_LIBVIRT 1' "$top/config.h" 2>/dev/null || lv_why="coffer built without --with-libvirt"
[ -n "$lv_why" ] || [ "$(id -u)" = 0 ] || lv_why="a private system libvirtd needs root"
for p in libvirtd virsh qemu-system-x86_64 qemu-img qemu-io; do
	[ -n "$lv_why" ] || command -v $p >/dev/null 2>&1 || lv_why="$p is missing"
done
[ -n "$lv_why" ] || ! pgrep -x libvirtd >/dev/null 2>&1 || lv_why="a libvirtd already runs here"
if [ -n "$lv_why" ]; then
	note "skipped: $lv_why (tests/integration/vm_libvirt.sh shows the same)"
else
	lv="$scratch/libvirt"; mkdir -p "$lv"
	qconf=/etc/libvirt/qemu.conf
	if [ -f "$qconf" ]; then cp "$qconf" "$lv/qemu.conf.saved"; fi
	getent passwd libvirt-qemu >/dev/null || useradd --system --no-create-home \
	    --shell /usr/sbin/nologin --user-group libvirt-qemu 2>/dev/null || true
	mkdir -p /etc/libvirt
	printf 'user = "root"\ngroup = "root"\ndynamic_ownership = 0\nremember_owner = 0\nsecurity_driver = "none"\nstdio_handler = "file"\n' >"$qconf"
	printf 'log_outputs="2:file:%s/libvirtd.log"\nunix_sock_dir="%s"\nunix_sock_group="root"\nauth_unix_rw="none"\nauth_unix_ro="none"\n' "$lv" "$lv" >"$lv/libvirtd.conf"
	uri="qemu:///system?socket=$lv/libvirt-sock"
	libvirtd --config "$lv/libvirtd.conf" --pid-file "$lv/libvirtd.pid" >"$lv/stdout" 2>&1 &
	lv_pid=$!
	i=0
	until virsh -q -c "$uri" version >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 80 ] || { cat "$lv/stdout"; exit 1; }
		sleep 0.25
	done
	note "a private libvirtd (pid $lv_pid) on $lv/libvirt-sock; QEMU emulates (no KVM here)"
	V() { virsh -q -c "$uri" "$@"; }
	python3 - "$scratch/mgmt02-seed.raw" <<'PY'
import random, sys
rnd = random.Random(2)
with open(sys.argv[1], "wb") as f:
    f.truncate(256 << 20)
    for off in (0, 128 << 20):                 # 8 MiB and 4 MiB of data
        f.seek(off)
        f.write(rnd.randbytes((8 if off == 0 else 4) << 20))
PY
	qemu-img convert -q -f raw -O qcow2 "$scratch/mgmt02-seed.raw" "$vmimg/mgmt02-os.qcow2"
	rm -f "$scratch/mgmt02-seed.raw"
	cat >"$scratch/mgmt02.xml" <<EOF
<domain type='qemu'>
  <name>mgmt02</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$vmimg/mgmt02-os.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <interface type='user'><mac address='52:54:00:d3:00:02'/><model type='virtio'/></interface>
  </devices>
</domain>
EOF
	V define "$scratch/mgmt02.xml" >/dev/null
	V start mgmt02 >/dev/null
	note "mgmt02 runs: $(V domstate mgmt02), a 256 MiB qcow2 disk holding 12 MiB"
	cli --libvirt-uri "$uri" backup vm mgmt02 2>&1 | grep -E "running|vda|^VM" | sed 's/^/   /'
	note "the guest writes 256 KiB (a repeated byte) through its own block layer; backup vm again"
	V qemu-monitor-command mgmt02 --hmp \
	    'qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "write -P 0x77 64M 256k"' >/dev/null
	qemu-img convert -U -f qcow2 -O raw "$vmimg/mgmt02-os.qcow2" "$scratch/mgmt02-guest.raw"
	cli --libvirt-uri "$uri" backup vm mgmt02 2>&1 | grep -E "vda|^VM" | sed 's/^/   /'

	step "Restoring mgmt02 by name into libvirt as mgmt02-dr, defined and started"
	cli --libvirt-uri "$uri" restore vm mgmt02 --newname mgmt02-dr \
	    --target-dir "$scratch/vm-live" --define --start 2>&1 | grep -E "^VM|qcow2" | sed 's/^/   /'
	qemu-img compare -U -q -f raw "$scratch/mgmt02-guest.raw" "$scratch/vm-live/mgmt02-dr-os.qcow2"
	note "mgmt02-dr: $(V domstate mgmt02-dr); its disk is a $(qemu-img info -U --output=json "$scratch/vm-live/mgmt02-dr-os.qcow2" | sed -n 's/.*"format": "\([a-z0-9]*\)".*/\1/p' | head -1) image equal to what the guest saw at the backup"
	for d in mgmt02-dr mgmt02; do
		V destroy $d >/dev/null 2>&1 || true
		V undefine $d --checkpoints-metadata >/dev/null 2>&1 || true
	done
	kill "$lv_pid" 2>/dev/null; wait "$lv_pid" 2>/dev/null || true; lv_pid=
	if [ -f "$lv/qemu.conf.saved" ]; then cp "$lv/qemu.conf.saved" "$qconf"; else rm -f "$qconf"; fi
	note "both domains removed, libvirtd stopped, $qconf put back"
fi

step "A storage pool on Ceph: a single-node cluster on loopback, its S3 gateway, a cloud pool"
cd_ceph="$scratch/ceph"; mkdir -p "$cd_ceph"
if bash "$top/tests/integration/ceph.sh" start "$cd_ceph" >"$scratch/ceph.start" 2>&1; then
	ceph_up=1
	. "$cd_ceph/env"
	note "Ceph (1 mon, 1 mgr, 1 OSD, radosgw) answers at $RGW_URL"
	bash "$top/tests/integration/ceph.sh" mkbucket "$cd_ceph" coffer-archive
	# The secret goes in on stdin, not argv; the server keeps it sealed.
	printf 'define stgpool cephpool stgtype=cloud cloudurl=%s bucket=coffer-archive identity=%s password=%s\n' \
	    "$RGW_URL" "$S3_ACCESS" "$S3_SECRET" | adm | grep -v '^coffer-admin>' | sed 's/^/   /'
	adm -c "define domain archive destination=cephpool" | sed 's/^/   /'
	adm -c "register node archive01 $COFFER_PASSWORD domain=archive" | sed 's/^/   /'
	acli() { "$top/coffer" --server "127.0.0.1:$port" --ca "$ca" --node ARCHIVE01 "$@"; }
	# Data of its own: a chunk the pool holds already is not stored twice.
	python3 - "$scratch/archive" <<'PY'
import os, random, sys
rnd = random.Random(11)
os.makedirs(sys.argv[1])
for i in range(24):
    with open(os.path.join(sys.argv[1], "scan%02d.dat" % i), "wb") as f:
        f.write(rnd.randbytes(1 << 20))
PY
	acli --json incremental "$scratch/archive" >"$scratch/arch.json" 2>"$scratch/arch.err"
	note "ARCHIVE01 backed up $(json objects_backed_up <"$scratch/arch.json") objects (24 MiB) into its domain's destination, CEPHPOOL"
	acli restore "$scratch/archive/" "$scratch/arch-restored/" --subdir=yes >/dev/null 2>&1
	diff -r "$scratch/archive" "$scratch/arch-restored" && note "restored from Ceph: identical"
	adm --json -c "query stgpool" | python3 -c 'import json,sys
for r in json.load(sys.stdin)["rows"]:
    print("   %-14s %-9s %3s containers %6s chunks %12s bytes stored" % (r["stgpool_name"], r["type"], r["containers"], r["chunks"], r["stored_bytes"]))'
	note "Ceph stays up while the primary serves (audits read the cloud pool too)"
else
	note "skipped: $(tail -1 "$scratch/ceph.start") (tests/integration/ceph_pool.sh shows the same)"
fi

step "Audit: every chunk in the pool re-read and checked (audit container wait=yes)"
adm -c "audit container wait=yes" | sed 's/^/   /'

step "Expiration by policy (domain STANDARD: 2 versions, 1 deleted, 30/60 days)"
adm -c "expire inventory wait=yes" | sed 's/^/   /'

step "A wrong password is refused, and says so"
COFFER_PASSWORD=wrong-password cli query filespace 2>&1 | sed 's/^/   /' || true

step "The activity log (query actlog, last lines)"
adm -c "query actlog" | tail -6 | sed 's/^/   /'

step "The hot site: a second server, HOTSITE, formatted and started on 127.0.0.1"
"$top/cofferd" format --dir "$scratch/hotsite" --name HOTSITE >/dev/null
"$top/cofferd" --dir "$scratch/hotsite" --port 0 >"$scratch/hot.out" 2>"$scratch/hot.err" &
hot_pid=$!
i=0
until grep -q 'ready on' "$scratch/hot.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 200 ] || { cat "$scratch/hot.err"; exit 1; }
	sleep 0.05
done
sed 's/^/   /' "$scratch/hot.out"
hport=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$scratch/hot.out")
hca="$scratch/hotsite/tls/ca.pem"
hadm() { "$top/coffer-admin" --server "127.0.0.1:$hport" --ca "$hca" "$@"; }

step "Each server defines the other (certificate + server password), then PING SERVER"
spw="demo-serverpw-$$"
adm -c "define server hotsite serverpassword=$spw hladdress=127.0.0.1 lladdress=$hport cafile=$hca" | sed 's/^/   /'
hadm -c "define server primary serverpassword=$spw hladdress=127.0.0.1 lladdress=$port cafile=$ca" | sed 's/^/   /'
adm -c "set replserver hotsite" | sed 's/^/   /'
adm -c "ping server hotsite" | sed 's/^/   /'
adm -c "update node web01 replstate=enabled replmode=send" | sed 's/^/   /'

step "Nightly replication: replicate node web01 wait=yes (files and the VM)"
adm --json -c "replicate node web01 wait=yes" >"$scratch/repl1.json"
python3 - "$scratch/repl1.json" <<'PY'
import json, sys
d = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
print("   %d versions, %d chunks, %.1f MiB sent to HOTSITE" % (
    d["objects_sent"], d["chunks_sent"], d["bytes_sent"] / 1048576))
PY

step "Replication follows the backups every night: an administrative schedule"
adm -c "define schedule replnight type=administrative cmd='replicate node * wait=yes' active=yes starttime=now duration=1 durunits=hours period=1 perunits=days" | sed 's/^/   /'
i=0
until adm --json -c "query event replnight type=administrative" 2>/dev/null | grep -q '"Completed"'; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "the administrative schedule did not run"; exit 1; }
	sleep 0.2
done
adm -c "query event replnight type=administrative" | sed 's/^/   /'

step "The next night nothing changed: one digest per filespace, nothing sent"
adm --json -c "replicate node web01 wait=yes" >"$scratch/repl2.json"
note "versions sent: $(json objects_sent <"$scratch/repl2.json"), filespaces consistent at once: $(json filespaces_consistent <"$scratch/repl2.json") of $(json filespaces <"$scratch/repl2.json")"
adm -c "query replication web01" | sed 's/^/   /'

step "A disk at the primary flips a bit: audit finds it, fix=yes mends it from the hot site"
python3 - "$scratch/primary" <<'PY'
import sqlite3, sys
d = sys.argv[1]
db = sqlite3.connect("file:%s/catalog.db?mode=ro" % d, uri=True)
# A chunk of the directory pool (store 0: ids below 2^48), not of Ceph.
ctr, off, n = db.execute("SELECT container, offset, stored_len FROM chunk"
                         " WHERE refcount > 0 AND container < (1 << 48)"
                         " ORDER BY stored_len DESC LIMIT 1").fetchone()
path = "%s/pool/containers/%02x/%016x.ctr" % (d, ctr & 0xff, ctr)
with open(path, "r+b") as f:
    f.seek(off + 64 + n // 2); b = f.read(1); f.seek(off + 64 + n // 2)
    f.write(bytes([b[0] ^ 0x01]))
print("   flipped one bit in container %016x at offset %d" % (ctr, off + 64 + n // 2))
PY
adm -c "audit container wait=yes fix=yes" | sed 's/^/   /'
adm --json -c "audit container wait=yes" >"$scratch/audit2.json"
note "a second audit: $(json damaged <"$scratch/audit2.json") damaged chunks"

step "Disaster: the primary site is lost (cofferd PRIMARY stopped)"
kill -TERM "$srv_pid"; wait "$srv_pid" 2>/dev/null || true; srv_pid=
note "PRIMARY on port $port no longer answers"

step "Failover: the client restores from the hot site by itself (REPLSERVER)"
cat > "$scratch/coffer.opt" <<EOF
SERVER 127.0.0.1:$port
CAFILE $ca
NODENAME WEB01
VMCONFDIR $vmconf
REPLSERVER 127.0.0.1:$hport
REPLCAFILE $hca
EOF
"$top/coffer" --optfile "$scratch/coffer.opt" restore "$src/" "$scratch/failover/" --subdir=yes 2>&1 |
	grep -E "ANS2106I|objects restored" | sed 's/^/   /'
diff -r --no-dereference "$src" "$scratch/failover" >/dev/null
note "the tree restored from HOTSITE is identical to the one backed up (diff -r)"
"$top/coffer" --optfile "$scratch/coffer.opt" restore vm --drorder --target-dir "$scratch/failover-vm" 2>&1 |
	grep -E "^(DR|VM)" | sed 's/^/   /'
cmp "$vmimg/mgmt01-root.raw" "$scratch/failover-vm/mgmt01-root.raw" && note "mgmt01's disk from HOTSITE is identical"

step "Backups go on at the hot site during the disaster (role swap: replmode send)"
hadm -c "update node web01 replstate=enabled replmode=send" | sed 's/^/   /'
echo "written at the hot site during the disaster" > "$src/during-disaster.txt"
"$top/coffer" --server "127.0.0.1:$hport" --ca "$hca" --node WEB01 incremental "$src" 2>&1 |
	grep -E "objects backed up" | sed 's/^/   /'

step "Failback, part 1: the hot site exports WEB01 to encrypted tape volumes"
mkdir -p "$scratch/tapes"
hadm -c "define devclass tapes devtype=file directory=$scratch/tapes maxcapacity=64M" | sed 's/^/   /'
export_key="demo tape key $$"
hadm --json -c "export node web01 filedata=all devclass=tapes encryptkey=\"$export_key\" wait=yes" >"$scratch/export.json"
python3 - "$scratch/export.json" <<'PY'
import json, os, sys
d = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
print("   %d versions, %.1f MiB of chunks on %d volumes: %s" % (d["objects"],
    d["bytes"] / 1048576, len(d["volumes"]), ", ".join(os.path.basename(v) for v in d["volumes"])))
PY
vols=$(python3 -c 'import json,sys,os; d=json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1]); print(",".join(os.path.basename(v) for v in d["volumes"]))' "$scratch/export.json")
COFFER_VOLUME_KEY="$export_key" "$top/coffer-vol" verify "$scratch"/tapes/* 2>&1 | tail -1 | sed 's/^/   coffer-vol: /'
hadm -c "move drmedia * wherestate=mountable tostate=courier" 2>&1 | head -2 | sed 's/^/   /'

step "Failback, part 2: a rebuilt, empty primary (NEWPRIM) imports the volumes"
"$top/cofferd" format --dir "$scratch/newprim" --name NEWPRIM >/dev/null
"$top/cofferd" --dir "$scratch/newprim" --port 0 --metrics-port 0 >"$scratch/np.out" 2>"$scratch/np.err" &
srv_pid=$!
i=0
until grep -q 'metrics on' "$scratch/np.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 200 ] || { cat "$scratch/np.err"; exit 1; }
	sleep 0.05
done
nport=$(sed -n 's/.* ready on .*:\([0-9]*\)$/\1/p' "$scratch/np.out")
nmetrics=$(sed -n 's/.* metrics on \(http[^ ]*\)$/\1/p' "$scratch/np.out")
sed 's/^/   /' "$scratch/np.out"
nca="$scratch/newprim/tls/ca.pem"
nadm() { "$top/coffer-admin" --server "127.0.0.1:$nport" --ca "$nca" "$@"; }
nadm -c "define devclass tapes devtype=file directory=$scratch/tapes maxcapacity=64M" | sed 's/^/   /'
nadm --json -c "import node web01 devclass=tapes volumenames=$vols encryptkey=\"$export_key\" wait=yes" >"$scratch/import.json"
note "imported $(json objects_imported <"$scratch/import.json") versions, stored $(json chunks_stored <"$scratch/import.json") chunks"

step "Failback, part 3: more backups at the hot site, then the top-off by replication"
echo "one more change after the export" >> "$src/during-disaster.txt"
"$top/coffer" --server "127.0.0.1:$hport" --ca "$hca" --node WEB01 incremental "$src" >/dev/null 2>&1
hadm -c "define server newprim serverpassword=$spw hladdress=127.0.0.1 lladdress=$nport cafile=$nca" | sed 's/^/   /'
nadm -c "define server hotsite serverpassword=$spw hladdress=127.0.0.1 lladdress=$hport cafile=$hca" | sed 's/^/   /'
nadm -c "update node web01 replmode=receive" | sed 's/^/   /'
hadm -c "set replserver newprim" | sed 's/^/   /'
hadm --json -c "replicate node web01 wait=yes" >"$scratch/topoff.json"
note "top-off: $(json objects_sent <"$scratch/topoff.json") versions and $(json bytes_sent <"$scratch/topoff.json") bytes sent: only what changed since the export"

step "Roles swap back: NEWPRIM is the primary again, HOTSITE receives"
nadm -c "update node web01 replstate=enabled replmode=send" | sed 's/^/   /'
nadm -c "set replserver hotsite" | sed 's/^/   /'
hadm -c "update node web01 replmode=receive" | sed 's/^/   /'
nadm --json -c "replicate node web01 wait=yes" >"$scratch/back.json"
note "NEWPRIM -> HOTSITE: $(json objects_sent <"$scratch/back.json") versions sent, $(json filespaces_consistent <"$scratch/back.json") of $(json filespaces <"$scratch/back.json") filespaces already consistent"
nadm -c "backup db devclass=tapes type=full wait=yes" 2>&1 | grep -E "ANR0987I|volumes" | sed 's/^/   /'

step "At the new primary: the tree and mgmt01, restored by name"
"$top/coffer" --server "127.0.0.1:$nport" --ca "$nca" --node WEB01 restore "$src/" "$scratch/newprim-restore/" --subdir=yes >/dev/null 2>&1
diff -r --no-dereference "$src" "$scratch/newprim-restore" >/dev/null
note "the tree at NEWPRIM is identical to the latest backup (diff -r)"
"$top/coffer" --server "127.0.0.1:$nport" --ca "$nca" --node WEB01 --vmconfdir "$vmconf" restore vm mgmt01 --target-dir "$scratch/newprim-vm" 2>&1 |
	grep -E "^VM" | sed 's/^/   /'
cmp "$vmimg/mgmt01-root.raw" "$scratch/newprim-vm/mgmt01-root.raw" && note "mgmt01's disk at NEWPRIM is identical"

step "The primary's pool, inspected offline (coffer-pool on the stopped server)"
"$top/coffer-pool" --db "$scratch/primary/catalog.db" stats "$scratch/primary/pool" | sed 's/^/   /'
"$top/coffer-pool" --db "$scratch/primary/catalog.db" audit "$scratch/primary/pool" 2>&1 | sed 's/^/   /'

step "Objectives: WEB01 must never be more than 24h behind (RPO), the site back within 72h (RTO)"
nadm -c "update node web01 rpo=24h" | sed 's/^/   /'
nadm -c "set rto 72h" | sed 's/^/   /'
nadm --json -c "query node web01 format=detailed" >"$scratch/qn.json"
python3 - "$scratch/qn.json" <<'PY'
import json, sys
r = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])["rows"][0]
print("   RPO %s: %s; newest copy here %s old, at the hot site %s old (last backup %s, last replication %s)" % (
    r["rpo"], r["rpo_status"].upper(), r["newest_copy_here_age"], r["newest_copy_hotsite_age"],
    r["last_backup"], r["last_replication"]))
PY

step "Metrics for Prometheus: the same state over HTTP on loopback ($nmetrics)"
python3 - "$nmetrics" <<'PY'
import re, sys, urllib.request
page = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
for line in page.splitlines():
    if re.match(r'coffer_(node_rpo_met|node_newest_copy_age_seconds|pool_logical_bytes|pool_stored_bytes|sessions_started_total|received_bytes_total)\b', line):
        print("   " + line)
PY

step "The recovery plan (prepare): written from live state, readable at 3 a.m."
nadm --json -c "prepare" >"$scratch/prepare.json" || true
plan=$(json plan_file <"$scratch/prepare.json")
note "$plan: $(grep -c '' "$plan") lines, stanzas: $(sed -n 's/^begin //p' "$plan" | tr '\n' ' ')"
sed -n '/^begin PLAN.SUMMARY/,/^end PLAN.SUMMARY/p' "$plan" | sed 's/^/   | /'
note "...then the failover runbook starts:"
sed -n '/^begin RECOVERY.SCRIPT.FAILOVER/,/^end RECOVERY.SCRIPT.FAILOVER/p' "$plan" | sed -n '2,12p' | sed 's/^/   | /'

if [ -n "$ceph_up" ]; then
	bash "$top/tests/integration/ceph.sh" stop "$cd_ceph" >/dev/null 2>&1; ceph_up=
	note "the Ceph daemons are stopped (by their PIDs)"
fi

step "Stopping NEWPRIM and the hot site"
kill -TERM "$srv_pid"; wait "$srv_pid" 2>/dev/null || true; srv_pid=
kill -TERM "$hot_pid"; wait "$hot_pid" 2>/dev/null || true; hot_pid=
note "the plan was $plan (the scratch directory is kept with KEEP=1)"

step "Done"
note "Everything above ran on this machine, in $scratch."
