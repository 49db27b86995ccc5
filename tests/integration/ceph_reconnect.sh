#!/bin/bash
# A cloud pool brought back, or moved, by UPDATE STGPOOL on a running
# server (the Ceph set-up of ceph_pool.sh).
#  1. A reclamation killed between its commit and the deletion of the old
#     object leaves that object in the bucket; the server then starts while
#     radosgw is down, so its start-up recovery cannot remove it.  UPDATE
#     STGPOOL IDENTITY= PASSWORD= with radosgw back runs that recovery on the
#     running server (a backup held open meanwhile keeps its data): the
#     leftover goes, audit finds nothing damaged, the node restores
#     identically.
#  2. UPDATE STGPOOL CLOUDURL= moves the pool to a second radosgw of the
#     same cluster: backup and restore work through it with the first one
#     stopped; a URL where nothing answers, or a store whose bucket of that
#     name lacks the pool's containers, is refused and the pool goes on at
#     its URL; BUCKET= and STGTYPE= are still refused, saying why.
# Skips (77) when Ceph is not installed or does not start.
tid="ceph-reconnect"
. "$(dirname "$0")/lib.sh"

CEPH="$top_srcdir/tests/integration/ceph.sh"
CD="$T/ceph"
grep -q '^#define HAVE_S3 1' "$top_builddir/config.h" 2>/dev/null ||
	{ echo "# skip: built without libcurl (cloud pools)"; exit 77; }
"$COFFERD" --version 2>/dev/null | grep -q '^fault injection: compiled in' ||
	{ echo "# skip: needs ./configure --enable-fault-injection"; exit 77; }
bash "$CEPH" start "$CD" >"$T/ceph.start" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	echo "# skip: single-node Ceph unavailable: $(tail -1 "$T/ceph.start")"
	bash "$CEPH" stop "$CD" >/dev/null 2>&1
	exit 77
fi
FAKE_PID=
# Every daemon we started goes, by the pids in its run dir, whatever happens.
trap '[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; bash "$CEPH" stop "$CD" >/dev/null 2>&1; cleanup' EXIT
. "$CD/env"
check "bucket created" bash "$CEPH" mkbucket "$CD" coffer-pool

objs() { curl -s --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS:$S3_SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$RGW_URL/coffer-pool?list-type=2" |
    grep -o '<Key>[^<]*\.ctr</Key>' | wc -l; }
cnt() { python3 -c 'import json,sys
rows=[r for l in open(sys.argv[1]) if l.strip().startswith("{") for r in json.loads(l)["rows"]]
print(next(r[sys.argv[3]] for r in rows if r["stgpool_name"]==sys.argv[2]))' "$@"; }
stopped() { case $(cat "/proc/$1/stat" 2>/dev/null) in *") T "*) return 0 ;; esac; return 1; }

start_server S || { fail "server starts"; finish; }
check "cloud pool defined" adm "define stgpool cl stgtype=cloud cloudurl=$RGW_URL bucket=coffer-pool identity=$S3_ACCESS password=$S3_SECRET"
check "domain destination set" adm "update domain standard destination=cl verdeleted=0 retextra=0 retonly=0"
adm "register node n1 n1-secret-pw" >/dev/null
src="$T/data"
mkdir -p "$src/a" "$src/b"
python3 - "$src" <<'PY'
import os, random, sys
r = random.Random(11)
for d in ("a", "b"):
    for i in range(6):
        with open(os.path.join(sys.argv[1], d, "f%02d.bin" % i), "wb") as f:
            f.write(r.randbytes(r.randint(1, 1200000)))
PY
# Two backups, two containers: a's files in one, b's in the next.
mv "$src/b" "$T/b.later"
cli n1 n1-secret-pw incremental "$src" >"$T/b1.out" 2>&1
check "first backup" grep -q "objects backed up" "$T/b1.out"
mv "$T/b.later" "$src/b"
cli n1 n1-secret-pw incremental "$src" >"$T/b2.out" 2>&1
check "second backup" grep -q "objects backed up" "$T/b2.out"
rm -rf "$src/a"
cli n1 n1-secret-pw incremental "$src" >"$T/b3.out" 2>&1
adm "expire inventory wait=yes" --json >"$T/e.json" 2>&1
check "expiration deletes a's versions" test "$(json_get "$T/e.json" objects_deleted)" -ge 6

# 1. Reclamation killed after its commit, before the old object goes.
stop_server
COFFER_FAULT=reclaim.before_remove restart_server S || { fail "server restarts (fault armed)"; finish; }
adm "reclaim stgpool cl threshold=10 wait=yes" >"$T/rc.out" 2>&1
wait "$SRV_PID" 2>/dev/null
check "the server dies inside the reclamation" grep -q "fault: reclaim.before_remove reached" "$SRV_DIR/stderr"
with_leftover=$(objs)
check "radosgw stops" bash "$CEPH" rgw-stop "$CD"
restart_server S || { fail "the server starts with its cloud pool unreachable"; finish; }
check "... and says the pool cannot be reached" grep -q "storage pool CL" "$SRV_DIR/stderr"
check "radosgw starts again" bash "$CEPH" rgw-start "$CD"
check "the reclaimed container's object is still in the bucket" test "$(objs)" -eq "$with_leftover"
# A backup held open across the reconnect: its transaction's containers
# are this run's, and the recovery leaves them alone.
mkdir -p "$src/c"
python3 - "$src/c" <<'PY'
import os, random, sys
r = random.Random(12)
for i in range(30):
    with open(os.path.join(sys.argv[1], "g%02d.bin" % i), "wb") as f:
        f.write(r.randbytes(400000))
