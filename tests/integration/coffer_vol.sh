#!/bin/sh
# coffer-vol reads a set written by the volume library: labels, list,
# verify and dump; damage, order, a missing volume and keys are named.
tid="coffer-vol"
. "$(dirname "$0")/lib.sh"
V="$top_builddir/coffer-vol"
W="$top_builddir/tests/integration/vol_write"
unset COFFER_VOLUME_KEY

mkdir -p "$T/plain" "$T/enc"
"$W" "$T/plain" 1048576 40 7 > "$T/plain.list" || fail "vol_write plain"
n=$(wc -l < "$T/plain.list")
check "the set spans several volumes ($n)" test "$n" -ge 3
set -- $(cat "$T/plain.list")

"$V" label "$@" > "$T/label.out" 2>&1
check "label exits 0" test $? -eq 0
check "label shows the first serial" grep -q 'serial        C00001' "$T/label.out"
check "label shows the next volume" grep -q 'continues on C00002' "$T/label.out"
check "label shows the last volume" grep -q 'last volume of the set' "$T/label.out"

"$V" verify "$@" > "$T/verify.out" 2>&1
check "verify says OK" grep -q '^OK: set ' "$T/verify.out"

"$V" --json list "$@" > "$T/list.json" 2>"$T/list.err"
check "list exits 0" test $? -eq 0
check "list --json has the set" has_json_keys "$T/list.json" set_uuid records bytes digest types volume_list
check "list counts 40 records" test "$(json_get "$T/list.json" records)" = 40
check "list shows the record types" grep -q '"type": 4' "$T/list.json"
"$V" list "$@" > "$T/list.out"
check "list (text) shows type counts" grep -Eq '^1 +([A-Z]+|-) +10 ' "$T/list.out"

"$V" dump "$@" > "$T/dump.out"
check "dump prints every record" test "$(grep -c ' type ' "$T/dump.out")" = 40
"$V" --bytes 4 dump "$1" "$2" "$3" > /dev/null 2>&1
check "dump with --bytes runs" test $? -ne 99

# Damage: a flipped bit in block 3 of the second volume.
cp "$2" "$T/v2.bak"
python3 - "$2" <<'PY'
import sys
f = open(sys.argv[1], 'r+b'); off = 354 + 3 * 65536 + 6 + 24 + 500
f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 4])); f.close()
PY
"$V" verify "$@" > "$T/dmg.out" 2> "$T/dmg.err"
check "verify exits 12 on damage" test $? -eq 12
first2=$(sed -n 2p "$T/plain.list")
check "verify names the volume and block" grep -q "volume $first2: block [0-9]*: CRC32C mismatch" "$T/dmg.err"
cp "$T/v2.bak" "$2"

# Order, a missing volume, an extra one.
"$V" verify "$2" "$1" "$3" > /dev/null 2> "$T/order.err"
check "wrong order is refused (12)" test $? -eq 12
check "wrong order is named" grep -q 'not the first' "$T/order.err"
"$V" verify "$1" > /dev/null 2> "$T/miss.err"
check "missing volume is named" grep -q 'C00002, which was not given' "$T/miss.err"

# Encrypted: the key from the environment, never argv.
COFFER_VOLUME_KEY='tape key for the vault' "$W" "$T/enc" 1048576 20 9 > "$T/enc.list" ||
	fail "vol_write encrypted"
set -- $(cat "$T/enc.list")
"$V" label "$1" > "$T/elabel.out"
check "label needs no key" grep -q 'AES-256-GCM, key scrypt N=2^15 r=8 p=1' "$T/elabel.out"
"$V" verify "$@" > /dev/null 2> "$T/nokey.err"
check "no key: refused" grep -q 'passphrase is needed' "$T/nokey.err"
COFFER_VOLUME_KEY=wrong-key-here "$V" verify "$@" > /dev/null 2> "$T/badkey.err"
check "wrong key: named" grep -q 'wrong passphrase' "$T/badkey.err"
COFFER_VOLUME_KEY='tape key for the vault' "$V" verify "$@" > "$T/everify.out" 2>&1
check "right key: OK" grep -q '^OK: ' "$T/everify.out"
printf 'tape key for the vault\n' > "$T/key"; chmod 600 "$T/key"
"$V" --key-file "$T/key" verify "$@" > "$T/kf.out" 2>&1
check "--key-file works" grep -q '^OK: ' "$T/kf.out"

check "unknown command is refused" sh -c "! '$V' frobnicate '$1' 2>/dev/null"
"$V" --help | grep -q 'COMMAND VOLUME' || fail "--help"
finish
