#!/bin/sh
# The metrics endpoint: METRICSPORT 0 in cofferd.opt serves strict
# Prometheus text on 127.0.0.1 (a second line after the ready line says
# where); a backup shows in the byte counters, the pool and the node's
# RPO series; a node whose RPO is 1s misses it; other paths get 404, other
# methods 405; garbage, a 100 KB header and a stalled client neither crash
# the server nor stop it from answering backups and scrapes.
tid="metrics endpoint"
. "$(dirname "$0")/lib.sh"

PROM="$top_builddir/tests/integration/prom_check"
SRV_DIR="$T/MET"
"$COFFERD" format --dir "$SRV_DIR" --name MET --port 0 > "$T/format.out" 2>&1 ||
	{ fail "format"; cat "$T/format.out"; finish; }
echo "METRICSPORT 0" >> "$SRV_DIR/cofferd.opt"
start_server MET || { fail "server starts"; finish; }
SERVER_PID=$SRV_PID

# ---- the two lines on stdout ----
i=0
while ! grep -q ' metrics on ' "$SRV_DIR/stdout" && [ $i -lt 100 ]; do
	i=$((i + 1)); sleep 0.05
done
check "the ready line comes first, unchanged" \
    sh -c "head -n 1 '$SRV_DIR/stdout' | grep -qx 'cofferd MET ready on 127.0.0.1:$SRV_PORT'"
check "the metrics line follows, on loopback" \
    sh -c "sed -n 2p '$SRV_DIR/stdout' | grep -qE '^cofferd MET metrics on http://127\.0\.0\.1:[0-9]+/metrics$'"
MPORT=$(sed -n 's|^cofferd MET metrics on http://127\.0\.0\.1:\([0-9]*\)/metrics$|\1|p' "$SRV_DIR/stdout")
URL="http://127.0.0.1:${MPORT:-0}/metrics"

get() {	# get SERIES: its value, or nothing (and rc 1) when absent
	"$PROM" --get "$1" "$URL" 2>"$T/get.err"
}
# num_cmp A OP B: numeric comparison of floats (values such as 1e+06).
num_cmp() {
	python3 -c 'import sys, operator as o
a, op, b = float(sys.argv[1]), sys.argv[2], float(sys.argv[3])
ops = {"<": o.lt, "<=": o.le, ">": o.gt, ">=": o.ge, "==": o.eq}
sys.exit(0 if ops[op](a, b) else 1)' "$@"
}

check "a scrape of the fresh server is valid" "$PROM" "$URL"
check "coffer_up is 1" test "$(get coffer_up)" = 1
check "coffer_info names the server" \
    sh -c "'$PROM' --get 'coffer_info{server=\"MET\",version=\"$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")\"}' '$URL'"
check "the pool is empty: its dedup ratio is NaN" \
    test "$(get 'coffer_pool_dedup_ratio{pool="CONTAINERPOOL"}')" = nan
rx0=$(get coffer_received_bytes_total)

# ---- nodes, with RPOs, and backups ----
adm "reg n web01 web01-secret-1 dom=standard" > "$T/reg.out" 2>&1 &&
adm "upd n web01 rpo=24h" >> "$T/reg.out" 2>&1 &&
adm "reg n tiny tiny-secret-1 dom=standard" >> "$T/reg.out" 2>&1 &&
adm "upd n tiny rpo=1s" >> "$T/reg.out" 2>&1 &&
adm "reg n never never-secret-1 dom=standard" >> "$T/reg.out" 2>&1 &&
adm "upd n never rpo=1h" >> "$T/reg.out" 2>&1
check "nodes registered with RPOs" test $? -eq 0
mkdir -p "$T/data/web" "$T/data/tiny"
head -c 2000000 /dev/urandom > "$T/data/web/random.bin"
python3 -c 'import sys; sys.stdout.write("repetitive text line\n" * 50000)' > "$T/data/web/text.txt"
echo small > "$T/data/tiny/one.txt"
cli tiny tiny-secret-1 incremental "$T/data/tiny" > "$T/tiny.out" 2>&1
check "backup of TINY" test $? -eq 0
cli web01 web01-secret-1 --json incremental "$T/data/web" > "$T/web.json" 2> "$T/web.err"
check "backup of WEB01" test $? -eq 0
sent=$(json_get "$T/web.json" bytes_sent 2>/dev/null || echo 0)
sleep 2	# TINY's one-second RPO is missed by now

