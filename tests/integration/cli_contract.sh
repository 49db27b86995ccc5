#!/bin/sh
# The client's contract: options before or after the command words, the
# option file (SERVER, CAFILE, NODENAME, PASSWORDFILE, INCLUDE/EXCLUDE), a
# password file only when private, --help everywhere, the --json keys, and
# return code 12 with host:port when the server is down.
tid="client contract"
. "$(dirname "$0")/lib.sh"
unset COFFER_PASSWORD

for prog in cofferd coffer coffer-admin coffer-pool; do
	"$top_builddir/$prog" --help > "$T/help-$prog.out" 2>&1
	rc=$?
	check "$prog --help exits 0 ($rc)" test $rc -eq 0
	check "$prog --help prints a usage" grep -qiE "usage|synopsis" "$T/help-$prog.out"
done

start_server CLI || { fail "server starts"; finish; }
adm "register node nc nodec-secret" >/dev/null

src="$T/data/tree"
mkdir -p "$src/keep" "$src/cache/deep" "$src/skipdir/sub"
printf 'a\n' > "$src/keep/a.txt"
printf 'b\n' > "$src/keep/b.tmp"
printf 'k\n' > "$src/keep/keep.tmp"
printf 'c\n' > "$src/cache/c.txt"
printf 'd\n' > "$src/cache/deep/d.txt"
printf 's\n' > "$src/skipdir/sub/s.txt"

# ---- options before and after the command words ----
cli nc nodec-secret incremental "$src/keep" --json > "$T/after.json" 2> "$T/after.err"
check "'incremental PATH --json' exits 0" test $? -eq 0
check "'incremental PATH --json' prints the JSON summary" has_json_keys "$T/after.json" objects_inspected objects_backed_up objects_failed bytes_inspected bytes_sent elapsed_s
cli nc nodec-secret --json incremental "$src/keep" > "$T/before.json" 2> "$T/before.err"
check "'--json incremental PATH' exits 0" test $? -eq 0
check "'--json incremental PATH' prints the JSON summary" has_json_keys "$T/before.json" objects_inspected objects_backed_up bytes_sent
check "second run backs up nothing" test "$(json_get "$T/before.json" objects_backed_up)" -eq 0
( COFFER_PASSWORD=nodec-secret; export COFFER_PASSWORD
  "$COFFER" query backup --node nc "$src/keep/" --ca "$SRV_DIR/tls/ca.pem" \
      --json --server "127.0.0.1:$SRV_PORT" ) > "$T/mixed.json" 2> "$T/mixed.err"
check "options between and after the command words" has_json_keys "$T/mixed.json" rows

# ---- query backup --json ----
check "'query backup --json' rows have path, size, state, type, backup_date" \
    python3 - "$T/mixed.json" <<'PY'
import json, sys
rows = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])["rows"]
assert len(rows) == 4, rows
for r in rows:
    for k in ("path", "size", "state", "type", "backup_date"):
        assert k in r, (k, r)
    assert r["state"] == "active", r
PY

# ---- the option file and the password file ----
printf 'nodec-secret\n' > "$T/nc.pw"
chmod 600 "$T/nc.pw"
cat > "$T/coffer.opt" <<OPT
# the server, its CA and the node
SERVER       127.0.0.1:$SRV_PORT
CAFILE       $SRV_DIR/tls/ca.pem
nodename     nc
PASSWORDFILE $T/nc.pw
EXCLUDE      */cache/*
EXCLUDE      */skipdir
EXCLUDE      *.tmp
INCLUDE      */keep.tmp
OPT
"$COFFER" --optfile "$T/coffer.opt" --json incremental "$src" > "$T/opt.json" 2> "$T/opt.err"
rc=$?
check "backup with everything from the option file exits 0 ($rc)" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/opt.err"
"$COFFER" query backup "$src/" --optfile "$T/coffer.opt" --json > "$T/optq.json" 2> "$T/optq.err"
check "query with the option file after the command words" has_json_keys "$T/optq.json" rows
listed() { python3 -c 'import json,sys
rows = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])["rows"]
sys.exit(0 if any(r["path"] == sys.argv[2] for r in rows) else 1)' "$T/optq.json" "$1"; }
check "included file is backed up" listed "$src/keep/a.txt"
check "EXCLUDE */cache/* leaves out the files below cache" sh -c "! grep -q 'cache/c.txt' '$T/optq.json'"
check "EXCLUDE */cache/* leaves out deeper files too" sh -c "! grep -q 'cache/deep' '$T/optq.json'"
check "EXCLUDE */skipdir: the directory is not entered" sh -c "! grep -q 'skipdir' '$T/optq.json'"
check "EXCLUDE *.tmp leaves out b.tmp" sh -c "! grep -q 'b.tmp' '$T/optq.json'"
check "INCLUDE after EXCLUDE wins for keep.tmp (last rule wins)" listed "$src/keep/keep.tmp"

