#!/bin/bash
# Cloud storage pools on a real Ceph: a single-node cluster (memstore OSD,
# radosgw) on loopback; DEFINE STGPOOL STGTYPE=CLOUD checks the key and
# the bucket at define time; a domain's DESTINATION sends its nodes'
# backups to the pool; backup, restore (bytes equal), audit, restart,
# reclamation after expiration, radosgw killed mid-backup (the backup
# fails naming the store; nothing committed is lost; after radosgw is back
# a backup works); replication reads the pool like any other.  UPDATE
# STGPOOL changes the key (a wrong one refused), DELETE STGPOOL refuses a
# pool in use and leaves an empty one's bucket alone.  Export reads the
# cloud pool to tape-format volumes; import puts a node's chunks in its
# domain's pool (the directory pool, or a cloud pool).  The secret never
# shows in the activity log.  Skips
# (77) when Ceph is not installed or does not start.
tid="ceph-pool"
. "$(dirname "$0")/lib.sh"

CEPH="$top_srcdir/tests/integration/ceph.sh"
CD="$T/ceph"
grep -q '^#define HAVE_S3 1' "$top_builddir/config.h" 2>/dev/null ||
	{ echo "# skip: built without libcurl (cloud pools)"; exit 77; }
bash "$CEPH" start "$CD" >"$T/ceph.start" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	echo "# skip: single-node Ceph unavailable: $(tail -1 "$T/ceph.start")"
	bash "$CEPH" stop "$CD" >/dev/null 2>&1
	exit 77
fi
# Every daemon we started goes, by the pids in its run dir, whatever happens.
trap 'bash "$CEPH" stop "$CD" >/dev/null 2>&1; cleanup' EXIT
. "$CD/env"
check "bucket created" bash "$CEPH" mkbucket "$CD" coffer-pool

start_server S || { fail "server starts"; finish; }
def() {	# def BUCKET SECRET
	adm "define stgpool cloud1 stgtype=cloud cloudurl=$RGW_URL bucket=$1 identity=$S3_ACCESS password=$2"
}
def coffer-pool wrong-secret-0000000000000000000000 >"$T/d1.out" 2>&1
check "a wrong secret fails at define time" test $? -ne 0
check "... saying so" grep -q "wrong access key or secret" "$T/d1.out"
def no-such-bucket "$S3_SECRET" >"$T/d2.out" 2>&1
check "a missing bucket fails at define time" test $? -ne 0
check "... naming the bucket" grep -q "bucket no-such-bucket does not exist" "$T/d2.out"
check "a bad URL is refused" sh -c '! "$0" --server "127.0.0.1:$1" --ca "$2" -c "define stgpool c9 stgtype=cloud cloudurl=ftp://x bucket=abc identity=a password=b" | grep -q "http:// or https://" && exit 1 || exit 0' "$ADMIN" "$SRV_PORT" "$SRV_DIR/tls/ca.pem"
check "defined with the right key" def coffer-pool "$S3_SECRET"
check "master key is private" test "$(stat -c %a "$SRV_DIR/master.key")" = 600
check "the secret is not in the catalog in clear" sh -c '! grep -aq "$0" "$1"/catalog.db*' "$S3_SECRET" "$SRV_DIR"
adm "query actlog" >"$T/actlog" 2>&1
check "the activity log shows the define" grep -q "define stgpool cloud1" "$T/actlog"
check "... never the secret" sh -c '! grep -q "$0" "$1" && ! grep -q "wrong-secret" "$1"' "$S3_SECRET" "$T/actlog"
check "... nor in the server's output" sh -c '! grep -q "$0" "$1"/stderr "$1"/stdout' "$S3_SECRET" "$SRV_DIR"
# https: verified against the CA given, refused without it.
adm "define stgpool tlsp stgtype=cloud cloudurl=$RGW_TLS_URL bucket=coffer-pool identity=$S3_ACCESS password=$S3_SECRET" >"$T/d3.out" 2>&1
check "https with an unknown CA is refused" test $? -ne 0
check "... saying it is the certificate" grep -qiE "TLS: .*(certificate|verify)" "$T/d3.out"
check "https with cafile= is defined" adm "define stgpool tlsp stgtype=cloud cloudurl=$RGW_TLS_URL bucket=coffer-pool identity=$S3_ACCESS password=$S3_SECRET cafile=$CD/rgw.crt"
check "domain destination set" adm "update domain standard destination=cloud1 verdeleted=0 retextra=0 retonly=0"
adm "query domain standard" --json >"$T/qd.json" 2>&1
check "query domain shows it" grep -q '"destination": *"CLOUD1"' "$T/qd.json"

