# tools/bench-cloud.sh - "tools/bench files --pool=cloud" (sourced by
# tools/bench, which provides msg, die, calc, median, copy_bins, srv_*,
# f_make_quick, f_use_version and the globals they use).
#
# Starts the single-node Ceph of tests/integration/ceph.sh (a bluestore
# OSD on a 24 GiB sparse file, radosgw, free loopback ports) in the scratch directory, measures its
# ceiling with `rados bench write` (4 MiB objects, 16 in flight, 10 s),
# then times, interleaved, RUNS rounds (after one warm-up) of: an initial
# backup of $PB/data by coffer into a fresh server whose domain's
# DESTINATION is a cloud pool on that radosgw, and into a fresh server with
# the directory pool; then a full restore of each (verified with diff -r).
# Medians; backup and restore throughput of the cloud pool against the
# directory pool's (target >= 70%) and the backup against rados bench
# write (target >= 60%).  Every Ceph daemon is stopped by PID at the end.

c_ceph_dir=
cleanup_cloud() {
	[ -n "$c_ceph_dir" ] || return 0
	srv_stop
	bash "$src_top/tests/integration/ceph.sh" stop "$c_ceph_dir" >/dev/null 2>&1
	c_ceph_dir=
}

# CPU seconds (user + system) of every Ceph daemon (radosgw, OSD, mon, mgr).
c_ceph_cpu() {
	local f t=0 pid
	for f in "$c_ceph_dir"/run/*.pid; do
		pid=$(cat "$f" 2>/dev/null) || continue
		[ -r "/proc/$pid/stat" ] || continue
		t=$(sed 's/^.*) //' "/proc/$pid/stat" |
		    awk -v hz="$clk_tck" -v t="$t" '{ printf "%.2f", t + ($12 + $13) / hz }')
	done
	echo "$t"
}

# c_cpu_add KEY SECONDS: sum a CPU figure over the measured rounds.
c_cpu_add() {
	c_cpu[$1]=$(calc '%.2f' "${c_cpu[$1]:-0} + $2")
}

# c_one POOL ROUND: format, (define the cloud pool), back up, restore, diff.
# Besides the wall times, CPU seconds per phase: the client (GNU time),
# cofferd, the Ceph daemons, and the whole machine (so what others ran).
c_one() {
	local p=$1 r=$2 d t0 t1 t2 bk=coffer-bench-$2
	local s0 s1 s2 g0 g1 g2 m0 m1 m2
	d=$fdir/$p-$r
	srv_format "$d"
	srv_start "$d"
	local adm=("$f_bin/coffer-admin" --server "127.0.0.1:$srv_port" --ca "$d/tls/ca.pem")
	if [ "$p" = cloud ]; then
		bash "$src_top/tests/integration/ceph.sh" mkbucket "$c_ceph_dir" "$bk" ||
		    die "cannot create bucket $bk"
		COFFER_ADMIN_PASSWORD=$ADMIN_PW "${adm[@]}" -c "define stgpool cloudb stgtype=cloud cloudurl=$RGW_URL bucket=$bk identity=$S3_ACCESS password=$S3_SECRET" >"$d.define" 2>&1 ||
		    { cat "$d.define" >&2; die "define stgpool failed"; }
		COFFER_ADMIN_PASSWORD=$ADMIN_PW "${adm[@]}" -c "update domain standard destination=cloudb" >/dev/null 2>&1 ||
		    die "update domain failed"
	fi
	srv_register "$d"
	local cli=("$f_bin/coffer" --server "127.0.0.1:$srv_port" --ca "$d/tls/ca.pem" --node bench)
	sync
	s0=$(srv_cpu); g0=$(c_ceph_cpu); m0=$(machine_busy)
	t0=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$d.bktime" "${cli[@]}" incremental "$DATA" >"$d.backup" 2>&1 ||
	    { tail -5 "$d.backup" >&2; die "$p: backup failed"; }
	t1=$(date +%s.%N)
	s1=$(srv_cpu); g1=$(c_ceph_cpu); m1=$(machine_busy)
	rm -rf "$fdir/restore"
	/usr/bin/time -f '%U %S' -o "$d.rstime" "${cli[@]}" restore "$DATA/" "$fdir/restore/" --subdir >"$d.restore" 2>&1 ||
	    { tail -5 "$d.restore" >&2; die "$p: restore failed"; }
	t2=$(date +%s.%N)
	s2=$(srv_cpu); g2=$(c_ceph_cpu); m2=$(machine_busy)
	if [ "$r" -gt 0 ]; then
		c_cpu_add "$p.bk.client" "$(awk '{ print $1 + $2 }' "$d.bktime")"
		c_cpu_add "$p.rs.client" "$(awk '{ print $1 + $2 }' "$d.rstime")"
		c_cpu_add "$p.bk.server" "$(calc '%.2f' "$s1 - $s0")"
		c_cpu_add "$p.rs.server" "$(calc '%.2f' "$s2 - $s1")"
		c_cpu_add "$p.bk.ceph" "$(calc '%.2f' "$g1 - $g0")"
		c_cpu_add "$p.rs.ceph" "$(calc '%.2f' "$g2 - $g1")"
		c_cpu_add "$p.bk.machine" "$(calc '%.2f' "$m1 - $m0")"
		c_cpu_add "$p.rs.machine" "$(calc '%.2f' "$m2 - $m1")"
		c_cpu_add "$p.bk.wall" "$(calc '%.2f' "$t1 - $t0")"
		c_cpu_add "$p.rs.wall" "$(calc '%.2f' "$t2 - $t1")"
	fi
	if ! diff -r --no-dereference "$DATA" "$fdir/restore" >"$d.diff" 2>&1; then
		msg "$p: restore differs from $DATA (see $d.diff)"
		f_verify_failed=1
	fi
	srv_stop
	rm -rf "$fdir/restore" "$d"
	if [ "$r" -gt 0 ]; then
		c_bk[$p]="${c_bk[$p]:-} $(calc '%.4f' "$t1 - $t0")"
		c_rs[$p]="${c_rs[$p]:-} $(calc '%.4f' "$t2 - $t1")"
	fi
	msg "files --pool=cloud: $p round $r: backup $(calc '%.1f' "$t1 - $t0") s, restore $(calc '%.1f' "$t2 - $t1") s"
}

run_files_cloud() {
	need_pkgs time python3 diffutils curl
	runs=${RUNS:-3}
	[ "$quick" = 1 ] && runs=${RUNS:-1}
	fdir=$scratch/files
	mkdir -p "$fdir"
	f_main_pb=$pb_main
	f_pb=$pb_main
	f_started=1
	copy_bins
	if [ "$quick" = 1 ]; then
		msg "files --pool=cloud --quick: a small copy of the data set in $fdir/pb"
		f_make_quick "$fdir/pb" "$f_main_pb"
		f_pb=$fdir/pb
	fi
	f_use_version "$f_pb" v1
	DATA=$f_pb/data
	export COFFER_PASSWORD=$NODE_PW
	c_logical=$(du -sb "$DATA" | cut -f1)
	c_ceph_dir=$scratch/ceph
	msg "files --pool=cloud: starting a single-node Ceph in $c_ceph_dir"
	# A disk-backed OSD (sparse file in the scratch directory): rados bench
	# alone writes several GiB, more than a memstore OSD should hold in RAM.
	OSD_STORE=${OSD_STORE:-bluestore} OSD_SIZE_GB=${OSD_SIZE_GB:-24} \
	    bash "$src_top/tests/integration/ceph.sh" start "$c_ceph_dir" >&2 ||
	    die "single-node Ceph did not start (tools/install-deps.sh installs it)"
	# shellcheck disable=SC1091
	. "$c_ceph_dir/env"
	CEPH_CONF=$c_ceph_dir/ceph.conf ceph osd pool create benchp 8 >/dev/null 2>&1
	# timeout: a full OSD blocks writes instead of failing them.
	CEPH_CONF=$c_ceph_dir/ceph.conf timeout 120 rados bench -p benchp 10 write \
	    -b 4194304 -t 16 \
	    >"$fdir/rados-bench.out" 2>&1 || die "rados bench failed"
	c_rados=$(sed -n 's/^Bandwidth (MB\/sec): *//p' "$fdir/rados-bench.out")
	CEPH_CONF=$c_ceph_dir/ceph.conf ceph osd pool rm benchp benchp --yes-i-really-really-mean-it >/dev/null 2>&1
	msg "files --pool=cloud: rados bench write: $c_rados MB/s"
	declare -gA c_bk c_rs c_cpu
	local r
	c_busy0=$(machine_busy); c_t0=$(date +%s.%N)
	for r in $(seq 0 "$runs"); do
		c_one dir "$r"
		c_one cloud "$r"
	done
	c_load=$(cut -d' ' -f1-3 /proc/loadavg)
	cleanup_cloud
}

