#!/bin/sh
# EXPIRE INVENTORY in many small batches (COFFER_EXPIRE_BATCH=3 versions
# examined per transaction, over two nodes' filespaces): it deletes
# exactly the versions that the policy gives up, as computed here from the
# versions listed before, and every version it keeps restores
# byte-identical (the active tree, the kept inactive generation through
# --pitdate, and the deleted files through --inactive).  With fault
# injection compiled in, the server is also killed after its second batch
# committed: what that batch did stays, and the rerun finishes the rest.
tid="expire batches"
. "$(dirname "$0")/lib.sh"

export COFFER_EXPIRE_BATCH=3
start_server EXB || { fail "server starts"; finish; }
adm "define domain keep2 verexists=2 verdeleted=1 retextra=nolimit retonly=nolimit" >/dev/null
adm "define domain keep1 verexists=1 verdeleted=0 retextra=nolimit retonly=nolimit" >/dev/null
check "register n1 in KEEP2" adm "register node n1 exb-secret-1 domain=keep2"
check "register n2 in KEEP1" adm "register node n2 exb-secret-2 domain=keep1"

# gen DIR N: rewrite every file of DIR with generation N's bytes (sizes
# vary, some span several chunks).
gen() {
	python3 - "$1" "$2" <<'PY'
import os, random, sys
d, g = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
for i in range(12):
    p = os.path.join(d, "f%02d" % i)
    if g > 1 and not os.path.exists(p):
        continue
    r = random.Random("%s %d %d" % (d, i, g))
    n = r.choice([0, 7, 5000, 300000, 1100000])
    with open(p, "wb") as f:
        f.write(r.randbytes(n))
    t = 1700000000 + g * 1000 + i
    os.utime(p, (t, t))
PY
}

backup() {	# backup NODE PW DIR GEN
	cli "$1" "$2" incremental "$3" >"$T/b.$1.$4.out" 2>&1 ||
	    { fail "$1: backup of generation $4"; sed 's/^/#   /' "$T/b.$1.$4.out"; }
}

S1=$T/src1 S2=$T/src2
for g in 1 2 3; do
	gen "$S1" $g; gen "$S2" $g
	backup n1 exb-secret-1 "$S1" $g
	backup n2 exb-secret-2 "$S2" $g
	sleep 1.1
	[ $g -eq 2 ] && t2=$(date '+%Y-%m-%d %H:%M:%S') && cp -a "$S1" "$T/gen2"
	[ $g -eq 2 ] && sleep 1.1
done
cp -a "$S1" "$T/gen3"
# Deleted on the client: their last version stays per VERDELETED.
rm "$S1/f00" "$S1/f01" "$S2/f00"
backup n1 exb-secret-1 "$S1" del
backup n2 exb-secret-2 "$S2" del

listing() {	# listing NODE PW DIR OUT
	cli "$1" "$2" --json query backup "$3/" --inactive >"$4" 2>&1
}
listing n1 exb-secret-1 "$S1" "$T/n1.before"
listing n2 exb-secret-2 "$S2" "$T/n2.before"

# expected LISTING VEREXISTS VERDELETED > KEPT_IDS: the policy, by path:
# the active version and the newest inactive ones up to the limit.
expected() {
	python3 - "$@" <<'PY'
import json, sys
rows = json.loads(open(sys.argv[1]).read().splitlines()[-1])["rows"]
vx, vd = int(sys.argv[2]), int(sys.argv[3])
paths = {}
for r in rows:
    paths.setdefault(r["path"], []).append(r)
for p, vs in paths.items():
    vs.sort(key=lambda r: (r["state"] == "active", r["id"]), reverse=True)
    exists = vs[0]["state"] == "active"
    limit = vx if exists else vd
    for i, r in enumerate(vs):
        if r["state"] == "active" or i < limit:
            print(r["id"])
PY
}
ids() {	# ids LISTING: the version ids listed
	python3 -c 'import json,sys
for r in json.loads(open(sys.argv[1]).read().splitlines()[-1])["rows"]: print(r["id"])' "$1"
}
expected "$T/n1.before" 2 1 | sort -n >"$T/n1.want"
expected "$T/n2.before" 1 0 | sort -n >"$T/n2.want"
ids "$T/n1.before" | sort -n >"$T/n1.all"
ids "$T/n2.before" | sort -n >"$T/n2.all"
want_del=$(( $(cat "$T/n1.all" "$T/n2.all" | wc -l) - $(cat "$T/n1.want" "$T/n2.want" | wc -l) ))
check "the policy gives up versions of both nodes (more than a batch)" \
    test "$want_del" -gt 6

