#!/bin/sh
# Wire bytes of a VM restore listing, recipes listed vs left out
# (BENCHMARKS.md).  tools/bench-vm-listing.sh, top_builddir=BUILD to choose.
tid="measure"
top=$(cd "$(dirname "$0")/.." && pwd)
: "${top_builddir:=$top/build}"
. "$top/tests/integration/lib.sh"
start_server MEAS || exit 1
adm "register node hv1 hv1-secret-pw" >/dev/null
conf="$T/qemu"; img="$T/images"; mkdir -p "$conf" "$img"
vm() { cli hv1 hv1-secret-pw --vmconfdir "$conf" "$@"; }
# 1 GiB image, 512 MiB of random data in 64 KiB blocks, 16 segments of 64 MiB.
python3 - "$img/big.raw" <<'PY'
import os, random, sys
rnd = random.Random(1)
with open(sys.argv[1], "wb") as f:
    f.truncate(1 << 30)
    for i in range(8192):
        f.seek(rnd.randrange(0, 16384) * 65536)
        f.write(os.urandom(65536))
PY
vm_xml big "$img/big.raw" >"$conf/big.xml"
COFFER_VM_SEGMENT=64M vm --json backup vm big >"$T/b.json" 2>&1; json_get "$T/b.json" rc
mkdir -p "$T/t"; touch "$T/t/big.raw" "$T/t/big.xml"
for hide in LIST_OPTS ""; do
	stop_server; COFFER_TEST_HIDE_FEATURES=$hide; export COFFER_TEST_HIDE_FEATURES
	restart_server MEAS; unset COFFER_TEST_HIDE_FEATURES
	# The target exists: the restore stops after the listing.
	vm --json restore vm big --target-dir "$T/t" >"$T/l.json" 2>/dev/null
	echo "hide=[$hide] listing-only restore wire_bytes=$(json_get "$T/l.json" wire_bytes)"
	rm -rf "$T/r"
	COFFER_PASSWORD=hv1-secret-pw /usr/bin/time -f "%e s %M KiB" -o "$T/time" sh -c "$COFFER --server 127.0.0.1:$SRV_PORT --ca $SRV_DIR/tls/ca.pem --node hv1 --vmconfdir $conf --json restore vm big --target-dir $T/r >$T/r.json 2>/dev/null"
	echo "hide=[$hide] full restore wire_bytes=$(json_get "$T/r.json" wire_bytes) rc=$(json_get "$T/r.json" rc) $(cat $T/time)"
	cmp "$img/big.raw" "$T/r/big.raw" && echo same
done
stop_server
