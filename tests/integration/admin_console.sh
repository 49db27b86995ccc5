#!/bin/sh
# coffer-admin keeps its contract: a console on standard input, TSM
# abbreviations, --json rows and counts with the documented keys, numbered
# background processes, return code 12 naming a bad parameter, storage
# given back by expire + reclaim (at the threshold UPDATE STGPOOL sets; the
# directory pool cannot be deleted), and no password in the activity log.
tid="admin command contract"
. "$(dirname "$0")/lib.sh"

start_server ADMC || { fail "server starts"; finish; }
console() { "$ADMIN" --server "127.0.0.1:$SRV_PORT" --ca "$SRV_DIR/tls/ca.pem" "$@"; }
# ---- abbreviations, password masking ----
adm "reg n alpha SuperSecret99 dom=standard" > "$T/reg.out" 2>&1
check "'reg n' registers a node" grep -q "ANR2060I" "$T/reg.out"
adm "def dom gone verexists=1 verdeleted=0 retextra=0 retonly=0" > "$T/def.out" 2>&1
check "'def dom' defines a domain" grep -q "GONE" "$T/def.out"
adm "upd dom gone description='Gone at once'" > "$T/upd.out" 2>&1
check "'upd dom' exits 0" test $? -eq 0
adm "q dom gone" --json > "$T/qdom.json" 2>&1
check "'q dom' --json rows have the policy keys" rows_have_keys "$T/qdom.json" domain_name verexists verdeleted retextra retonly description nodes
check "'upd dom' changed the description" grep -q '"Gone at once"' "$T/qdom.json"
adm "REGISTER NODE beta 'beta secret two' DOMAIN=GONE" > "$T/reg2.out" 2>&1
check "upper-case keywords and a quoted password" grep -q "ANR2060I" "$T/reg2.out"
adm "q no" --json > "$T/qno.json" 2>&1
check "'q no' --json rows have node_name, domain, locked, filespaces" rows_have_keys "$T/qno.json" node_name domain locked registered last_backup filespaces
check "'q no' lists both nodes" test "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["rows"]))' "$T/qno.json")" -eq 2
check "BETA is in domain GONE" python3 -c 'import json,sys
rows = json.load(open(sys.argv[1]))["rows"]
assert any(r["node_name"] == "BETA" and r["domain"] == "GONE" for r in rows), rows' "$T/qno.json"
adm "upd n alpha SuperSecret99x" > /dev/null 2>&1
check "a node logs on with the password given to 'reg n' quoted" cli beta 'beta secret two' query filespace

# ---- the console ----
printf 'q node\nq stg\nquit\nq domain\n' | console > "$T/console.out" 2>&1
check "console exits 0" test $? -eq 0
check "console ran 'q node'" grep -q "ALPHA" "$T/console.out"
check "console ran 'q stg'" grep -q "CONTAINERPOOL" "$T/console.out"
check "console stops at 'quit'" sh -c "! grep -q 'Installed default' '$T/console.out'"
printf 'frobnicate\nq stg\n' | console --json > "$T/console2.out" 2>&1
check "console goes on after an unknown command" grep -q '"stgpool_name"' "$T/console2.out"
check "console --json: one object per command" test "$(grep -c '^{' "$T/console2.out")" -eq 2

# ---- bad parameters: rc 12 and the parameter named ----
badparam() {	# badparam COMMAND WORD
	adm "$1" > "$T/bad.out" 2>&1
	rc=$?
	if [ $rc -eq 12 ] && grep -qi "$2" "$T/bad.out"; then
		ok "'$1' gives rc 12 naming $2"
	else
		fail "'$1' gives rc 12 naming $2 (rc $rc)"
		sed 's/^/#   /' "$T/bad.out"
	fi
}
badparam "upd dom gone retextra=abc" RETEXTRA
badparam "upd dom gone bogus=1" BOGUS
badparam "expire inventory wait=maybe" WAIT
badparam "q actlog begindate=yesterday-ish" BEGINDATE
badparam "reg n gamma pw-gamma-1 domain=nosuch" NOSUCH
badparam "reg n" NODENAME
badparam "set invalidpwlimit lots" lots
adm "frobnicate node" > "$T/unk.out" 2>&1
rc=$?
check "unknown command gives rc 12 ($rc)" test $rc -eq 12

# ---- a backup to have something in the pool ----
src="$T/data"
mkdir -p "$src/keep" "$src/drop"
head -c 1000000 /dev/urandom > "$src/keep/k.bin"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	head -c 1000000 /dev/urandom > "$src/drop/d$i.bin"
done
cli beta 'beta secret two' incremental "$src" > "$T/b1.out" 2>&1
check "backup of node BETA" test $? -eq 0

