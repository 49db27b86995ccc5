#!/bin/sh
# The server killed (SIGKILL) in the middle of a backup comes back with an
# undamaged pool, keeps every version it committed, and the backup run
# again completes.  The client says that the server closed the connection.
tid="server killed mid-backup"
. "$(dirname "$0")/lib.sh"

start_server KILLED || { fail "server starts"; finish; }
check "register node" adm "register node nk nodek-secret"

# A first, completed backup: what the client was told is committed.
first="$T/data/first"
mkdir -p "$first/sub"
for i in 1 2 3 4 5 6 7 8; do
	head -c $((i * 37000)) /dev/urandom > "$first/sub/r$i.bin"
	seq 1 $((i * 5000)) > "$first/n$i.txt"
done
ln -s sub/r1.bin "$first/link"
cli nk nodek-secret --json incremental "$first" > "$T/b0.json" 2> "$T/b0.err"
check "first backup completes" test $? -eq 0
before=$(committed_objects)
check "server holds the first backup ($before objects)" test "$before" -ge 18

# A second backup, bigger than one transaction (4096 objects): 5 directories
# of 820 small files (the 4096th object near the end of dir04), then dir05
# with 240 files of 256 KiB.  Once the client's walk reached dir05 it runs
# in short slices until the server shows a commit, and the server is killed
# then.
big="$T/data/big"
python3 - "$big" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(5)
for d in range(6):
    dd = os.path.join(root, "dir%02d" % d)
    os.makedirs(dd)
    for i in range(820 if d < 5 else 240):
        with open(os.path.join(dd, "f%04d.bin" % i), "wb") as f:
            f.write(os.urandom(rnd.randint(100, 2000) if d < 5 else 262144))
PY
nbig=$(find "$big" | wc -l)

cli_bg nk nodek-secret --json incremental "$big" > "$T/b1.json" 2> "$T/b1.err"
wait_for_open "$CLI_PID" "^$big/dir05" 45 &&
    run_until_committed "$CLI_PID" "$before" 45
r=$?
if [ $r -ne 0 ]; then
	wait "$CLI_PID"
	if [ $r -eq 1 ]; then
		echo "# SKIP: the backup finished before the server showed a partial commit"
		exit 77
	fi
	fail "the second backup did not get past its first transaction within 45 s"
	sed 's/^/#   /' "$T/b1.err"
	finish
fi
seen=$(committed_objects)
oldport=$SRV_PORT
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null
cp "$SRV_DIR/stderr" "$T/killed-server.err"	# client_reports looks at it
ok "server killed after committing $((seen - before)) of $nbig objects of the second backup"

kill -CONT "$CLI_PID"
wait "$CLI_PID"
rc=$?
check "client whose server died exits 12 ($rc)" test $rc -eq 12
check "client's error names the server it lost" grep -q "127.0.0.1:$oldport" "$T/b1.err"
# Whether the client was writing (broken pipe) or reading (end of file)
# when it noticed, it says the server closed the connection, not a TLS code.
check "client's error says the server closed the connection" grep -q "the server KILLED at 127.0.0.1:$oldport closed the connection" "$T/b1.err"
check "... in those words, not as a bare TLS error" sh -c 'grep -q "connection closed by peer" "$0" && ! grep -q "SSL_ERROR" "$0"' "$T/b1.err"
check "client's --json summary carries rc 12" test "$(json_get "$T/b1.json" rc)" -eq 12

restart_server KILLED || { fail "server restarts on its directory"; finish; }
ok "server restarts on its directory (port $SRV_PORT)"
after=$(committed_objects)
check "committed objects survive the kill ($after >= $seen)" test "$after" -ge "$seen"
check "uncommitted objects are not in the catalog ($after < $before + $nbig)" \
    test "$after" -lt $((before + nbig))

adm "audit container wait=yes" --json > "$T/audit1.json" 2>&1
check "audit after the restart: damaged 0" test "$(json_get "$T/audit1.json" damaged)" -eq 0
check "audit after the restart checked chunks" test "$(json_get "$T/audit1.json" chunks_checked)" -gt 0

cli nk nodek-secret restore "$first/" "$T/r0/" --subdir=yes > "$T/r0.out" 2>&1
check "restore of the completed backup exits 0" test $? -eq 0
check "completed backup restores identically" same_tree "$first" "$T/r0"

# What the server committed of the interrupted backup is there.
cli nk nodek-secret --json query backup "$big/" > "$T/qpart.json" 2> "$T/qpart.err"
nlisted=$(python3 -c 'import json,sys
print(sum(1 for r in json.load(open(sys.argv[1]))["rows"] if r["type"] == "file"))' "$T/qpart.json" 2>/dev/null || echo 0)
# The committed objects are files but for the tree's top and up to 6 dirs.
check "the committed part of the interrupted backup is listed ($nlisted files)" \
    test "$nlisted" -ge $((seen - before - 7)) -a "$nlisted" -lt "$nbig"
# dir00 lies wholly in the first transaction, committed before the kill.
cli nk nodek-secret restore "$big/dir00/" "$T/rpart/" --subdir=yes > "$T/rpart.out" 2>&1
check "restore of a committed directory exits 0" test $? -eq 0
check "committed directory restores identically" same_tree "$big/dir00" "$T/rpart"

# The rerun does not send again what was committed, so the full restore
# below also reads what the server committed before it was killed.
cli nk nodek-secret --json incremental "$big" > "$T/b2.json" 2> "$T/b2.err"
rc=$?
check "rerun of the backup exits 0" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/b2.err"
sent=$(json_get "$T/b2.json" objects_backed_up 2>/dev/null || echo "$nbig")
check "rerun sends only what was not committed ($sent + $((after - before)) <= $nbig)" \
    test $((sent + after - before)) -le "$nbig"
cli nk nodek-secret restore "$big/" "$T/r2/" --subdir=yes > "$T/r2.out" 2>&1
check "restore after the rerun exits 0" test $? -eq 0
check "whole tree restores identically" same_tree "$big" "$T/r2"
adm "audit container wait=yes" --json > "$T/audit2.json" 2>&1
check "final audit: damaged 0" test "$(json_get "$T/audit2.json" damaged)" -eq 0
stop_server
client_reports
finish
