# Kill points for tests/crash/crash.sh and loop.sh (sourced after
# tests/integration/lib.sh).  Three servers on 127.0.0.1: A (the primary:
# backups, expiration, reclamation, audit, DB backup, export; replication
# source), TGT (replication target) and, one fresh instance per import
# point, IMPn.  Node n1 gets a new small generation of files (a
# directory) for most points; node n2 holds 2500 tiny files, so that
# replication and import run several batches.
#
# A kill point: the server is killed with SIGKILL either by a fault hook
# (spec hook:POINT[:N], ./configure --enable-fault-injection; COFFER_FAULT
# for common/fault.h) or at a random moment (spec delay:MS, kill -9 PID
# MS ms into the operation).  After it the killed server must start again
# on its directory and port, AUDIT CONTAINER must find no damage, every
# generation the client was told was committed (its incremental exited 0)
# must restore identically, and the interrupted operation run again must
# complete with the right final state.  A delay kill may land anywhere,
# even after the operation ended: its checks are only those that hold
# wherever it lands.

PW1=n1-secret-pw
PW2=n2-secret-pw
SRC=$T/src		# n1's tree: one directory per generation
SRC2=$T/src2		# n2's tree
COMMITTED=		# n1's generations a client was told are committed
REPLICATED=		# those a replication that ended well sent to TGT
gen=0
npoints=0
survived=0
lost=0
nimp=0
EXPORTED=		# the last complete export: volume names, objects
EXPORTED_N=0
EXPORT_GENS=		# the generations that export holds

use() { eval "SRV_DIR=\$${1}_DIR SRV_PORT=\$${1}_PORT SRV_PID=\$${1}_PID"; }
save() { eval "${1}_DIR=\$SRV_DIR ${1}_PORT=\$SRV_PORT ${1}_PID=\$SRV_PID"; }

fi_compiled() {
	"$COFFERD" --version 2>/dev/null | grep -q '^fault injection: compiled in'
}

rnd() {	# rnd N: a random number 0..N-1
	od -An -N4 -tu4 /dev/urandom | awk -v m="$1" '{ print $1 % m }'
}

# jget FILE KEY: the number KEY of the last JSON object in FILE (sed:
# dozens of python starts per kill point would cost seconds).
jget() {
	grep '^{' "$1" 2>/dev/null | tail -1 | sed -n "s/.*\"$2\":\(-*[0-9][0-9]*\).*/\1/p"
}

# same_gens SRCROOT RESTOREDROOT GEN...: same_tree for each GEN, in one
# python run.
same_gens() {
	python3 - "$@" <<'PY'
import os, stat, sys
a0, b0, gens = sys.argv[1], sys.argv[2], sys.argv[3:]
bad = 0
def walk(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = os.lstat(p)
    return out
for g in gens:
    a, b = os.path.join(a0, g), os.path.join(b0, g)
    if not os.path.isdir(b):
        print("#   generation", g, "not restored"); bad += 1; continue
    ea, eb = walk(a), walk(b)
    for k in sorted(set(ea) | set(eb)):
        if k not in ea or k not in eb:
            print("#   only in one tree:", g, repr(k)); bad += 1; continue
        x, y = ea[k], eb[k]
        if stat.S_IFMT(x.st_mode) != stat.S_IFMT(y.st_mode) or stat.S_IMODE(x.st_mode) != stat.S_IMODE(y.st_mode):
            print("#   type/mode differs:", g, repr(k)); bad += 1
        if stat.S_ISREG(x.st_mode):
            if int(x.st_mtime) != int(y.st_mtime):
                print("#   mtime differs:", g, repr(k)); bad += 1
            if open(os.path.join(a, k), 'rb').read() != open(os.path.join(b, k), 'rb').read():
                print("#   content differs:", g, repr(k)); bad += 1
sys.exit(1 if bad else 0)
PY
}

alive() {	# alive PID: running, not a zombie
	case $(cat "/proc/$1/stat" 2>/dev/null) in
	*") Z "*|"") return 1 ;;
	esac
	return 0
}