check "a scrape after the backups is valid" "$PROM" "$URL"
rx1=$(get coffer_received_bytes_total)
check "received bytes grew by at least what the backup sent ($rx0 -> $rx1, sent $sent)" \
    num_cmp "$rx1" ">=" "$(python3 -c "print(${rx0:-0} + ${sent:-0})")"
check "the backup sent something" num_cmp "${sent:-0}" ">" 1000000
check "sent bytes grew" num_cmp "$(get coffer_sent_bytes_total)" ">" 0
check "sessions were counted" num_cmp "$(get coffer_sessions_started_total)" ">=" 8
age=$(get 'coffer_node_last_backup_age_seconds{node="WEB01"}')
check "WEB01's last backup age is there and small ($age)" num_cmp "${age:--1}" "<" 120
check "WEB01's last backup age is not negative" num_cmp "${age:--1}" ">=" 0
check "WEB01's last backup timestamp is about now" \
    num_cmp "$(python3 -c "import time; print(abs(time.time() - $(get 'coffer_node_last_backup_timestamp_seconds{node="WEB01"}' || echo 0)))")" "<" 120
check "WEB01 meets its RPO" test "$(get 'coffer_node_rpo_met{node="WEB01"}')" = 1
check "WEB01's RPO is 24h in seconds" test "$(get 'coffer_node_rpo_seconds{node="WEB01"}')" = 86400
# Both from one scrape: two scrapes may be a second apart.
"$PROM" --get 'coffer_node_newest_copy_age_seconds{node="WEB01",site="here"}' \
    --get 'coffer_node_last_backup_age_seconds{node="WEB01"}' "$URL" > "$T/two.out" 2>&1
check "WEB01's newest copy here is as old as its last backup" \
    test "$(sed -n 1p "$T/two.out")" = "$(sed -n 2p "$T/two.out")"
check "WEB01 is not replicated: no hot-site copy series" \
    sh -c "! '$PROM' --get 'coffer_node_newest_copy_age_seconds{node=\"WEB01\",site=\"hotsite\"}' '$URL' 2>/dev/null"
check "TINY misses its 1s RPO" test "$(get 'coffer_node_rpo_met{node="TINY"}')" = 0
check "NEVER, never backed up, misses its RPO" test "$(get 'coffer_node_rpo_met{node="NEVER"}')" = 0
check "NEVER has no last backup series" \
    sh -c "! '$PROM' --get 'coffer_node_last_backup_age_seconds{node=\"NEVER\"}' '$URL' 2>/dev/null"
check "three nodes, none omitted" test "$(get coffer_nodes) $(get coffer_nodes_omitted)" = "3 0"
check "pool logical bytes > 0" num_cmp "$(get 'coffer_pool_logical_bytes{pool="CONTAINERPOOL"}')" ">" 0
check "pool stored bytes > 0" num_cmp "$(get 'coffer_pool_stored_bytes{pool="CONTAINERPOOL"}')" ">" 0
check "the text compresses: compression ratio > 1" \
    num_cmp "$(get 'coffer_pool_compression_ratio{pool="CONTAINERPOOL"}')" ">" 1
check "occupancy logical bytes cover both backups" \
    num_cmp "$(get coffer_occupancy_logical_bytes)" ">=" 3000000
check "no process runs" test "$(get coffer_processes_running)" = 0

# ---- scrapes while a backup runs: each page valid, the session seen ----
mkdir -p "$T/data/big"
head -c 12000000 /dev/urandom > "$T/data/big/big.bin"
cli_bg tiny tiny-secret-1 incremental "$T/data/big"
bad=0 n=0 seen=0
while kill -0 "$CLI_PID" 2>/dev/null; do
	"$PROM" --get 'coffer_sessions{kind="node"}' "$URL" > "$T/during.out" 2>&1 ||
		{ bad=$((bad + 1)); sed 's/^/#   /' "$T/during.out"; }
	n=$((n + 1))
	[ "$(cat "$T/during.out")" = 1 ] && seen=$((seen + 1))
