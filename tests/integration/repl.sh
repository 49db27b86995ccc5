#!/bin/sh
# Node replication between two real servers on 127.0.0.1: the primary
# replicates a node to the hot site, which then restores it identically;
# a one-file change sends about one chunk; a consistent node costs one
# round trip per filespace; expired versions disappear at the target; a
# replication killed midway resumes and ends consistent; the target is
# read-only for the node; failover restore with REPLSERVER; wrong
# passwords and untrusted certificates are refused; back-replication from
# the hot site to an empty rebuilt primary.
tid="replication"
. "$(dirname "$0")/lib.sh"

# use NAME: point adm/cli at server NAME (started with start_server).
use() { eval "SRV_DIR=\$${1}_DIR SRV_PORT=\$${1}_PORT SRV_PID=\$${1}_PID"; }
save() { eval "${1}_DIR=\$SRV_DIR ${1}_PORT=\$SRV_PORT ${1}_PID=\$SRV_PID"; }
up() { start_server "$1" || { fail "server $1 starts"; finish; }; save "$1"; }

up PRIMARY
up HOTSITE

# Each side defines the other with the same server password.
use PRIMARY
check "primary defines the hot site" adm "define server HOTSITE serverpassword=repl-pw-1 hladdress=127.0.0.1 lladdress=$HOTSITE_PORT cafile=$HOTSITE_DIR/tls/ca.pem"
check "set replserver" adm "set replserver HOTSITE"
use HOTSITE
check "hot site defines the primary" adm "define server PRIMARY serverpassword=repl-pw-1 hladdress=127.0.0.1 lladdress=$PRIMARY_PORT cafile=$PRIMARY_DIR/tls/ca.pem"

use PRIMARY
adm "register node web01 web01-secret" >/dev/null
check "node set to replicate" adm "update node web01 replstate=enabled replmode=send"

src="$T/data"
mkdir -p "$src/etc" "$src/var/log"
python3 - "$src" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(5)
for i in range(40):
    with open(os.path.join(root, "etc", "conf%02d" % i), "w") as f:
        f.write("setting_%d = %d\n" % (i, i) * (i + 1))
with open(os.path.join(root, "var", "log", "big.bin"), "wb") as f:
    f.write(rnd.randbytes(6 << 20))
with open(os.path.join(root, "var", "log", "messages"), "w") as f:
    for i in range(50000):
        f.write("Nov 23 host kernel: line %d of the log\n" % i)
PY
ln -s conf01 "$src/etc/link"
cli web01 web01-secret incremental "$src" >"$T/b1.out" 2>&1
check "first backup at the primary" grep -q "objects backed up" "$T/b1.out"

adm "replicate node web01 wait=yes" --json >"$T/r1.json" 2>&1
check "replicate node prints the contract's fields" has_json_keys "$T/r1.json" \
    objects_sent chunks_sent bytes_sent objects_deleted
sent1=$(json_get "$T/r1.json" objects_sent)
check "the first replication sends every version ($sent1)" test "$sent1" -ge 44
bytes1=$(json_get "$T/r1.json" bytes_sent)

use HOTSITE
cli web01 web01-secret restore "$src/" "$T/r-hot/" --subdir=yes >"$T/rh.out" 2>&1
check "the hot site restores the node identically" same_tree "$src" "$T/r-hot"
cli web01 web01-secret incremental "$src" >"$T/bh.out" 2>&1
check "the node cannot back up at the target (replmode receive)" grep -q "replication target" "$T/bh.out"
adm "query node web01 format=detailed" --json >"$T/qn.json" 2>&1
check "the replicated node exists at the hot site in receive mode" grep -qi '"RECEIVE"' "$T/qn.json"

# Nothing changed: every filespace is found consistent by its digest.
use PRIMARY
adm "replicate node web01 wait=yes" --json >"$T/r2.json" 2>&1
check "a consistent node sends nothing" test "$(json_get "$T/r2.json" objects_sent)" = 0
check "its filespaces are consistent at once" test \
    "$(json_get "$T/r2.json" filespaces_consistent)" = "$(json_get "$T/r2.json" filespaces)"

# One small change: one file's version travels, about one chunk of data.
sleep 1.1
echo "setting_new = 1" >> "$src/etc/conf07"
cli web01 web01-secret incremental "$src" >"$T/b2.out" 2>&1
adm "replicate node web01 wait=yes" --json >"$T/r3.json" 2>&1
c3=$(json_get "$T/r3.json" chunks_sent)
check "a one-file change sends about one chunk ($c3)" test "$c3" -ge 1 -a "$c3" -le 2
check "and far fewer bytes than the first time" test "$(json_get "$T/r3.json" bytes_sent)" -lt $((bytes1 / 100))

