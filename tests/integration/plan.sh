#!/bin/sh
# RPO compliance and the recovery plan: a primary that replicates WEB01
# to a hot site, DB01 with an RPO of 2 s that it soon misses, two VMs
# marked for DR at priorities 2 and 1, a DB backup and an export.  The
# server's own check warns about DB01 once (and never about WEB01); query
# node shows who meets the RPO; PREPARE writes a plan that lists every
# node, flags DB01, orders the VMs by priority with times from a restore
# it measured, names the DB backup volumes with their DRM states, has
# both runbooks with the real addresses, compares the estimate with SET
# RTO, and keeps DRMPLANVERSIONS plans.
tid="recovery plan"
. "$(dirname "$0")/lib.sh"

use() { eval "SRV_DIR=\$${1}_DIR SRV_PORT=\$${1}_PORT SRV_PID=\$${1}_PID"; }
save() { eval "${1}_DIR=\$SRV_DIR ${1}_PORT=\$SRV_PORT ${1}_PID=\$SRV_PID"; }

# The primary checks RPOs every second (cofferd.opt RPOCHECKINTERVAL).
"$COFFERD" format --dir "$T/PRIMARY" --name PRIMARY --port 0 \
    >"$T/format.out" 2>&1 || { fail "format"; finish; }
echo "RPOCHECKINTERVAL 1s" >> "$T/PRIMARY/cofferd.opt"
start_server PRIMARY || { fail "primary starts"; finish; }
save PRIMARY
start_server HOTSITE || { fail "hot site starts"; finish; }
save HOTSITE

use PRIMARY
adm "define server HOTSITE serverpassword=plan-repl-pw-1 hladdress=127.0.0.1 lladdress=$HOTSITE_PORT cafile=$HOTSITE_DIR/tls/ca.pem" >/dev/null
adm "set replserver HOTSITE" >/dev/null
use HOTSITE
adm "define server PRIMARY serverpassword=plan-repl-pw-1 hladdress=127.0.0.1 lladdress=$PRIMARY_PORT cafile=$PRIMARY_DIR/tls/ca.pem" >/dev/null
use PRIMARY
for n in web01 db01 hv1; do adm "register node $n $n-secret-pw" >/dev/null; done
check "WEB01 replicates to the hot site" adm "update node web01 replstate=enabled replmode=send"

src="$T/data"
mkdir -p "$src"
seq 1 20000 > "$src/numbers.txt"
head -c 200000 /dev/urandom > "$src/random.bin"
cli web01 web01-secret-pw incremental "$src" >"$T/bw.out" 2>&1
check "WEB01 backed up" test $? -eq 0
cli db01 db01-secret-pw incremental "$src" >"$T/bd.out" 2>&1
check "DB01 backed up" test $? -eq 0
adm "replicate node web01 wait=yes" >"$T/repl.out" 2>&1
check "WEB01 replicated to the hot site" test $? -eq 0
# RPOs after the first backups: a node never backed up misses any RPO.
check "rpo=24h for WEB01" adm "update node web01 rpo=24h"
check "rpo=2s for DB01" adm "update node db01 rpo=2s"

# Two small VMs with real data (a restore of one is measured).
conf="$T/qemu"; img="$T/images"
mkdir -p "$conf" "$img"
for v in app01 mgmt01; do
	head -c $((3 << 20)) /dev/urandom > "$img/$v.raw"
	truncate -s 8M "$img/$v.raw"
	cat > "$conf/$v.xml" <<EOF
<domain type='kvm'><name>$v</name><memory unit='KiB'>524288</memory>
<os><type arch='x86_64'>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='raw'/>
<source file='$img/$v.raw'/><target dev='vda' bus='virtio'/></disk>
</devices></domain>
EOF
done
cli hv1 hv1-secret-pw --vmconfdir "$conf" backup vm app01 mgmt01 >"$T/bv.out" 2>&1
check "two VMs backed up" test "$(grep -c "backed up," "$T/bv.out")" = 2
# Alphabetical order is the opposite of the DR order.
check "app01 drpriority=2" adm "update filespace hv1 VM:app01 drprotect=yes drpriority=2"
check "mgmt01 drpriority=1" adm "update filespace hv1 VM:mgmt01 drprotect=yes drpriority=1"
cli hv1 hv1-secret-pw --vmconfdir "$conf" restore vm mgmt01 --target-dir "$T/r-vm" >"$T/rv.out" 2>&1
check "a VM restore (measured by the server)" cmp "$img/mgmt01.raw" "$T/r-vm/mgmt01.raw"

