#!/bin/sh
# AUDIT CONTAINER FIX=YES: a flipped bit in a primary's container is found
# by audit and by restore (never returned as good data), and repaired from
# the replication server's copy of the same chunk; without a replication
# server, or when the replica holds the chunk damaged too, FIX=YES says
# so and repairs nothing.
tid="audit-repair"
. "$(dirname "$0")/lib.sh"

use() { eval "SRV_DIR=\$${1}_DIR SRV_PORT=\$${1}_PORT SRV_PID=\$${1}_PID"; }
save() { eval "${1}_DIR=\$SRV_DIR ${1}_PORT=\$SRV_PORT ${1}_PID=\$SRV_PID"; }
up() { start_server "$1" || { fail "server $1 starts"; finish; }; save "$1"; }

# flip CONTAINER-GLOB: flip one bit in the middle of each matching file.
flip() {
	python3 - "$@" <<'PY'
import os, sys
for p in sys.argv[1:]:
    n = os.path.getsize(p)
    with open(p, "r+b") as f:
        f.seek(n // 2); b = f.read(1); f.seek(n // 2)
        f.write(bytes([b[0] ^ 0x10]))
PY
}

up PRIMARY
up HOTSITE

src="$T/data"
mkdir -p "$src"
python3 - "$src" <<'PY'
import os, random, sys
rnd = random.Random(11)
with open(os.path.join(sys.argv[1], "big.bin"), "wb") as f:
    f.write(rnd.randbytes(3 << 20))
with open(os.path.join(sys.argv[1], "notes.txt"), "w") as f:
    f.write("the rest of the tree\n" * 100)
PY

use PRIMARY
check "primary defines the hot site" adm "define server HOTSITE serverpassword=repl-pw-1 hladdress=127.0.0.1 lladdress=$HOTSITE_PORT cafile=$HOTSITE_DIR/tls/ca.pem"
use HOTSITE
check "hot site defines the primary" adm "define server PRIMARY serverpassword=repl-pw-1 hladdress=127.0.0.1 lladdress=$PRIMARY_PORT cafile=$PRIMARY_DIR/tls/ca.pem"

use PRIMARY
adm "register node web01 web01-secret" >/dev/null
adm "update node web01 replstate=enabled replmode=send" >/dev/null
cli web01 web01-secret incremental "$src" >"$T/b1.out" 2>&1
check "backup at the primary" grep -q "objects backed up" "$T/b1.out"
adm "set replserver HOTSITE" >/dev/null
adm "replicate node web01 wait=yes" --json >"$T/rep.json" 2>&1
check "the node is replicated to the hot site" test "$(json_get "$T/rep.json" objects_sent)" -ge 2

# Damage while no replication server is set: found, not repairable.
check "set replserver to none" adm "set replserver"
ctrs=$(find "$PRIMARY_DIR/pool" -name '*.ctr' -size +1M | sort)
check "the primary has a container with the data" test -n "$ctrs"
flip $ctrs
adm "audit container wait=yes fix=yes" --json >"$T/a0.json" 2>&1
check "audit finds the damage" test "$(json_get "$T/a0.json" damaged)" -ge 1
check "nothing is repaired without a replication server" test "$(json_get "$T/a0.json" repaired)" = 0
check "and the message says why" grep -q "ANR4868W" "$T/a0.json"
cli web01 web01-secret restore "$src/big.bin" "$T/r0/" >"$T/r0.out" 2>&1
rc=$?
check "restore refuses the damaged file (exit $rc)" test "$rc" -ne 0
check "and never leaves bad data in its place" test ! -f "$T/r0/big.bin"

check "set replserver HOTSITE again" adm "set replserver HOTSITE"
use PRIMARY
adm "audit container wait=yes fix=yes" --json >"$T/a1.json" 2>&1
d1=$(json_get "$T/a1.json" damaged)
check "audit fix=yes reports the damage ($d1)" test "$d1" -ge 1
check "and repairs every damaged chunk from the hot site" test "$(json_get "$T/a1.json" repaired)" = "$d1"
check "the activity log says where the repair came from" sh -c \
    "'$ADMIN' --server 127.0.0.1:$PRIMARY_PORT --ca '$PRIMARY_DIR/tls/ca.pem' -c 'query actlog search=repaired' | grep -q 'from the replication server HOTSITE'"
adm "audit container wait=yes" --json >"$T/a2.json" 2>&1
check "a second audit finds no damage" test "$(json_get "$T/a2.json" damaged)" = 0
cli web01 web01-secret restore "$src/" "$T/r1/" --subdir=yes >"$T/r1.out" 2>&1
check "the repaired data restores identically" same_tree "$src" "$T/r1"

# Damage on both sides: every chunk of the hot site's container is hit
# (a bit every 32 KiB; chunks are at least 64 KiB), so the replica has
# no good copy to give.
flip $(find "$PRIMARY_DIR/pool" -name '*.ctr' -size +1M | sort)
python3 - $(find "$HOTSITE_DIR/pool" -name '*.ctr' -size +1M) <<'PY'
import os, sys
for p in sys.argv[1:]:
    with open(p, "r+b") as f:
        for off in range(16384, os.path.getsize(p), 32768):
            f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x10]))
PY
adm "audit container wait=yes fix=yes" --json >"$T/a3.json" 2>&1
d3=$(json_get "$T/a3.json" damaged)
check "damage on both sides is found ($d3)" test "$d3" -ge 1
check "and not 'repaired' with the replica's damaged copy" test "$(json_get "$T/a3.json" repaired)" = 0
check "the answer is a warning that names what is left" grep -q "not (the replica lacks them)" "$T/a3.json"
check "the primary still runs" kill -0 "$PRIMARY_PID"
check "the hot site still runs" kill -0 "$HOTSITE_PID"
finish
