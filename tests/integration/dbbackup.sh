#!/bin/sh
# BACKUP DB writes the catalog to volumes of a FILE device class; the
# volumes show in the volume history and the DRM media list, go offsite
# and back through MOVE DRMEDIA (an illegal move is refused), and
# cofferd restore-db rebuilds a server from them that restores the files
# backed up before, identically.
tid="database backup and restore"
. "$(dirname "$0")/lib.sh"

start_server SRV1 || { fail "server starts"; finish; }
check "register node" adm "register node n1 node1-secret"
mkdir -p "$T/vols"
check "define devclass" adm "define devclass filedev devtype=file directory=$T/vols maxcapacity=1m"
adm "define devclass bad devtype=file directory=$T/nonexistent" > "$T/baddc.out" 2>&1
check "a devclass on a missing directory is refused (rc 12)" test $? -eq 12
check "... naming the directory" grep -q "nonexistent" "$T/baddc.out"

src="$T/data"
mkdir -p "$src/sub"
head -c 3000000 /dev/urandom > "$src/random.bin"
seq 1 100000 > "$src/sub/numbers.txt"
printf 'hello\n' > "$src/sub/hello.txt"
cli n1 node1-secret --json incremental "$src" > "$T/b1.json" 2> "$T/b1.err"
check "backup of the files" test $? -eq 0

adm "backup db devclass=filedev type=full wait=yes" --json > "$T/dbb.json" 2>&1
check "backup db wait=yes exits 0" test $? -eq 0
check "backup db reports process, volumes and bytes" has_json_keys "$T/dbb.json" process volumes bytes
vols=$(json_get "$T/dbb.json" volumes)
nvol=$(echo "$vols" | tr ',' '\n' | grep -c .)
check "the backup wrote volumes of at most 1 MiB ($nvol)" test "$nvol" -ge 1
check "every volume exists" sh -c 'for v in $(echo "$1" | tr , " "); do test -s "$v" || exit 1; done' - "$vols"
check "volhist.txt written next to the instance" grep -q BACKUPFULL "$SRV_DIR/volhist.txt"
check "devconfig.txt names the device class" grep -q "DEFINE DEVCLASS FILEDEV" "$SRV_DIR/devconfig.txt"

adm "q volh type=dbbackup" --json > "$T/vh.json" 2>&1
check "query volhistory lists the volumes" test "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["rows"]))' "$T/vh.json")" -eq "$nvol"
check "volhistory rows have their columns" rows_have_keys "$T/vh.json" volume_name type devclass set seq created bytes node
adm "q drmedia" --json > "$T/drm.json" 2>&1
check "drmedia rows have their columns" rows_have_keys "$T/drm.json" volume_name state location last_update type
check "new volumes are MOUNTABLE" sh -c '! grep -o "\"state\": *\"[A-Z]*\"" "$1" | grep -vq MOUNTABLE' - "$T/drm.json"

# Offsite and back, every volume at once.
for step in mountable:courier courier:vault vault:vaultretrieve \
    vaultretrieve:courierretrieve courierretrieve:onsiteretrieve \
    onsiteretrieve:mountable; do
	from=${step%%:*}; to=${step#*:}
	adm "move drmedia * wherestate=$from tostate=$to" > "$T/move.out" 2>&1
	check "move drmedia $from -> $to" test $? -eq 0
done
adm "q actlog search='was moved from COURIER state to VAULT'" > "$T/log.out" 2>&1
check "every move is in the activity log" test "$(grep -c 'ANR6683I.*was moved from COURIER state to VAULT' "$T/log.out")" -eq "$nvol"
first=$(basename "$(echo "$vols" | cut -d, -f1)" .vol)
adm "move drmedia $first wherestate=mountable tostate=onsiteretrieve" > "$T/bad.out" 2>&1
check "an illegal move is refused (rc 12)" test $? -eq 12
check "... naming the volume, its state and the allowed targets" grep -q "Volume $first is in state MOUNTABLE and cannot move to ONSITERETRIEVE; from MOUNTABLE it can move to NOTMOUNTABLE, COURIER, VAULT" "$T/bad.out"

# Serials are the server's, not a directory's: a second device class in
# another directory must not hand out C00001 again.
serials() { for v in $(echo "$1" | tr , ' '); do basename "$v" .vol; done; }
mkdir -p "$T/vols2"
check "define a second devclass in another directory" adm "define devclass filedev2 devtype=file directory=$T/vols2 maxcapacity=1m"
adm "backup db devclass=filedev2 type=full wait=yes" --json > "$T/dbb2.json" 2>&1
check "backup db to the second devclass exits 0" test $? -eq 0
vols2=$(json_get "$T/dbb2.json" volumes)
adm "export node n1 filedata=all devclass=filedev2 wait=yes" --json > "$T/ex2.json" 2>&1
check "export to the second devclass exits 0" test $? -eq 0
xvols=$(python3 -c 'import json,sys; print(",".join(json.loads(open(sys.argv[1]).read().splitlines()[-1])["volumes"]))' "$T/ex2.json")
all=$( (serials "$vols"; serials "$vols2"; serials "$xvols") | sort)
check "no serial is handed out twice ($(echo $all))" test "$(echo "$all" | uniq -d | wc -l)" -eq 0
adm "q volh" --json > "$T/vh2.json" 2>&1
check "the volume history holds every volume once" test "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["rows"]; print(len(r), len({x["volume_name"] for x in r}))' "$T/vh2.json")" = "$(echo "$all" | wc -l) $(echo "$all" | wc -l)"

"$COFFERD" restore-db --dir "$SRV_DIR" --devclass-dir "$T/vols" --volumes "$vols" > "$T/busy.out" 2>&1
check "restore-db refuses a running server's catalog" test $? -eq 12
check "... saying it is in use" grep -q "in use by another cofferd" "$T/busy.out"
stop_server

# A fresh copy of the instance, the pool kept, the catalog gone.
cp -a "$SRV_DIR" "$T/SRV2"
rm -f "$T/SRV2"/catalog.db* "$T/SRV2/volhist.txt" "$T/SRV2/devconfig.txt" "$T/SRV2/cofferd.lock"
names=$(for v in $(echo "$vols" | tr , ' '); do basename "$v"; done | paste -sd, -)
"$COFFERD" restore-db --dir "$T/SRV2" --devclass-dir "$T/vols" --volumes "$names" > "$T/rdb.out" 2>&1
check "restore-db exits 0" test $? -eq 0
check "restore-db says what it restored" grep -q "restored the catalog of server SRV1" "$T/rdb.out"
check "restore-db rewrote volhist.txt" grep -q BACKUPFULL "$T/SRV2/volhist.txt"

start_server SRV2 || { fail "restored server starts"; finish; }
ok "restored server starts"
adm "audit container wait=yes" --json > "$T/audit.json" 2>&1
check "audit of the restored server finds nothing missing" test "$(json_get "$T/audit.json" damaged)" -eq 0
cli n1 node1-secret restore "$src/" "$T/r/" --subdir=yes > "$T/r.out" 2>&1
check "restore from the restored server exits 0" test $? -eq 0
check "the files restore identically" same_tree "$src" "$T/r"
stop_server
finish