adm "register node n1 n1-secret-pw" >/dev/null
src="$T/data"
mkdir -p "$src/sub"
python3 - "$src" <<'PY'
import os, random, sys
r = random.Random(7)
for i in range(12):
    with open(os.path.join(sys.argv[1], "f%02d.bin" % i), "wb") as f:
        f.write(r.randbytes(r.randint(1, 1500000)))
with open(os.path.join(sys.argv[1], "sub", "text"), "w") as f:
    f.write("a line of text that compresses\n" * 20000)
PY
cli n1 n1-secret-pw incremental "$src" >"$T/b1.out" 2>&1
check "backup into the cloud pool" grep -q "objects backed up" "$T/b1.out"
adm "query stgpool" --json >"$T/qs.json" 2>&1
cnt() { python3 -c 'import json,sys
rows=[r for l in open(sys.argv[1]) if l.strip().startswith("{") for r in json.loads(l)["rows"]]
print(next(r[sys.argv[3]] for r in rows if r["stgpool_name"]==sys.argv[2]))' "$@"; }
check "the cloud pool holds containers" test "$(cnt "$T/qs.json" CLOUD1 containers)" -ge 1
check "the directory pool holds none" test "$(cnt "$T/qs.json" CONTAINERPOOL containers)" -eq 0
objs() { curl -s --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS:$S3_SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$RGW_URL/coffer-pool?list-type=2" |
    grep -o '<Key>[^<]*\.ctr</Key>' | wc -l; }
check "the containers are objects in the bucket" test "$(objs)" -ge 1
cli n1 n1-secret-pw restore "$src/" "$T/r1/" --subdir >"$T/r1.out" 2>&1
check "restore from the cloud pool" same_tree "$src" "$T/r1"
adm "audit container wait=yes" --json >"$T/a1.json" 2>&1
check "audit reads every chunk back" test "$(json_get "$T/a1.json" chunks_checked)" -ge 12
check "... and finds none damaged" test "$(json_get "$T/a1.json" damaged)" -eq 0

# UPDATE STGPOOL: a new key is checked against the bucket before it is
# stored, as at define time; a wrong one is refused and the pool goes on
# with the old.  A second key of the user is taken by the running pool at
# once, and (the first key removed from radosgw) after a restart.
adm "update stgpool cloud1 password=wrong-secret-1111111111111111111111" >"$T/u1.out" 2>&1
check "a wrong new secret is refused" test $? -ne 0
check "... saying so" grep -q "wrong access key or secret" "$T/u1.out"
adm "update stgpool cloud1 bucket=other-bucket" >"$T/u2.out" 2>&1
check "the bucket cannot be changed" test $? -ne 0
check "... saying why" grep -q "containers are objects in bucket coffer-pool" "$T/u2.out"
cli n1 n1-secret-pw restore "$src/f00.bin" "$T/ru1/" >"$T/ru1.out" 2>&1
check "the old secret still works" cmp "$src/f00.bin" "$T/ru1/f00.bin"
K2=COFFERTESTACCESS0002 S2=coffertestsecret00000000000000000000002
CEPH_CONF="$CD/ceph.conf" radosgw-admin key create --uid=coffer --key-type=s3 \
    --access-key="$K2" --secret-key="$S2" >"$T/key2.json" 2>&1
check "radosgw has a second key" grep -q "$K2" "$T/key2.json"
check "the pool takes the second key" adm "update stgpool cloud1 identity=$K2 password=$S2"
check "https pool: a CA file that does not verify is refused" sh -c '! "$0" --server "127.0.0.1:$1" --ca "$2" -c "update stgpool tlsp cafile=$3"' "$ADMIN" "$SRV_PORT" "$SRV_DIR/tls/ca.pem" "$SRV_DIR/tls/ca.pem"
check "https pool takes the second key (its CA file kept)" adm "update stgpool tlsp identity=$K2 password=$S2"
adm "query stgpool cloud1" --json >"$T/qsu.json" 2>&1
check "query stgpool shows the new identity" test "$(cnt "$T/qsu.json" CLOUD1 identity)" = "$K2"
CEPH_CONF="$CD/ceph.conf" radosgw-admin key rm --uid=coffer --key-type=s3 \
    --access-key="$S3_ACCESS" >"$T/key1rm.out" 2>&1
check "radosgw drops the first key" test $? -eq 0
S3_ACCESS=$K2 S3_SECRET=$S2
echo "written after the key change" >"$src/sub/after-key"
cli n1 n1-secret-pw incremental "$src" >"$T/bk.out" 2>&1
check "a backup with the new key, no restart" grep -q "objects backed up" "$T/bk.out"
cli n1 n1-secret-pw restore "$src/" "$T/rk/" --subdir >"$T/rk.out" 2>&1
check "... and everything restores with it" same_tree "$src" "$T/rk"
check "the new secret is not in the catalog in clear" sh -c '! grep -aq "$0" "$1"/catalog.db*' "$S2" "$SRV_DIR"
adm "query actlog search=stgpool" >"$T/actlog-u" 2>&1
check "the activity log shows the updates" grep -qi "update stgpool cloud1" "$T/actlog-u"
check "... never a secret" sh -c '! grep -qE "$0|wrong-secret-1111" "$1" "$2"/stderr "$2"/stdout' "$S2" "$T/actlog-u" "$SRV_DIR"

# DELETE STGPOOL: refused while a domain sends backups there or while it
# holds data; an empty pool goes, and its bucket is left as it was.
adm "delete stgpool cloud1" >"$T/del1.out" 2>&1
check "a pool that is a domain's destination is not deleted" test $? -ne 0
check "... naming the domain" grep -q "destination of policy domain STANDARD" "$T/del1.out"
adm "update domain standard destination=containerpool" >/dev/null 2>&1
adm "delete stgpool cloud1" >"$T/del2.out" 2>&1
check "a pool that holds data is not deleted" test $? -ne 0
check "... saying what it holds" grep -qE "still holds data: it holds [0-9]+ chunks in [0-9]+ containers" "$T/del2.out"
check "domain destination set back" adm "update domain standard destination=cloud1"
nobj=$(objs)
check "the empty pool is deleted" adm "delete stgpool tlsp"
check "... leaving the bucket's objects alone" test "$(objs)" -eq "$nobj"
check "... and its staging directory goes" test ! -e "$SRV_DIR/pool/cloud/TLSP"
adm "query stgpool" --json >"$T/qsd.json" 2>&1
check "query stgpool no longer lists it" sh -c '! grep -q "\"TLSP\"" "$0"' "$T/qsd.json"

stop_server
start_server S || { fail "server restarts"; finish; }
cli n1 n1-secret-pw restore "$src/" "$T/r2/" --subdir >"$T/r2.out" 2>&1
check "after a restart the pool is attached again (with the new key)" same_tree "$src" "$T/r2"
check "... and the deleted pool stays deleted" sh -c '! "$0" --server "127.0.0.1:$1" --ca "$2" -c "query stgpool" | grep -q TLSP' "$ADMIN" "$SRV_PORT" "$SRV_DIR/tls/ca.pem"
check "a name deleted can be defined again" adm "define stgpool tlsp stgtype=cloud cloudurl=$RGW_TLS_URL bucket=coffer-pool identity=$K2 password=$S2 cafile=$CD/rgw.crt"

# Expire most of the data, then reclaim: live chunks move to a new object,
# old objects are deleted.
before=$(objs)
rm -f "$src"/f0[0-9].bin
cli n1 n1-secret-pw incremental "$src" >"$T/b2.out" 2>&1
adm "expire inventory wait=yes" --json >"$T/e.json" 2>&1
check "expiration deletes the versions" test "$(json_get "$T/e.json" objects_deleted)" -ge 10
adm "reclaim stgpool cloud1 threshold=10 wait=yes" >"$T/rc.out" 2>&1
check "reclamation runs" grep -q "SUCCESS" "$T/rc.out"
adm "query stgpool cloud1" --json >"$T/qs2.json" 2>&1
check "reclamation gives space back" test "$(cnt "$T/qs2.json" CLOUD1 capacity_used_bytes)" -lt "$(cnt "$T/qs.json" CLOUD1 capacity_used_bytes)"
check "old objects are deleted from the bucket" test "$(objs)" -le "$before"
cli n1 n1-secret-pw restore "$src/" "$T/r3/" --subdir >"$T/r3.out" 2>&1
check "what is left restores after reclamation" same_tree "$src" "$T/r3"

# radosgw dies in the middle of a backup.
python3 - "$src" <<'PY'
import os, random, sys
r = random.Random(8)
os.makedirs(os.path.join(sys.argv[1], "new"), exist_ok=True)
for i in range(40):
    with open(os.path.join(sys.argv[1], "new", "g%02d.bin" % i), "wb") as f:
        f.write(r.randbytes(1000000))
PY
n0=$(committed_objects)
# Held still halfway through its files while radosgw goes: stopped by the
# client's fault hook at its 15th file where it is compiled in (a quiet
# machine backs the 40 files up faster than a poll of /proc sees them).
stopped() { case $(cat "/proc/$1/stat" 2>/dev/null) in *") T "*) return 0 ;; esac; return 1; }
if "$COFFERD" --version 2>/dev/null | grep -q '^fault injection: compiled in'; then
	COFFER_FAULT=client.file:15 COFFER_FAULT_SIGNAL=STOP; export COFFER_FAULT COFFER_FAULT_SIGNAL
	cli_bg n1 n1-secret-pw incremental "$src" >"$T/b3.out" 2>&1
	unset COFFER_FAULT COFFER_FAULT_SIGNAL
	i=0; until stopped "$CLI_PID" || [ $i -gt 1200 ]; do sleep 0.05; i=$((i + 1)); done
	check "the client is held mid-backup" stopped "$CLI_PID"