# boot NAME [FAULT]: start (or restart) server NAME on its own port (a
# free one the first time), armed with COFFER_FAULT=FAULT if given.
boot() {
	eval "bport=\${${1}_PORT:-0}"
	[ -n "${2:-}" ] && { COFFER_FAULT=$2; export COFFER_FAULT; }
	rm -f "$T/$1/stdout"
	start_server "$1" "$bport"
	brc=$?
	unset COFFER_FAULT
	[ $brc -eq 0 ] && [ -n "$SRV_PORT" ] || return 1
	save "$1"
}

halt() {	# halt NAME: SIGTERM, wait
	use "$1"
	kill -TERM "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
}

# ---- the checks after a kill ----

audit_clean() {	# audit_clean NAME: AUDIT CONTAINER finds no damage
	use "$1"
	adm "audit container wait=yes" --json >"$T/audit.json" 2>&1
	[ "$(jget "$T/audit.json" damaged)" = 0 ] ||
	    { sed 's/^/#   /' "$T/audit.json"; return 1; }
}

# restores_committed NAME [GENS]: n1's tree restored from server NAME
# holds every generation in GENS (default: COMMITTED) identically.
restores_committed() {
	use "$1"
	rm -rf "$T/rs"
	cli n1 "$PW1" restore "$SRC/" "$T/rs/" --subdir=yes >"$T/rs.out" 2>&1 ||
	    { sed 's/^/#   /' "$T/rs.out" | tail -5; return 1; }
	same_gens "$SRC" "$T/rs" ${2-$COMMITTED}
}

restores_n2() {	# restores_n2 NAME: n2's tree restores identically
	use "$1"
	rm -rf "$T/rs2"
	cli n2 "$PW2" restore "$SRC2/" "$T/rs2/" --subdir=yes >"$T/rs2.out" 2>&1 &&
	    same_tree "$SRC2" "$T/rs2"
}

# settle NAME: after a kill of NAME, start it again and check it.
settle() {
	boot "$1" || { fail "$PT: $1 restarts after the kill"; return 1; }
	check "$PT: audit at $1 finds no damage" audit_clean "$1"
	case $1 in
	A) check "$PT: every committed generation restores from A" \
	    restores_committed A ;;
	TGT) check "$PT: every replicated generation restores from TGT" \
	    restores_committed TGT "$REPLICATED" ;;
	esac
}

pt_begin() {
	PT="kill point $((npoints + 1)) ($1)"
	pt_t0=$(date +%s)
	pt_nfail=$nfail
	echo "# $PT"
}

pt_end() {
	npoints=$((npoints + 1))
	echo "#   ($(( $(date +%s) - pt_t0 )) s)"
	if [ "$nfail" -eq "$pt_nfail" ]; then
		survived=$((survived + 1))
	else
		lost=$((lost + 1))
		echo "# LOST: $PT"
	fi
}

# strike KILLSRV SPEC NAME CMD...: run CMD (output in $T/strike.out, its
# status in STRIKE_RC) at server NAME, killing server KILLSRV per SPEC;
# then settle KILLSRV.  Returns 1 when the point could not be tried.
strike() {
	ks=$1; spec=$2; cs=$3; shift 3
	case $spec in
	hook:*)
		point=${spec#hook:}
		halt "$ks"
		boot "$ks" "$point" || { fail "$PT: $ks starts armed"; return 1; }
		use "$ks"
		mark=$(wc -c <"$SRV_DIR/stderr")
		kpid=$SRV_PID
		use "$cs"
		"$@" >"$T/strike.out" 2>&1
		STRIKE_RC=$?
		i=0
		while alive "$kpid" && [ $i -lt 100 ]; do
			sleep 0.03; i=$((i + 1))
		done
		if alive "$kpid"; then
			fail "$PT: $ks was not killed: ${point%%:*} not reached"
			sed 's/^/#   /' "$T/strike.out" | tail -5
			halt "$ks"
			boot "$ks"
			return 1
		fi
		wait "$kpid" 2>/dev/null
		use "$ks"
		tail -c +$((mark + 1)) "$SRV_DIR/stderr" |
		    grep -q "^fault: ${point%%:*} reached" ||
		    fail "$PT: $ks died, but not at ${point%%:*}"
		;;
	delay:*)
		ms=${spec#delay:}
		use "$ks"
		kpid=$SRV_PID
		use "$cs"
		"$@" >"$T/strike.out" 2>&1 &
		bg=$!
		sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
		kill -KILL "$kpid" 2>/dev/null
		wait "$kpid" 2>/dev/null
		wait "$bg"
		STRIKE_RC=$?
		;;
	esac
	settle "$ks"
}

