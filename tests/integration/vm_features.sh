#!/bin/sh
# A new client with an older server: the server's HELLO_OK says which
# protocol features it has (common/proto.h, PROTO_FEAT_*), and the client
# uses only those.  COFFER_TEST_HIDE_FEATURES (test only) makes cofferd
# advertise fewer and refuse the hidden ones as a server from before them
# did: an unknown TXN_COMMIT flag, an unknown frame, a trailing byte.
# Checks what an administrator would: a VM backs up and restores byte for
# byte the old way, a VM too large for the old way is refused before
# anything is sent and the message names the missing feature, and with
# every feature the restore listing leaves the disks' recipes out.
tid="vm features"
. "$(dirname "$0")/lib.sh"

old() {	# old FEATURES: (re)start the server hiding them ("" for none)
	[ -n "${SRV_PID:-}" ] && stop_server
	COFFER_TEST_HIDE_FEATURES=$1
	export COFFER_TEST_HIDE_FEATURES
	if [ -f "$T/VMFEAT/catalog.db" ]; then
		restart_server VMFEAT
	else
		start_server VMFEAT
	fi
	r=$?
	unset COFFER_TEST_HIDE_FEATURES
	return $r
}
old "TXN_STAGE,RECIPE_GET,LIST_OPTS" || { fail "server starts"; finish; }
adm "register node hv1 hv1-secret-pw" >/dev/null
conf="$T/qemu"
img="$T/images"
mkdir -p "$conf" "$img"
vm() { cli hv1 hv1-secret-pw --vmconfdir "$conf" "$@"; }
restored() {	# restored NAME VM: restore VM into $T/NAME
	d="$T/$1"
	rm -rf "$d"
	vm --json restore vm "$2" --target-dir "$d" >"$d.json" 2>"$d.err"
}

# 1. A server without TXN_STAGE: a version that would go in parts (every
# 1 MiB here) is committed at once, as before STAGE.
mkimage "$img/db01.raw" 24 3
vm_xml db01 "$img/db01.raw" >"$conf/db01.xml"
COFFER_VM_STAGE=1M COFFER_VM_SEGMENT=1M vm --json backup vm db01 \
    >"$T/b1.json" 2>"$T/b1.err"
check "without TXN_STAGE a VM version backs up in one transaction" \
    test "$(json_get "$T/b1.json" rc)" = 0
check "and the server saw no STAGE flag" \
    sh -c "! grep -q 'TXN_COMMIT flags' '$SRV_DIR/stderr' '$T/b1.err'"

# 2. Without RECIPE_GET nor OBJ_LIST options: the listing carries the
# recipes and the restore uses them (24 segments).
restored r1 db01
check "without RECIPE_GET a segmented disk restores byte for byte" \
    cmp "$img/db01.raw" "$T/r1/db01.raw"
vm --json query vm db01 >"$T/q1.json" 2>&1
check "query vm works without OBJ_LIST options" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["rows"][0]
assert r["disks"] == 1 and r["size_bytes"] == 24 << 20, r' "$T/q1.json"

# 3. A VM whose recipes may pass the old server's 256 MiB transaction
# limit (a 500 GiB sparse disk) is refused before anything is sent.
truncate -s 500G "$img/huge.raw"
vm_xml huge "$img/huge.raw" >"$conf/huge.xml"
vm --json backup vm huge >"$T/b2.json" 2>"$T/b2.err"
check "a VM too large for one transaction fails without TXN_STAGE" \
    test "$(json_get "$T/b2.json" rc)" -ne 0
check "the message names the server's missing feature" \
    grep -q "lacks the protocol feature TXN_STAGE" "$T/b2.err"
check "and nothing was sent" test "$(json_get "$T/b2.json" bytes_sent)" = 0
restored r2 huge
check "no version of it exists, not even its filespace" \
    grep -q "filespace VM:huge: not found" "$T/r2.err"

# 4. RECIPE_GET without the OBJ_LIST options (the listing sends recipes,
# the restore fetches them lazily), then every feature: the listing
# leaves the recipes out; the restored bytes are the same either way.
old "LIST_OPTS" || fail "server restarts"
restored r3 db01
check "with RECIPE_GET, without options: restores byte for byte" \
    cmp "$img/db01.raw" "$T/r3/db01.raw"
old "" || fail "server restarts"
restored r4 db01
check "with every feature: restores byte for byte" \
    cmp "$img/db01.raw" "$T/r4/db01.raw"
w3=$(json_get "$T/r3.json" wire_bytes); w4=$(json_get "$T/r4.json" wire_bytes)
echo "# restore received $w3 bytes with recipes listed, $w4 without"
check "leaving recipes out of the listing receives less ($w4 < $w3)" \
    test "$w4" -lt "$w3"
COFFER_VM_STAGE=1M COFFER_VM_SEGMENT=1M vm --json backup vm db01 \
    >"$T/b5.json" 2>"$T/b5.err"
check "with TXN_STAGE a VM version backs up in parts" \
    test "$(json_get "$T/b5.json" rc)" = 0
stop_server
finish