else
	cli_bg n1 n1-secret-pw incremental "$src" >"$T/b3.out" 2>&1
	wait_for_open "$CLI_PID" '/new/g1[0-9]\.bin$' 60
	kill -STOP "$CLI_PID"
fi
bash "$CEPH" rgw-stop "$CD"
kill -CONT "$CLI_PID"
wait "$CLI_PID"
brc=$?
check "the backup fails while radosgw is down" test $brc -ne 0
# The server says why; the client shows it too unless the session was
# torn down while it was still streaming chunks (it then reports the
# closed connection).
check "... and the server names the store" grep -qiE "upload: S3 http://127.0.0.1:[0-9]+/coffer-pool.*(connect|Connection|reset)" "$SRV_DIR/stderr"
check "nothing committed is lost: the old data is there" test "$(committed_objects)" -ge "$n0"
check "radosgw restarts" bash "$CEPH" rgw-start "$CD"
cli n1 n1-secret-pw incremental "$src" >"$T/b4.out" 2>&1
check "after radosgw is back a backup works" grep -q "objects backed up" "$T/b4.out"
cli n1 n1-secret-pw restore "$src/" "$T/r4/" --subdir >"$T/r4.out" 2>&1
check "and everything restores" same_tree "$src" "$T/r4"
adm "audit container wait=yes" --json >"$T/a2.json" 2>&1
check "audit after it all: no damage" test "$(json_get "$T/a2.json" damaged)" -eq 0