adm "q occupancy" --json > "$T/qocc.json" 2>&1
check "'q occupancy' --json rows have node_name, filespace_name, objects, logical_bytes" rows_have_keys "$T/qocc.json" node_name filespace_name objects logical_bytes
adm "q filespace" --json > "$T/qfs.json" 2>&1
check "'q filespace' --json rows have node_name, filespace_name, objects" rows_have_keys "$T/qfs.json" node_name filespace_name objects
adm "q stg" --json > "$T/qstg1.json" 2>&1
check "'q stg' --json rows have stgpool_name, capacity_used_bytes, damaged" rows_have_keys "$T/qstg1.json" stgpool_name capacity_used_bytes logical_bytes stored_bytes chunks damaged
used1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"][0]["capacity_used_bytes"])' "$T/qstg1.json")
check "pool holds the backup ($used1 bytes)" test "$used1" -ge 13000000
adm "q status" --json > "$T/qstat.json" 2>&1
check "'q status' --json has server_name and invalidpwlimit" has_json_keys "$T/qstat.json" server_name invalidpwlimit

adm "audit container wait=yes" --json > "$T/audit.json" 2>&1
check "'audit container wait=yes' exits 0" test $? -eq 0
check "audit --json has chunks_checked, damaged, repaired" has_json_keys "$T/audit.json" chunks_checked damaged repaired
check "audit checked the chunks" test "$(json_get "$T/audit.json" chunks_checked)" -ge 13
check "audit found no damage" test "$(json_get "$T/audit.json" damaged)" -eq 0

# ---- background processes ----
printf 'audit container\nq process\n' | console --json > "$T/bg.out" 2>&1
check "background audit and 'q process' in one console exit 0" test $? -eq 0
pn=$(sed -n 's/.*Process \([0-9][0-9]*\) for AUDIT CONTAINER started in the BACKGROUND.*/\1/p' "$T/bg.out" | head -1)
check "background audit prints its process number (${pn:-none})" test -n "$pn"
pn=${pn:-0}
# The audit may already be over: then it is not listed, but its end is logged.
tail -1 "$T/bg.out" > "$T/qproc.json"
if grep -q '"process_number"' "$T/qproc.json"; then
	check "'q process' rows have process_number, process, status, started" \
	    rows_have_keys "$T/qproc.json" process_number process status started
	check "'q process' lists process $pn" grep -qE "\"process_number\": *\"?$pn\"?[,}]" "$T/qproc.json"
else
	check "'q process' says no process is active" grep -q ANR0944I "$T/qproc.json"
fi
i=0
while :; do
	adm "q actlog search='Process $pn for AUDIT CONTAINER'" > "$T/actproc.out" 2>&1
	grep -q "ANR0987I" "$T/actproc.out" && break
	i=$((i + 1)); [ $i -gt 100 ] && break
	sleep 0.2
done
check "'q actlog search=' shows process $pn starting" grep -q "ANR0984I.*Process $pn for AUDIT" "$T/actproc.out"
check "'q actlog search=' shows process $pn ending" grep -q "ANR0987I.*Process $pn for AUDIT" "$T/actproc.out"
adm "q process" --json > "$T/qproc2.json" 2>&1
check "finished process is no longer listed" sh -c "! grep -qE '\"process_number\": *\"?$pn\"?[,}]' '$T/qproc2.json'"
adm "cancel process 999" > "$T/cancel.out" 2>&1
check "'cancel process' of an unknown number gives rc 12" test $? -eq 12

