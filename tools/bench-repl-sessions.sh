#!/bin/bash
# tools/bench-repl-sessions.sh - first replication with maxsessions=N,
# interleaved, for issue 5's MAXSESSIONS work.
#
#   COFFER_BUILD=DIR tools/bench-repl-sessions.sh DATA [RUNS] [N...]
#
# Backs DATA up once into a PRIMARY, then RUNS times (default 3) for each
# N (default "1 2"), in turn: formats a fresh, empty HOTSITE, times
# 'replicate node bench maxsessions=N wait=yes' and prints one line: wall,
# MB/s (bytes_sent / wall), CPU of each cofferd, how many cores stood idle
# meanwhile (/proc/stat), the load average, and the CPU seconds of the
# HOTSITE's four busiest threads (its session workers and verify
# helpers: whether the sessions really ran on separate workers).  Sets of
# N run one after another so that a change in the machine's load shows in
# every N alike; compare medians.  With PERF=1, perf record -g on HOTSITE
# into WORK/perf-hN.data.  Scratch in WORK (default $TMPDIR/coffer-rs).
# Stops only the two cofferd it started, by PID.
set -u
data=${1:?usage: COFFER_BUILD=DIR $0 DATA [RUNS] [N...]}
runs=${2:-3}
shift 2 2>/dev/null || shift $#
sess=${*:-1 2}
B=${COFFER_BUILD:?set COFFER_BUILD to the directory holding cofferd, coffer, coffer-admin}
W=${WORK:-${TMPDIR:-/tmp}/coffer-rs}
export COFFER_ADMIN_PASSWORD=rsadminpw1
srvpw=rssrvpw1
ppid_= hpid=

stop() { [ -z "$1" ] || { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }; }
trap 'stop "$hpid"; stop "$ppid_"' EXIT

start() {	# DIR: sets pid and port
	rm -f "$1/stdout"
	"$B/cofferd" --dir "$1" --port 0 >"$1/stdout" 2>>"$1/stderr" &
	pid=$!
	for _ in $(seq 200); do
		grep -q ' ready on ' "$1/stdout" 2>/dev/null && break
		sleep 0.05
	done
	port=$(sed -n 's/.* ready on [^:]*:\([0-9]*\)$/\1/p' "$1/stdout")
	[ -n "$port" ] || { echo "cofferd --dir $1 did not start" >&2; exit 1; }
}
adm() { "$B/coffer-admin" --server "127.0.0.1:$1" --ca "$2/tls/ca.pem" --json -c "$3"; }
cpu() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ printf "%.2f", ($12 + $13) / 100 }'; }
idle() { awk '/^cpu / { print $5 }' /proc/stat; }

rm -rf "$W"
mkdir -p "$W"
"$B/cofferd" format --dir "$W/P" --name PRIMARY --port 0 >/dev/null || exit 1
start "$W/P"; ppid_=$pid pport=$port
adm "$pport" "$W/P" "register node bench rsnodepw1" >/dev/null
adm "$pport" "$W/P" "update node bench replstate=enabled replmode=send" >/dev/null
COFFER_PASSWORD=rsnodepw1 "$B/coffer" --server "127.0.0.1:$pport" \
    --ca "$W/P/tls/ca.pem" --node bench --json incremental "$data" | tail -1
defined=0
for _ in $(seq "$runs"); do
	for s in $sess; do
		rm -rf "$W/H"
		"$B/cofferd" format --dir "$W/H" --name HOTSITE --port 0 >/dev/null || exit 1
		start "$W/H"; hpid=$pid hport=$port
		adm "$hport" "$W/H" "define server PRIMARY serverpassword=$srvpw hladdress=127.0.0.1 lladdress=$pport cafile=$W/P/tls/ca.pem" >/dev/null
		if [ "$defined" = 0 ]; then
			adm "$pport" "$W/P" "define server HOTSITE serverpassword=$srvpw hladdress=127.0.0.1 lladdress=$hport cafile=$W/H/tls/ca.pem" >/dev/null
			adm "$pport" "$W/P" "set replserver HOTSITE" >/dev/null
			defined=1
		else
			adm "$pport" "$W/P" "update server HOTSITE lladdress=$hport cafile=$W/H/tls/ca.pem" >/dev/null
		fi
		sync
		l0=$(cut -d' ' -f1 /proc/loadavg)
		i0=$(idle); cp0=$(cpu "$ppid_"); ch0=$(cpu "$hpid"); t0=$(date +%s.%N)
		if [ -n "${PERF:-}" ]; then
			perf record -F 499 -g -p "$hpid" -o "$W/perf-h$s.data" >/dev/null 2>&1 &
			perfpid=$!
			sleep 0.5
		fi
		adm "$pport" "$W/P" "replicate node bench maxsessions=$s wait=yes" >"$W/out.json"
		t1=$(date +%s.%N); cp1=$(cpu "$ppid_"); ch1=$(cpu "$hpid"); i1=$(idle)
		[ -z "${PERF:-}" ] || { kill -INT "$perfpid"; wait "$perfpid"; }
		res=$(tail -1 "$W/out.json" | python3 -c 'import json,sys; o=json.load(sys.stdin); print(o.get("bytes_sent", 0), o.get("objects_sent", 0), o["rc"])')
		thr=$(for t in /proc/"$hpid"/task/*; do
			sed 's/^.*) //' "$t/stat" | awk '{ print ($12 + $13) / 100 }'
		done | sort -rn | head -4 | tr '\n' ' ')
		awk -v s="$s" -v t0="$t0" -v t1="$t1" -v res="$res" -v cp="$cp0 $cp1" \
		    -v ch="$ch0 $ch1" -v l0="$l0" -v idle="$((i1 - i0))" -v thr="$thr" 'BEGIN {
			split(res, a, " "); split(cp, p, " "); split(ch, h, " "); w = t1 - t0
			printf "maxsessions %d: wall %.3f s, %.1f MB/s, %s objects, rc %s, CPU primary %.2f hotsite %.2f s, idle cores %.2f, load %s, hotsite threads %s\n",
			    s, w, a[1] / w / 1e6, a[2], a[3], p[2] - p[1], h[2] - h[1], idle / 100 / w, l0, thr }'
		stop "$hpid"; hpid=
	done
done
