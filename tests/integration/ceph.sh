#!/usr/bin/env bash
# A single-node Ceph (1 mon, 1 mgr, 1 memstore OSD, radosgw) on loopback for
# tests and benchmarks; after ../shared/ceph/ceph-single-node.sh, with free
# ports instead of the fixed ones so that it never meets another cluster.
#   ceph.sh start DIR    start, print nothing but errors; writes DIR/env:
#                        RGW_URL, RGW_TLS_URL (https, certificate
#                        DIR/rgw.crt for 127.0.0.1), S3_ACCESS, S3_SECRET
#   ceph.sh rgw-stop DIR / rgw-start DIR   stop or start radosgw alone
#   ceph.sh rgw2-start DIR / rgw2-stop DIR  a second radosgw (client.rgw.b)
#                        on another free port, the same cluster and buckets;
#                        adds RGW2_URL to DIR/env
#   ceph.sh stop DIR     kill every daemon by the pids in DIR/run/*.pid
#   ceph.sh mkbucket DIR NAME   create a bucket (curl's SigV4)
# Exit 77 (skip) when Ceph is not installed or does not come up.
# Env: OSD_STORE (memstore), OSD_SIZE_GB (4): memstore keeps data in RAM.
set -euo pipefail
CMD=${1:?usage: ceph.sh start|stop|rgw-stop|rgw-start|rgw2-start|rgw2-stop|mkbucket DIR}
D=${2:?DIR}
OSD_STORE=${OSD_STORE:-memstore}
OSD_SIZE_GB=${OSD_SIZE_GB:-4}
C=$D/ceph.conf
export CEPH_CONF=$C
ACCESS=COFFERTESTACCESS0001
SECRET=coffertestsecret00000000000000000000001

skip() { echo "ceph.sh: $*" >&2; exit 77; }