# The command line wins over the file.
sed "s/^nodename .*/NODENAME nosuchnode/" "$T/coffer.opt" > "$T/other.opt"
"$COFFER" --optfile "$T/other.opt" --node nc query filespace > "$T/win.out" 2>&1
check "--node on the command line wins over NODENAME" test $? -eq 0

# ./coffer.opt is the default option file.
( cd "$T" && "$COFFER" query filespace ) > "$T/default.out" 2>&1
check "./coffer.opt is read by default" test $? -eq 0

chmod 644 "$T/nc.pw"
"$COFFER" --optfile "$T/coffer.opt" query filespace > "$T/pw644.out" 2>&1
rc=$?
check "a 0644 password file is refused with rc 12 ($rc)" test $rc -eq 12
check "the refusal names the password file" grep -qF "$T/nc.pw" "$T/pw644.out"
chmod 600 "$T/nc.pw"

# The default password file ~/.coffer/NODENAME.pw.
grep -v PASSWORDFILE "$T/coffer.opt" > "$T/nopw.opt"
mkdir -p "$T/home/.coffer"
printf 'nodec-secret\n' > "$T/home/.coffer/nc.pw"
chmod 600 "$T/home/.coffer/nc.pw"
HOME="$T/home" "$COFFER" --optfile "$T/nopw.opt" query filespace > "$T/homepw.out" 2>&1
check "~/.coffer/NODENAME.pw is the default password file" test $? -eq 0
rm "$T/home/.coffer/nc.pw"
HOME="$T/home" "$COFFER" --optfile "$T/nopw.opt" query filespace > "$T/nopw.out" 2>&1 </dev/null
check "no password anywhere: rc 12" test $? -eq 12

# The password is never taken from the command line.
"$COFFER" --optfile "$T/nopw.opt" --password nodec-secret query filespace > "$T/argvpw.out" 2>&1 </dev/null
check "--password is not an option (rc 12)" test $? -eq 12

# ---- errors ----
"$COFFER" --optfile "$T/coffer.opt" --bogus query filespace > "$T/bogus.out" 2>&1
check "unknown option: rc 12" test $? -eq 12
check "unknown option is named" grep -q -- "--bogus" "$T/bogus.out"
"$COFFER" --optfile "$T/missing.opt" query filespace > "$T/missing.out" 2>&1
check "missing option file: rc 12" test $? -eq 12
check "missing option file is named" grep -qF "$T/missing.opt" "$T/missing.out"
printf 'FROBNICATE yes\n' > "$T/badopt.opt"
"$COFFER" --optfile "$T/badopt.opt" query filespace > "$T/badopt.out" 2>&1
check "unknown option-file name: rc 12" test $? -eq 12
check "unknown option-file name is named" grep -qi "FROBNICATE" "$T/badopt.out"

port=$SRV_PORT
stop_server
COFFER_PASSWORD=nodec-secret "$COFFER" --server "127.0.0.1:$port" --ca "$SRV_DIR/tls/ca.pem" \
    --node nc query filespace > "$T/down.out" 2>&1
rc=$?
check "server down: rc 12 ($rc)" test $rc -eq 12
check "server down: the message names 127.0.0.1:$port" grep -q "127.0.0.1:$port" "$T/down.out"
check "server down: the message says the connection was refused" grep -qi "refused" "$T/down.out"
COFFER_PASSWORD=nodec-secret "$COFFER" --server "127.0.0.1:$port" --ca "$SRV_DIR/tls/ca.pem" \
    --node nc --json incremental "$src/keep" > "$T/down.json" 2> "$T/down.err"
rc=$?
check "server down during incremental: rc 12 ($rc)" test $rc -eq 12
client_reports
finish