# Volumes: a DB backup (sent offsite) and an export.
mkdir -p "$T/vols"
adm "define devclass filedev devtype=file directory=$T/vols maxcapacity=64m" >/dev/null
adm "backup db devclass=filedev type=full wait=yes" --json >"$T/dbb.json" 2>&1
check "backup db" test $? -eq 0
dbvol=$(basename "$(json_get "$T/dbb.json" volumes | cut -d, -f1)" .vol)
adm "move drmedia $dbvol wherestate=mountable tostate=vault tolocation=IRONMTN" >/dev/null 2>&1
check "the DB backup volume went to the vault" test $? -eq 0
export_key="plan export key $$"
adm "export node db01 filedata=all devclass=filedev encryptkey=\"$export_key\" wait=yes" --json >"$T/exp.json" 2>&1
check "export node db01" test $? -eq 0
expvol=$(python3 -c 'import json,os,sys
d = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
print(os.path.basename(d["volumes"][0])[:-4])' "$T/exp.json")

# DB01's backup ages past its 2 s; the check runs every second.
sleep 3.5
adm "query node format=detailed" --json >"$T/qn.json" 2>&1
check "query node shows rpo_met yes for WEB01, no for DB01" python3 -c '
import json, sys
rows = {r["node_name"]: r for r in json.load(open(sys.argv[1]))["rows"]}
w, d, h = rows["WEB01"], rows["DB01"], rows["HV1"]
assert w["rpo_met"] == "yes" and w["rpo_status"] == "met", w
assert d["rpo_met"] == "no" and d["rpo_status"] == "missed", d
assert h["rpo_met"] is None and h["rpo_status"] == "none", h
assert w["newest_copy_hotsite"] is not None and w["newest_copy_hotsite_age"], w
assert d["newest_copy_hotsite"] is None and d["newest_copy_here_age"], d' "$T/qn.json"
adm "query actlog msgno=4970" >"$T/warn.out" 2>&1
check "the actlog warns that DB01 misses its RPO" grep -q "ANR4970W.*Node DB01 misses its recovery point objective of 2s: its newest recoverable copy here is" "$T/warn.out"
check "... once, and never about WEB01" test "$(grep -c ANR4970W "$T/warn.out")" -eq 1 -a "$(grep -c WEB01 "$T/warn.out")" -eq 0

check "set rto 720h" adm "set rto 720h"
adm "prepare" --json >"$T/prep.json" 2>&1
check "prepare warns (rc 8) because DB01 misses its RPO" test $? -eq 8
check "prepare reports its result" has_json_keys "$T/prep.json" plan_file \
    nodes nodes_missing_rpo vms estimated_recovery_s rto_s rto_met volumes
plan=$(json_get "$T/prep.json" plan_file)
# Commands are broken over lines with " \" continuations: join them.
joined="$T/plan.joined"
python3 -c 'import re,sys; print(re.sub(r" \\\n *", " ", open(sys.argv[1]).read()))' "$plan" >"$joined"
check "the plan is in DIR/plans/, mode 0600" sh -c "test -f '$plan' && case '$plan' in '$PRIMARY_DIR/plans/'*) test \"\$(stat -c %a '$plan')\" = 600;; *) false;; esac"
check "the result counts 3 nodes, 1 missing, 2 VMs, rto met" python3 -c '
import json, sys
d = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
assert (d["nodes"], d["nodes_missing_rpo"], d["vms"], d["rto_met"]) == (3, 1, 2, "yes"), d' "$T/prep.json"
check "the plan lists every node" sh -c "grep -q '^WEB01 ' '$plan' && grep -q '^DB01 ' '$plan' && grep -q '^HV1 ' '$plan'"
check "... flags DB01 as missing its RPO" grep -q '^DB01 .*RPO 2s .*\*\*\* MISSED \*\*\*' "$plan"
check "... and not WEB01" sh -c "grep '^WEB01 ' '$plan' | grep -q 'RPO 24h  *MET' && ! grep '^WEB01 ' '$plan' | grep -q MISSED"
check "... names DB01 in the summary" grep -q 'MISS IT \*\*\*: DB01' "$plan"
check "... lists the VMs in DR order, mgmt01 (1) before app01 (2)" sh -c "
	awk '/^begin VM.RESTORE.ORDER/,/^end VM.RESTORE.ORDER/' '$plan' > '$T/vmorder'
	m=\$(grep -n ' mgmt01 ' '$T/vmorder' | cut -d: -f1); a=\$(grep -n ' app01 ' '$T/vmorder' | cut -d: -f1)
	test -n \"\$m\" -a -n \"\$a\" && test \"\$m\" -lt \"\$a\""
check "... at the restore rate the server measured" grep -q 'measured over the last 1 restore(s)' "$plan"
check "... includes the DB backup volume, VAULT at IRONMTN" sh -c "awk '/^begin RECOVERY.VOLUMES.REQUIRED/,/^end/' '$plan' | grep -q '$dbvol .*BACKUPFULL .*VAULT .*IRONMTN'"
check "... and the export volume in the volume history" sh -c "awk '/^begin VOLUME.HISTORY/,/^end/' '$plan' | grep -q '$expvol .*EXPORT .*MOUNTABLE'"
check "... has both runbooks" sh -c "grep -q '^begin RECOVERY.SCRIPT.FAILOVER' '$plan' && grep -q '^begin RECOVERY.SCRIPT.FAILBACK' '$plan'"
check "... whose failover talks to the hot site's real address" grep -q "coffer-admin --server 127.0.0.1:$HOTSITE_PORT" "$joined"
check "... swaps WEB01's role there" grep -q 'update node WEB01 replstate=enabled' "$joined"
check "... restores mgmt01 by name" grep -q 'restore vm mgmt01' "$joined"
check "... and holds no password or key" sh -c "! grep -q -e 'plan-repl-pw-1' -e '$export_key' -e 'secret-pw' '$plan'"
check "every stanza begins and ends" sh -c "test \$(grep -c '^begin ' '$plan') -eq 11 -a \$(grep -c '^end ' '$plan') -eq 11"
check "80 columns" sh -c "! awk 'length > 80' '$plan' | grep -q ."
check "the RTO is met at 720h" grep -q '^RTO: 720h -> MET' "$plan"

sleep 1.1
adm "set rto 1s" >/dev/null
adm "prepare" --json >"$T/prep2.json" 2>&1
plan2=$(json_get "$T/prep2.json" plan_file)
check "set rto 1s: the RTO line says MISSED" grep -q '^RTO: 1s -> \*\*\* MISSED \*\*\*' "$plan2"
check "... and the result rto_met no" test "$(json_get "$T/prep2.json" rto_met)" = no

[ -n "${KEEP:-}" ] && cp "$plan2" "$T/plan.txt"

# Retention: DRMPLANVERSIONS 2, three more plans a second apart.
check "set drmplanversions 2" adm "set drmplanversions 2"
for i in 1 2 3; do sleep 1.1; adm "prepare" >/dev/null 2>&1; done
check "prepare keeps the newest 2 plans" test "$(ls "$PRIMARY_DIR/plans" | grep -c '^[0-9]\{8\}\.[0-9]\{6\}$')" -eq 2
check "... the first one gone" test ! -e "$plan"
check "... and no temporary file left" test "$(ls -A "$PRIMARY_DIR/plans" | wc -l)" -eq 2
adm "prepare planprefix=$T/elsewhere/rpf." >/dev/null 2>&1
check "planprefix= writes elsewhere" sh -c "ls '$T/elsewhere' | grep -q '^rpf\.[0-9]\{8\}\.[0-9]\{6\}$'"
stop_server
use HOTSITE
stop_server
finish
