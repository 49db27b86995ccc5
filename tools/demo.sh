#!/bin/sh
# Coffer demo: build, then show the storage-pool engine on a real directory
# tree in a scratch directory.  Safe to run anywhere: it writes only below
# a fresh temporary directory (kept with KEEP=1).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }

step "Installing build dependencies (Debian packages, if missing)"
"$top/tools/install-deps.sh"

step "Building Coffer"
cd "$top"
if [ ! -x "$top/coffer-pool" ] || [ ! -f "$top/Makefile" ]; then
	if [ ! -f "$top/Makefile" ]; then
		autoreconf -fi >/dev/null
		./configure -q
	fi
fi
make -s -j2 >/dev/null
POOL="$top/coffer-pool"
note "built $(ls "$top"/coffer-pool)"

scratch=$(mktemp -d /tmp/coffer-demo.XXXXXX)
cleanup() { [ "${KEEP:-0}" = 1 ] && echo "kept $scratch" || rm -rf "$scratch"; }
trap cleanup EXIT
src="$scratch/src"

step "Preparing a real directory tree to protect"
mkdir -p "$src"
for d in /usr/include/openssl /usr/share/doc /usr/lib/python3/dist-packages; do
	[ -d "$d" ] && cp -a "$d" "$src/" 2>/dev/null || true
done
# A sparse "disk image": mostly holes, some data.
truncate -s 256M "$src/disk.img"
dd if=/usr/bin/bash of="$src/disk.img" bs=64k seek=100 conv=notrunc status=none
note "$(find "$src" -type f | wc -l) files, $(du -sh --apparent-size "$src" | cut -f1) logical"

step "Creating a container pool (zstd level 3, 64 MiB containers)"
"$POOL" create --container-max 64M "$scratch/pool"

step "First backup of the tree into the pool"
"$POOL" store "$scratch/pool" "$src"

step "Changing the tree: one line in a big file, a new file, a deleted file"
big=$(find "$src" -type f -size +200k ! -name disk.img | head -1)
printf 'one changed line\n' >> "$big"
cp /etc/services "$src/new-file"
rm -f "$(find "$src" -name '*.html' | head -1)"
note "changed $big"

step "Second backup: only new chunks are stored"
"$POOL" store "$scratch/pool" "$src"

step "Pool figures: deduplication and compression"
"$POOL" stats "$scratch/pool"

step "Reading everything back and comparing with the files on disk"
"$POOL" verify --against "$scratch/pool" 2>&1 | grep -v '^coffer-pool: .*open original' || true
note "(the deleted file's object is still in the pool; its original is gone)"

step "Restoring into a new directory and comparing byte for byte"
"$POOL" extract "$scratch/pool" "$scratch/restore"
python3 - "$src" "$scratch/restore$src" <<'PY'
import filecmp, os, sys
src, dst = sys.argv[1], sys.argv[2]
n = bad = 0
for root, dirs, files in os.walk(src):
    for f in files:
        a = os.path.join(root, f)
        if os.path.islink(a) or not os.path.isfile(a):
            continue   # the pool tool stores regular files; the client does the rest
        b = os.path.join(dst, os.path.relpath(a, src))
        n += 1
        if not os.path.isfile(b) or not filecmp.cmp(a, b, shallow=False):
            bad += 1
            print("   DIFFERS:", a)
print("   compared %d regular files: %d differ" % (n, bad))
sys.exit(1 if bad else 0)
PY
note "restored files are identical"
note "disk.img: $(du -h "$scratch/restore$src/disk.img" | cut -f1) allocated of 256M (holes kept)"

step "Auditing the pool: every chunk re-read and checked"
"$POOL" audit "$scratch/pool"

step "Simulating bit rot: flipping one bit inside a container"
ctr=$(find "$scratch/pool/containers" -name '*.ctr' | head -1)
python3 - "$ctr" <<'PY'
import sys
f = open(sys.argv[1], 'r+b'); f.seek(4096); b = f.read(1); f.seek(4096)
f.write(bytes([b[0] ^ 0x10])); f.close()
PY
"$POOL" audit "$scratch/pool" && echo "audit missed the damage" && exit 1 || note "audit found the damaged chunk (exit status 8)"

step "Removing the first backup's objects of one folder, then reclaiming space"
"$POOL" remove "$scratch/pool" "$src/doc"
"$POOL" reclaim --reclaim-pct 90 "$scratch/pool"
"$POOL" stats "$scratch/pool"

step "Done"
note "Everything above ran on this machine, in $scratch."
