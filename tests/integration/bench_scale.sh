#!/bin/sh
# tools/bench-scale, the generator of tools/bench scale, at a tiny size:
# its tree backs up and then backs up unchanged, and the versions it sends
# through the node protocol are the versions the server then reports
# (query occupancy, query backup --inactive, query filespace), expire
# inventory included.
tid="bench-scale generator"
. "$(dirname "$0")/lib.sh"

GEN="$top_builddir/tools/bench-scale"
[ -x "$GEN" ] || { echo "# $GEN not built"; exit 77; }

start_server SCALE || { fail "server starts"; finish; }
adm "register node gen gen-secret-1" >/dev/null

check "bench-scale tree makes 1000 files" "$GEN" tree "$T/tree" 1000 250
check "  in 4 directories of 250" test "$(find "$T/tree" -type f | wc -l)" = 1000 -a \
    "$(ls "$T/tree" | wc -l)" = 4 -a "$(ls "$T/tree/d00003" | wc -l)" = 250

cli gen gen-secret-1 --json incremental "$T/tree" >"$T/b1.out" 2>&1
check "the tree backs up: 1005 objects (root, 4 directories, 1000 files)" \
    test "$(json_get "$T/b1.out" objects_backed_up)" = 1005

COFFER_PASSWORD=gen-secret-1 "$GEN" gen --server "127.0.0.1:$SRV_PORT" \
    --ca "$SRV_DIR/tls/ca.pem" --node gen --fs /synth --paths 500 \
    --versions 5000 --chunks 64 --chunk-kib 4 --txn 1000 >"$T/gen.json" 2>"$T/gen.err"
st=$?
check "bench-scale gen exits 0" test "$st" = 0
check "  the server committed all 5000 versions" \
    test "$(json_get "$T/gen.json" committed)" = 5000 -a "$(json_get "$T/gen.json" failed)" = 0
check "  10 generations, 64 chunks sent once" \
    test "$(json_get "$T/gen.json" generations)" = 10 -a "$(json_get "$T/gen.json" chunks_sent)" = 64

adm "query occupancy" --json >"$T/occ.json" 2>&1
occ() {	# occ FILESPACE: its objects in query occupancy
	python3 -c 'import json,sys
print(sum(r["objects"] for r in json.load(open(sys.argv[1]))["rows"] if r["filespace_name"] == sys.argv[2]))' "$T/occ.json" "$1"
}
check "query occupancy: 5000 versions in /synth" test "$(occ /synth)" = 5000

cli gen gen-secret-1 --json query backup /synth/ --inactive >"$T/q.json" 2>&1
rows() {	# rows FILE STATE: rows of query backup's JSON in that state
	python3 -c 'import json,sys
print(sum(1 for r in json.load(open(sys.argv[1]))["rows"] if sys.argv[2] in ("any", r["state"])))' "$1" "$2"
}
check "query backup --inactive lists the 5000 versions (over two pages)" test "$(rows "$T/q.json" any)" = 5000
check "  500 of them active" test "$(rows "$T/q.json" active)" = 500
cli gen gen-secret-1 --json query backup /synth/d00000/f0000007 --inactive >"$T/q1.json" 2>&1
check "  one path has its 10 versions" test "$(rows "$T/q1.json" any)" = 10

cli gen gen-secret-1 --json incremental "$T/tree" >"$T/b2.out" 2>&1
check "the unchanged tree sends nothing" test "$(json_get "$T/b2.out" objects_backed_up)" = 0 -a \
    "$(json_get "$T/b2.out" objects_inspected)" = 1005

# STANDARD keeps 2 versions a path: 8 of every 10 go.
adm "expire inventory wait=yes" --json >"$T/exp.json" 2>&1
check "expire inventory deletes 4000 versions" test "$(json_get "$T/exp.json" objects_deleted)" = 4000
adm "query occupancy" --json >"$T/occ.json" 2>&1
check "  query occupancy: 1000 left in /synth" test "$(occ /synth)" = 1000
cli gen gen-secret-1 --json query filespace >"$T/fs.json" 2>&1
check "  query filespace agrees" python3 -c 'import json,sys
r=[r for r in json.load(open(sys.argv[1]))["rows"] if r["filespace_name"] == "/synth"]
sys.exit(0 if r and r[0]["objects"] == 1000 and r[0]["bytes"] == 1000 * 4096 else 1)' "$T/fs.json"

stop_server
finish