# ---- data ----

# mkgen N KB: a new generation of n1, N files of about KB KiB (half
# random, half text); sets G.
mkgen() {
	gen=$((gen + 1))
	G=g$gen
	python3 - "$SRC/$G" "$1" "$2" "$gen" <<'PY'
import os, random, sys
d, n, kb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
os.makedirs(d)
for i in range(n):
    with open(os.path.join(d, "f%03d" % i), "wb") as f:
        if i % 2:
            f.write(rnd.randbytes(kb * 1024 + rnd.randint(0, 999)))
        else:
            f.write((("generation %d file %d\n" % (seed, i)) * (kb * 40)).encode())
PY
}

backup_n1() {	# backup_n1: incremental of n1's tree at A; 0 when told committed
	use A
	cli n1 "$PW1" --json incremental "$SRC" >"$T/b.json" 2>"$T/b.err"
}

committed() { COMMITTED="$COMMITTED $1"; }

backup_ok() {	# a backup that must complete: then G is committed
	if backup_n1; then
		committed "$G"
		ok "$PT: backup of $G"
	else
		fail "$PT: backup of $G"
		sed 's/^/#   /' "$T/b.err" | tail -5
	fi
}

# rerun_backup: the interrupted backup run again completes, and then
# G is committed and restores.
rerun_backup() {
	check "$PT: rerun of the backup completes" backup_n1
	[ "$(jget "$T/b.json" rc)" = 0 ] && committed "$G"
	check "$PT: and its generation restores" restores_committed A "$G"
}

# ---- setup ----

crash_setup() {
	mkdir -p "$SRC" "$SRC2" "$T/tapes" "$T/dbtapes"
	boot A || { fail "server A starts"; finish; }
	boot TGT || { fail "server TGT starts"; finish; }
	use A
	adm "register node n1 $PW1" >/dev/null 2>&1
	adm "register node n2 $PW2" >/dev/null 2>&1
	adm "define domain short verexists=1 verdeleted=0 retextra=0 retonly=0" >/dev/null 2>&1
	check "setup: n1 in domain short" adm "update node n1 domain=short"
	check "setup: device class for exports" adm "define devclass tapes devtype=file directory=$T/tapes maxcapacity=2M"
	# Its own directory: serials stay unique across both (the history's).
	check "setup: device class for DB backups" adm "define devclass dbtapes devtype=file directory=$T/dbtapes maxcapacity=64M"
	check "setup: A defines TGT" adm "define server TGT serverpassword=crash-repl-pw hladdress=127.0.0.1 lladdress=$TGT_PORT cafile=$TGT_DIR/tls/ca.pem"
	check "setup: set replserver" adm "set replserver TGT"
	check "setup: n1 replicates" adm "update node n1 replstate=enabled replmode=send"
	check "setup: n2 replicates" adm "update node n2 replstate=enabled replmode=send"
	use TGT
	check "setup: TGT defines A" adm "define server A serverpassword=crash-repl-pw hladdress=127.0.0.1 lladdress=$A_PORT cafile=$A_DIR/tls/ca.pem"
	python3 - "$SRC2" <<'PY'
import os, sys
for d in range(5):
    dd = os.path.join(sys.argv[1], "d%d" % d)
    os.makedirs(dd)
    for i in range(500):
        with open(os.path.join(dd, "t%03d" % i), "w") as f:
            f.write("n2 tiny file %d %d\n" % (d, i))
PY
	use A
	check "setup: n2's backup" cli n2 "$PW2" incremental "$SRC2"
	mkgen 10 64
	check "setup: n1's first backup" backup_n1
	committed "$G"
}