print_cloud_text() {
	local p bk rs mb=$((1000 * 1000))
	echo "files --pool=cloud: $DATA, $(calc '%.0f' "$c_logical / 1048576") MiB, medians of $runs run(s); load average after: $c_load"
	printf '%-22s %12s %12s\n' pool "backup MB/s" "restore MB/s"
	for p in dir cloud; do
		# shellcheck disable=SC2086
		bk=$(median ${c_bk[$p]}); rs=$(median ${c_rs[$p]})
		c_bmb[$p]=$(calc '%.1f' "$c_logical / $mb / $bk")
		c_rmb[$p]=$(calc '%.1f' "$c_logical / $mb / $rs")
		printf '%-22s %12s %12s\n' "$p" "${c_bmb[$p]}" "${c_rmb[$p]}"
	done
	printf '%-22s %12s\n' "rados bench write" "$c_rados"
	echo "cloud/dir backup:   $(calc '%.0f' "100 * ${c_bmb[cloud]} / ${c_bmb[dir]}")% (target >= 70%)"
	echo "cloud/dir restore:  $(calc '%.0f' "100 * ${c_rmb[cloud]} / ${c_rmb[dir]}")% (target >= 70%)"
	echo "cloud backup/rados: $(calc '%.0f' "100 * ${c_bmb[cloud]} / $c_rados")% (target >= 60%)"
	echo "CPU seconds, summed over the measured rounds (others = machine - client - cofferd - ceph):"
	printf '%-16s %8s %8s %8s %8s %8s %8s\n' phase wall client cofferd ceph machine others
	local k
	for p in dir cloud; do
		for k in bk rs; do
			printf '%-16s %8s %8s %8s %8s %8s %8s\n' "$p $([ $k = bk ] && echo backup || echo restore)" \
			    "${c_cpu[$p.$k.wall]:-0}" "${c_cpu[$p.$k.client]:-0}" \
			    "${c_cpu[$p.$k.server]:-0}" "${c_cpu[$p.$k.ceph]:-0}" \
			    "${c_cpu[$p.$k.machine]:-0}" \
			    "$(calc '%.2f' "${c_cpu[$p.$k.machine]:-0} - ${c_cpu[$p.$k.client]:-0} - ${c_cpu[$p.$k.server]:-0} - ${c_cpu[$p.$k.ceph]:-0}")"
		done
	done
}

print_cloud_json() {
	printf '{"bench": "files-cloud", "logical_bytes": %s, "runs": %s, "rados_write_mbs": %s, "dir_backup_mbs": %s, "dir_restore_mbs": %s, "cloud_backup_mbs": %s, "cloud_restore_mbs": %s, "load": "%s"}\n' \
	    "$c_logical" "$runs" "$c_rados" "${c_bmb[dir]}" "${c_rmb[dir]}" \
	    "${c_bmb[cloud]}" "${c_rmb[cloud]}" "$c_load"
}
