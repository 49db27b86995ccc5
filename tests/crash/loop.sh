#!/bin/sh
# Soak run of the crash tests: tests/crash/loop.sh N picks N kill points
# at random (the scenario, the fault hook and its count, or a random
# delay) from those crash.sh runs, with the same checks after each, and
# prints how many were survived.  Not run by make check.
#   top_builddir=BUILD tests/crash/loop.sh 200
# Without fault injection compiled in (cofferd --version) only the
# random-delay points are picked.
tid="crash loop"
n=${1:-20}
case $n in ''|*[!0-9]*) echo "usage: $0 N" >&2; exit 2 ;; esac
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/crash_lib.sh"

start=$(date +%s)
crash_setup
vm_setup
export_all >"$T/ex.json" 2>&1
check "a first complete export" export_done "$T/ex.json"
hooks=no
fi_compiled && hooks=yes
echo "# fault injection compiled in: $hooks"

pick() {	# pick WORD...: one of the words
	shift $(rnd $#)
	echo "$1"
}
d() { echo "delay:$(( $1 + $(rnd $(( $2 - $1 ))) ))"; }

# round, not i: crash_lib.sh's functions use i.
round=0
while [ $round -lt "$n" ]; do
	round=$((round + 1))
	if [ $hooks = yes ] && [ "$(rnd 4)" != 0 ]; then
		case $(rnd 10) in
		0) kp_backup "hook:$(pick pool.append.after_write pool.commit.before_sync \
		    pool.commit.after_sync pool.commit.before_index_commit \
		    pool.commit.after_index_commit)" ;;
		1) kp_expire "hook:$(pick expire.delete expire.before_commit expire.after_commit)" ;;
		2) kp_reclaim "hook:$(pick reclaim.after_drop reclaim.copy reclaim.before_sync \
		    reclaim.before_commit reclaim.before_remove reclaim.after_remove \
		    pool.append.after_write)" ;;
		3) kp_audit "hook:audit.chunk:$(( 1 + $(rnd 1000) ))" ;;
		4) kp_dbb "hook:$(pick dbb.after_snapshot dbb.before_close dbb.before_register \
		    dbb.after_backup)" ;;
		5) kp_repl A "hook:$(pick repl.source.after_batch repl.source.before_done \
		    repl.source.after_done)" ;;
		6) kp_repl TGT "hook:$(pick repl.target.after_commit pool.commit.after_sync \
		    pool.commit.before_index_commit pool.commit.after_index_commit \
		    repl.target.before_done repl.target.after_done)" ;;
		# volume:1: early in a loop the set may fit in one volume.
		7) kp_export "hook:$(pick export.record:$(( 1 + $(rnd 2000) )) export.volume:1 \
		    export.before_end export.before_close)" ;;
		8) kp_import "hook:$(pick import.before_batch import.after_batch \
		    pool.commit.after_sync pool.commit.after_index_commit):$(( 1 + $(rnd 3) ))" ;;
		9) kp_vm_backup "hook:$(pick pool.append.after_write pool.commit.before_sync \
		    pool.commit.after_sync pool.commit.before_index_commit \
		    pool.commit.after_index_commit)" ;;
		esac
	else
		case $(rnd 9) in
		0) kp_backup "$(d 20 500)" ;;
		1) kp_client "$(rnd 400)" ;;
		2) kp_reclaim "$(d 0 100)" ;;
		3) kp_repl A "$(d 20 400)" ;;
		4) kp_repl TGT "$(d 20 400)" ;;
		5) kp_export "$(d 20 400)" ;;
		6) kp_import "$(d 50 600)" ;;
		7) kp_vm_backup "$(d 30 300)" ;;
		8) kp_vm_restore "$(d 20 200)" ;;
		esac
	fi
done
check "final: n2 restores from A" restores_n2 A
check "final: n2 restores from TGT" restores_n2 TGT
crash_summary
echo "# loop.sh took $(( $(date +%s) - start )) s"
check "no kill point lost ($lost)" test "$lost" -eq 0
for s in A TGT; do halt $s; done
client_reports
finish