# ---- expire + reclaim give the storage back ----
rm -r "$src/drop"
cli beta 'beta secret two' incremental "$src" > "$T/b2.out" 2>&1
check "incremental after deleting files" test $? -eq 0
adm "expire inventory wait=yes" --json > "$T/exp.json" 2>&1
check "'expire inventory wait=yes' exits 0" test $? -eq 0
check "expire --json has objects_examined, objects_deleted, bytes_deleted" has_json_keys "$T/exp.json" objects_examined objects_deleted bytes_deleted
check "expire deleted the 12 files and their directory" test "$(json_get "$T/exp.json" objects_deleted)" -ge 13
check "expire counted their bytes" test "$(json_get "$T/exp.json" bytes_deleted)" -ge 12000000
# UPDATE STGPOOL RECLAIM= is the threshold a plain RECLAIM STGPOOL uses:
# at 100 (TSM's "never") nothing is compacted, and it survives a restart.
qstg() { python3 -c 'import json,sys
print(next(r[sys.argv[2]] for r in json.load(open(sys.argv[1]))["rows"] if r["stgpool_name"] == "CONTAINERPOOL"))' "$@"; }
adm "q stg containerpool" --json > "$T/qstg-r0.json" 2>&1
check "'q stg' shows the default reclaim threshold 40" test "$(qstg "$T/qstg-r0.json" reclaim)" = 40
adm "upd stg containerpool reclaim=100" > "$T/updstg.out" 2>&1
check "'upd stg containerpool reclaim=100' exits 0" test $? -eq 0
check "... and says it is updated" grep -q "ANR2202I Storage pool CONTAINERPOOL updated" "$T/updstg.out"
adm "reclaim stgpool wait=yes" --json > "$T/recl0.json" 2>&1
check "at reclaim=100 reclaim compacts no container" test "$(json_get "$T/recl0.json" containers_reclaimed)" -eq 0
stop_server
restart_server ADMC || { fail "server restarts"; finish; }
adm "q stg containerpool" --json > "$T/qstg-r1.json" 2>&1
check "the threshold is kept across a restart" test "$(qstg "$T/qstg-r1.json" reclaim)" = 100
check "... and the space is still used" test "$(qstg "$T/qstg-r1.json" capacity_used_bytes)" -ge $((used1 / 2))
badparam "upd stg containerpool reclaim=0" RECLAIM
badparam "upd stg containerpool identity=someone" IDENTITY
badparam "upd stg containerpool" "nothing to update"
badparam "upd stg nosuch reclaim=50" NOSUCH
badparam "del stg containerpool" "cannot be deleted"
badparam "del stg nosuch" NOSUCH
adm "upd stg containerpool recl=40" > /dev/null 2>&1
check "'upd stg ... recl=40' (abbreviated) exits 0" test $? -eq 0
adm "reclaim stgpool wait=yes" --json > "$T/recl.json" 2>&1
check "'reclaim stgpool wait=yes' exits 0" test $? -eq 0
adm "q stg" --json > "$T/qstg2.json" 2>&1
used2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"][0]["capacity_used_bytes"])' "$T/qstg2.json")
check "capacity_used_bytes shrinks after reclaim ($used1 -> $used2)" test "$used2" -lt $((used1 / 4))
cli beta 'beta secret two' restore "$src/keep/k.bin" "$T/r/" > "$T/r.out" 2>&1
check "what is kept still restores after reclaim" cmp "$src/keep/k.bin" "$T/r/k.bin"

# ---- no password in the activity log ----
adm "q actlog" > "$T/actlog.out" 2>&1
adm "q actlog" --json > "$T/actlog.json" 2>&1
check "actlog holds the registration, masked" grep -q 'reg n alpha ?\*\*\*?' "$T/actlog.out"
check "'SuperSecret99' never appears in the actlog" sh -c "! grep -q SuperSecret99 '$T/actlog.out' '$T/actlog.json'"
check "'beta secret two' never appears in the actlog" sh -c "! grep -q 'beta secret two' '$T/actlog.out' '$T/actlog.json'"
check "no password in the server's stderr" sh -c "! grep -qE 'SuperSecret99|beta secret two' '$SRV_DIR/stderr' '$SRV_DIR/stdout'"
# ---- secrets blanked on coffer-admin's argv ----
# A listener that accepts TCP but never speaks TLS holds coffer-admin in its
# handshake, long enough to read its /proc/PID/cmdline as ps would.
python3 -c 'import socket,sys,time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(60)' > "$T/mute.port" &
mute=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$T/mute.port" ] && break; sleep 0.2; done
"$ADMIN" --server "127.0.0.1:$(cat "$T/mute.port")" --ca "$SRV_DIR/tls/ca.pem" \
    -c "reg n gamma ArgvSecret1 dom=standard serverpassword='Peer Secret2' encr=Tape3" \
    > /dev/null 2>&1 &
held=$!
sleep 1
tr '\0' ' ' < "/proc/$held/cmdline" > "$T/cmdline" 2>/dev/null
kill "$held" "$mute" 2>/dev/null; wait "$held" "$mute" 2>/dev/null
check "coffer-admin's argv still shows the command" grep -q "reg n gamma" "$T/cmdline"
check "no password on coffer-admin's argv (ps)" sh -c "! grep -qE 'ArgvSecret1|Peer Secret2|Tape3' '$T/cmdline'"
check "non-secret words stay on coffer-admin's argv" grep -q "dom=standard" "$T/cmdline"
stop_server
client_reports
finish