# A version the target holds with other content (a bad seed, damage) is
# reported by path when the filespace is next merged.
sqlite3 "$HOTSITE_DIR/catalog.db" "UPDATE object SET size = size + 1 WHERE path LIKE '%/etc/conf05'" 2>/dev/null
sleep 1.1
echo "setting_other = 2" >> "$src/etc/conf08"
cli web01 web01-secret incremental "$src" >/dev/null 2>&1
adm "replicate node web01 wait=yes" --json >"$T/r3b.json" 2>&1
if command -v sqlite3 >/dev/null 2>&1; then
	check "a version whose content differs at the target is reported" \
	    test "$(json_get "$T/r3b.json" differences)" -ge 1
	adm "query actlog search=differs" >"$T/differs.out" 2>&1
	check "by its path" grep -q "conf05" "$T/differs.out"
	sqlite3 "$HOTSITE_DIR/catalog.db" "UPDATE object SET size = size - 1 WHERE path LIKE '%/etc/conf05'"
fi

# Expiration at the source reaches the target.
adm "define domain short verexists=1 verdeleted=0 retextra=0 retonly=0" >/dev/null
adm "update node web01 domain=short" >/dev/null
rm "$src/etc/conf03"
cli web01 web01-secret incremental "$src" >"$T/b3.out" 2>&1
adm "expire inventory wait=yes" >/dev/null 2>&1
adm "replicate node web01 wait=yes" --json >"$T/r4.json" 2>&1
check "expired versions are deleted at the target" test "$(json_get "$T/r4.json" objects_deleted)" -ge 1
use HOTSITE
cli web01 web01-secret --json query backup "$src/etc/conf03" --inactive >"$T/q3.json" 2>&1
check "the expired file is gone at the hot site" sh -c "! grep -q conf03 '$T/q3.json'"
cli web01 web01-secret restore "$src/etc/conf07" "$T/r-c7/" >/dev/null 2>&1
check "the changed file has its new content at the hot site" cmp "$src/etc/conf07" "$T/r-c7/conf07"

# A replication killed midway resumes and ends consistent: enough new
# versions for several batches; the primary is frozen (SIGSTOP) as soon as
# the hot site shows the first batch, then killed.
use PRIMARY
python3 - "$src/many" <<'PY'
import os, sys
os.makedirs(sys.argv[1])
for i in range(4500):
    with open(os.path.join(sys.argv[1], "f%05d" % i), "w") as f:
        f.write("small file %d\n" % i * 3)
PY
python3 -c 'import os,sys; open(sys.argv[1],"wb").write(os.urandom(24<<20))' "$src/var/log/huge.bin"
cli web01 web01-secret incremental "$src" >"$T/b4.out" 2>&1
use HOTSITE
base=$(committed_objects)
use PRIMARY
adm "replicate node web01" >/dev/null 2>&1
use HOTSITE
deadline=$(( $(date +%s) + 60 ))
while :; do
	kill -STOP "$PRIMARY_PID"
	[ "$(committed_objects)" -gt "$base" ] && break
	kill -CONT "$PRIMARY_PID"
	[ "$(date +%s)" -ge "$deadline" ] && break
	sleep 0.02
done
mid=$(committed_objects)
kill -KILL "$PRIMARY_PID"
kill -CONT "$PRIMARY_PID" 2>/dev/null
wait "$PRIMARY_PID" 2>/dev/null
check "the killed replication had committed part of its work ($base -> $mid)" test "$mid" -gt "$base"
restart_server PRIMARY || { fail "primary restarts"; finish; }
save PRIMARY
use HOTSITE
adm "update server PRIMARY lladdress=$PRIMARY_PORT" >/dev/null 2>&1
use PRIMARY
adm "replicate node web01 wait=yes verify=yes" --json >"$T/r5.json" 2>&1
check "the interrupted replication completes" test "$(json_get "$T/r5.json" objects_failed)" = 0
r5=$(json_get "$T/r5.json" objects_sent)
check "and sends only what the target still lacked ($r5 of 4500+ new)" test "$r5" -gt 0 -a "$r5" -lt 4500
check "verify finds no difference" test "$(json_get "$T/r5.json" differences)" = 0
use HOTSITE
cli web01 web01-secret restore "$src/" "$T/r-hot2/" --subdir=yes >"$T/rh2.out" 2>&1
check "after the resumed replication the hot site restores identically" same_tree "$src" "$T/r-hot2"
use HOTSITE
check "audit at the hot site finds no damage" sh -c "$(printf '%s' "'$ADMIN' --server 127.0.0.1:$SRV_PORT --ca '$SRV_DIR/tls/ca.pem' --json -c 'audit container wait=yes'") | grep -q '\"damaged\":0'"