# Replication reads the cloud pool as any other: the hot site (a directory
# pool) restores the node identically.
use() { eval "SRV_DIR=\$${1}_DIR SRV_PORT=\$${1}_PORT SRV_PID=\$${1}_PID"; }
save() { eval "${1}_DIR=\$SRV_DIR ${1}_PORT=\$SRV_PORT ${1}_PID=\$SRV_PID"; }
save S
start_server HOT || { fail "hot site starts"; finish; }
save HOT
use S
check "primary defines the hot site" adm "define server HOT serverpassword=repl-pw-1 hladdress=127.0.0.1 lladdress=$HOT_PORT cafile=$HOT_DIR/tls/ca.pem"
use HOT
check "hot site defines the primary" adm "define server S serverpassword=repl-pw-1 hladdress=127.0.0.1 lladdress=$S_PORT cafile=$S_DIR/tls/ca.pem"
use S
adm "update node n1 replstate=enabled replmode=send" >/dev/null
adm "set replserver HOT" >/dev/null
adm "replicate node n1 wait=yes" --json >"$T/rep.json" 2>&1
check "the node replicates from the cloud pool" test "$(json_get "$T/rep.json" chunks_sent)" -ge 1
use HOT
cli n1 n1-secret-pw restore "$src/" "$T/r5/" --subdir >"$T/r5.out" 2>&1
check "the hot site restores it identically" same_tree "$src" "$T/r5"

