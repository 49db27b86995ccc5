#!/bin/sh
# Crash tests (issue 9): cofferd killed with SIGKILL at many points, by
# fault hooks (./configure --enable-fault-injection) and at random
# moments, during backup, expiration, reclamation, audit, DB backup,
# export, import and replication (source and target killed).  After each
# kill the server starts, AUDIT CONTAINER finds no damage, every version
# a client was told was committed restores identically, and the
# interrupted work run again completes (tests/crash/crash_lib.sh).
# VM backups and restores are killed the same way.  Without fault
# injection compiled in, only the random-moment points run.
tid="crash"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/crash_lib.sh"

start=$(date +%s)
# Expiration commits every 2 versions examined here, so that a run spans
# several batches and the points between them can be struck.
COFFER_EXPIRE_BATCH=2
export COFFER_EXPIRE_BATCH
crash_setup
if fi_compiled; then
	hooks=yes
else
	hooks=no
	echo "# fault injection not compiled in (cofferd --version): hook points skipped"
fi
# hook SCENARIO ARGS... POINT: a hook kill point, when hooks are compiled in.
hook() {
	[ $hooks = yes ] || return 0
	eval "hp=\${$#}"
	n=$(($# - 1))
	args=
	while [ $n -gt 0 ]; do args="$args $1"; shift; n=$((n - 1)); done
	$args "hook:$hp"
}
d() { echo "delay:$(( $1 + $(rnd $(( $2 - $1 ))) ))"; }

# Backup: at each step of the pool's commit protocol, at random moments,
# and the client killed mid-transfer.
for p in pool.append.after_write pool.commit.before_sync pool.commit.after_sync \
    pool.commit.before_index_commit pool.commit.after_index_commit; do
	hook kp_backup $p
done
for i in 1 2 3 4 5; do kp_backup "$(d 40 400)"; done
for i in 1 2; do kp_client "$(rnd 300)"; done

# VMs: a VM version is all or nothing, whatever point the server dies at.
vm_setup
for p in pool.append.after_write pool.commit.before_sync \
    pool.commit.before_index_commit pool.commit.after_index_commit; do
	hook kp_vm_backup $p
done
kp_vm_backup "$(d 30 300)"
kp_vm_restore "$(d 20 200)"
kp_vm_restore "$(d 20 200)"

# Expiration, then reclamation of the mostly dead containers it leaves.
# after_batch:1 falls between two committed batches, before_commit:2
# after one committed batch, in the next one.
for p in expire.delete expire.before_commit expire.after_batch:1 \
    expire.before_commit:2 expire.after_commit; do
	hook kp_expire $p
done
for p in reclaim.after_drop reclaim.copy reclaim.before_sync \
    reclaim.before_commit reclaim.before_remove reclaim.after_remove \
    pool.append.after_write; do
	hook kp_reclaim $p
done
kp_reclaim "$(d 0 60)"

# Audit, DB backup.
hook kp_audit audit.chunk:1
hook kp_audit audit.chunk:200
for p in dbb.after_snapshot dbb.before_close dbb.before_register dbb.after_backup; do
	hook kp_dbb $p
done

# Replication: the source killed, then the target.  The first point
# carries n2's 2500 versions: several batches.
hook kp_repl A repl.source.after_batch:1
for p in repl.source.before_done repl.source.after_done; do hook kp_repl A $p; done
kp_repl A "$(d 20 300)"
for p in repl.target.after_commit pool.commit.after_sync \
    pool.commit.before_index_commit repl.target.before_done repl.target.after_done; do
	hook kp_repl TGT $p
done
kp_repl TGT "$(d 20 300)"

# Export of both nodes (several volumes), then imports of it.
export_all >"$T/ex.json" 2>&1
check "a first complete export" export_done "$T/ex.json"
for p in export.record:3 export.record:400 export.volume:2 export.before_end \
    export.before_close; do
	hook kp_export $p
done
kp_export "$(d 20 300)"
for p in import.before_batch:1 import.after_batch:1 import.after_batch:3 \
    pool.commit.after_sync:2 pool.commit.after_index_commit:2; do
	hook kp_import $p
done
kp_import "$(d 50 500)"
kp_import "$(d 50 500)"

# The end: everything at A and at the target restores.
check "final: n2 restores from A" restores_n2 A
check "final: n2 restores from TGT" restores_n2 TGT
crash_summary
echo "# crash.sh took $(( $(date +%s) - start )) s"
if [ $hooks = yes ]; then
	check "at least 50 kill points ($npoints)" test "$npoints" -ge 50
fi
check "no kill point lost ($lost)" test "$lost" -eq 0
for s in A TGT; do halt $s; done
client_reports
finish
