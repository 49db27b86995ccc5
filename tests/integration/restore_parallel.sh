#!/bin/sh
# The parallel restore (client/restore.c: worker threads decode, verify and
# write) gives the same tree with 1 and with 4 workers: many small files in
# many directories, hard links, symlinks, a sparse file, awkward names,
# modes and the mtimes of files and directories.  A chunk that fails its
# SHA-256 (COFFER_FAULT_RESTORE_CORRUPT flips a bit after decoding) fails
# its file: the file is not there, no temp file is left, the other files
# are restored, the exit status is 4 and --json counts the failure.
tid="parallel restore"
. "$(dirname "$0")/lib.sh"

start_server SRV1 || { fail "server starts"; finish; }
ok "server starts on port $SRV_PORT"
check "register node" adm "register node n1 node1-secret"

src="$T/data/tree"
python3 - "$src" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(7)
for d in range(40):
    dd = os.path.join(root, "d%02d" % d, "sub %d" % (d % 7))
    os.makedirs(dd, exist_ok=True)
    for f in range(30):
        with open(os.path.join(dd, "f%03d.txt" % f), "wb") as fh:
            fh.write(rnd.randbytes(rnd.randrange(0, 9000)))
os.makedirs(os.path.join(root, "odd", "-dash"), exist_ok=True)
for n in ["with space", "new\nline", "ünïcödé", "-leading", "*star?"]:
    with open(os.path.join(root, "odd", n), "w") as fh:
        fh.write(n * 3)
with open(os.path.join(root, "big.bin"), "wb") as fh:
    fh.write(rnd.randbytes(3 << 20))
with open(os.path.join(root, "sparse.img"), "wb") as fh:
    fh.truncate(24 << 20)
    fh.seek(9 << 20)
    fh.write(b"middle" * 1000)
open(os.path.join(root, "empty"), "w").close()
# Data, then zero blocks to the end within the same chunk: the size comes
# from the recipe, not from the last byte written.
with open(os.path.join(root, "tailzero"), "wb") as fh:
    fh.write(rnd.randbytes(5000) + bytes(16384))
for i in range(5):
    os.link(os.path.join(root, "d01", "sub 1", "f00%d.txt" % i),
            os.path.join(root, "odd", "hl%d" % i))
os.symlink("../big.bin", os.path.join(root, "odd", "to-big"))
os.symlink("/nonexistent", os.path.join(root, "odd", "dangling"))
os.chmod(os.path.join(root, "odd", "-dash"), 0o750)
os.chmod(os.path.join(root, "empty"), 0o600)
for d, dirs, files in os.walk(root, topdown=False):
    os.utime(d, (1000000000, 1000000000 + len(d)), follow_symlinks=False)
PY

# same_tree does not look at directories' mtimes; these are set last.
dir_mtimes() {
	(cd "$1" && find . -mindepth 1 -type d -printf '%p %T@\n' | sort)
}

cli n1 node1-secret --json incremental "$src" > "$T/b1.json" 2> "$T/b1.err"
check "backup exits 0" test $? -eq 0

for n in 1 4; do
	COFFER_RESTORE_THREADS=$n cli n1 node1-secret --json restore "$src/" \
	    "$T/r$n/" --subdir=yes > "$T/r$n.json" 2> "$T/r$n.err"
	check "restore with $n worker(s) exits 0" test $? -eq 0
	check "restore with $n worker(s) equals the original" same_tree "$src" "$T/r$n"
	check "restore with $n worker(s) keeps directory mtimes" test \
	    "$(dir_mtimes "$src")" = "$(dir_mtimes "$T/r$n")"
	# Every object but the tree's root, which is DEST itself.
	check "restore with $n worker(s) counts every object" test \
	    "$(json_get "$T/r$n.json" objects_restored)" -eq \
	    "$(($(json_get "$T/b1.json" objects_backed_up) - 1))"
	check "restore with $n worker(s) fails nothing" test \
	    "$(json_get "$T/r$n.json" objects_failed)" -eq 0
	alloc=$(du -k "$T/r$n/sparse.img" | cut -f1)
	check "sparse file keeps its holes with $n worker(s) ($alloc KiB)" test "$alloc" -lt 2048
	check "hard links restored as links with $n worker(s)" test \
	    "$(stat -c %i "$T/r$n/d01/sub 1/f003.txt")" = "$(stat -c %i "$T/r$n/odd/hl3")"
done
check "both restores report the same bytes" test \
    "$(json_get "$T/r1.json" bytes_restored)" = "$(json_get "$T/r4.json" bytes_restored)"

# One corrupted chunk of a multi-chunk file restored alone.
COFFER_FAULT_RESTORE_CORRUPT=2 cli n1 node1-secret --json restore "$src/big.bin" \
    "$T/c1/" > "$T/c1.json" 2> "$T/c1.err"
rc=$?
check "a corrupted chunk gives exit status 4 (got $rc)" test "$rc" -eq 4
check "the corrupted file is not restored" test ! -e "$T/c1/big.bin"
check "no temp file is left behind" test -z "$(ls -A "$T/c1")"
check "the message names the verification" grep -q "failed verification" "$T/c1.err"
check "--json counts one failure" test "$(json_get "$T/c1.json" objects_failed)" -eq 1

# One corrupted chunk somewhere in the tree: only that file fails.
COFFER_FAULT_RESTORE_CORRUPT=300 cli n1 node1-secret --json restore "$src/" \
    "$T/c2/" --subdir=yes > "$T/c2.json" 2> "$T/c2.err"
rc=$?
check "a corrupted chunk in a tree gives exit status 4 (got $rc)" test "$rc" -eq 4
check "--json counts one failed object" test "$(json_get "$T/c2.json" objects_failed)" -eq 1
check "no temp file is left in the tree" test -z "$(find "$T/c2" -name '.coffer-restore.*')"
bad=$(python3 - "$src" "$T/c2" <<'PY'
import os, sys
a, b = sys.argv[1], sys.argv[2]
missing = differ = 0
for d, dirs, files in os.walk(a):
    for n in files:
        p = os.path.join(d, n)
        q = os.path.join(b, os.path.relpath(p, a))
        if os.path.islink(p):
            continue
        if not os.path.exists(q):
            missing += 1
        elif open(p, "rb").read() != open(q, "rb").read():
            differ += 1
print(missing, differ)
PY
)
check "only the corrupted file is missing and none differs ($bad)" test "$bad" = "1 0"

finish