done
wait "$CLI_PID"
check "a backup during scrapes succeeds" test $? -eq 0
check "$n scrapes during the backup were all valid ($seen saw its session)" test "$bad" -eq 0

# ---- other paths, methods, and bad requests ----
check "/other is 404" "$PROM" --expect-status 404 "http://127.0.0.1:$MPORT/other"
# raw REQUEST_FILE: send its bytes, print the status line (or nothing).
raw() {
	python3 - "$MPORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
try:
    s.sendall(open(sys.argv[2], "rb").read())
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
except OSError:
    data = b""
print(data.split(b"\r\n", 1)[0].decode("latin-1"))
PY
}
printf 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n' > "$T/post.req"
st=$(raw "$T/post.req")
check "POST /metrics is 405 ($st)" test "$st" = "HTTP/1.1 405 Method Not Allowed"
head -c 4096 /dev/urandom > "$T/garbage.req"
st=$(raw "$T/garbage.req")
check "garbage is not answered 200 ($st)" sh -c "! echo '$st' | grep -q ' 200 '"
python3 -c 'import sys; sys.stdout.write("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + "a" * 100000 + "\r\n\r\n")' > "$T/big.req"
st=$(raw "$T/big.req")
check "a 100 KB header is refused ($st)" sh -c "! echo '$st' | grep -q ' 200 '"
python3 -c 'import sys; sys.stdout.write("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + "b" * 100000)' > "$T/body.req"
st=$(raw "$T/body.req")
check "a 100 KB body is refused ($st)" sh -c "! echo '$st' | grep -q ' 200 '"
# A client that sends half a request and waits: scrapes go on meanwhile.
python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /metr")
time.sleep(30)' "$MPORT" &
stall=$!
pids="$pids $stall"
sleep 0.3
check "a scrape while another client stalls is valid" "$PROM" "$URL"
kill "$stall" 2>/dev/null; wait "$stall" 2>/dev/null

check "the server is still running" kill -0 "$SERVER_PID"
echo more > "$T/data/web/more.txt"
cli web01 web01-secret-1 incremental "$T/data/web" > "$T/web2.out" 2>&1
check "a backup after the bad requests works" test $? -eq 0
check "and so does a scrape" "$PROM" "$URL"

stop_server
check "SIGTERM stops the server with the endpoint cleanly" \
    sh -c "grep -q 'SIGTERM received' '$SRV_DIR/stderr'"

# ---- --metrics-port overrides METRICSPORT ----
want=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rm -f "$SRV_DIR/stdout"
"$COFFERD" --dir "$SRV_DIR" --port 0 --metrics-port "$want" > "$SRV_DIR/stdout" 2>> "$SRV_DIR/stderr" &
SRV_PID=$!
pids="$pids $SRV_PID"
i=0
while ! grep -q ' metrics on ' "$SRV_DIR/stdout" 2>/dev/null && [ $i -lt 200 ]; do
	i=$((i + 1)); sleep 0.05
done
check "--metrics-port $want is the port served" \
    grep -qx "cofferd MET metrics on http://127.0.0.1:$want/metrics" "$SRV_DIR/stdout"
check "a scrape there is valid" "$PROM" "http://127.0.0.1:$want/metrics"
stop_server
echo "METRICSPORT abc" >> "$SRV_DIR/cofferd.opt"
# (timeout: should the option be taken, the server must not run forever)
timeout 30 "$COFFERD" --dir "$SRV_DIR" --port 0 > "$T/badopt.out" 2>&1
rc=$?
check "METRICSPORT abc is refused, naming it (rc $rc)" \
    sh -c "[ $rc -eq 12 ] && grep -q 'METRICSPORT abc: must be 0..65535' '$T/badopt.out'"
check "cofferd --help documents --metrics-port and METRICSPORT" \
    sh -c "'$COFFERD' --help | grep -q -- '--metrics-port' && '$COFFERD' --help | grep -q METRICSPORT"
finish
