#!/bin/sh
# coffer-pool stores a real tree, reads it back identically, finds damage,
# and reclaims space without losing live data.
tid="pool tool"
. "$(dirname "$0")/lib.sh"
P="$top_builddir/coffer-pool"

src="$T/src"
mkdir -p "$src/sub dir" "$src/ünïcödé" "$src/-dash"
printf 'hello\n' > "$src/sub dir/file with spaces"
: > "$src/empty"
printf 'x' > "$src/-dash/-leading"
head -c 3000000 /dev/urandom > "$src/random.bin"
cp "$src/random.bin" "$src/ünïcödé/copy.bin"          # dedups fully
seq 1 400000 > "$src/numbers.txt"                        # compresses well
truncate -s 64M "$src/sparse.img"
printf 'data in the middle' | dd of="$src/sparse.img" bs=1 seek=30000000 conv=notrunc status=none
chmod 640 "$src/numbers.txt"

check "create" "$P" create --container-max 1M "$T/pool"
"$P" --json store "$T/pool" "$src" > "$T/store.json" 2>"$T/store.err"
check "store exits 0" test $? -eq 0
check "store reports every file" grep -q '"objects_stored": 7' "$T/store.json"
check "verify against originals" "$P" verify --against "$T/pool"

"$P" extract "$T/pool" "$T/out" >/dev/null
same=1
for f in "sub dir/file with spaces" empty "-dash/-leading" random.bin \
    "ünïcödé/copy.bin" numbers.txt sparse.img; do
	cmp -s "$src/$f" "$T/out$src/$f" || { same=0; echo "# differs: $f"; }
done
check "extracted bytes equal the originals" test $same -eq 1
check "mode kept" test "$(stat -c %a "$T/out$src/numbers.txt")" = 640
check "mtime kept" test "$(stat -c %Y "$T/out$src/numbers.txt")" = "$(stat -c %Y "$src/numbers.txt")"
alloc=$(du -k "$T/out$src/sparse.img" | cut -f1)
check "sparse file restored with holes ($alloc KiB allocated)" test "$alloc" -lt 4096

# Storing the same tree again stores no new chunk.
"$P" --json store "$T/pool" "$src" > "$T/store2.json"
check "unchanged tree stores nothing new" grep -q '"chunks_new": 0' "$T/store2.json"

# Audit is clean, then a flipped bit is found and named.
check "audit clean" "$P" audit "$T/pool"
ctr=$(find "$T/pool/containers" -name '*.ctr' | sort | head -1)
python3 - "$ctr" <<'PY'
import sys
f = open(sys.argv[1], 'r+b'); f.seek(1000); b = f.read(1); f.seek(1000)
f.write(bytes([b[0] ^ 1])); f.close()
PY
"$P" audit "$T/pool" > "$T/audit.out" 2> "$T/audit.err"
check "audit exits 8 on damage" test $? -eq 8
check "audit names the damaged chunk" grep -Eq 'damaged chunk [0-9a-f]{64} in container' "$T/audit.err"
"$P" verify "$T/pool" > /dev/null 2> "$T/verify.err"
check "verify refuses damaged data" grep -q 'damaged' "$T/verify.err"

# Storing the data again repairs the damaged chunk.
"$P" store "$T/pool" "$src" > /dev/null
check "store repairs the damage" "$P" verify --against "$T/pool"

# Remove most objects, reclaim, and the rest still verifies.
before=$(du -sk "$T/pool/containers" | cut -f1)
"$P" remove "$T/pool" "$src/ünïcödé" > /dev/null
"$P" remove "$T/pool" "$src/random.bin" > /dev/null
"$P" --json reclaim --reclaim-pct 100 "$T/pool" > "$T/reclaim.json"
after=$(du -sk "$T/pool/containers" | cut -f1)
check "reclaim frees space ($before KiB -> $after KiB)" test "$after" -lt "$before"
check "live objects survive reclaim" "$P" verify --against "$T/pool"
check "audit clean after reclaim" "$P" audit "$T/pool"

# Errors name the problem.
"$P" stats "$T/nonexistent" 2> "$T/err"
check "missing pool is a clear error" grep -q "nonexistent" "$T/err"
check "unknown command is refused" sh -c "! '$P' frobnicate '$T/pool' 2>/dev/null"
finish