# ---- the kill points ----

# kp_backup SPEC: the server killed during a backup of a new generation.
kp_backup() {
	pt_begin "backup, $1"
	case $1 in delay:*) mkgen 12 256 ;; *) mkgen 6 96 ;; esac
	strike A "$1" A backup_n1 || { pt_end; return; }
	# Told committed before the kill: must restore like the rest.
	[ "$STRIKE_RC" = 0 ] && committed "$G"
	rerun_backup
	pt_end
}

# kp_client MS: the client killed MS ms into a backup; the server lives.
kp_client() {
	pt_begin "client killed mid-backup, delay:$1"
	mkgen 12 256
	use A
	cli_bg n1 "$PW1" --json incremental "$SRC" >"$T/b.json" 2>"$T/b.err"
	sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"
	kill -KILL "$CLI_PID" 2>/dev/null
	wait "$CLI_PID"
	[ $? = 0 ] && committed "$G"
	check "$PT: server survives the client's death" alive "$A_PID"
	check "$PT: audit finds no damage" audit_clean A
	check "$PT: every committed generation restores" restores_committed A
	rerun_backup
	pt_end
}

# reclaimable: a generation of five files, four of them then deleted and
# backed up again, so that their versions expire and their container is
# mostly dead space.
reclaimable() {
	mkgen 5 160
	backup_ok
	rm -f "$SRC/$G/f000" "$SRC/$G/f001" "$SRC/$G/f002" "$SRC/$G/f003"
	check "$PT: backup after deleting four files of $G" backup_n1
}

expire() { use A; adm "expire inventory wait=yes" --json; }
reclaim() { use A; adm "reclaim stgpool containerpool wait=yes" --json; }

expired_gone() {	# expired_gone GEN: only GEN's kept file has a version
	use A
	cli n1 "$PW1" --json query backup "$SRC/$1/" --inactive >"$T/q.json" 2>&1
	python3 - "$T/q.json" <<'PY'
import json, sys
rows = [r for r in json.loads(open(sys.argv[1]).read().splitlines()[-1])["rows"]
        if r.get("type") == "file"]
names = sorted(r["path"].rsplit("/", 1)[-1] for r in rows)
if names != ["f004"]:
    print("#   versions left:", names); sys.exit(1)
PY
}

# kp_expire SPEC: the server killed during EXPIRE INVENTORY.
kp_expire() {
	pt_begin "expiration, $1"
	reclaimable
	strike A "$1" A expire || { pt_end; return; }
	check "$PT: rerun of the expiration completes" expire
	check "$PT: and the expired versions are gone" expired_gone "$G"
	pt_end
}

# containers_match: every container the index names has its file, and
# no file lies there that the index does not name.
containers_match() {
	command -v sqlite3 >/dev/null 2>&1 || return 0
	n_idx=$(sqlite3 "$A_DIR/catalog.db" "select count(*) from pool_container where state <> 2") || return 1
	n_files=$(find "$A_DIR/pool/containers" -name '*.ctr' -type f | wc -l)
	[ "$n_idx" = "$n_files" ] || { echo "#   index $n_idx containers, $n_files files"; return 1; }
}

