#!/bin/sh
# Authority: what a node may not do, whatever it sends.  A hostile node
# (rawpeer.py, speaking the wire protocol itself) cannot read, list,
# change or replicate another node's data by crafted frames, cannot run
# admin commands, and cannot get in over TLS 1.2; the victim's data
# restores identically afterwards.  A client killed mid-backup leaves no
# lock that blocks the next session; a locked node stays locked across a
# restart; passwords appear in no log, activity log or process listing.
tid="authority"
. "$(dirname "$0")/lib.sh"

start_server AUTHZ || { fail "server starts"; finish; }
adm "register node victim pw-victim-secret-1" >/dev/null
adm "register node evil pw-evil-secret-2" >/dev/null

src="$T/data"
mkdir -p "$src"
python3 - "$src" <<'PY'
import os, random, sys
rnd = random.Random(9)
for n in ("a.txt", "b.txt", "c.bin"):
    with open(os.path.join(sys.argv[1], n), "wb") as f:
        f.write(rnd.randbytes(200000))
PY
cli victim pw-victim-secret-1 incremental "$src" >"$T/b1.out" 2>&1
check "the victim's backup" grep -q "objects backed up" "$T/b1.out"
vfs=$(adm "query filespace victim" --json 2>/dev/null | python3 -c 'import json,sys
for l in sys.stdin:
    if l.startswith("{"): print(json.loads(l)["rows"][0]["filespace_name"])')
check "the victim's filespace is known ($vfs)" test -n "$vfs"

python3 "$top_srcdir/tests/integration/rawpeer.py" "127.0.0.1:$SRV_PORT" \
    "$SRV_DIR/tls/ca.pem" evil pw-evil-secret-2 "$vfs" >"$T/raw.out" 2>&1
cat "$T/raw.out"
nfail=$((nfail + $(grep -c '^not ok' "$T/raw.out")))
grep -q '^ok' "$T/raw.out" || fail "rawpeer ran (see $T/raw.out)"
check "the server survived the hostile node" kill -0 "$SRV_PID"
cli victim pw-victim-secret-1 restore "$src/" "$T/r1/" --subdir=yes >"$T/r1.out" 2>&1
check "the victim's data restores identically afterwards" same_tree "$src" "$T/r1"
cli victim pw-victim-secret-1 --json query backup "$src/" >"$T/qb.json" 2>&1
check "and every file is still active, none updated by the intruder" python3 - "$T/qb.json" "$src" <<'PY'
import json, sys
rows = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])["rows"]
files = {r["path"]: r for r in rows if r["type"] == "file"}
for n in ("a.txt", "b.txt", "c.bin"):
    r = files[sys.argv[2] + "/" + n]
    assert r["state"] == "active", r
    assert r["mode"] != 0o777, r
PY

# A client killed in the middle of a backup leaves nothing that blocks.
python3 -c 'import os,sys; open(sys.argv[1],"wb").write(os.urandom(24<<20))' "$src/big.bin"
cli_bg victim pw-victim-secret-1 incremental "$src"
wait_for_open "$CLI_PID" 'big\.bin' 30
kill -9 "$CLI_PID" 2>/dev/null
wait "$CLI_PID" 2>/dev/null
cli victim pw-victim-secret-1 --json incremental "$src" >"$T/b2.json" 2>"$T/b2.err"
check "right after a killed client, the node backs up again" test "$(json_get "$T/b2.json" objects_failed)" = 0
cli victim pw-victim-secret-1 restore "$src/" "$T/r2/" --subdir=yes >"$T/r2.out" 2>&1
check "and restores identically" same_tree "$src" "$T/r2"

# Passwords are never on a command line: coffer takes them from the
# environment or its password file, and its argv shows none.
cli_bg victim pw-victim-secret-1 selective "$src/big.bin" >"$T/sel.out" 2>&1
# From its exec on (a logon takes a scrypt verification: time enough).
i=0
while [ $i -lt 500 ]; do
	tr '\0' ' ' <"/proc/$CLI_PID/cmdline" >"$T/cmdline" 2>/dev/null
	grep -q selective "$T/cmdline" && break
	i=$((i + 1))
done
wait "$CLI_PID" 2>/dev/null
check "the client's command line was read while it ran" grep -q 'selective' "$T/cmdline"
check "and it holds no password" sh -c "! grep -q 'pw-victim' '$T/cmdline'"

# A locked node stays locked, across a restart too.
adm "lock node evil" >/dev/null
stop_server
start_server AUTHZ "$SRV_PORT" || { fail "server restarts"; finish; }
cli evil pw-evil-secret-2 query filespace >"$T/locked.out" 2>&1
rc=$?
check "a locked node is refused after a restart (exit $rc)" test "$rc" -ne 0
check "with a message that says it is locked" grep -qi "locked" "$T/locked.out"

adm "update node victim pw-victim-new-3" >/dev/null
adm "query actlog" >"$T/actlog.out" 2>&1
check "the activity log holds no password" sh -c \
    "! grep -q 'pw-victim\|pw-evil' '$T/actlog.out' && grep -q '?\*\*\*?' '$T/actlog.out'"
check "the server's log holds no password" sh -c "! grep -q 'pw-victim\|pw-evil' '$SRV_DIR/stderr'"
finish