# A damaged chunk of the cloud pool is repaired from the hot site into the
# cloud pool it was in, not into the directory pool.  Bytes of the largest
# container object are flipped in the bucket, behind the server's back
# (stopped, so that no cached window hides it); flips in dead space (data
# expired but not reclaimed) go unseen, as they should.
use S
stop_server
s3() { curl -s --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS:$S3_SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
key=$(s3 "$RGW_URL/coffer-pool?list-type=2" | python3 -c 'import re,sys
x = sys.stdin.read()
objs = re.findall(r"<Key>([^<]*\.ctr)</Key>.*?<Size>(\d+)</Size>", x)
print(max(objs, key=lambda o: int(o[1]))[0])')
s3 -o "$T/ctr.bin" "$RGW_URL/coffer-pool/$key"
python3 - "$T/ctr.bin" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
for i in range(50000, len(b), 97000):	# some land in live chunks
    b[i] ^= 0x40
open(sys.argv[1], "wb").write(bytes(b))
PY
code=$(s3 -X PUT -T "$T/ctr.bin" "$RGW_URL/coffer-pool/$key" -o /dev/null -w '%{http_code}')
check "a container object with bytes flipped is put back (${key:-none})" test "$code" = 200
start_server S || { fail "server restarts after the damage"; finish; }
save S
adm "audit container wait=yes fix=yes" --json >"$T/afix.json" 2>&1
check "audit finds the damage in the cloud pool" test "$(json_get "$T/afix.json" damaged)" -ge 1
check "... and repairs it from the hot site" test "$(json_get "$T/afix.json" repaired)" = "$(json_get "$T/afix.json" damaged)"
adm "query stgpool" --json >"$T/qsr.json" 2>&1
check "the repaired chunk stays in the cloud pool" test "$(cnt "$T/qsr.json" CONTAINERPOOL chunks)" -eq 0
check "... which shows no damage" test "$(cnt "$T/qsr.json" CLOUD1 damaged)" -eq 0
cli n1 n1-secret-pw restore "$src/" "$T/r8/" --subdir >"$T/r8.out" 2>&1
check "after the repair everything restores" same_tree "$src" "$T/r8"
use HOT
stop_server

# Export reads the cloud pool too: the node goes to tape-format volumes,
# and a new server with only its directory pool imports and restores it.
use S
mkdir -p "$T/tapes"
check "define devclass" adm "define devclass tapes devtype=file directory=$T/tapes maxcapacity=8M"
adm "export node n1 filedata=all devclass=tapes wait=yes" --json >"$T/ex.json" 2>&1
exported=$(json_get "$T/ex.json" objects)
check "export of a node whose data is in the cloud pool ($exported versions)" test "${exported:-0}" -ge 14
vols=$(python3 -c 'import json,sys,os; print(",".join(os.path.basename(p) for p in json.loads(open(sys.argv[1]).read().splitlines()[-1])["volumes"]))' "$T/ex.json")
stop_server
start_server NEW || { fail "a new server starts"; finish; }
adm "define devclass tapes devtype=file directory=$T/tapes maxcapacity=8M" >/dev/null
adm "import node n1 devclass=tapes volumenames=$vols wait=yes" --json >"$T/im.json" 2>&1
check "the new server imports every version" test "$(json_get "$T/im.json" objects_imported)" = "$exported"
adm "query stgpool" --json >"$T/qsn.json" 2>&1
check "... into its directory pool" test "$(cnt "$T/qsn.json" CONTAINERPOOL containers)" -ge 1
cli n1 n1-secret-pw restore "$src/" "$T/r6/" --subdir >"$T/r6.out" 2>&1
check "the imported node restores identically" same_tree "$src" "$T/r6"
stop_server

# Import follows the node's domain, as a backup does: where STANDARD's
# destination is a cloud pool, the imported chunks go to that pool.
start_server NEW2 || { fail "a second new server starts"; finish; }
check "the second server defines a cloud pool" adm "define stgpool cl2 stgtype=cloud cloudurl=$RGW_URL bucket=coffer-pool identity=$K2 password=$S2"
adm "update domain standard destination=cl2" >/dev/null
adm "define devclass tapes devtype=file directory=$T/tapes maxcapacity=8M" >/dev/null
adm "import node n1 devclass=tapes volumenames=$vols wait=yes" --json >"$T/im2.json" 2>&1
check "it imports every version" test "$(json_get "$T/im2.json" objects_imported)" = "$exported"
adm "query stgpool" --json >"$T/qsn2.json" 2>&1
check "... into the domain's cloud pool" test "$(cnt "$T/qsn2.json" CL2 containers)" -ge 1
check "... and not the directory pool" test "$(cnt "$T/qsn2.json" CONTAINERPOOL chunks)" -eq 0
cli n1 n1-secret-pw restore "$src/" "$T/r7/" --subdir >"$T/r7.out" 2>&1
check "the node imported into the cloud pool restores identically" same_tree "$src" "$T/r7"

# The key revoked while the server is down: the pool is unreachable at
# start-up (logged; the server starts), and UPDATE STGPOOL with a new key
# brings it back without another restart.
stop_server
K3=COFFERTESTACCESS0003 S3K=coffertestsecret00000000000000000000003
CEPH_CONF="$CD/ceph.conf" radosgw-admin key create --uid=coffer --key-type=s3 \
    --access-key="$K3" --secret-key="$S3K" >/dev/null 2>&1
CEPH_CONF="$CD/ceph.conf" radosgw-admin key rm --uid=coffer --key-type=s3 \
    --access-key="$K2" >/dev/null 2>&1
restart_server NEW2 || { fail "the server starts with its pool's key revoked"; finish; }
check "... and says the pool cannot be reached" grep -q "storage pool CL2" "$SRV_DIR/stderr"
cli n1 n1-secret-pw restore "$src/f00.bin" "$T/r9/" >"$T/r9.out" 2>&1
check "a restore from it fails meanwhile" test $? -ne 0
adm "audit container wait=yes" --json >"$T/aden.json" 2>&1
check "an audit meanwhile fails (rc 12)" test $? -eq 12
check "... naming the refused key, not damage" grep -q "wrong access key or secret" "$T/aden.json"
check "the new key is taken" adm "update stgpool cl2 identity=$K3 password=$S3K"
cli n1 n1-secret-pw restore "$src/" "$T/r10/" --subdir >"$T/r10.out" 2>&1
check "then the node restores identically, no restart" same_tree "$src" "$T/r10"
stop_server
# coffer-pool, offline, reads directory pools only: it audits what it can
# and counts the cloud pool's chunks as not checked, not as damaged.
"$top_builddir/coffer-pool" --db "$SRV_DIR/catalog.db" --json audit \
    "$SRV_DIR/pool" >"$T/cpa.json" 2>"$T/cpa.err"
check "coffer-pool audit of a server with a cloud pool ends with rc 8" test $? -eq 8
check "... skipping the cloud pool's chunks" test "$(json_get "$T/cpa.json" skipped)" -ge 1
check "... none damaged" test "$(json_get "$T/cpa.json" damaged)" -eq 0
check "... and says why" grep -q "were not checked: this tool reads directory pools only" "$T/cpa.err"
finish