# kp_reclaim SPEC: the server killed during RECLAIM STGPOOL, after
# making a mostly dead container (back up, delete, expire).
kp_reclaim() {
	pt_begin "reclamation, $1"
	# A reclamation closes the open container first, so that the new
	# generation starts its own, whatever the points before wrote.
	check "$PT: reclamation before the new generation" reclaim
	reclaimable
	use A
	check "$PT: expiration before the reclamation" expire
	strike A "$1" A reclaim || { pt_end; return; }
	check "$PT: rerun of the reclamation completes" reclaim
	check "$PT: container files match the index" containers_match
	check "$PT: audit after the rerun finds no damage" audit_clean A
	check "$PT: every committed generation restores after the rerun" restores_committed A
	pt_end
}

# kp_audit SPEC: the server killed during AUDIT CONTAINER (settle reruns it).
kp_audit() {
	pt_begin "audit, $1"
	strike A "$1" A adm "audit container wait=yes" || { pt_end; return; }
	pt_end
}

dbb() { use A; adm "backup db devclass=dbtapes type=full wait=yes" --json; }

no_snapshot_left() {	# a killed DB backup's snapshot does not stay in DIR
	left=$(ls "$A_DIR" | grep '^dbbackup\..*\.tmp$')
	[ -z "$left" ] || { echo "#   left: $left"; return 1; }
}

# no_orphan_volumes: every volume file in the tapes directories is in A's
# volume history (a killed export or DB backup leaves none behind).
no_orphan_volumes() {
	use A
	adm "query volhistory" --json >"$T/vha.json" 2>&1
	python3 - "$T/vha.json" "$T/tapes" "$T/dbtapes" <<'PY'
import json, os, sys
rows = json.loads(open(sys.argv[1]).read().splitlines()[-1]).get("rows", [])
known = {r.get("volume_name") for r in rows}
bad = [f for d in sys.argv[2:] for f in sorted(os.listdir(d))
       if f.endswith(".vol") and f[:-4] not in known]
for f in bad:
    print("#   volume file not in the volume history:", f)
sys.exit(1 if bad else 0)
PY
}

# kp_dbb SPEC: the server killed during BACKUP DB.
kp_dbb() {
	pt_begin "backup db, $1"
	strike A "$1" A dbb || { pt_end; return; }
	check "$PT: rerun of the DB backup completes" dbb
	check "$PT: no snapshot file left behind" no_snapshot_left
	check "$PT: no volume file outside the volume history" no_orphan_volumes
	pt_end
}

export_all() { use A; adm "export node * filedata=all devclass=tapes wait=yes" --json; }

