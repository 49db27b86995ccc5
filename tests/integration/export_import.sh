#!/bin/sh
# Export and import through tape-format volumes, and the failback story
# they serve: the hot site exports a node (files, a VM, every version) to
# an encrypted set that spans volumes; a rebuilt, empty server imports it;
# replication from the hot site then finds the seeded versions present
# (same UUIDs) and sends only what changed since the export.  Damaged,
# swapped, missing volumes and a wrong key are refused with the volume
# named; an import killed midway and run again ends complete.
tid="export and import"
. "$(dirname "$0")/lib.sh"

use() { eval "SRV_DIR=\$${1}_DIR SRV_PORT=\$${1}_PORT SRV_PID=\$${1}_PID"; }
save() { eval "${1}_DIR=\$SRV_DIR ${1}_PORT=\$SRV_PORT ${1}_PID=\$SRV_PID"; }
up() { start_server "$1" || { fail "server $1 starts"; finish; }; save "$1"; }
KEY="tape key for the set 1"

up HOT
use HOT
adm "register node web01 web01-secret" >/dev/null
src="$T/data"
mkdir -p "$src/etc" "$src/lib"
python3 - "$src" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(11)
for i in range(300):
    with open(os.path.join(root, "etc", "f%03d" % i), "w") as f:
        f.write(("line %d of file %d\n" % (i, i)) * (i + 3))
for i in range(6):
    with open(os.path.join(root, "lib", "blob%d" % i), "wb") as f:
        f.write(rnd.randbytes(1 << 20))
# Enough versions for several import batches (EXP_BATCH_OBJECTS).
os.makedirs(os.path.join(root, "many"))
for i in range(4200):
    with open(os.path.join(root, "many", "m%04d" % i), "w") as f:
        f.write("small %d\n" % i)
PY
cli web01 web01-secret incremental "$src" >/dev/null 2>&1
sleep 1.1
echo "second version" >> "$src/etc/f007"
cli web01 web01-secret incremental "$src" >/dev/null 2>&1
# A VM too: its versions travel like any other.
mkdir -p "$T/qemu" "$T/img"
python3 -c 'import sys; f=open(sys.argv[1],"wb"); f.truncate(64<<20); f.seek(1<<20); f.write(b"boot sector"*9000); f.close()' "$T/img/vm1.raw"
vm_xml vm1 "$T/img/vm1.raw" >"$T/qemu/vm1.xml"
cli web01 web01-secret --vmconfdir "$T/qemu" backup vm vm1 >/dev/null 2>&1

mkdir -p "$T/tapes"
check "define devclass" adm "define devclass tapes devtype=file directory=$T/tapes maxcapacity=3M"
adm "export node web01 filedata=all devclass=tapes encryptkey=\"$KEY\" wait=yes" --json >"$T/ex.json" 2>&1
check "export prints the contract's fields" has_json_keys "$T/ex.json" volumes objects bytes
nvol=$(python3 -c 'import json,sys; print(len(json.loads(open(sys.argv[1]).read().splitlines()[-1])["volumes"]))' "$T/ex.json")
check "the set spans several volumes ($nvol)" test "$nvol" -ge 2
exported=$(json_get "$T/ex.json" objects)
check "the passphrase is not in the activity log" sh -c "! $(printf "'%s' --server 127.0.0.1:%s --ca '%s' -c 'query actlog'" "$ADMIN" "$SRV_PORT" "$SRV_DIR/tls/ca.pem") | grep -q 'tape key'"
vols=$(python3 -c 'import json,sys,os; print(",".join(os.path.basename(p) for p in json.loads(open(sys.argv[1]).read().splitlines()[-1])["volumes"]))' "$T/ex.json")
check "coffer-vol verifies the set" env COFFER_VOLUME_KEY="$KEY" "$top_builddir/coffer-vol" verify $(python3 -c 'import json,sys; print(" ".join(json.loads(open(sys.argv[1]).read().splitlines()[-1])["volumes"]))' "$T/ex.json")
# A plain set too, for a chunk damaged with its block's CRC made good.
adm "export node web01 filedata=all devclass=tapes wait=yes" --json >"$T/exp.json" 2>&1
pvols=$(python3 -c 'import json,sys; print(",".join(json.loads(open(sys.argv[1]).read().splitlines()[-1])["volumes"]))' "$T/exp.json")