alive() { [ -e "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pids() {	# stop_pids PIDFILE...: TERM, wait up to 30 s, then KILL
	for f in "$@"; do alive "$f" && kill "$(cat "$f")" 2>/dev/null || true; done
	for _ in $(seq 1 60); do
		a=0; for f in "$@"; do alive "$f" && a=1; done
		[ $a = 0 ] && return 0; sleep 0.5
	done
	for f in "$@"; do alive "$f" && kill -9 "$(cat "$f")" 2>/dev/null || true; done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rgw_start() {
	# shellcheck disable=SC1091
	. "$D/env"
	radosgw -n client.rgw.a
	for _ in $(seq 1 120); do
		curl -fs "$RGW_URL/" >/dev/null 2>&1 && return 0; sleep 0.5
	done
	echo "ceph.sh: radosgw does not answer on $RGW_URL" >&2; return 1
}

rgw2_start() {
	if ! grep -q '^\[client.rgw.b\]' "$C"; then
		mkdir -p "$D/rgw/ceph-rgw.b"
		ceph auth get-or-create client.rgw.b mon 'allow rw' osd 'allow rwx' \
		    mgr 'allow rw' -o "$D/rgw/ceph-rgw.b/keyring" >/dev/null 2>&1
		P=$(free_port)
		cat >>"$C" <<CONF
[client.rgw.b]
rgw data = $D/rgw/ceph-rgw.b
keyring = $D/rgw/ceph-rgw.b/keyring
rgw frontends = beast endpoint=127.0.0.1:$P
rgw dns name = localhost
CONF
		echo "RGW2_URL=http://127.0.0.1:$P" >>"$D/env"
	fi
	# shellcheck disable=SC1091
	. "$D/env"
	radosgw -n client.rgw.b
	for _ in $(seq 1 120); do
		curl -fs "$RGW2_URL/" >/dev/null 2>&1 && return 0; sleep 0.5
	done
	echo "ceph.sh: the second radosgw does not answer on $RGW2_URL" >&2; return 1
}

case $CMD in
stop)
	[ -d "$D/run" ] && stop_pids "$D"/run/*.pid
	exit 0 ;;
rgw-stop)
	stop_pids "$D/run/client.rgw.a.pid"
	exit 0 ;;
rgw-start)
	rgw_start; exit $? ;;
rgw2-start)
	rgw2_start; exit $? ;;
rgw2-stop)
	stop_pids "$D/run/client.rgw.b.pid"
	exit 0 ;;
mkbucket)
	. "$D/env"
	code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
	    --user "$S3_ACCESS:$S3_SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
	    -X PUT "$RGW_URL/$3")
	[ "$code" = 200 ] || { echo "ceph.sh: create bucket $3: HTTP $code" >&2; exit 1; }
	exit 0 ;;
start) ;;
*) echo "ceph.sh: unknown command $CMD" >&2; exit 2 ;;
esac

for b in ceph-mon ceph-osd ceph-mgr radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen curl; do
	command -v "$b" >/dev/null || skip "$b not installed (tools/install-deps.sh installs ceph-mon ceph-osd ceph-mgr radosgw ceph-common uuid-runtime)"
done
[ -d "$D/run" ] && stop_pids "$D"/run/*.pid
rm -rf "$D"; mkdir -p "$D"/{run,log,mon/ceph-a,mgr/ceph-x,osd,rgw/ceph-rgw.a}
FSID=$(uuidgen)
MON2=$(free_port); MON1=$(free_port); RGW=$(free_port); RGWS=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/rgw.key" -out "$D/rgw.crt" \
    -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    >/dev/null 2>&1 || skip "openssl cannot make radosgw's certificate"
cat "$D/rgw.crt" "$D/rgw.key" > "$D/rgw.pem"
cat > "$C" <<CONF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON2,v1:127.0.0.1:$MON1]
mon initial members = a
public network = 127.0.0.0/8
cluster network = 127.0.0.0/8
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $D/run
pid file = $D/run/\$name.pid
admin socket = $D/run/\$cluster-\$name.asok
log file = $D/log/\$cluster-\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
[mon]
mon data = $D/mon/\$cluster-\$id
keyring = $D/mon/\$cluster-\$id/keyring
mon data avail warn = 1
mon data avail crit = 0
[mgr]
mgr data = $D/mgr/\$cluster-\$id
keyring = $D/mgr/\$cluster-\$id/keyring
[osd]
osd data = $D/osd/\$cluster-\$id
keyring = $D/osd/\$cluster-\$id/keyring
osd objectstore = $OSD_STORE
osd memory target = 1073741824
memstore device bytes = $((OSD_SIZE_GB * 1024 * 1024 * 1024))
bluestore block create = true
bluestore block size = $((OSD_SIZE_GB * 1024 * 1024 * 1024))
[client]
keyring = $D/keyring.admin
[client.rgw.a]
rgw data = $D/rgw/ceph-rgw.a
keyring = $D/rgw/ceph-rgw.a/keyring
rgw frontends = beast endpoint=127.0.0.1:$RGW ssl_endpoint=127.0.0.1:$RGWS ssl_certificate=$D/rgw.pem
rgw dns name = localhost
CONF
printf 'RGW_URL=http://127.0.0.1:%s\nRGW_TLS_URL=https://127.0.0.1:%s\nS3_ACCESS=%s\nS3_SECRET=%s\n' \
    "$RGW" "$RGWS" "$ACCESS" "$SECRET" > "$D/env"

{
ceph-authtool --create-keyring "$D/keyring.mon" --gen-key -n mon. --cap mon 'allow *'
ceph-authtool --create-keyring "$D/keyring.admin" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *'
ceph-authtool "$D/keyring.mon" --import-keyring "$D/keyring.admin"
monmaptool --create --addv a "[v2:127.0.0.1:$MON2,v1:127.0.0.1:$MON1]" --fsid "$FSID" "$D/monmap"
ceph-mon --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring.mon"
} >"$D/log/setup.log" 2>&1 || skip "ceph-mon mkfs failed (see $D/log/setup.log)"
ceph-mon -i a || skip "ceph-mon does not start"
timeout 60 ceph -s >/dev/null 2>&1 || skip "the monitor does not answer"
ceph auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
    -o "$D/mgr/ceph-x/keyring" >/dev/null 2>&1
ceph-mgr -i x || skip "ceph-mgr does not start"
UUID=$(uuidgen); KEY=$(ceph-authtool --gen-print-key)
ID=$(echo "{\"cephx_secret\": \"$KEY\"}" | ceph osd new "$UUID" -i - 2>/dev/null)
mkdir -p "$D/osd/ceph-$ID"
ceph-authtool --create-keyring "$D/osd/ceph-$ID/keyring" --name "osd.$ID" --add-key "$KEY" >/dev/null
ceph-osd -i "$ID" --mkfs --osd-uuid "$UUID" >"$D/log/osd-mkfs.log" 2>&1 || skip "osd mkfs failed"
ceph-osd -i "$ID" >/dev/null 2>&1 || skip "ceph-osd does not start"
up=0
for _ in $(seq 1 120); do
	ceph osd stat 2>/dev/null | grep -q "1 up" && { up=1; break; }; sleep 0.5
done
[ $up = 1 ] || skip "the OSD does not come up"
ceph auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' mgr 'allow rw' \
    -o "$D/rgw/ceph-rgw.a/keyring" >/dev/null 2>&1
rgw_start || skip "radosgw does not start"
radosgw-admin user create --uid=coffer --display-name="coffer test" \
    --access-key="$ACCESS" --secret-key="$SECRET" >"$D/s3-user.json" 2>"$D/log/user.log" ||
	skip "radosgw-admin user create failed"