# export_done FILE: the export in FILE completed; its volumes verify.
export_done() {
	[ "$(jget "$1" rc)" = 0 ] || { tail -3 "$1"; return 1; }
	vols=$(python3 -c 'import json,sys
print(" ".join(json.loads(open(sys.argv[1]).read().splitlines()[-1])["volumes"]))' "$1")
	"$top_builddir/coffer-vol" verify $vols >"$T/vv.out" 2>&1 ||
	    { tail -3 "$T/vv.out"; return 1; }
	EXPORTED=$(for v in $vols; do basename "$v"; done | paste -sd, -)
	EXPORTED_N=$(jget "$1" objects)
	EXPORT_GENS=$COMMITTED
}

# export_history: the volume history lists the volumes of complete
# exports only, each of a set and on disk (a killed export's volumes are
# not offered for import, the vault or the recovery plan).
export_history() {
	use A
	adm "query volhistory type=export" --json >"$T/vh.json" 2>&1
	python3 - "$T/vh.json" "$T/tapes" <<'PY'
import json, os, sys
rows = json.loads(open(sys.argv[1]).read().splitlines()[-1]).get("rows", [])
bad = 0
for r in rows:
    name = r.get("volume_name")
    if not r.get("set") or set(str(r.get("set"))) <= set("0-"):
        print("#   volume of no complete set in the history:", name); bad += 1
    if not os.path.exists(os.path.join(sys.argv[2], name + ".vol")):
        print("#   volume history names a missing file:", name); bad += 1
sys.exit(1 if bad else 0)
PY
}

# kp_export SPEC: the server killed during EXPORT NODE *.
kp_export() {
	pt_begin "export, $1"
	strike A "$1" A export_all || { pt_end; return; }
	export_all >"$T/ex.json" 2>&1
	check "$PT: rerun of the export completes and its volumes verify" export_done "$T/ex.json"
	check "$PT: the volume history holds complete sets only" export_history
	check "$PT: no volume file outside the volume history" no_orphan_volumes
	pt_end
}

import_all() {
	adm "import node * devclass=tapes volumenames=$EXPORTED wait=yes" --json
}

import_complete() {	# import_complete FILE: every exported version is there
	got=$(( $(jget "$1" objects_imported) + $(jget "$1" objects_skipped) ))
	[ "$got" = "$EXPORTED_N" ] || { echo "#   $got of $EXPORTED_N"; tail -2 "$1"; return 1; }
}

# kp_import SPEC: a fresh server killed while it imports the last
# complete export.
kp_import() {
	pt_begin "import, $1"
	nimp=$((nimp + 1))
	s=IMP$nimp
	boot $s || { fail "$PT: $s starts"; pt_end; return; }
	use $s
	adm "define devclass tapes devtype=file directory=$T/tapes maxcapacity=2M" >/dev/null 2>&1
	strike $s "$1" $s import_all || { pt_end; return; }
	import_all >"$T/im.json" 2>&1
	check "$PT: rerun of the import completes" import_complete "$T/im.json"
	check "$PT: the imported n1 restores" restores_committed $s "$EXPORT_GENS"
	if [ $nimp = 1 ]; then
		check "$PT: the imported n2 restores" restores_n2 $s
	fi
	check "$PT: audit after the rerun finds no damage" audit_clean $s
	halt $s
	rm -rf "$T/$s"
	pt_end
}

repl() { use A; adm "replicate node * wait=yes" --json; }

repl_verified() {	# the rerun completes and verify finds no difference
	use A
	adm "replicate node * wait=yes verify=yes" --json >"$T/rv.json" 2>&1
	[ "$(jget "$T/rv.json" rc)" = 0 ] &&
	    [ "$(jget "$T/rv.json" differences)" = 0 ] ||
	    { tail -3 "$T/rv.json"; return 1; }
}

# kp_repl KILLSRV SPEC: a new generation backed up at A, then KILLSRV
# (A: the source, TGT: the target) killed during the replication.
kp_repl() {
	pt_begin "replication, $1 killed, $2"
	mkgen 4 96
	backup_ok
	strike "$1" "$2" A repl || { pt_end; return; }
	[ "$1" = TGT ] || check "$PT: audit at the target" audit_clean TGT
	if repl >"$T/rr.json" 2>&1; then
		ok "$PT: rerun of the replication completes"
		REPLICATED=$COMMITTED
	else
		fail "$PT: rerun of the replication completes"
		sed 's/^/#   /' "$T/rr.json" | tail -3
	fi
	check "$PT: replication verify finds no differences" repl_verified
	check "$PT: the target restores every committed generation" restores_committed TGT
	pt_end
}

crash_summary() {
	echo "# $survived kill points survived, $lost lost (of $npoints)"
}

# ---- VMs: node hv1 backs up domain crashvm (one sparse raw disk) ----

VMPW=hv1-secret-pw
VM_COMMITTED=	# the image file of the newest VM version a client was told
vmgen=0		#   is committed ($T/vmgens/N.raw)

vm() { use A; cli hv1 "$VMPW" --vmconfdir "$T/vmconf" "$@"; }
# In 1 MiB segments committed in parts of 4 MiB (PROTO_TXN_STAGE): a kill
# at any commit point may come between parts, and must still leave the
# version all or nothing.
vm_backup() { COFFER_VM_SEGMENT=1M COFFER_VM_STAGE=4M vm --json backup vm crashvm; }
vm_restore() { rm -rf "$T/vr"; vm --json restore vm crashvm --target-dir "$T/vr"; }

# vm_change: a new generation of the disk, 16 scattered 64 KiB writes
# (the first: 2 MiB of data in a 24 MiB sparse image); sets VG.
vm_change() {
	vmgen=$((vmgen + 1))
	python3 - "$T/vmimg/crashvm.raw" "$vmgen" <<'PY'
import os, random, sys
path, seed = sys.argv[1], int(sys.argv[2])
rnd = random.Random(seed)
with open(path, "r+b" if os.path.exists(path) else "wb") as f:
    f.truncate(24 << 20)
    for _ in range(32 if seed == 1 else 16):
        f.seek(rnd.randrange(0, (24 << 20) // 65536) * 65536)
        f.write(rnd.randbytes(65536))
PY
	VG=$T/vmgens/$vmgen.raw
	cp --sparse=always "$T/vmimg/crashvm.raw" "$VG"
}

# vm_is IMAGE...: the disk restored in $T/vr equals one of the IMAGEs.
vm_is() {
	for want in "$@"; do
		cmp -s "$want" "$T/vr/crashvm.raw" && return 0
	done
	echo "#   restored disk equals none of: $*"
	return 1
}

# vm_restores IMAGE...: the latest VM version restores as one of IMAGEs.
vm_restores() {
	vm_restore >"$T/vr.out" 2>&1 || { sed 's/^/#   /' "$T/vr.out" | tail -5; return 1; }
	vm_is "$@"
}

vm_setup() {
	mkdir -p "$T/vmconf" "$T/vmimg" "$T/vmgens"
	use A
	adm "register node hv1 $VMPW" >/dev/null 2>&1
	cat >"$T/vmconf/crashvm.xml" <<EOF
<domain type='kvm'>
  <name>crashvm</name>
  <uuid>7d1e2c3b-4a5f-4e6d-8c7b-9a0b1c2d3e4f</uuid>
  <memory unit='KiB'>524288</memory>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$T/vmimg/crashvm.raw'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
EOF
	vm_change
	check "setup: the first VM backup" vm_backup
	VM_COMMITTED=$VG
}

# kp_vm_backup SPEC: the server killed while it takes a VM version of
# a changed disk.  All or nothing: the newest version is the one before
# unless the client was told it committed (or the kill may have come
# after the commit: a delay, or the point after the index commit).
kp_vm_backup() {
	pt_begin "VM backup, $1"
	vm_change
	STRIKE_RC=
	if ! strike A "$1" A vm_backup; then
		[ "$STRIKE_RC" = 0 ] && VM_COMMITTED=$VG
		pt_end
		return
	fi
	may=$VM_COMMITTED
	case $STRIKE_RC:$1 in
	0:*) VM_COMMITTED=$VG; may=$VG ;;
	*:delay:*|*:*after_index_commit*) may="$VM_COMMITTED $VG" ;;
	esac
	check "$PT: the newest VM version is whole and the committed one" vm_restores $may
	check "$PT: rerun of the VM backup completes" vm_backup
	VM_COMMITTED=$VG
	check "$PT: and the VM restores as backed up" vm_restores "$VM_COMMITTED"
	pt_end
}

# kp_vm_restore SPEC: the server killed during a VM restore: a restore
# that said it succeeded is identical, and a rerun is.
kp_vm_restore() {
	pt_begin "VM restore, $1"
	strike A "$1" A vm_restore || { pt_end; return; }
	if [ "$STRIKE_RC" = 0 ]; then
		check "$PT: the restore that reported success is identical" vm_is "$VM_COMMITTED"
	else
		check "$PT: the killed restore names the failure" grep -qiE "connection|server|closed|reset|lost" "$T/strike.out"
	fi
	check "$PT: rerun of the VM restore completes identically" vm_restores "$VM_COMMITTED"
	pt_end
}