gone_now() {	# gone_now: versions deleted so far
	listing n1 exb-secret-1 "$S1" "$T/n1.now"
	listing n2 exb-secret-2 "$S2" "$T/n2.now"
	echo $(( $(cat "$T/n1.all" "$T/n2.all" | wc -l) - $( (ids "$T/n1.now"; ids "$T/n2.now") | wc -l) ))
}

if "$COFFERD" --version 2>/dev/null | grep -q '^fault injection: compiled in'; then
	stop_server
	COFFER_FAULT=expire.after_batch:2 start_server EXB ||
	    { fail "server starts armed"; finish; }
	adm "expire inventory wait=yes" >"$T/killed.out" 2>&1
	wait "$SRV_PID" 2>/dev/null
	check "the server died after the second batch" \
	    grep -q '^fault: expire.after_batch reached 2 times' "$SRV_DIR/stderr"
	start_server EXB || { fail "server restarts"; finish; }
	part=$(gone_now)
	check "two committed batches stay after the kill, the rest is not done ($part of $want_del)" \
	    test "$part" -gt 0 -a "$part" -lt "$want_del"
fi

adm "expire inventory wait=yes" --json >"$T/exp.json" 2>&1
check "expire inventory succeeds" grep -q '"rc":0' "$T/exp.json"
check "JSON keeps its fields" has_json_keys "$T/exp.json" process \
    objects_examined objects_deleted bytes_deleted
listing n1 exb-secret-1 "$S1" "$T/n1.after"
listing n2 exb-secret-2 "$S2" "$T/n2.after"
ids "$T/n1.after" | sort -n >"$T/n1.have"
ids "$T/n2.after" | sort -n >"$T/n2.have"
check "n1 keeps exactly what KEEP2 keeps" diff "$T/n1.want" "$T/n1.have"
check "n2 keeps exactly what KEEP1 keeps" diff "$T/n2.want" "$T/n2.have"
if [ -z "${part:-}" ]; then
	check "objects_deleted is what the policy gave up ($want_del)" \
	    test "$(json_get "$T/exp.json" objects_deleted)" -eq "$want_del"
else
	check "the rerun deleted the rest ($want_del - $part)" \
	    test "$(json_get "$T/exp.json" objects_deleted)" -eq $((want_del - part))
fi

adm "expire inventory wait=yes" --json >"$T/exp2.json" 2>&1
check "a second run deletes nothing" \
    test "$(json_get "$T/exp2.json" objects_deleted)" -eq 0

# What is kept restores byte-identical.
cli n1 exb-secret-1 restore "$S1/" "$T/r1/" --subdir >"$T/r1.out" 2>&1
check "n1's active tree restores identically" same_tree "$S1" "$T/r1"
cli n2 exb-secret-2 restore "$S2/" "$T/r2/" --subdir >"$T/r2.out" 2>&1
check "n2's active tree restores identically" same_tree "$S2" "$T/r2"
# Generation 2 of f00 and f01 is gone (VERDELETED 1 keeps generation 3).
rm "$T/gen2/f00" "$T/gen2/f01"
cli n1 exb-secret-1 restore --pitdate "$t2" "$S1/" "$T/rp/" --subdir >"$T/rp.out" 2>&1
check "n1's kept inactive generation restores identically" same_tree "$T/gen2" "$T/rp"
mkdir -p "$T/rd"
for f in f00 f01; do
	cli n1 exb-secret-1 restore --inactive "$S1/$f" "$T/rd/" >"$T/rd.$f.out" 2>&1
	check "n1's deleted $f restores its last version" cmp "$T/gen3/$f" "$T/rd/$f"
done
adm "audit container wait=yes" --json >"$T/audit.json" 2>&1
check "audit finds no damage after the batches" \
    test "$(json_get "$T/audit.json" damaged)" -eq 0
stop_server
finish