PY
COFFER_FAULT=client.file:10 COFFER_FAULT_SIGNAL=STOP; export COFFER_FAULT COFFER_FAULT_SIGNAL
cli_bg n1 n1-secret-pw incremental "$src" >"$T/b4.out" 2>&1
unset COFFER_FAULT COFFER_FAULT_SIGNAL
i=0; until stopped "$CLI_PID" || [ $i -gt 1200 ]; do sleep 0.05; i=$((i + 1)); done
check "a backup is held open mid-way" stopped "$CLI_PID"
adm "update stgpool cl identity=$S3_ACCESS password=$S3_SECRET" >"$T/u1.out" 2>&1
check "update stgpool reaches the pool" test $? -eq 0
check "... and runs its start-up recovery" grep -q "start-up recovery ran" "$T/u1.out"
check "the leftover object is gone" test "$(objs)" -lt "$with_leftover"
kill -CONT "$CLI_PID"
wait "$CLI_PID"
check "the held backup completes" test $? -eq 0
adm "query stgpool cl" --json >"$T/qs1.json" 2>&1
check "the bucket holds the pool's containers and no more" test "$(objs)" -eq "$(cnt "$T/qs1.json" CL containers)"
adm "update stgpool cl identity=$S3_ACCESS password=$S3_SECRET" >"$T/u2.out" 2>&1
check "a second update does not run it again" sh -c '! grep -q "start-up recovery ran" "$0"' "$T/u2.out"
adm "audit container wait=yes" --json >"$T/a1.json" 2>&1
check "audit after the reconnect: no damage" test "$(json_get "$T/a1.json" damaged)" -eq 0
check "... having read the chunks" test "$(json_get "$T/a1.json" chunks_checked)" -ge 6
cli n1 n1-secret-pw restore "$src/" "$T/r1/" --subdir >"$T/r1.out" 2>&1
check "the node restores identically" same_tree "$src" "$T/r1"

# 2. CLOUDURL=: the same bucket behind a second radosgw.
check "a second radosgw starts" bash "$CEPH" rgw2-start "$CD"
. "$CD/env"
nowhere="http://127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
adm "update stgpool cl cloudurl=$nowhere" >"$T/u3.out" 2>&1
check "a URL where nothing answers is refused" test $? -ne 0
check "... naming it" grep -q "127.0.0.1" "$T/u3.out"
# A store that has a bucket of that name but not the pool's containers.
cat >"$T/fake_s3.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def do_GET(self):
        self.reply(200, b'<?xml version="1.0"?><ListBucketResult>'
                   b'<IsTruncated>false</IsTruncated></ListBucketResult>')
    def do_HEAD(self):
        self.reply(404)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_port, flush=True)
s.serve_forever()
PY
python3 "$T/fake_s3.py" >"$T/fake.port" &
FAKE_PID=$!
i=0; until [ -s "$T/fake.port" ] || [ $i -gt 100 ]; do sleep 0.05; i=$((i + 1)); done
adm "update stgpool cl cloudurl=http://127.0.0.1:$(cat "$T/fake.port")" >"$T/u4.out" 2>&1
check "a bucket without the pool's containers is refused" test $? -ne 0
check "... saying so" grep -q "does not hold container object" "$T/u4.out"
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null; FAKE_PID=
adm "update stgpool cl bucket=other-bucket" >"$T/u5.out" 2>&1
check "the bucket still cannot be changed" test $? -ne 0
check "... saying why" grep -q "containers are objects in bucket coffer-pool" "$T/u5.out"
adm "update stgpool cl stgtype=directory" >"$T/u6.out" 2>&1
check "nor the type" grep -q "STGTYPE= of CL cannot be changed" "$T/u6.out"
adm "query stgpool cl" --json >"$T/qs2.json" 2>&1
check "after the refusals the pool keeps its URL" test "$(cnt "$T/qs2.json" CL cloud_url)" = "$RGW_URL"
echo "after the refusals" >"$src/b/after-refusals"
cli n1 n1-secret-pw incremental "$src" >"$T/b5.out" 2>&1
check "... and backs up there" grep -q "objects backed up" "$T/b5.out"
adm "update stgpool cl cloudurl=$RGW2_URL" >"$T/u7.out" 2>&1
check "the pool moves to the second radosgw" grep -q "moved from $RGW_URL to $RGW2_URL" "$T/u7.out"
adm "query stgpool cl" --json >"$T/qs3.json" 2>&1
check "query stgpool shows the new URL" test "$(cnt "$T/qs3.json" CL cloud_url)" = "$RGW2_URL"
check "the first radosgw stops" bash "$CEPH" rgw-stop "$CD"
echo "after the move" >"$src/b/after-move"
cli n1 n1-secret-pw incremental "$src" >"$T/b6.out" 2>&1
check "a backup through the second radosgw alone" grep -q "objects backed up" "$T/b6.out"
cli n1 n1-secret-pw restore "$src/" "$T/r2/" --subdir >"$T/r2.out" 2>&1
check "... and a restore of everything" same_tree "$src" "$T/r2"
stop_server
restart_server S || { fail "the server restarts"; finish; }
cli n1 n1-secret-pw restore "$src/" "$T/r3/" --subdir >"$T/r3.out" 2>&1
check "after a restart the pool is at its new URL" same_tree "$src" "$T/r3"
adm "audit container wait=yes" --json >"$T/a2.json" 2>&1
check "audit at the new URL: no damage" test "$(json_get "$T/a2.json" damaged)" -eq 0
stop_server
finish
