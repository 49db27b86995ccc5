#!/bin/sh
# bench-vm-memory.sh BUILDDIR GIB SEGMENT: the peak memory of a VM backup
# and restore of a GIB GiB image against the disk's size (issue 4).
#
# The image has 8 non-zero bytes in every 64 KiB block: every block is a
# distinct chunk (the recipe is as long as for real data, 36 bytes a
# block) while the pool stays small and the image and its restored copy
# take 1/16 of GIB on disk.  COFFER_VM_SEGMENT=SEGMENT cuts it.  Prints
# peak RSS (GNU time) of the backup and restore clients and cofferd's RSS
# after both; checks that the restored image is equal.  A measurement,
# not a test: see BENCHMARKS.md.  Needs /usr/bin/time (Debian time).
set -eu
[ $# -eq 3 ] || { echo "usage: $0 BUILDDIR GIB SEGMENT" >&2; exit 2; }
B=$(cd "$1" && pwd); GIB=$2; SEG=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/coffer-vmmem.XXXXXX")
SP=
trap '[ -n "$SP" ] && kill "$SP" 2>/dev/null; rm -rf "$T"' EXIT
export COFFER_ADMIN_PASSWORD=admin-secret-1
"$B/cofferd" format --dir "$T/srv" --name VMMEM --port 0 >/dev/null 2>&1
"$B/cofferd" --dir "$T/srv" --port 0 >"$T/srv.out" 2>"$T/srv.err" &
SP=$!
while ! grep -q ' ready on ' "$T/srv.out" 2>/dev/null; do sleep 0.1; done
PORT=$(sed -n 's/.* ready on [^:]*:\([0-9]*\)$/\1/p' "$T/srv.out")
"$B/coffer-admin" --server "127.0.0.1:$PORT" --ca "$T/srv/tls/ca.pem" \
    -c "register node hv1 hv1-secret-pw" >/dev/null
mkdir -p "$T/conf" "$T/img"
python3 - "$T/img/big.raw" "$GIB" <<'PY'
import sys
path, gib = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.truncate(gib << 30)
    for i in range((gib << 30) // 65536):
        f.seek(i * 65536)
        f.write((i + 1).to_bytes(8, "little"))
PY
cat >"$T/conf/big.xml" <<X
<domain type='kvm'><name>big</name><memory unit='KiB'>524288</memory>
<os><type arch='x86_64'>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='raw'/>
<source file='$T/img/big.raw'/><target dev='vda' bus='virtio'/></disk>
</devices></domain>
X
export COFFER_PASSWORD=hv1-secret-pw COFFER_VM_SEGMENT="$SEG"
c="$B/coffer --server 127.0.0.1:$PORT --ca $T/srv/tls/ca.pem --node hv1 --vmconfdir $T/conf --json"
# shellcheck disable=SC2086
/usr/bin/time -v -o "$T/b.time" $c backup vm big >"$T/b.json" 2>"$T/b.err" ||
    { cat "$T/b.err" >&2; exit 1; }
# shellcheck disable=SC2086
/usr/bin/time -v -o "$T/r.time" $c restore vm big --target-dir "$T/out" \
    >"$T/r.json" 2>"$T/r.err" || { cat "$T/r.err" >&2; exit 1; }
cmp "$T/img/big.raw" "$T/out/big.raw"
rss() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
wall() { sed -n 's/.*Elapsed (wall clock) time.*: //p' "$1"; }
echo "image ${GIB} GiB, segments $SEG: restored equal"
echo "backup  client peak RSS $(rss "$T/b.time") KiB, $(wall "$T/b.time")"
echo "restore client peak RSS $(rss "$T/r.time") KiB, $(wall "$T/r.time")"
echo "cofferd RSS after both  $(ps -o rss= -p "$SP") KiB"
