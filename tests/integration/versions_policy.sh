#!/bin/sh
# Deleted files stay restorable as inactive versions, point-in-time restore
# returns the older version, and expiration follows the domain's policy.
tid="versions and policy"
. "$(dirname "$0")/lib.sh"

start_server SRV2 || { fail "server starts"; finish; }
adm "define domain short verexists=2 verdeleted=1 retextra=0 retonly=0" >/dev/null
check "register node in domain SHORT" adm "register node n2 node2-secret domain=short"

src="$T/data"
mkdir -p "$src"
echo "version one" > "$src/file.txt"
echo "keep me" > "$src/gone.txt"
cli n2 node2-secret incremental "$src" > "$T/b1.out" 2>&1
check "first backup" grep -q "objects" "$T/b1.out"
sleep 2
t1=$(date '+%Y-%m-%d %H:%M:%S')
sleep 2
echo "version two" > "$src/file.txt"
rm "$src/gone.txt"
cli n2 node2-secret incremental "$src" > "$T/b2.out" 2>&1

cli n2 node2-secret restore "$src/gone.txt" "$T/r-active/" > "$T/ra.out" 2>&1
check "deleted file is not restored as active" test ! -e "$T/r-active/gone.txt"
cli n2 node2-secret restore --inactive "$src/gone.txt" "$T/r-inact/" > "$T/ri.out" 2>&1
check "deleted file restores with --inactive" grep -q "keep me" "$T/r-inact/gone.txt"

cli n2 node2-secret restore --pitdate "$t1" "$src/file.txt" "$T/r-pit/" > "$T/rp.out" 2>&1
check "point-in-time restore returns the older version" grep -q "version one" "$T/r-pit/file.txt"
cli n2 node2-secret restore "$src/file.txt" "$T/r-now/" > /dev/null 2>&1
check "plain restore returns the newest version" grep -q "version two" "$T/r-now/file.txt"

cli n2 node2-secret --json query backup "$src/" --inactive > "$T/q1.json" 2>&1
check "query backup lists inactive versions" grep -q '"inactive"' "$T/q1.json"

# retextra=0 / retonly=0: inactive versions expire at once.
adm "expire inventory wait=yes" --json > "$T/exp.json" 2>&1
check "expire inventory reports deletions" test "$(json_get "$T/exp.json" objects_deleted)" -ge 2
cli n2 node2-secret restore --inactive "$src/gone.txt" "$T/r-after/" > /dev/null 2>&1
check "expired version is gone" test ! -e "$T/r-after/gone.txt"
cli n2 node2-secret restore "$src/file.txt" "$T/r-after2/" > /dev/null 2>&1
check "active version survives expiration" grep -q "version two" "$T/r-after2/file.txt"
finish
