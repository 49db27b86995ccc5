#!/bin/sh
# The server side of VM backup by name (issue 4): an administrator marks a
# node's VM filespace for DR with its priority, mistakes are rc 12 with the
# reason, both values show in coffer-admin's and the client's queries, and
# a catalog from before the DR columns opens and keeps its filespaces.
# (Backing up a VM is the client's part; the frames are unit-tested in
# test_sess_node.)
tid="VM filespaces and DR settings"
. "$(dirname "$0")/lib.sh"

start_server VMS || { fail "server starts"; finish; }
check "register node" adm "register node web01 web01-secret"

# ---- errors before any filespace exists ----
adm 'update filespace WEB01 VM:x drprotect=yes drpriority=2' > "$T/nofs.out" 2>&1
rc=$?
check "update of a missing filespace exits 12" test "$rc" -eq 12
check "... and names the filespace and the node" grep -q "ANR2081E UPDATE FILESPACE: Filespace VM:x not found for node WEB01" "$T/nofs.out"
adm 'update filespace NOBODY VM:x drprotect=yes' > "$T/nonode.out" 2>&1
check "update for an unknown node exits 12" test $? -eq 12
check "... and says the node is not registered" grep -q "Node NOBODY is not registered" "$T/nonode.out"

# ---- a file filespace, then a VM filespace as the VM client makes it ----
src="$T/data"
mkdir -p "$src"
echo "hello" > "$src/a.txt"
cli web01 web01-secret incremental "$src" > "$T/b1.out" 2>&1
check "file backup" grep -q "objects" "$T/b1.out"
stop_server
# The VM client opens "VM:NAME" with type VM; here the row is made by hand.
python3 - "$SRV_DIR/catalog.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO filespace(node, name, type, created)"
           " VALUES('WEB01', 'VM:mgmt01', 'VM', ?)", (int(time.time()),))
db.commit()
PY
restart_server VMS || { fail "server restarts"; finish; }

adm 'update filespace WEB01 VM:mgmt01' > "$T/noparm.out" 2>&1
check "update without a value exits 12" test $? -eq 12
check "... and says what to give" grep -q "nothing to update; give DRPROTect or DRPRIority" "$T/noparm.out"
adm 'update filespace WEB01 VM:mgmt01 drpriority=10000' > "$T/bad.out" 2>&1
check "drpriority=10000 exits 12" test $? -eq 12
check "... and gives the range" grep -q "0 (none) to 9999" "$T/bad.out"
adm 'update filespace web01 VM:mgmt01 drprotect=yes drpriority=1' > "$T/upd.out" 2>&1
check "the issue's command exits 0" test $? -eq 0
check "... and says what it set" grep -q "ANR2079I Filespace VM:mgmt01 of node WEB01 updated: DRPROTECT=YES DRPRIORITY=1." "$T/upd.out"
adm 'upd fi web01 vm:mgmt01 drpro=no' > "$T/case.out" 2>&1
check "the filespace name is matched with its case" test $? -eq 12

adm 'q filespace web01' --json > "$T/qfs.json" 2>&1
check "'q filespace' --json rows have drprotect and drpriority" rows_have_keys "$T/qfs.json" node_name filespace_name type objects logical_bytes drprotect drpriority
check "VM:mgmt01 is protected with priority 1, the file system is not" python3 -c 'import json,sys
rows = {r["filespace_name"]: r for r in json.load(open(sys.argv[1]))["rows"]}
vm = rows["VM:mgmt01"]
assert vm["type"] == "VM" and vm["drprotect"] == "yes" and vm["drpriority"] == 1, vm
fs = [r for n, r in rows.items() if n != "VM:mgmt01"][0]
assert fs["drprotect"] == "no" and fs["drpriority"] == 0, fs' "$T/qfs.json"
adm 'q actlog search=VM:mgmt01 msgno=2079' --json > "$T/log.json" 2>&1
check "the update is in the activity log" grep -q "updated: DRPROTECT=YES" "$T/log.json"

# The client reads the DR fields from FS_PAGE.
cli web01 web01-secret --json query filespace > "$T/cqfs.json" 2>&1
check "client 'query filespace' --json shows the VM's DR settings" python3 -c 'import json,sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
rows = {r["filespace_name"]: r for r in json.loads(lines[-1])["rows"]}
vm = rows["VM:mgmt01"]
assert vm["type"] == "VM" and vm["drprotect"] == "yes" and vm["drpriority"] == 1, vm' "$T/cqfs.json"
cli web01 web01-secret query backup > "$T/qb.out" 2>&1
check "'query backup' still lists the files next to a VM filespace" grep -q "a.txt" "$T/qb.out"
cli web01 web01-secret restore "$src/a.txt" "$T/r/" > "$T/r.out" 2>&1
check "a file restores with a VM filespace present" grep -q "hello" "$T/r/a.txt"

# ---- a catalog from before the DR columns ----
stop_server
python3 - "$SRV_DIR/catalog.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("ALTER TABLE filespace DROP COLUMN drprotect")
db.execute("ALTER TABLE filespace DROP COLUMN drpriority")
db.commit()
PY
restart_server VMS || { fail "server restarts on an older catalog"; finish; }
adm 'q filespace web01' --json > "$T/qfs2.json" 2>&1
check "an older catalog opens with its filespaces, DR unset" python3 -c 'import json,sys
rows = json.load(open(sys.argv[1]))["rows"]
assert len(rows) == 2 and all(r["drprotect"] == "no" and r["drpriority"] == 0 for r in rows), rows' "$T/qfs2.json"
check "... and takes DR settings" adm 'update filespace web01 VM:mgmt01 drprotect=yes drpriority=3'
cli web01 web01-secret incremental "$src" > "$T/b2.out" 2>&1
check "backups go on after the upgrade" grep -q "objects" "$T/b2.out"
finish