# Failover: the primary is down, the client falls back to REPLSERVER.
use PRIMARY
stop_server
cat > "$T/coffer.opt" <<EOF
SERVER 127.0.0.1:$PRIMARY_PORT
CAFILE $PRIMARY_DIR/tls/ca.pem
NODENAME web01
REPLSERVER 127.0.0.1:$HOTSITE_PORT
REPLCAFILE $HOTSITE_DIR/tls/ca.pem
EOF
COFFER_PASSWORD=web01-secret "$COFFER" --optfile "$T/coffer.opt" restore "$src/etc/" "$T/r-fo/" --subdir=yes >"$T/fo.out" 2>&1
check "failover restore from the hot site works" same_tree "$src/etc" "$T/r-fo"
check "and says it used the replication server" grep -qi "replication server" "$T/fo.out"

# During the disaster backups continue at the hot site once the
# administrator there makes the node a source (role swap).
use HOTSITE
check "the hot site takes the node over" adm "update node web01 replmode=send"
echo "written during the disaster" > "$src/etc/during"
cli web01 web01-secret incremental "$src" >"$T/bd.out" 2>&1
check "backups continue at the hot site" grep -q "objects backed up: *[1-9]" "$T/bd.out"

# Wrong password / untrusted certificate / undefined server are refused.
up OTHER
use OTHER
adm "define server HOTSITE serverpassword=wrong-pw-9 hladdress=127.0.0.1 lladdress=$HOTSITE_PORT cafile=$HOTSITE_DIR/tls/ca.pem" >/dev/null
adm "set replserver HOTSITE" >/dev/null
adm "register node n9 n9-secret-pw" >/dev/null
adm "update node n9 replstate=enabled replmode=send" >/dev/null
adm "replicate node n9 wait=yes" >"$T/bad1.out" 2>&1
check "an undefined source server is refused" grep -qi "not defined" "$T/bad1.out"
use HOTSITE
adm "define server OTHER serverpassword=right-pw-1 hladdress=127.0.0.1 lladdress=$OTHER_PORT cafile=$OTHER_DIR/tls/ca.pem" >/dev/null
use OTHER
adm "replicate node n9 wait=yes" >"$T/bad2.out" 2>&1
check "a wrong server password is refused" grep -qi "password" "$T/bad2.out"
adm "update server HOTSITE serverpassword=right-pw-1 cafile=$OTHER_DIR/tls/ca.pem" >/dev/null
adm "replicate node n9 wait=yes" >"$T/bad3.out" 2>&1
check "an untrusted certificate is refused" grep -qi "certificate" "$T/bad3.out"

# Failback: the hot site replicates the node to a rebuilt, empty primary.
up REBUILT
use REBUILT
adm "define server HOTSITE serverpassword=back-pw-2 hladdress=127.0.0.1 lladdress=$HOTSITE_PORT cafile=$HOTSITE_DIR/tls/ca.pem" >/dev/null
use HOTSITE
adm "define server REBUILT serverpassword=back-pw-2 hladdress=127.0.0.1 lladdress=$REBUILT_PORT cafile=$REBUILT_DIR/tls/ca.pem" >/dev/null
adm "set replserver REBUILT" >/dev/null
check "the hot site's node replicates" adm "update node web01 replstate=enabled replmode=send"
adm "replicate node web01 wait=yes" --json >"$T/r6.json" 2>&1
check "back-replication sends the node" test "$(json_get "$T/r6.json" objects_sent)" -ge 44
use REBUILT
cli web01 web01-secret restore "$src/" "$T/r-back/" --subdir=yes >"$T/rb.out" 2>&1
check "the rebuilt primary restores the node identically" same_tree "$src" "$T/r-back"
adm "query replication web01" --json >/dev/null 2>&1
use HOTSITE
adm "query replication web01" --json >"$T/qr.json" 2>&1
check "query replication shows each filespace" rows_have_keys "$T/qr.json" node_name filespace_name target

for s in HOTSITE OTHER REBUILT; do use $s; stop_server; done
finish