# The rebuilt primary: empty, same device class directory.
up NEW
use NEW
adm "define devclass tapes devtype=file directory=$T/tapes maxcapacity=3M" >/dev/null
first=${vols%%,*}
rest=${vols#*,}
adm "import node web01 devclass=tapes volumenames=$rest,$first encryptkey=\"$KEY\" wait=yes" >"$T/bad-order.out" 2>&1
check "volumes out of order are refused, naming the volume" grep -qi "$(echo "$rest" | cut -d, -f1)" "$T/bad-order.out"
adm "import node web01 devclass=tapes volumenames=$vols encryptkey=\"wrong key 12345\" wait=yes" >"$T/bad-key.out" 2>&1
check "a wrong key is refused" grep -qi "key\|passphrase" "$T/bad-key.out"
adm "import node web01 devclass=tapes volumenames=$first wait=yes encryptkey=\"$KEY\"" >"$T/bad-miss.out" 2>&1
check "a missing volume is refused" grep -qi "volume" "$T/bad-miss.out"
adm "query occupancy" --json >"$T/occ0.json" 2>&1
check "imports refused at the start leave nothing behind" sh -c "! grep -q '\"objects\":[1-9]' '$T/occ0.json'"
# A flipped bit midway: the batches before it are good and stay.
cp "$T/tapes/$first" "$T/flipped.vol" 2>/dev/null || cp "$T/tapes/$first.vol" "$T/flipped.vol"
python3 - "$T/flipped.vol" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x10
open(p, "wb").write(bytes(b))
PY
adm "import node web01 devclass=tapes volumenames=$T/flipped.vol,${rest} encryptkey=\"$KEY\" wait=yes" >"$T/bad-flip.out" 2>&1
check "a flipped bit is found and named" grep -qi "block" "$T/bad-flip.out"
# A chunk whose bytes are not what it is named by, in a block whose CRC
# was recomputed (an exporter's pool that held a bad chunk, or damage the
# volume's own checks cannot see): refused before it is stored, named.
p1=${pvols%%,*}
cp "$p1" "$T/badchunk.vol"
python3 - "$T/badchunk.vol" <<'PY'
import struct, sys
T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)
def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for x in data:
        crc = T[(crc ^ x) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
blocks, pos = [], 0          # (offset of the payload in b, its length)
while pos + 6 <= len(b):
    cur = struct.unpack_from("<H", b, pos)[0]
    if cur >= 24 and b[pos + 6:pos + 10] == b"CFDB":
        blocks.append((pos + 6, cur))
    pos += 6 + cur
stream, where = bytearray(), []
for off, n in blocks:
    plen = struct.unpack_from("<I", b, off + 16)[0]
    for k in range(plen):
        where.append((off, off + 24 + k))
    stream += b[off + 24:off + 24 + plen]
i, target = 0, None
while i + 5 <= len(stream):
    t, n = stream[i], struct.unpack_from("<I", stream, i + 1)[0]
    if t == 4 and i > len(stream) // 2 and i + 5 + n <= len(stream):
        target = i + 5           # the chunk's name, its first byte
        break
    i += 5 + n
assert target is not None, "no chunk record in the second half"
blk, at = where[target]
b[at] ^= 0x5A
plen = struct.unpack_from("<I", b, blk + 16)[0]
struct.pack_into("<I", b, blk + 20, crc32c(b[blk + 24:blk + 24 + plen], crc32c(b[blk:blk + 20])))
open(p, "wb").write(bytes(b))
PY
adm "import node web01 devclass=tapes volumenames=$T/badchunk.vol,${pvols#*,} wait=yes" >"$T/bad-chunk.out" 2>&1
check "a chunk that does not match its name is refused, named" grep -qi "chunk [0-9a-f]* in the set: chunk content does not match its name" "$T/bad-chunk.out"

adm "import node web01 devclass=tapes volumenames=$vols encryptkey=\"$KEY\" wait=yes" --json >"$T/im.json" 2>&1
check "import prints the contract's fields" has_json_keys "$T/im.json" objects_imported objects_skipped chunks_stored
imported=$(( $(json_get "$T/im.json" objects_imported) + $(json_get "$T/im.json" objects_skipped) ))
check "every exported version is there after the import ($imported)" test "$imported" = "$exported"
cli web01 web01-secret restore "$src/" "$T/r-new/" --subdir=yes >/dev/null 2>&1
check "the imported node restores identically" same_tree "$src" "$T/r-new"
cli web01 web01-secret --vmconfdir "$T/qemu" restore vm vm1 --target-dir "$T/r-vm" >/dev/null 2>&1
check "the imported VM restores identically" cmp "$T/img/vm1.raw" "$T/r-vm/vm1.raw"
cli web01 web01-secret --json query backup "$src/etc/f007" --inactive >"$T/q7.json" 2>&1
check "inactive versions came along" sh -c "grep -o '\"f007\"\\|f007' '$T/q7.json' | wc -l | grep -q '^[2-9]'"
adm "import node web01 devclass=tapes volumenames=$vols encryptkey=\"$KEY\" wait=yes" --json >"$T/im2.json" 2>&1
check "importing again skips every version" test "$(json_get "$T/im2.json" objects_skipped)" = "$exported"

# Top-off: a change at the hot site after the export, then replication.
use HOT
sleep 1.1
echo "after the export" >> "$src/etc/f100"
cli web01 web01-secret incremental "$src" >/dev/null 2>&1
adm "define server NEW serverpassword=fb-pw-123 hladdress=127.0.0.1 lladdress=$NEW_PORT cafile=$NEW_DIR/tls/ca.pem" >/dev/null
adm "set replserver NEW" >/dev/null
adm "update node web01 replstate=enabled replmode=send" >/dev/null
use NEW
adm "define server HOT serverpassword=fb-pw-123 hladdress=127.0.0.1 lladdress=$HOT_PORT cafile=$HOT_DIR/tls/ca.pem" >/dev/null
adm "update node web01 replmode=receive" >/dev/null
use HOT
adm "replicate node web01 wait=yes" --json >"$T/top.json" 2>&1
top=$(json_get "$T/top.json" objects_sent)
check "the top-off sends only what changed since the export ($top versions)" test "$top" -ge 1 -a "$top" -le 3
check "and about one chunk of data" test "$(json_get "$T/top.json" bytes_sent)" -lt 65536
use NEW
cli web01 web01-secret restore "$src/" "$T/r-top/" --subdir=yes >/dev/null 2>&1
check "after the top-off the new primary restores the latest state" same_tree "$src" "$T/r-top"

# An import killed midway, run again, ends complete.
up THIRD
use THIRD
adm "define devclass tapes devtype=file directory=$T/tapes maxcapacity=3M" >/dev/null
adm "import node web01 devclass=tapes volumenames=$vols encryptkey=\"$KEY\"" >/dev/null 2>&1
# Frozen (SIGSTOP) as soon as its catalog shows a committed batch, then
# killed: the import is caught between batches, whatever the speed.
deadline=$(( $(date +%s) + 60 ))
while :; do
	kill -STOP "$THIRD_PID"
	n=$(sqlite3 "$THIRD_DIR/catalog.db" "select count(*) from object" 2>/dev/null || echo 0)
	[ "${n:-0}" -gt 0 ] && break
	kill -CONT "$THIRD_PID"
	[ "$(date +%s)" -ge "$deadline" ] && break
	sleep 0.02
done
kill -KILL "$THIRD_PID"; kill -CONT "$THIRD_PID" 2>/dev/null
wait "$THIRD_PID" 2>/dev/null
check "the killed import had committed part of the set ($n versions)" test "${n:-0}" -gt 0 -a "${n:-0}" -lt "$exported"
restart_server THIRD || { fail "server restarts"; finish; }
save THIRD
adm "import node web01 devclass=tapes volumenames=$vols encryptkey=\"$KEY\" wait=yes" --json >"$T/im3.json" 2>&1
got=$(( $(json_get "$T/im3.json" objects_imported) + $(json_get "$T/im3.json" objects_skipped) ))
check "the rerun accounts for every version ($got)" test "$got" = "$exported"
check "and skips what the killed run committed" test "$(json_get "$T/im3.json" objects_skipped)" -gt 0
cli web01 web01-secret restore "$src/" "$T/r-third/" --subdir=yes >/dev/null 2>&1
check "and the node restores" sh -c "diff -r --no-dereference '$T/r-new' '$T/r-third' >/dev/null"
check "audit finds no damage after the killed import" sh -c "$(printf '%s' "'$ADMIN' --server 127.0.0.1:$SRV_PORT --ca '$SRV_DIR/tls/ca.pem' --json -c 'audit container wait=yes'") | grep -q '\"damaged\":0'"

# An incremental export (FROMDATE): versions inserted before that day
# stay off the set.
use HOT
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 "$HOT_DIR/catalog.db" "UPDATE object SET inserted = inserted - 864000 WHERE path LIKE '%/many/%'"
	adm "export node web01 filedata=all devclass=tapes fromdate=today wait=yes" --json >"$T/exf.json" 2>&1
	inc=$(json_get "$T/exf.json" objects)
	check "an export from today leaves out the older versions ($inc of $exported)" \
	    test "$inc" -gt 0 -a "$inc" -lt $((exported - 4000))
fi

for s in HOT NEW THIRD; do use $s; stop_server; done
finish
